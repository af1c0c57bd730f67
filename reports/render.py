"""Rendering a stored day report to files: PNG charts, CSV tables and one HTML page.

The page's parts a week's or a month's report shares (the cards, the flags, the ratings, the
page itself, the atomic write) are here too; reports/period_render.py adds what differs.
"""

from __future__ import annotations

import base64
import csv
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jinja2

from pantao.files import PRIVATE_FILE_MODE, private_dir
from pantao.kpis import load_kpis, model_kpis
from reports.anomalies import Flag, report_flags
from reports.cards import kpi_rows
from reports.charts import hour_series, hourly_bars, ratings_chart
from reports.html_template import TEMPLATE
from reports.messages import MESSAGES, Messages
from reports.recovery import recovery_table
from reports.report import CHART_FILES, CSV_FILES, VERSION_FILE, DailyReport, PeriodReport, expected_files
from reports.sections import ratings_table
from reports.staffing import staffing_table

log = logging.getLogger(__name__)


def columns(key: str, model: str) -> list[str]:
    """`key` then the KPI columns of a mart, in the mart's order (from the KPI registry)."""
    return [key, *(kpi.name for kpi in model_kpis(model))]


# -- charts ----------------------------------------------------------------------------------
def render_charts(report: DailyReport, directory: Path, msg: Messages) -> dict[str, Path]:
    hourly = report.figures.get("hourly") or []
    paths = {Path(name).stem: directory / name for name in CHART_FILES}
    hourly_bars(paths["orders_by_hour"], msg.t("chart_orders_by_hour"), msg.t("hour"),
                [(msg.label("orders_count"), hour_series(hourly, "orders_count"), "#2f6fb0")])
    hourly_bars(paths["calls_by_hour"], msg.t("chart_calls_by_hour"), msg.t("hour"),
                [(msg.t("answered"), hour_series(hourly, "calls_answered_count"), "#3a9d5d"),
                 (msg.t("unanswered"), hour_series(hourly, "calls_unanswered_count"), "#d9534f")],
                stacked=True)
    hourly_bars(paths["asa_by_hour"], msg.t("chart_asa_by_hour"), msg.t("hour"),
                [(msg.label("asa_seconds"), hour_series(hourly, "asa_seconds"), "#e08a1e")])
    ratings_chart(paths["csat"], report.figures, report.chain, msg)
    return {f"png:{stem}": path for stem, path in paths.items()}


# -- tables ----------------------------------------------------------------------------------
def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def operator_columns(operators: Sequence[dict[str, Any]]) -> list[str]:
    kpis = columns("operator_name", "operator_daily")[1:]
    extra = [k for r in operators[:1] for k in r if k not in kpis and k not in ("operator_extension", "operator_name")]
    return ["operator_extension", "operator_name", *[k for k in kpis if not operators or k in operators[0]], *extra]


def write_common_csv(report: DailyReport | PeriodReport, directory: Path, msg: Messages) -> None:
    """kpis.csv, operators.csv and restaurants.csv: raw values (dot decimals), the marts' column names."""
    figures = report.figures
    base = "same_weekday_last_week" if report.period.kind == "day" else "previous_period"
    write_csv(directory / "kpis.csv", ["kpi", "value", base],
              [(k["name"], k["raw"], k["previous_raw"]) for k in kpi_rows(report, msg)])
    operators = figures.get("operators") or []
    op_cols = operator_columns(operators)
    write_csv(directory / "operators.csv", op_cols, [[r.get(c) for c in op_cols] for r in operators])
    restaurants = figures.get("restaurants") or []
    restaurant_columns = columns("restaurant_id", "restaurant_daily_kpis")
    write_csv(directory / "restaurants.csv", restaurant_columns,
              [[r.get(c) for c in restaurant_columns] for r in restaurants])


def render_csv(report: DailyReport, directory: Path, msg: Messages) -> dict[str, Path]:
    write_common_csv(report, directory, msg)
    hourly = report.figures.get("hourly") or []
    hourly_columns = columns("hour", "hourly_kpis")
    write_csv(directory / "hourly.csv", hourly_columns, [[r.get(c) for c in hourly_columns] for r in hourly])
    return {f"csv:{Path(name).stem}": directory / name for name in CSV_FILES}


# -- html ------------------------------------------------------------------------------------
OPERATOR_TABLE = ("operator_name", "operator_extension", "calls_handled_count", "avg_pickup_seconds",
                  "avg_talk_seconds", "missed_rings_count", "missed_ring_rate", "occupancy", "logged_in_seconds",
                  "rating_mean", "phone_orders_count", "call_conversion_rate", "revenue_per_answered_call")


def operator_table(operators: Sequence[dict[str, Any]], msg: Messages, title: str, table_id: str = "operators"
                   ) -> dict[str, Any]:
    op_cols = [c for c in OPERATOR_TABLE if not operators or c in operators[0]]
    unknown = [str(r.get("operator_name")) for r in operators if r.get("is_known_operator") is False]
    return {"id": table_id, "title": title, "header": [msg.label(c) for c in op_cols],
            "rows": [[msg.kpi(c, r.get(c)) for c in op_cols] for r in operators],
            "note": msg.t("unknown_operators", names=", ".join(unknown)) if unknown else ""}


def restaurant_table(restaurants: Sequence[dict[str, Any]], msg: Messages, title: str,
                     table_id: str = "restaurants") -> dict[str, Any]:
    rest_cols = [c for c in columns("restaurant_id", "restaurant_daily_kpis") if not restaurants or c in restaurants[0]]
    return {"id": table_id, "title": title, "header": [msg.label(c) for c in rest_cols],
            "rows": [[msg.t("restaurant_n", id=r.get("restaurant_id")) if c == "restaurant_id"
                      else msg.kpi(c, r.get(c)) for c in rest_cols] for r in restaurants]}


PREVIOUS_LABELS = {"day": "same_weekday_last_week", "week": "previous_week", "month": "previous_month"}


def day_flags(report: DailyReport) -> list[Flag]:
    return report_flags(report.figures, load_kpis())


def cards(report: DailyReport | PeriodReport, msg: Messages, flags: Sequence[Flag] = ()) -> list[dict[str, Any]]:
    rows = []
    for row in kpi_rows(report, msg, {f.kpi: f for f in flags}):
        if row["previous"] is not None:
            previous_line = f"{msg.t(PREVIOUS_LABELS[report.period.kind])}: {row['previous']}"
        else:  # a week's or a month's page says it once, under its title
            previous_line = msg.no_comparison(report.period) if report.period.kind == "day" else ""
        rows.append({**row, "previous_line": previous_line})
    return rows


def flag_items(flags: Sequence[Flag], report: DailyReport, msg: Messages) -> list[dict[str, str]]:
    return [{"kpi": f.kpi, "text": msg.flag(f, report.business_date),
             "css": "bad" if f.worse else "neutral" if f.worse is None else "good"} for f in flags]


def chart_items(charts: dict[str, Path], titles: Callable[[str], str]) -> list[dict[str, str]]:
    return [{"file": path.name, "title": titles(key.split(":", 1)[1]),
             "base64": base64.b64encode(path.read_bytes()).decode("ascii")} for key, path in charts.items()]


def page(report: DailyReport | PeriodReport, msg: Messages, tz: str, *, title: str, charts_title: str,
         charts: list[dict[str, str]], tables: list[dict[str, Any]], flags: list[dict[str, str]] | None = None,
         cards_: list[dict[str, Any]], subtitle: str = "", footer: str = "") -> str:
    """The HTML page: every time in the business time zone, with the zone named."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    fresh = report.data_freshness
    freshness_line = (f"{msg.t('data_freshness')}: {msg.t('latest_order')} {msg.moment(fresh.get('latest_order_at'), tz)}, "
                      f"{msg.t('latest_call')} {msg.moment(fresh.get('latest_call_at'), tz)}")
    return env.from_string(TEMPLATE).render(
        lang=report.lang, title=title, subtitle=subtitle,
        version_line=msg.t("report_version", version=report.version, generated_at=msg.moment(report.generated_at, tz)),
        freshness_line=freshness_line, t=MESSAGES[report.lang], flags=flags or [], cards=cards_,
        charts_title=charts_title, charts=charts, tables=tables, footer=footer,
    )


def data_issues_footer(issues: dict[str, int], msg: Messages) -> str:
    """The footer naming what the figures leave out (marts.data_issues by rule); empty when nothing."""
    if not issues:
        return ""
    counts = [msg.t("data_issue_count", rule=msg.t(f"rule_{rule}"), count=count)
              for rule, count in sorted(issues.items())]
    return msg.t("data_issues_footer", rules="; ".join(counts))


def render_html(report: DailyReport, directory: Path, msg: Messages, charts: dict[str, Path], tz: str) -> Path:
    flags = day_flags(report)
    figures = report.figures
    tables = [operator_table(figures.get("operators") or [], msg, msg.t("operators_section")),
              restaurant_table(figures.get("restaurants") or [], msg, msg.t("top_restaurants")),
              ratings_table(figures, report.chain, msg)]
    tables += [t for t in (recovery_table(figures, msg, tz), staffing_table(figures, msg)) if t]
    html = page(report, msg, tz, title=msg.t("report_title", date=msg.date(report.business_date)),
                charts_title=msg.t("charts_section"), cards_=cards(report, msg, flags),
                charts=chart_items(charts, lambda stem: msg.t(f"chart_{stem}")),
                tables=tables, flags=flag_items(flags, report, msg),
                footer=data_issues_footer(report.figures.get("data_issues") or {}, msg))
    path = directory / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


def write_atomically(directory: Path, version: int, render: Callable[[Path], list[Path]]) -> None:
    """Render into a temporary folder beside `directory`, then move the files in one by one, so a
    reader never sees a half-written file; version.txt goes last."""
    private_dir(directory)  # reports name operators: their owner's only, whatever the umask
    with tempfile.TemporaryDirectory(dir=directory, prefix=".render-") as tmp:
        staging = Path(tmp)
        paths = render(staging)
        (staging / VERSION_FILE).write_text(f"{version}\n")
        for path in [*paths, staging / VERSION_FILE]:
            os.chmod(path, PRIVATE_FILE_MODE)
            os.replace(path, directory / path.name)


def render_files(report, directory: Path, tz: str, charts_of, csv_of, html_of) -> None:
    """Render a report of any period into `directory` at once (`write_atomically`): its charts
    (`charts_of`), CSV tables (`csv_of`) and the HTML page that embeds the charts (`html_of`)."""
    msg = Messages(report.lang)

    def render(staging: Path) -> list[Path]:
        charts = charts_of(report, staging, msg)
        tables = csv_of(report, staging, msg)
        return [*charts.values(), *tables.values(), html_of(report, staging, msg, charts, tz)]

    write_atomically(directory, report.version, render)


def render_report(report: DailyReport, directory: Path, tz: str) -> dict[str, Path]:
    """Write the report's PNG, CSV and HTML files into `directory` (replacing an older version's)."""
    render_files(report, directory, tz, render_charts, render_csv, render_html)
    log.debug("rendered report %s v%d into %s", report.business_date, report.version, directory)
    return expected_files(directory)
