"""`pantao metrics`: serve the exporter over HTTP for Prometheus, or print one scrape."""

from __future__ import annotations

import logging
import signal
import threading

import click

from pantao.settings import load_settings
from pantao.stack import resolve_endpoints

log = logging.getLogger(__name__)


@click.command("metrics")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port to listen on [default: METRICS_PORT, 9108].")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. The default keeps the metrics local to this machine; pass the"
                   " address Prometheus reaches (or 0.0.0.0 for every interface) to widen it.")
@click.option("--once", is_flag=True, help="Print one scrape in the Prometheus text format and exit.")
@click.option("--statement-timeout-ms", type=click.IntRange(100, 600_000), default=5000, show_default=True,
              help="PostgreSQL statement_timeout of each scrape query; raise it for very large raw tables.")
@click.option("--kafka-timeout", type=click.FloatRange(0.5, 120), default=8.0, show_default=True,
              help="Seconds a scrape waits for the broker's end offsets.")
def metrics_command(port: int | None, host: str, once: bool, statement_timeout_ms: int, kafka_timeout: float) -> None:
    """Serve Prometheus metrics: landing lag, landed and rejected records, freshness, dbt, reports, KPIs.

    Each scrape reads PostgreSQL and the broker afresh, so it can run beside `pantao ingest
    --follow` or anywhere that reaches the database. Metrics and alerts: docs/operations.md.
    """
    from prometheus_client import generate_latest, start_http_server

    from monitoring.exporter import collect

    settings = load_settings()
    endpoints = resolve_endpoints(settings, need_kafka=True)
    registry = collect(settings, endpoints.database_url, endpoints.kafka_bootstrap,
                       statement_timeout_ms=statement_timeout_ms, kafka_timeout_seconds=kafka_timeout)
    if once:
        click.echo(generate_latest(registry).decode("utf-8"), nl=False)
        return

    listen_port = port or settings.metrics_port
    try:
        server, thread = start_http_server(listen_port, addr=host, registry=registry)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{listen_port} ({exc.strerror}); choose another --port or stop what uses it"
        ) from exc
    click.echo(f"serving metrics on http://{host}:{listen_port}/metrics (Ctrl-C to stop)")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        thread.join(timeout=5)
        click.echo("metrics server stopped")


def serve_live_board(board, host: str, port: int):
    """Serve the live queue board of `pantao ingest pbx --follow` (registered by app/cli.py); returns
    the function that stops the server. prometheus_client is loaded only here, when following."""
    from monitoring.live import serve_board

    return serve_board(board, host, port)
