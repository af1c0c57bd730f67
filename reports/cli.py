"""`pantao report build|show`: the daily report by hand (the schedule runs the same functions).

`pantao report send` belongs to notifications/ (it delivers to Telegram); app/cli.py adds it to
this group, since reports/ must not import the layer above it.
"""

from __future__ import annotations

import datetime as dt

import click

from pantao.domain import business_yesterday
from pantao.settings import load_settings
from pantao.stack import resolve_endpoints
from reports.report import ReportError


def report_day(settings, value: dt.datetime | None) -> dt.date:
    """The business day a `--date` option names, or yesterday in the business time zone."""
    return value.date() if value else business_yesterday(settings.tz)


DATE_OPTION = click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                           help="Business day, YYYY-MM-DD (default: yesterday in BUSINESS_TIMEZONE).")


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc)) from exc


@click.group("report")
def report() -> None:
    """Build, show and send the daily manager report."""


@report.command("build")
@DATE_OPTION
def build(day: dt.datetime | None) -> None:
    """Snapshot the day's figures as a new version and render HTML, CSV and PNG files."""
    from reports.snapshot import build_daily_report

    settings = load_settings()
    database_url = resolve_endpoints(settings, need_kafka=False).database_url
    try:
        result = build_daily_report(settings, database_url, report_day(settings, day))
    except ReportError as exc:
        _fail(exc)
    click.echo(f"report {result.business_date} version {result.version}: {result.html_path}")


@report.command("show")
@DATE_OPTION
def show(day: dt.datetime | None) -> None:
    """Print the morning summary of the day's report (a new version only if the marts changed)."""
    from reports.snapshot import current_report
    from reports.summary import morning_summary, to_plain

    settings = load_settings()
    database_url = resolve_endpoints(settings, need_kafka=False).database_url
    try:
        result = current_report(settings, database_url, report_day(settings, day))
    except ReportError as exc:
        _fail(exc)
    click.echo(to_plain(morning_summary(result, settings.report_lang)))
    click.echo(f"\n{result.html_path}")
