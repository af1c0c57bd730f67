"""The KPI cards of a report: label, formatted value, change against the period before and its colour,
and the anomaly flag when the value is out of the ordinary.

Kept apart from reports.render (matplotlib, jinja2) because the morning summary and the bot
need the cards too, and they must not pay for loading a plotting library on every start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pantao.kpis import load_kpis, model_kpis
from reports.messages import Messages

if TYPE_CHECKING:
    from reports.anomalies import Flag
    from reports.report import DailyReport, PeriodReport


def kpi_rows(report: DailyReport | PeriodReport, msg: Messages,
             flags: Mapping[str, Flag] | None = None) -> list[dict[str, Any]]:
    """The KPI cards: every KPI of marts.daily_kpis (in its order, then any extra mart columns).

    A change says what it is against («+7,3 % к вт 07.05»); `flags` (by KPI) adds the card's ⚠ note.
    """
    chain, previous = report.chain, report.previous_chain or {}
    daily = [kpi.name for kpi in model_kpis("daily_kpis")]
    names = [k for k in daily if k in chain] + [k for k in chain if k not in daily]
    flags = flags or {}
    rows = []
    for name in names:
        value, prev = chain.get(name), previous.get(name)
        numeric = isinstance(value, int | float) and isinstance(prev, int | float)
        flag = flags.get(name)
        rows.append({
            "name": name,
            "label": msg.label(name),
            "raw": value,
            "previous_raw": prev,
            "value": msg.kpi(name, value),
            "previous": msg.kpi(name, prev) if report.previous_chain else None,
            "change": msg.change_versus(value, prev, name, report.period) if numeric else None,
            "change_only": msg.change(value, prev, name) if numeric else None,
            "versus": msg.versus(report.period),
            "direction": change_class(name, value, prev) if numeric else "",
            "flag": msg.flag_note(flag, report.period.start) if flag else None,
            "flag_class": ("bad" if flag.worse else "neutral" if flag.worse is None else "good") if flag else "",
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
