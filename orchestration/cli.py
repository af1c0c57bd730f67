"""`pantao run` (the whole graph in-process) and `pantao ui` (Dagster webserver and daemon)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import click

from pantao.settings import Settings, load_settings
from pantao.stack import resolve_endpoints


def _environment(settings: Settings, *, need_kafka: bool = True) -> dict[str, str]:
    """Dagster's environment; REPORTS_START_DATE, unless set, is the first business day with data,
    so the report partitions begin where the data does (orchestration/lib/config.py)."""
    from orchestration.lib.instance import dagster_env, prepare_dagster_home
    from reports.snapshot import first_report_day

    endpoints = resolve_endpoints(settings, need_kafka=need_kafka)
    env = dagster_env(settings, endpoints, prepare_dagster_home(settings))
    start = settings.reports_start_date or first_report_day(endpoints.database_url)
    if start is not None:
        env["REPORTS_START_DATE"] = start.isoformat()
    return env


@click.command("run")
@click.option("--date", "business_date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Business day to report, YYYY-MM-DD (default: yesterday in BUSINESS_TIMEZONE).")
def run_command(business_date: dt.datetime | None) -> None:
    """Land, build the marts and report one business day, in this process.

    The run is stored in the Dagster instance, so it shows in `pantao ui` like a scheduled run.
    """
    settings = load_settings()
    day = business_date.date() if business_date else dt.datetime.now(settings.tz).date() - dt.timedelta(days=1)
    env = _environment(settings)
    os.environ.update(env)

    from orchestration.lib.instance import open_instance
    from orchestration.lib.runner import RunRefused, materialize_all

    started = time.monotonic()
    with open_instance(Path(env["DAGSTER_HOME"])) as instance:
        try:
            summary = materialize_all(instance, day, say=lambda found: click.echo(f"found {found}"))
        except RunRefused as exc:
            raise click.ClickException(str(exc)) from None
    elapsed = time.monotonic() - started
    click.echo(f"run {summary.run_id} for {day}: {'succeeded' if summary.success else 'FAILED'} in {elapsed:.0f} s")
    click.echo(f"materialized {len(summary.materialized)} assets: {', '.join(summary.materialized) or '-'}")
    click.echo("steps: " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in summary.step_seconds.items()))
    click.echo(f"checks: {len(summary.checks_passed)} passed, {len(summary.checks_failed)} failed"
               + (f" ({', '.join(summary.checks_failed)})" if summary.checks_failed else ""))
    for step, error in zip(summary.failed_steps, summary.errors, strict=False):
        click.echo(f"failed step {step}: {error}", err=True)
    click.echo(f"details: {settings.dagster_ui_url}/runs/{summary.run_id}")
    if not summary.success:
        sys.exit(1)


@click.command("ui")
@click.option("--host", default=None, help="Address to listen on (default: from DAGSTER_UI_URL).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: from DAGSTER_UI_URL).")
def ui_command(host: str | None, port: int | None) -> None:
    """Start the Dagster webserver and daemon (schedules, sensors, run queue) until Ctrl-C, SIGTERM
    or SIGHUP, which stop every process it started. `pantao stack status` lists it, `pantao stack
    down` stops it."""
    from orchestration.lib.services import ServiceError, start_dagster
    from pantao.processes import STOP_SIGNALS
    from pantao.runfiles import registered

    received: list[str] = []

    def request_stop(signum: int, _frame: object) -> None:
        received.append(signal.Signals(signum).name)

    for signum in STOP_SIGNALS:  # from here on a stop signal ends the loop below; nothing is left behind
        signal.signal(signum, request_stop)
    settings = load_settings()
    url = urlparse(settings.dagster_ui_url)
    host = host or url.hostname or "127.0.0.1"
    port = port or url.port or 3000
    env = {**os.environ, **_environment(settings)}
    if received:
        return
    try:
        services = start_dagster(env, host, port)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    with registered(settings.data_dir, "ui", address=services.url, pgid=services.group.pgid):
        click.echo(f"Dagster UI: {services.url}  (DAGSTER_HOME={env['DAGSTER_HOME']}); Ctrl-C stops it")
        try:
            while not received and not services.exited():
                time.sleep(0.2)
            reason = f"{received[0]} received" if received else f"{' and '.join(services.exited())} exited"
            click.echo(f"{reason}: stopping the webserver, the daemon and the processes they started")
        finally:
            found = services.stop()
    if not received:
        raise click.ClickException(f"{' and '.join(services.exited())} exited; see its output above")
    click.echo(f"stopped {len(found)} processes")
