"""Rendering a stored week's or month's report: trend charts by day, CSV tables and the HTML page.

The page is the day's page (reports/render.py) with what a period needs instead of the hours: the
daily trend of the last 8 weeks or 6 months, and the top and bottom restaurants (by revenue) and
operators (by calls handled).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from pathlib import Path
from typing import Any

from reports.charts import ratings_chart, trend_chart
from reports.messages import Messages
from reports.render import (
    cards,
    chart_items,
    operator_table,
    page,
    render_files,
    restaurant_table,
    write_common_csv,
    write_csv,
)
from reports.report import (
    PERIOD_CHART_FILES,
    PERIOD_CSV_FILES,
    TREND_KPIS,
    TREND_PERIODS,
    PeriodReport,
    expected_period_files,
)
from reports.sections import ratings_table, top_and_bottom

log = logging.getLogger(__name__)

TREND_COLOURS = {"orders_count": "#2f6fb0", "revenue_amount": "#3a9d5d", "missed_call_rate": "#d9534f",
                 "csat_mean": "#e08a1e"}
RANKED = 3  # restaurants and operators at the top and at the bottom
# The trend chart of each KPI: its file's stem (reports.report.PERIOD_CHART_FILES).
TREND_CHARTS = {kpi: f"{kpi.removesuffix('_count').removesuffix('_amount')}_by_day"
                for kpi in TREND_KPIS}


def trend_title(report: PeriodReport, kpi: str, msg: Messages) -> str:
    key = "trend_weeks" if report.period.kind == "week" else "trend_months"
    return msg.t(key, label=msg.label(kpi), count=TREND_PERIODS[report.period.kind])


def render_period_charts(report: PeriodReport, directory: Path, msg: Messages) -> dict[str, Path]:
    trend = report.figures.get("trend") or []
    days = [dt.date.fromisoformat(r["business_date"]) for r in trend]
    paths = {Path(name).stem: directory / name for name in PERIOD_CHART_FILES}
    for kpi, stem in TREND_CHARTS.items():
        trend_chart(paths[stem], trend_title(report, kpi, msg), days, [r.get(kpi) for r in trend],
                    report.period.start, TREND_COLOURS[kpi], functools.partial(msg.kpi, kpi))
    ratings_chart(paths["csat"], report.figures, report.chain, msg)
    return {f"png:{stem}": path for stem, path in paths.items()}


def render_period_csv(report: PeriodReport, directory: Path, msg: Messages) -> dict[str, Path]:
    write_common_csv(report, directory, msg)
    trend = report.figures.get("trend") or []
    header = ["business_date", *TREND_KPIS]
    write_csv(directory / "trend.csv", header, [[r.get(c) for c in header] for r in trend])
    return {f"csv:{Path(name).stem}": directory / name for name in PERIOD_CSV_FILES}


def _ranked(rows: list[dict[str, Any]], column: str, msg: Messages, title: str, labels: tuple[str, str],
            table_id: str, describe) -> dict[str, Any]:
    top, bottom = top_and_bottom(rows, column, RANKED)
    width = max(len(top), len(bottom))
    body = [[describe(top[i]) if i < len(top) else "", describe(bottom[i]) if i < len(bottom) else ""]
            for i in range(width)]
    return {"id": table_id, "title": title, "header": [msg.t(labels[0]), msg.t(labels[1])], "rows": body,
            "text": True}


def period_title(report: PeriodReport, msg: Messages) -> str:
    period = report.period
    if period.kind == "week":
        return msg.t("week_title", start=msg.date(period.start), end=msg.date(period.end))
    return msg.t("month_title", month=msg.month(period.start))


def render_period_html(report: PeriodReport, directory: Path, msg: Messages, charts: dict[str, Path],
                       tz: str) -> Path:
    figures = report.figures
    restaurants, operators = figures.get("restaurants") or [], figures.get("operators") or []

    def restaurant(r: dict[str, Any]) -> str:
        return f"{msg.t('restaurant_n', id=r['restaurant_id'])}: {msg.kpi('revenue_amount', r.get('revenue_amount'))}"

    def operator(o: dict[str, Any]) -> str:
        who = f"{o['operator_name']} ({o['operator_extension']})" if o.get("operator_name") else o["operator_extension"]
        return f"{who}: {msg.kpi('calls_handled_count', o.get('calls_handled_count'))}"

    tables = [
        _ranked(restaurants, "revenue_amount", msg, msg.t("restaurants_ranked"), ("top", "bottom"), "ranked-restaurants",
                restaurant),
        _ranked(operators, "calls_handled_count", msg, msg.t("operators_ranked"), ("most", "least"),
                "ranked-operators", operator),
        restaurant_table(restaurants, msg, msg.t("restaurants_section")),
        operator_table(operators, msg, msg.t("operators_section")),
        ratings_table(figures, report.chain, msg),
    ]
    titles = {stem: trend_title(report, kpi, msg) for kpi, stem in TREND_CHARTS.items()}
    total = report.period.days
    days = int(figures.get("days_count") or 0)
    notes = [msg.t("partial_period", days=days, total=total) if days < total else "",
             msg.no_comparison(report.period) if report.previous_chain is None else ""]
    subtitle = "; ".join(n for n in notes if n)
    html = page(report, msg, tz, title=period_title(report, msg), subtitle=subtitle,
                charts_title=msg.t("trend_section"), cards_=cards(report, msg),
                charts=chart_items(charts, lambda stem: titles.get(stem) or msg.t("chart_csat")),
                tables=tables)
    path = directory / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


def render_period_report(report: PeriodReport, directory: Path, tz: str) -> dict[str, Path]:
    """Write the week's or month's PNG, CSV and HTML files into `directory` (replacing an older version's)."""
    render_files(report, directory, tz, render_period_charts, render_period_csv, render_period_html)
    log.debug("rendered %s report %s v%d into %s", report.period.kind, report.period.start, report.version, directory)
    return expected_period_files(directory)
