"""Weekly and monthly report snapshots: a period's figures from the marts, stored as a new version in
`reports.period_report`, and rendered to HTML/CSV/PNG under `<reports>/week-<start>/`, `month-<YYYY-MM>/`.

The same rules as the day's report (reports/snapshot.py): all figures from one REPEATABLE READ
snapshot of the marts, every build a new version, and `current_period_report` reusing the latest
version while the marts still hold its figures. The KPIs come from marts.period_kpis (computed
over the period from the facts, never averaged days), the operators from their daily sums
(reports/operator_stats.py), the trend charts from marts.daily_kpis.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from typing import Any

from psycopg import IsolationLevel
from psycopg.rows import dict_row

from pantao.db import connect
from pantao.periods import Period
from pantao.settings import Settings
from reports.operator_stats import operator_figures
from reports.report import (
    TREND_KPIS,
    TREND_PERIODS,
    PeriodReport,
    ReportError,
    expected_period_files,
    period_dir,
    rendered_version,
)
from reports.snapshot import collect_freshness, plain_row, rating_counts, table_exists

log = logging.getLogger(__name__)

REQUIRED_MARTS = ("marts.period_kpis", "marts.restaurant_period_kpis", "marts.daily_kpis", "marts.operator_daily",
                  "marts.ratings")
KEYS = ("period_kind", "period_start", "period_end", "days_count")


def _chain_row(conn, period: Period) -> dict[str, Any] | None:
    return conn.execute("select * from marts.period_kpis where period_kind = %s and period_start = %s",
                        (period.kind, period.start)).fetchone()


def collect_period_figures(conn, period: Period) -> dict[str, Any]:
    """Everything a week's or a month's report shows, read from the marts in the caller's transaction."""
    missing = [name for name in REQUIRED_MARTS if not table_exists(conn, name)]
    if missing:
        raise ReportError(f"{', '.join(missing)} not found in the database; build the marts first "
                          "(`pantao run` or `pantao dbt build`)")
    row = _chain_row(conn, period)
    if row is None:
        raise ReportError(
            f"marts.period_kpis has no {period.kind} starting {period.start}; no day from {period.start} to "
            f"{period.end} has landed data, or the marts were not rebuilt after landing (`pantao run`)")
    previous = period.previous()
    trend_start = period.shifted(TREND_PERIODS[period.kind] - 1).start
    trend = conn.execute(
        "select business_date, " + ", ".join(TREND_KPIS) + " from marts.daily_kpis "
        "where business_date between %s and %s order by business_date", (trend_start, period.end)).fetchall()
    # A period is compared only with a whole one: October against three days of September says nothing.
    previous_row = _chain_row(conn, previous)
    if previous_row is not None and int(previous_row["days_count"]) < previous.days:
        previous_row = None
    restaurants = conn.execute(
        "select * from marts.restaurant_period_kpis where period_kind = %s and period_start = %s "
        "order by revenue_amount desc nulls last, restaurant_id", (period.kind, period.start)).fetchall()
    return {
        "period_kind": period.kind,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "comparison_start": previous.start.isoformat(),
        "days_count": int(row["days_count"]),
        "chain": plain_row(row, KEYS),
        "previous_chain": plain_row(previous_row, KEYS),
        "restaurants": [plain_row(r, KEYS[:3]) for r in restaurants],
        "operators": operator_figures(conn, period.start, period.end),
        "ratings": rating_counts(conn, period.start, period.end),
        "trend": [plain_row(r) for r in trend],
    }


def _read_marts(database_url: str, period: Period) -> tuple[dict[str, Any], dict[str, Any]]:
    with connect(database_url, row_factory=dict_row) as conn:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        if not table_exists(conn, "reports.period_report"):
            raise ReportError("reports.period_report does not exist; run `pantao prepare` first")
        return collect_period_figures(conn, period), collect_freshness(conn)


def _lock(conn, period: Period) -> None:
    conn.execute("select pg_advisory_xact_lock(hashtext('pantao:period_report:' || %s))",
                 (f"{period.kind}:{period.start}",))


def _store(conn, period: Period, figures: dict, freshness: dict, lang: str) -> tuple[int, dt.datetime]:
    row = conn.execute(
        """
        insert into reports.period_report (period_kind, period_start, version, period_end, figures, data_freshness, lang)
        select %(kind)s, %(start)s, coalesce(max(version), 0) + 1, %(end)s, %(figures)s::jsonb, %(freshness)s::jsonb,
               %(lang)s
        from reports.period_report where period_kind = %(kind)s and period_start = %(start)s
        returning version, generated_at
        """,
        {"kind": period.kind, "start": period.start, "end": period.end, "lang": lang,
         "figures": json.dumps(figures, ensure_ascii=False), "freshness": json.dumps(freshness)},
    ).fetchone()
    return int(row["version"]), row["generated_at"]


def _render(settings: Settings, report: PeriodReport) -> PeriodReport:
    from reports.period_render import render_period_report  # matplotlib is heavy; only when rendering

    files = render_period_report(report, period_dir(settings, report.period), settings.business_timezone)
    return dataclasses.replace(report, files=files)


def build_period_report(settings: Settings, database_url: str, period: Period) -> PeriodReport:
    """Snapshot a week's or a month's figures as a new version and render its files."""
    figures, freshness = _read_marts(database_url, period)
    with connect(database_url, row_factory=dict_row) as conn:
        _lock(conn, period)
        version, generated_at = _store(conn, period, figures, freshness, settings.report_lang)
    log.info("%s report %s version %d stored", period.kind, period.start, version)
    return _render(settings, PeriodReport(period, version=version, figures=figures, data_freshness=freshness,
                                          generated_at=generated_at, lang=settings.report_lang))


def current_period_report(settings: Settings, database_url: str, period: Period) -> PeriodReport:
    """The period's report as the marts stand now: the latest version while its figures still equal
    the marts', else a new version (as `reports.snapshot.current_report` for a day)."""
    figures, freshness = _read_marts(database_url, period)
    comparable = json.loads(json.dumps(figures, ensure_ascii=False))
    with connect(database_url, row_factory=dict_row) as conn:
        _lock(conn, period)
        latest = conn.execute(
            "select * from reports.period_report where period_kind = %s and period_start = %s "
            "order by version desc limit 1", (period.kind, period.start)).fetchone()
        unchanged = latest is not None and latest["figures"] == comparable
        if not unchanged:
            version, generated_at = _store(conn, period, figures, freshness, settings.report_lang)
    if unchanged:
        report = PeriodReport(period, version=latest["version"], figures=latest["figures"],
                              data_freshness=latest["data_freshness"], generated_at=latest["generated_at"],
                              lang=latest["lang"])
        directory = period_dir(settings, period)
        files = expected_period_files(directory)
        if all(p.is_file() for p in files.values()) and rendered_version(directory) == report.version:
            return dataclasses.replace(report, files=files)
        return _render(settings, report)
    return _render(settings, PeriodReport(period, version=version, figures=figures, data_freshness=freshness,
                                          generated_at=generated_at, lang=settings.report_lang))
