"""The KPI cards of a report: label, formatted value, change against last week and its colour.

Kept apart from reports.render (matplotlib, jinja2) because the morning summary and the bot
need the cards too, and they must not pay for loading a plotting library on every start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pantao.kpis import load_kpis, model_kpis
from reports.messages import Messages

if TYPE_CHECKING:
    from reports.report import DailyReport


def kpi_rows(report: DailyReport, msg: Messages) -> list[dict[str, Any]]:
    """The KPI cards: every KPI of marts.daily_kpis (in its order, then any extra mart columns)."""
    chain, previous = report.chain, report.previous_chain or {}
    daily = [kpi.name for kpi in model_kpis("daily_kpis")]
    names = [k for k in daily if k in chain] + [k for k in chain if k not in daily]
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
    """"good", "bad", "neutral" or "" (no change): the CSS class of a card's change.

    Coloured by what the change means for the business (the KPI's higher_is_better in the
    registry), not by its sign: more missed calls is bad news. A column that is no KPI is neutral.
    """
    if value == prev:
        return ""
    kpi = load_kpis().get(name)
    if kpi is None or kpi.higher_is_better is None:
        return "neutral"
    return "good" if (value > prev) == kpi.higher_is_better else "bad"
