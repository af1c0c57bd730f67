"""The report's PNG charts (matplotlib's object API on an Agg canvas, no pyplot: no global state, so
rendering is safe from the bot's worker threads)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from reports.messages import Messages
from reports.sections import SUBJECTS, csat_parts, stored_rating_counts

SCORE_COLOURS = ["#b42318", "#e08a1e", "#f0c419", "#7cb342", "#1b7f3b"]


def save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", dpi=100)


def hour_series(hourly: Sequence[dict[str, Any]], column: str) -> list[float]:
    by_hour = {int(r["hour"]): r.get(column) for r in hourly}
    return [float(by_hour.get(h) or 0) for h in range(24)]


def hourly_bars(path: Path, title: str, xlabel: str, series: list[tuple[str, list[float], str]],
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
    save(fig, path)


def ratings_chart(path: Path, figures: Mapping[str, Any], chain: Mapping[str, Any], msg: Messages) -> None:
    """Ratings per score, calls and orders side by side; the title gives each one's mean and count,
    from the same KPI row as the report's cards."""
    counts = stored_rating_counts(figures)
    fig = Figure(figsize=(6, 3.2), layout="constrained")
    ax = fig.add_subplot()
    scores = range(1, 6)
    width = 0.4
    legend = []
    for offset, subject, hatch in ((-width / 2, SUBJECTS[0], ""), (width / 2, SUBJECTS[1], "//")):
        ax.bar([s + offset for s in scores], [counts[subject][str(s)] for s in scores], width=width,
               color=SCORE_COLOURS, edgecolor="#1f2933", linewidth=0.5, hatch=hatch)
        # the legend tells calls from orders by the hatch alone: the colours are the scores'
        legend.append(Patch(facecolor="#e4e7eb", edgecolor="#1f2933", hatch=hatch,
                            label=msg.t("ratings_calls" if subject == "call" else "ratings_orders")))
    ax.set_xticks(list(scores))
    ax.set_title(csat_parts(chain, msg, "chart_csat_parts"), fontsize=10)
    ax.set_xlabel(msg.t("score"))
    ax.set_ylabel(msg.t("count"))
    ax.legend(handles=legend, loc="upper left")
    save(fig, path)


def trend_chart(path: Path, title: str, days: Sequence[dt.date], values: Sequence[float | None],
                period_start: dt.date, colour: str, tick: Callable[[float], str]) -> None:
    """One KPI by day over the trend window; the report's own period is shaded, and the axis is
    labelled as the KPI is written (`tick`: «1 500 000 ₽», «15,0 %»)."""
    fig = Figure(figsize=(8, 3.0), layout="constrained")
    ax = fig.add_subplot()
    ys = [float("nan") if v is None else float(v) for v in values]
    ax.plot(list(days), ys, color=colour, marker="o", markersize=2.5, linewidth=1.4)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _position: tick(value)))
    if days:
        ax.axvspan(period_start, days[-1] + dt.timedelta(days=1), color="#2f6fb0", alpha=0.08)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.set_ylim(bottom=0)
    fig.autofmt_xdate()
    save(fig, path)
