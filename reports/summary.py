"""The texts made from a stored report: the short morning summary and the detailed report.

Both are Telegram HTML (`parse_mode=HTML`): every value that comes from data is escaped here,
so a restaurant or operator name can never break the markup. `to_plain` turns the same text
into what a terminal shows.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from reports.cards import kpi_rows
from reports.messages import Messages
from reports.report import DailyReport


def _b(text: str) -> str:
    return f"<b>{html.escape(text, quote=False)}</b>"


def _e(text: object) -> str:
    return html.escape(str(text), quote=False)


def morning_summary(report: DailyReport, lang: str | None = None) -> str:
    """The phone-sized summary: orders (vs the same weekday last week), revenue and check, repeat
    customers, CSAT, operator load, missed calls and ASA."""
    msg = Messages(lang or report.lang)
    c = report.chain
    prev = report.previous_chain
    day = report.business_date
    last_week = dt.date.fromisoformat(report.figures["comparison_date"])

    change = msg.change(c.get("orders_count"), (prev or {}).get("orders_count"), "orders_count")
    comparison = (f"{change} {msg.t('vs_last_week', weekday=msg.weekday(last_week), date=msg.date(last_week))}"
                  if change else msg.t("no_comparison"))
    lines = [
        _b(msg.t("summary_title", date=msg.date(day), weekday=msg.weekday(day))),
        "",
        f"{_e(msg.label('orders_count'))}: {_b(msg.kpi('orders_count', c.get('orders_count')))} ({_e(comparison)})",
        f"{_e(msg.label('revenue_amount'))}: {_b(msg.kpi('revenue_amount', c.get('revenue_amount')))}",
        f"{_e(msg.label('average_check_amount'))}: {_b(msg.kpi('average_check_amount', c.get('average_check_amount')))}",
        f"{_e(msg.label('repeat_customers_count'))}: {_b(msg.kpi('repeat_customers_count', c.get('repeat_customers_count')))} "
        f"{_e(msg.t('of_customers', total=msg.kpi('unique_customers_count', c.get('unique_customers_count'))))} "
        f"({_e(msg.kpi('repeat_customer_share', c.get('repeat_customer_share')))})",
        f"{_e(msg.t('csat'))}: "
        + _e(msg.t("csat_value", mean=msg.kpi("csat_mean", c.get("csat_mean")),
                   share=msg.kpi("csat_share", c.get("csat_share")),
                   count=msg.kpi("ratings_count", c.get("ratings_count")))),
        f"{_e(msg.t('operator_load'))}: "
        + _e(msg.t("load_value", occupancy=msg.kpi("occupancy", c.get("occupancy")),
                   per_hour=msg.kpi("calls_per_operator_hour", c.get("calls_per_operator_hour")))),
        f"{_e(msg.label('calls_unanswered_count'))}: "
        + _e(msg.t("missed_value", count=msg.kpi("calls_unanswered_count", c.get("calls_unanswered_count")),
                   offered=msg.kpi("calls_offered_count", c.get("calls_offered_count")),
                   rate=msg.kpi("missed_call_rate", c.get("missed_call_rate")))),
        f"{_e(msg.label('asa_seconds'))}: {_b(msg.kpi('asa_seconds', c.get('asa_seconds')))}",
    ]
    return "\n".join(lines)


def _kpi_lines(report: DailyReport, msg: Messages) -> list[str]:
    lines = []
    for row in kpi_rows(report, msg):
        change = f" ({row['change']})" if row["change"] else ""
        lines.append(f"{_e(row['label'])}: {_b(row['value'])}{_e(change)}")
    return lines


def detailed_report_text(report: DailyReport, lang: str | None = None, top: int = 5) -> str:
    """Every daily KPI with its change, the top restaurants and the busiest operators."""
    msg = Messages(lang or report.lang)
    day = report.business_date
    lines = [_b(msg.t("report_title", date=msg.date(day))),
             _e(msg.t("report_version", version=report.version,
                      generated_at=report.generated_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))), ""]
    lines += _kpi_lines(report, msg)
    restaurants: list[dict[str, Any]] = report.figures.get("restaurants") or []
    if restaurants:
        lines += ["", _b(msg.t("top_restaurants"))]
        for r in restaurants[:top]:
            lines.append(
                f"{_e(msg.t('restaurant_n', id=r.get('restaurant_id')))}: "
                f"{_e(msg.kpi('revenue_amount', r.get('revenue_amount')))}, "
                f"{_e(msg.label('orders_count').lower())} {_e(msg.kpi('orders_count', r.get('orders_count')))}"
            )
    operators: list[dict[str, Any]] = report.figures.get("operators") or []
    if operators:
        lines += ["", _b(msg.t("operators_section"))]
        for o in operators[:top]:
            lines.append(operator_line(o, msg))
    return "\n".join(lines)


def operator_line(o: dict[str, Any], msg: Messages) -> str:
    """One operator's figures; the name is left out when the reader may not see it (it is null)."""
    name, extension = o.get("operator_name"), o.get("operator_extension")
    who = f"{_e(name)} ({_e(extension)})" if name else _e(extension)
    return (f"{who}: "
            f"{_e(msg.label('calls_handled_count').lower())} {_e(msg.kpi('calls_handled_count', o.get('calls_handled_count')))}, "
            f"{_e(msg.label('avg_pickup_seconds').lower())} {_e(msg.kpi('avg_pickup_seconds', o.get('avg_pickup_seconds')))}, "
            f"{_e(msg.label('missed_ring_rate').lower())} {_e(msg.kpi('missed_ring_rate', o.get('missed_ring_rate')))}, "
            f"{_e(msg.label('occupancy').lower())} {_e(msg.kpi('occupancy', o.get('occupancy')))}")


_TAG = re.compile(r"</?(?:b|i|u|s|code|pre|a)(?:\s[^>]*)?>")


def to_plain(telegram_html: str) -> str:
    """Telegram HTML as terminal text: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", telegram_html))
