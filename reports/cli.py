"""`pantao report build|show [--period day|week|month] [--date]`: the reports by hand (the schedules
run the same functions).

`pantao report send` belongs to notifications/ (it delivers to Telegram); app/cli.py adds it to
this group, since reports/ must not import the layer above it.
"""

from __future__ import annotations

import datetime as dt

import click

from pantao.domain import business_today, business_yesterday
from pantao.periods import PERIOD_KINDS, Period, last_complete, period_of
from pantao.settings import load_settings
from pantao.stack import resolve_endpoints
from reports.report import ReportError


def report_day(settings, value: dt.datetime | None) -> dt.date:
    """The business day a `--date` option names, or yesterday in the business time zone."""
    return value.date() if value else business_yesterday(settings.tz)


def report_period(settings, kind: str, value: dt.datetime | None) -> Period:
    """The day, week or month holding `--date`; without it, the last complete one in business time."""
    if value:
        return period_of(kind, value.date())
    return last_complete(kind, business_today(settings.tz))


DATE_OPTION = click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                           help="Business day, YYYY-MM-DD (default: yesterday in BUSINESS_TIMEZONE); with "
                                "--period week or month, any day of it (default: the last complete one).")
PERIOD_OPTION = click.option("--period", "kind", type=click.Choice(PERIOD_KINDS), default="day", show_default=True,
                             help="A business day, a week (Monday to Sunday) or a calendar month.")


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc)) from exc


@click.group("report")
def report() -> None:
    """Build, show and send the manager reports: a day, a week or a month."""


def _report_of(kind: str, day: dt.datetime | None, *, current: bool):
    """The period's stored report: built anew as a new version, or the current one (a new version
    only if the marts changed). Returns the settings, the report and its period."""
    settings = load_settings()
    database_url = resolve_endpoints(settings, need_kafka=False).database_url
    period = report_period(settings, kind, day)
    try:
        if kind == "day":
            from reports.snapshot import build_daily_report, current_report

            make = current_report if current else build_daily_report
            return settings, make(settings, database_url, period.start), period
        from reports.period_snapshot import build_period_report, current_period_report

        make = current_period_report if current else build_period_report
        return settings, make(settings, database_url, period), period
    except ReportError as exc:
        _fail(exc)


@report.command("build")
@PERIOD_OPTION
@DATE_OPTION
def build(kind: str, day: dt.datetime | None) -> None:
    """Snapshot the period's figures as a new version and render HTML, CSV and PNG files."""
    _, result, period = _report_of(kind, day, current=False)
    label = period.start.isoformat() if kind == "day" else f"{kind} {period.start}–{period.end}"
    click.echo(f"report {label} version {result.version}: {result.html_path}")


@report.command("show")
@PERIOD_OPTION
@DATE_OPTION
def show(kind: str, day: dt.datetime | None) -> None:
    """Print the summary of the period's report as Telegram shows it (a new version only if the marts changed)."""
    from reports.period_summary import period_summary
    from reports.summary import morning_summary, to_plain

    settings, result, _ = _report_of(kind, day, current=True)
    summary = morning_summary if kind == "day" else period_summary
    click.echo(to_plain(summary(result, settings.report_lang)))
    click.echo(f"\n{result.html_path}")
