"""`pantao ingest kafka | pbx`: land the Kafka streams or the PBX's call data into `raw`."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

import click

from pantao.runfiles import register, unregister
from pantao.settings import load_settings
from pantao.stack import StackError, resolve_endpoints

log = logging.getLogger(__name__)

# What serves the live queue board while `ingest pbx --follow` runs: (board, host, port) -> a function
# that stops it. monitoring/ owns the metrics and sits above ingestion/, so app/cli.py (the
# composition) registers its server here.
LIVE_BOARD_SERVERS: list[Callable[..., Callable[[], None]]] = []
DEFAULT_LIVE_METRICS_PORT = 9109


def _stop_on_signals(stop: threading.Event) -> None:
    def request_stop(signum: int, _frame: object) -> None:
        log.info("%s received: finishing the current batch, then stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


@click.group("ingest")
def ingest() -> None:
    """Land Kafka topics and FreePBX call data into PostgreSQL (schema raw)."""


def _endpoints(settings, need_kafka: bool):
    try:
        return resolve_endpoints(settings, need_kafka=need_kafka)
    except StackError as exc:
        raise click.ClickException(f"the local stack could not start: {exc}") from None


@ingest.command("kafka")
@click.option("--follow", is_flag=True, help="Keep running and land new records as they arrive (stop: Ctrl-C / SIGTERM).")
@click.option("--stream", "streams", multiple=True, type=click.Choice(["orders", "customers", "feedback"]),
              help="Only these streams (repeatable). Default: all three.")
@click.option("--worker-index", type=int, default=0, show_default=True,
              help="This worker's number; it lands the partitions with partition % worker-count == index.")
@click.option("--worker-count", type=int, default=1, show_default=True, help="How many workers share the topics.")
@click.option("--reset-offsets-to", type=click.Choice(["earliest"]), default=None,
              help="First move this worker's stored offsets to the earliest offset the broker has "
                   "(after the broker lost its data). The reset is logged.")
def kafka_command(follow: bool, streams: tuple[str, ...], worker_index: int, worker_count: int,
                  reset_offsets_to: str | None) -> None:
    """Land the orders, customers and feedback topics exactly once.

    Without --follow it drains up to the end offsets seen at start and stops.
    """
    import psycopg

    from ingestion.kafka import LandingError, land_topics
    from ingestion.kafka.writer import database_error
    from ingestion.schema import ensure_raw_schema

    settings = load_settings()
    endpoints = _endpoints(settings, need_kafka=True)
    try:
        ensure_raw_schema(settings, endpoints.database_url)
    except psycopg.OperationalError as exc:
        raise click.ClickException(str(database_error(exc, endpoints.database_url))) from None
    stop = threading.Event()
    if follow:
        _stop_on_signals(stop)
    # a following landing is listed by `pantao stack status` and stopped by `pantao stack down`
    run_file = register(settings.data_dir, "landing" if worker_count == 1 else f"landing-{worker_index}",
                        address=endpoints.kafka_bootstrap) if follow else None
    try:
        result = land_topics(settings, endpoints.database_url, endpoints.kafka_bootstrap,
                             streams or ("orders", "customers", "feedback"), follow=follow,
                             worker_index=worker_index, worker_count=worker_count, stop_event=stop,
                             reset_offsets_to=reset_offsets_to)
    except LandingError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if run_file is not None:
            unregister(settings.data_dir, run_file)
    for name, stats in result.streams.items():
        click.echo(f"{name:<10} landed {stats.landed:>9}  rejected {stats.rejected:>6}  batches {stats.batches:>4}")
    rate = result.landed / result.seconds if result.seconds else 0.0
    click.echo(f"total      landed {result.landed:>9}  rejected {result.rejected:>6}  "
               f"in {result.seconds:.1f} s ({rate:,.0f} records/s)")


@ingest.command("pbx")
@click.option("--source", type=click.Choice(["files", "db", "api"]), default=None,
              help="Where the call data comes from. Default: PBX_SOURCE.")
@click.option("--since", default=None, help="Start of the window (ISO date or datetime, BUSINESS_TIMEZONE time).")
@click.option("--until", default=None, help="End of the window (exclusive).")
@click.option("--follow", is_flag=True,
              help="Keep running: land queue_log events as the PBX writes them and serve the live queue board"
                   " (stop: Ctrl-C / SIGTERM).")
@click.option("--poll-interval", type=click.FloatRange(0.1, 60), default=0.5, show_default=True,
              help="With --follow: seconds between two looks at the queue_log file or table.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True,
              help="With --follow: address the live board's /metrics listens on (0.0.0.0: every interface).")
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=DEFAULT_LIVE_METRICS_PORT, show_default=True,
              help="With --follow: port of the live board's /metrics.")
def pbx_command(source: str | None, since: str | None, until: str | None, follow: bool, poll_interval: float,
                metrics_host: str, metrics_port: int) -> None:
    """Land FreePBX CDRs, queue_log events and the operator directory.

    With --follow it keeps landing queue_log events as they arrive and serves the live queue board
    (calls waiting, operators on a call, paused, available) for Prometheus: docs/operations.md.
    """
    from ingestion.pbx import PbxFileGapError, land_pbx
    from ingestion.pbx.api import FreePbxApiError
    from ingestion.pbx.db import PbxDatabaseError
    from ingestion.schema import ensure_raw_schema

    if follow and (since or until):
        raise click.UsageError("--follow continues from the stored position and --since/--until re-land a window;"
                               " use one or the other")
    settings = load_settings()
    endpoints = _endpoints(settings, need_kafka=False)
    ensure_raw_schema(settings, endpoints.database_url)
    try:
        if follow:
            _follow_pbx(settings, endpoints.database_url, source, poll_interval, metrics_host, metrics_port)
            return
        result = land_pbx(settings, endpoints.database_url, source=source, since=since, until=until)
    except (FreePbxApiError, PbxDatabaseError) as exc:
        raise click.ClickException(str(exc)) from None
    except PbxFileGapError as exc:  # everything reachable landed; the loss must still fail the command
        click.echo(str(exc.result))
        raise click.ClickException(str(exc)) from None
    click.echo(str(result))


def _follow_pbx(settings, database_url: str, source: str | None, poll_interval: float, host: str,
                port: int) -> None:
    from ingestion.pbx.follow import PbxFollower
    from ingestion.pbx.live import LiveBoard

    board = LiveBoard()
    stoppers = []
    for serve in LIVE_BOARD_SERVERS:
        try:
            stoppers.append(serve(board, host, port))
        except OSError as exc:
            raise click.ClickException(f"the live board cannot listen on {host}:{port} ({exc.strerror or exc});"
                                       " choose another --metrics-port or stop what uses it") from None
    if not stoppers:
        log.warning("no metrics server is registered (run `pantao ingest pbx --follow`): landing without the"
                    " live board's gauges")
    address = f"http://{host}:{port}/metrics" if stoppers else ""
    stop = threading.Event()
    _stop_on_signals(stop)
    # a following landing is listed by `pantao stack status` and stopped by `pantao stack down`
    run_file = register(settings.data_dir, "pbx-landing", address=address)
    try:
        result = PbxFollower(settings, database_url, board, source=source, poll_seconds=poll_interval,
                             stop=stop).run()
    finally:
        unregister(settings.data_dir, run_file)
        for stopper in stoppers:
            stopper()
    click.echo(result.summary())
