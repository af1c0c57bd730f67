"""Rendering a stored report to files: PNG charts (matplotlib), CSV tables and one HTML page.

Charts are drawn with matplotlib's object API (`Figure`, Agg canvas) rather than pyplot, so
rendering holds no global state and is safe from the bot's worker threads.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pantao.files import PRIVATE_FILE_MODE, private_dir
from pantao.kpis import model_kpis
from reports.cards import kpi_rows
from reports.html_template import TEMPLATE
from reports.messages import MESSAGES, Messages
from reports.report import CHART_FILES, CSV_FILES, VERSION_FILE, DailyReport, expected_files

log = logging.getLogger(__name__)



def _columns(key: str, model: str) -> list[str]:
    """`key` then the KPI columns of a mart, in the mart's order (from the KPI registry)."""
    return [key, *(kpi.name for kpi in model_kpis(model))]


# -- charts ----------------------------------------------------------------------------------
def _hour_series(hourly: Sequence[dict[str, Any]], column: str) -> list[float]:
    by_hour = {int(r["hour"]): r.get(column) for r in hourly}
    return [float(by_hour.get(h) or 0) for h in range(24)]


def _save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", dpi=100)


def _bar_chart(path: Path, title: str, xlabel: str, series: list[tuple[str, list[float], str]],
               stacked: bool = False) -> None:
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax = fig.add_subplot()
    hours = list(range(24))
    bottom = [0.0] * 24
    for label, values, color in series:
        ax.bar(hours, values, bottom=bottom if stacked else None, label=label, color=color)
        if stacked:
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_xticks(hours)
    ax.grid(axis="y", alpha=0.3)
    if len(series) > 1:
        ax.legend(loc="upper left")
    _save(fig, path)


def render_charts(report: DailyReport, directory: Path, msg: Messages) -> dict[str, Path]:
    hourly = report.figures.get("hourly") or []
    paths = {Path(name).stem: directory / name for name in CHART_FILES}
    _bar_chart(paths["orders_by_hour"], msg.t("chart_orders_by_hour"), msg.t("hour"),
               [(msg.label("orders_count"), _hour_series(hourly, "orders_count"), "#2f6fb0")])
    _bar_chart(paths["calls_by_hour"], msg.t("chart_calls_by_hour"), msg.t("hour"),
               [(msg.t("answered"), _hour_series(hourly, "calls_answered_count"), "#3a9d5d"),
                (msg.t("unanswered"), _hour_series(hourly, "calls_unanswered_count"), "#d9534f")],
               stacked=True)
    _bar_chart(paths["asa_by_hour"], msg.t("chart_asa_by_hour"), msg.t("hour"),
               [(msg.label("asa_seconds"), _hour_series(hourly, "asa_seconds"), "#e08a1e")])

    ratings = report.figures.get("call_ratings") or {}
    fig = Figure(figsize=(5, 3.2), layout="constrained")
    ax = fig.add_subplot()
    scores = [1, 2, 3, 4, 5]
    ax.bar([str(s) for s in scores], [ratings.get(str(s), 0) for s in scores],
           color=["#b42318", "#e08a1e", "#f0c419", "#7cb342", "#1b7f3b"])
    chain = report.chain
    ax.set_title(f"{msg.t('chart_csat')}: {msg.kpi('csat_mean', chain.get('csat_mean'))} / 5")
    ax.set_xlabel(msg.t("score"))
    ax.set_ylabel(msg.t("count"))
    _save(fig, paths["csat"])
    return {f"png:{stem}": path for stem, path in paths.items()}


# -- tables ----------------------------------------------------------------------------------
def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _operator_columns(operators: Sequence[dict[str, Any]]) -> list[str]:
    kpis = _columns("operator_name", "operator_daily")[1:]
    extra = [k for r in operators[:1] for k in r if k not in kpis and k not in ("operator_extension", "operator_name")]
    return ["operator_extension", "operator_name", *[k for k in kpis if not operators or k in operators[0]], *extra]


def render_csv(report: DailyReport, directory: Path, msg: Messages) -> dict[str, Path]:
    """Machine-readable tables: raw values (dot decimals) with the mart column names as headers."""
    figures = report.figures
    kpis = kpi_rows(report, msg)
    _write_csv(directory / "kpis.csv", ["kpi", "value", "same_weekday_last_week"],
               [(k["name"], k["raw"], k["previous_raw"]) for k in kpis])
    hourly = figures.get("hourly") or []
    hourly_columns = _columns("hour", "hourly_kpis")
    _write_csv(directory / "hourly.csv", hourly_columns, [[r.get(c) for c in hourly_columns] for r in hourly])
    operators = figures.get("operators") or []
    op_cols = _operator_columns(operators)
    _write_csv(directory / "operators.csv", op_cols, [[r.get(c) for c in op_cols] for r in operators])
    restaurants = figures.get("restaurants") or []
    restaurant_columns = _columns("restaurant_id", "restaurant_daily_kpis")
    _write_csv(directory / "restaurants.csv", restaurant_columns,
               [[r.get(c) for c in restaurant_columns] for r in restaurants])
    return {f"csv:{Path(name).stem}": directory / name for name in CSV_FILES}


# -- html ------------------------------------------------------------------------------------
def _html_tables(report: DailyReport, msg: Messages) -> list[dict[str, Any]]:
    operators = report.figures.get("operators") or []
    op_cols = [c for c in ("operator_name", "operator_extension", "calls_handled_count", "avg_pickup_seconds",
                           "avg_talk_seconds", "missed_rings_count", "missed_ring_rate", "occupancy",
                           "logged_in_seconds", "rating_mean", "phone_orders_count")
               if not operators or c in operators[0]]
    restaurants = report.figures.get("restaurants") or []
    rest_cols = [c for c in _columns("restaurant_id", "restaurant_daily_kpis") if not restaurants or c in restaurants[0]]
    ratings = report.figures.get("call_ratings") or {}
    chain = report.chain
    unknown = [str(r.get("operator_name")) for r in operators if r.get("is_known_operator") is False]
    return [
        {"id": "operators", "title": msg.t("operators_section"),
         "header": [msg.label(c) for c in op_cols],
         "rows": [[msg.kpi(c, r.get(c)) for c in op_cols] for r in operators],
         "note": msg.t("unknown_operators", names=", ".join(unknown)) if unknown else ""},
        {"id": "restaurants", "title": msg.t("top_restaurants"),
         "header": [msg.label(c) for c in rest_cols],
         "rows": [[msg.t("restaurant_n", id=r.get("restaurant_id")) if c == "restaurant_id"
                   else msg.kpi(c, r.get(c)) for c in rest_cols] for r in restaurants]},
        {"id": "csat", "title": msg.t("csat_section"),
         "header": [msg.t("score"), msg.t("count")],
         "rows": [[str(s), msg.number(ratings.get(str(s), 0))] for s in range(5, 0, -1)]
         + [[msg.label("csat_mean"), msg.kpi("csat_mean", chain.get("csat_mean"))],
            [msg.label("csat_share"), msg.kpi("csat_share", chain.get("csat_share"))],
            [msg.label("ratings_count"), msg.kpi("ratings_count", chain.get("ratings_count"))]]},
    ]


def _local_time(value: Any, tz: str) -> str:
    if not value:
        return "—"
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def render_html(report: DailyReport, directory: Path, msg: Messages, charts: dict[str, Path], tz: str) -> Path:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    cards = []
    for row in kpi_rows(report, msg):
        previous_line = (f"{msg.t('same_weekday_last_week')}: {row['previous']}"
                         if row["previous"] is not None else msg.t("no_comparison"))
        cards.append({**row, "previous_line": previous_line})
    chart_items = [
        {"file": path.name, "title": msg.t(f"chart_{key.split(':')[1]}") if key != "png:csat" else msg.t("chart_csat"),
         "base64": base64.b64encode(path.read_bytes()).decode("ascii")}
        for key, path in charts.items()
    ]
    fresh = report.data_freshness
    freshness_line = (f"{msg.t('data_freshness')}: {msg.t('latest_order')} {_local_time(fresh.get('latest_order_at'), tz)}, "
                      f"{msg.t('latest_call')} {_local_time(fresh.get('latest_call_at'), tz)}")
    html = env.from_string(TEMPLATE).render(
        lang=report.lang,
        title=msg.t("report_title", date=msg.date(report.business_date)),
        version_line=msg.t("report_version", version=report.version,
                           generated_at=_local_time(report.generated_at, tz)),
        freshness_line=freshness_line,
        t=MESSAGES[report.lang],
        cards=cards,
        charts=chart_items,
        tables=_html_tables(report, msg),
    )
    path = directory / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


def render_report(report: DailyReport, directory: Path, tz: str) -> dict[str, Path]:
    """Write the report's PNG, CSV and HTML files into `directory` (replacing an older version's).

    Files are written into a temporary folder beside it and moved in one by one, so a reader
    never sees a half-written file.
    """
    msg = Messages(report.lang)
    private_dir(directory)  # reports name operators: their owner's only, whatever the umask
    with tempfile.TemporaryDirectory(dir=directory, prefix=".render-") as tmp:
        staging = Path(tmp)
        charts = render_charts(report, staging, msg)
        tables = render_csv(report, staging, msg)
        html = render_html(report, staging, msg, charts, tz)
        (staging / VERSION_FILE).write_text(f"{report.version}\n")
        for path in [*charts.values(), *tables.values(), html, staging / VERSION_FILE]:
            os.chmod(path, PRIVATE_FILE_MODE)
            os.replace(path, directory / path.name)
    files = expected_files(directory)
    log.debug("rendered report %s v%d into %s", report.business_date, report.version, directory)
    return files
