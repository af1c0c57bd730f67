"""The KPI cards of a report: label, formatted value, change against last week and its colour.

Kept apart from reports.render (matplotlib, jinja2) because the morning summary and the bot
need the cards too, and they must not pay for loading a plotting library on every start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pantao.domain import DAILY_KPIS
from reports.messages import Messages

if TYPE_CHECKING:
    from reports.report import DailyReport

# Colour a change by what it means for the business, not by its sign: more missed calls is bad news.
LOWER_IS_BETTER = frozenset({
    "cancelled_orders_count", "calls_unanswered_count", "missed_call_rate", "short_abandon_count", "asa_seconds",
})
NEUTRAL = frozenset({"calls_offered_count", "occupancy", "calls_per_operator_hour", "ratings_count", "avg_talk_seconds"})


def kpi_rows(report: DailyReport, msg: Messages) -> list[dict[str, Any]]:
    """The KPI cards: every daily KPI (listed ones first, then any extra mart columns)."""
    chain, previous = report.chain, report.previous_chain or {}
    names = [k for k in DAILY_KPIS if k in chain] + [k for k in chain if k not in DAILY_KPIS]
    rows = []
    for name in names:
        value, prev = chain.get(name), previous.get(name)
        numeric = isinstance(value, int | float) and isinstance(prev, int | float)
        rows.append({
            "name": name,
            "label": msg.label(name),
            "raw": value,
            "previous_raw": prev,
            "value": msg.kpi(name, value),
            "previous": msg.kpi(name, prev) if report.previous_chain else None,
            "change": msg.change(value, prev, name) if numeric else None,
            "direction": change_class(name, value, prev) if numeric else "",
        })
    return rows


def change_class(name: str, value: float, prev: float) -> str:
    """"good", "bad", "neutral" or "" (no change): the CSS class of a card's change."""
    if value == prev:
        return ""
    if name in NEUTRAL:
        return "neutral"
    better = value < prev if name in LOWER_IS_BETTER else value > prev
    return "good" if better else "bad"
