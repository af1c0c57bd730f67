"""`pantao report build|show|send`: the daily report by hand (the schedule runs the same functions)."""

from __future__ import annotations

import datetime as dt

import click

from pantao.domain import business_yesterday
from pantao.settings import load_settings
from pantao.stack import resolve_endpoints


def _day(settings, value: dt.datetime | None) -> dt.date:
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
    from reports.snapshot import ReportError, build_daily_report

    settings = load_settings()
    database_url = resolve_endpoints(settings, need_kafka=False).database_url
    try:
        result = build_daily_report(settings, database_url, _day(settings, day))
    except ReportError as exc:
        _fail(exc)
    click.echo(f"report {result.business_date} version {result.version}: {result.html_path}")


@report.command("show")
@DATE_OPTION
def show(day: dt.datetime | None) -> None:
    """Print the morning summary of the day's report (a new version only if the marts changed)."""
    from reports.snapshot import ReportError, current_report
    from reports.summary import morning_summary, to_plain

    settings = load_settings()
    database_url = resolve_endpoints(settings, need_kafka=False).database_url
    try:
        result = current_report(settings, database_url, _day(settings, day))
    except ReportError as exc:
        _fail(exc)
    click.echo(to_plain(morning_summary(result, settings.report_lang)))
    click.echo(f"\n{result.html_path}")


@report.command("send")
@DATE_OPTION
@click.option("--force", is_flag=True, help="Send again to chats that already received this day's summary.")
def send(day: dt.datetime | None, force: bool) -> None:
    """Send the morning summary to TELEGRAM_CHAT_IDS once per day and chat."""
    from notifications.delivery import deliver_morning_summary
    from reports.snapshot import ReportError
    from reports.summary import to_plain

    settings = load_settings()
    database_url = resolve_endpoints(settings, need_kafka=False).database_url
    try:
        outcomes = deliver_morning_summary(settings, database_url, _day(settings, day), force=force)
    except ReportError as exc:
        _fail(exc)
    if not outcomes:
        click.echo("no chats configured (TELEGRAM_CHAT_IDS is empty); nothing sent", err=True)
    failed = False
    for outcome in outcomes:
        if outcome.status == "skipped":
            click.echo(to_plain(outcome.text))
            click.echo(f"\n{outcome.error}: the summary above was not sent.", err=True)
            break
        click.echo(f"chat {outcome.chat_id}: {outcome.status}" + (f" ({outcome.error})" if outcome.error else ""))
        failed = failed or outcome.status == "failed"
    if failed:
        raise SystemExit(1)
