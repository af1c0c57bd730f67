"""Daily report snapshots: read a business day's figures from the marts, store them as a new
version in `reports.daily_report`, and render the HTML/CSV/PNG files.

Why a snapshot: late data changes the marts after the morning message went out. Keeping each
version's figures lets a manager see what was reported and what the numbers became, and lets
Telegram deliveries be re-sent later from exactly the stored figures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from typing import Any

import psycopg
from psycopg import IsolationLevel
from psycopg.rows import dict_row

from pantao.db import connect
from pantao.settings import Settings
from reports.anomalies import history_dates
from reports.recovery import recovery_figures
from reports.report import DailyReport, ReportError, expected_files, plain_value, rendered_version, report_dir
from reports.staffing import DEFAULT_TARGET, Target, staffing_figures

log = logging.getLogger(__name__)

REQUIRED_MARTS = ("marts.daily_kpis", "marts.restaurant_daily_kpis", "marts.hourly_kpis", "marts.operator_daily",
                  "marts.calls", "marts.ratings", "marts.missed_call_recovery")


def plain_row(row: dict[str, Any] | None, drop: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """A mart row as JSON-ready values, without the `drop` columns (None stays None)."""
    if row is None:
        return None
    return {k: plain_value(v) for k, v in row.items() if k not in drop}


def table_exists(conn, table: str) -> bool:
    return conn.execute("select to_regclass(%s) as t", (table,)).fetchone()["t"] is not None


def _check_marts(conn) -> None:
    missing = [name for name in REQUIRED_MARTS if not table_exists(conn, name)]
    if missing:
        raise ReportError(
            f"{', '.join(missing)} not found in the database; build the marts first "
            "(`pantao run` or `pantao dbt build`)"
        )


def _chain_row(conn, business_date: dt.date) -> dict[str, Any] | None:
    row = conn.execute("select * from marts.daily_kpis where business_date = %s", (business_date,)).fetchone()
    return plain_row(row, drop=("business_date",))


def collect_figures(conn, business_date: dt.date, target: Target = DEFAULT_TARGET) -> dict[str, Any]:
    """Everything the report shows for one day, read from the marts in one transaction; with the
    staffing advice for the next day (the day the report is read) at `target`."""
    _check_marts(conn)
    chain = _chain_row(conn, business_date)
    if chain is None:
        raise ReportError(
            f"marts.daily_kpis has no chain row for {business_date}; the day has no landed data "
            "or the marts were not rebuilt after landing (`pantao run --date "
            f"{business_date}`)"
        )
    comparison_date = business_date - dt.timedelta(days=7)
    hourly = conn.execute(
        "select * from marts.hourly_kpis where business_date = %s order by hour", (business_date,)
    ).fetchall()
    operators = conn.execute(
        "select * from marts.operator_daily where business_date = %s "
        "order by calls_handled_count desc nulls last, operator_extension",
        (business_date,),
    ).fetchall()
    restaurants = conn.execute(
        "select * from marts.restaurant_daily_kpis where business_date = %s "
        "order by revenue_amount desc nulls last, restaurant_id",
        (business_date,),
    ).fetchall()
    outcomes = conn.execute(
        "select outcome, count(*) as n from marts.calls where business_date = %s group by 1 order by 1",
        (business_date,),
    ).fetchall()
    history = {day.isoformat(): _chain_row(conn, day) for day in history_dates(business_date)}
    return {
        "business_date": business_date.isoformat(),
        "comparison_date": comparison_date.isoformat(),
        "chain": chain,
        "previous_chain": history[comparison_date.isoformat()],
        "history": history,
        "hourly": [plain_row(r, drop=("business_date",)) for r in hourly],
        "operators": [plain_row(r, drop=("business_date",)) for r in operators],
        "restaurants": [plain_row(r, drop=("business_date",)) for r in restaurants],
        "ratings": rating_counts(conn, business_date, business_date),
        "call_outcomes": {r["outcome"]: int(r["n"]) for r in outcomes},
        "data_issues": data_issue_counts(conn),
        "recovery": recovery_figures(conn, business_date),
        "staffing": staffing_figures(conn, business_date + dt.timedelta(days=1), target),
    }


def data_issue_counts(conn) -> dict[str, int]:
    """Records kept out of the marts now, by the business rule they break (the report's footer)."""
    if not table_exists(conn, "marts.data_issues"):
        return {}
    rows = conn.execute("select rule, count(*) as n from marts.data_issues group by 1 order by 1").fetchall()
    return {r["rule"]: int(r["n"]) for r in rows}


def rating_counts(conn, start: dt.date, end: dt.date) -> dict[str, dict[str, int]]:
    """Ratings per score 1..5 of the days from `start` to `end`, calls and orders apart: the rows of
    marts.ratings that the KPI marts' rating figures count, so the breakdown adds up to them."""
    rows = conn.execute(
        "select subject_type, score, count(*) as n from marts.ratings "
        "where business_date between %s and %s group by 1, 2",
        (start, end),
    ).fetchall()
    counts = {subject: {str(score): 0 for score in range(1, 6)} for subject in ("call", "order")}
    for row in rows:
        counts[row["subject_type"]][str(int(row["score"]))] = int(row["n"])
    return counts


def _latest(conn, table: str, column: str, within_kpi_days: bool = False) -> str | None:
    if not table_exists(conn, table):
        return None
    # A fact dated past the KPI marts' last day (a broken clock upstream, 9999-12-31) is not what the
    # figures are "as of": only facts up to that day count (docs/metrics.md, "Which days ...").
    window = " where business_date <= (select max(business_date) from marts.daily_kpis)" if within_kpi_days else ""
    value = conn.execute(f"select max({column}) as v from {table}{window}").fetchone()["v"]
    return plain_value(value)


def collect_freshness(conn) -> dict[str, Any]:
    """How recent the data behind the figures was: the newest order and call, and the last landing."""
    landed = [v for v in (
        _latest(conn, "raw.orders", "landed_at"),
        _latest(conn, "raw.pbx_queue_log", "landed_at"),
    ) if v]
    return {
        "latest_order_at": _latest(conn, "marts.orders", "created_at", within_kpi_days=True),
        "latest_call_at": _latest(conn, "marts.calls", "entered_at", within_kpi_days=True),
        "latest_landed_at": max(landed) if landed else None,
        "read_at": plain_value(conn.execute("select now() as v").fetchone()["v"]),
    }


def _lock_day(conn, business_date: dt.date) -> None:
    # Two builds of the same day at once must not pick the same version number.
    conn.execute("select pg_advisory_xact_lock(hashtext('pantao:daily_report:' || %s::text))", (business_date,))


def _store(conn, business_date: dt.date, figures: dict, freshness: dict, lang: str) -> tuple[int, dt.datetime]:
    row = conn.execute(
        """
        insert into reports.daily_report (business_date, version, figures, data_freshness, lang)
        select %s, coalesce(max(version), 0) + 1, %s::jsonb, %s::jsonb, %s
        from reports.daily_report where business_date = %s
        returning version, generated_at
        """,
        (business_date, json.dumps(figures, ensure_ascii=False), json.dumps(freshness), lang, business_date),
    ).fetchone()
    return int(row["version"]), row["generated_at"]


def _read_marts(settings: Settings, database_url: str, business_date: dt.date
                ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The day's figures and the data freshness, from one snapshot of the marts."""
    with connect(database_url, row_factory=dict_row) as conn:
        # One snapshot of the marts for every query, even if dbt rebuilds them meanwhile.
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        if not table_exists(conn, "reports.daily_report"):
            raise ReportError("reports.daily_report does not exist; run `pantao prepare` first")
        target = Target(settings.service_level_target, settings.service_level_seconds)
        return collect_figures(conn, business_date, target), collect_freshness(conn)


def _render(settings: Settings, report: DailyReport) -> DailyReport:
    from reports.render import render_report  # matplotlib is heavy; load it only when rendering

    files = render_report(report, report_dir(settings, report.business_date), settings.business_timezone)
    return dataclasses.replace(report, files=files)


def build_daily_report(settings: Settings, database_url: str, business_date: dt.date) -> DailyReport:
    """Snapshot the day's figures as a new version and render its files under reports_dir/<date>/."""
    figures, freshness = _read_marts(settings, database_url, business_date)
    # Stored in its own read-committed transaction: the version number must see concurrent builds.
    with connect(database_url, row_factory=dict_row) as conn:
        _lock_day(conn, business_date)
        version, generated_at = _store(conn, business_date, figures, freshness, settings.report_lang)
    report = _render(settings, DailyReport(business_date, version=version, figures=figures, data_freshness=freshness,
                                           generated_at=generated_at, lang=settings.report_lang))
    log.info("daily report %s version %d stored and rendered to %s", business_date, version,
             report_dir(settings, business_date))
    return report


def current_report(settings: Settings, database_url: str, business_date: dt.date) -> DailyReport:
    """The report as the marts stand now: the latest stored version when its figures still equal
    the marts', otherwise a new version (the first one when the day has none).

    Why not simply the latest version: one built before the morning pipeline run (a /report at
    06:00) or before late data would otherwise be sent and shown for the rest of the day.
    Why not always a new one: an unchanged day keeps one version, so "version 2" means the
    figures changed.
    """
    figures, freshness = _read_marts(settings, database_url, business_date)
    # JSON round trip: the stored figures come back from jsonb, so compare like with like.
    comparable = json.loads(json.dumps(figures, ensure_ascii=False))
    with connect(database_url, row_factory=dict_row) as conn:
        _lock_day(conn, business_date)  # a concurrent build cannot slip between the check and the insert
        latest = conn.execute(
            "select * from reports.daily_report where business_date = %s order by version desc limit 1",
            (business_date,),
        ).fetchone()
        unchanged = latest is not None and latest["figures"] == comparable
        if not unchanged:
            version, generated_at = _store(conn, business_date, figures, freshness, settings.report_lang)
    if unchanged:
        log.info("daily report %s version %d still matches the marts; reusing it", business_date, latest["version"])
        return _with_files(settings, _fromplain_row(business_date, latest))
    if latest is not None:
        log.info("daily report %s: the marts changed since version %d; stored version %d",
                 business_date, latest["version"], version)
    return _render(settings, DailyReport(business_date, version=version, figures=figures, data_freshness=freshness,
                                         generated_at=generated_at, lang=settings.report_lang))


def _fromplain_row(business_date: dt.date, row: dict[str, Any]) -> DailyReport:
    return DailyReport(business_date, version=row["version"], figures=row["figures"],
                       data_freshness=row["data_freshness"], generated_at=row["generated_at"], lang=row["lang"])


def _with_files(settings: Settings, report: DailyReport) -> DailyReport:
    """The report with its files, rendered again when they are missing or from another version."""
    directory = report_dir(settings, report.business_date)
    files = expected_files(directory)
    if all(path.is_file() for path in files.values()) and rendered_version(directory) == report.version:
        return dataclasses.replace(report, files=files)
    return _render(settings, report)


def load_report(settings: Settings, database_url: str, business_date: dt.date,
                version: int | None = None) -> DailyReport | None:
    """A stored version (the latest by default), with its files re-rendered if they are missing."""
    with connect(database_url, row_factory=dict_row) as conn:
        row = conn.execute(
            "select * from reports.daily_report where business_date = %s and (%s::int is null or version = %s) "
            "order by version desc limit 1",
            (business_date, version, version),
        ).fetchone()
    return None if row is None else _with_files(settings, _fromplain_row(business_date, row))


def first_report_day(database_url: str) -> dt.date | None:
    """The first business day of marts.daily_kpis: where the report partitions start unless
    REPORTS_START_DATE says otherwise. None when there is no such mart or it cannot be read."""
    try:
        with connect(database_url, row_factory=dict_row) as conn:
            if not table_exists(conn, "marts.daily_kpis"):
                return None
            return conn.execute("select min(business_date) as d from marts.daily_kpis").fetchone()["d"]
    except psycopg.Error as exc:
        log.warning("cannot read the first day of marts.daily_kpis (%s); the report partitions start "
                    "at their default, set REPORTS_START_DATE to choose", exc)
        return None
