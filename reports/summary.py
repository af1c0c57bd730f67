"""The texts made from a stored report: the short morning summary and the detailed report.

Both are Telegram HTML (`parse_mode=HTML`): every value that comes from data is escaped here,
so a restaurant or operator name can never break the markup. `to_plain` turns the same text
into what a terminal shows. Every change says what it is against («к пт 20.11»), and the KPIs of
the day that are out of the ordinary open the summary as ⚠ lines (reports/anomalies.py).
"""

from __future__ import annotations

import html
import re
from typing import Any

from pantao.kpis import load_kpis
from reports.anomalies import Flag, report_flags
from reports.cards import kpi_rows
from reports.messages import Messages
from reports.recovery import recovery_line
from reports.report import DailyReport, PeriodReport
from reports.sections import csat_parts
from reports.staffing import staffing_line


def bold(text: str) -> str:
    return f"<b>{html.escape(text, quote=False)}</b>"


def esc(text: object) -> str:
    return html.escape(str(text), quote=False)


def flag_lines(report: DailyReport, msg: Messages, flags: list[Flag] | None = None) -> list[str]:
    """«⚠ Доля пропущенных 16,1 % — выше обычного для пятницы: 11,0–14,0 %», the worse news first."""
    flags = report_flags(report.figures, load_kpis()) if flags is None else flags
    ordered = sorted(flags, key=lambda f: {True: 0, None: 1, False: 2}[f.worse])
    return [f"⚠ {esc(msg.flag(f, report.business_date))}" for f in ordered]


def _changed(msg: Messages, report: DailyReport | PeriodReport, column: str, text: str) -> str:
    """`text` with the KPI's change against the period before, saying which period that is."""
    c, prev = report.chain, report.previous_chain
    change = msg.change_versus(c.get(column), (prev or {}).get(column), column, report.period)
    if change:
        return f"{text} ({esc(change)})"
    # a day says so on its orders line; a week's or a month's summary once, under its title
    missing = prev is None and column == "orders_count" and report.period.kind == "day"
    return f"{text} ({esc(msg.no_comparison(report.period))})" if missing else text


def _change_note(msg: Messages, report: DailyReport | PeriodReport, column: str) -> str:
    """« (+0,7 % к пт 10.05)» inside a line, or nothing when there is no change to tell."""
    change = msg.change_versus(report.chain.get(column), (report.previous_chain or {}).get(column), column,
                               report.period)
    return f" ({change})" if change else ""


def kpi_summary_lines(report: DailyReport | PeriodReport, msg: Messages) -> list[str]:
    """Orders, revenue and check, repeat customers, CSAT (calls and orders apart), operator load,
    missed calls, ASA and the call-to-order conversion; the changes against the period before."""
    c = report.chain

    def value(column: str) -> str:
        return bold(msg.kpi(column, c.get(column)))

    return [
        _changed(msg, report, "orders_count", f"{esc(msg.label('orders_count'))}: {value('orders_count')}"),
        _changed(msg, report, "revenue_amount", f"{esc(msg.label('revenue_amount'))}: {value('revenue_amount')}"),
        _changed(msg, report, "average_check_amount",
                 f"{esc(msg.label('average_check_amount'))}: {value('average_check_amount')}"),
        f"{esc(msg.label('repeat_customers_count'))}: {value('repeat_customers_count')} "
        f"{esc(msg.t('of_customers', total=msg.kpi('unique_customers_count', c.get('unique_customers_count'))))} "
        f"({esc(msg.kpi('repeat_customer_share', c.get('repeat_customer_share')))})",
        f"{esc(msg.t('csat'))}: " + esc(msg.t(
            "csat_value", mean=msg.kpi("csat_mean", c.get("csat_mean")), change=_change_note(msg, report, "csat_mean"),
            share=msg.kpi("csat_share", c.get("csat_share")),
            count=msg.kpi("ratings_count", c.get("ratings_count")))) + f"; {esc(csat_parts(c, msg))}",
        f"{esc(msg.t('operator_load'))}: "
        + esc(msg.t("load_value", occupancy=msg.kpi("occupancy", c.get("occupancy")),
                   per_hour=msg.kpi("calls_per_operator_hour", c.get("calls_per_operator_hour")))),
        _changed(msg, report, "missed_call_rate", f"{esc(msg.label('calls_unanswered_count'))}: " + esc(msg.t(
            "missed_value", count=msg.kpi("calls_unanswered_count", c.get("calls_unanswered_count")),
            offered=msg.kpi("calls_offered_count", c.get("calls_offered_count")),
            rate=msg.kpi("missed_call_rate", c.get("missed_call_rate"))))),
        _changed(msg, report, "asa_seconds", f"{esc(msg.label('asa_seconds'))}: {value('asa_seconds')}"),
        _changed(msg, report, "call_conversion_rate", f"{esc(msg.t('conversion'))}: " + esc(msg.t(
            "conversion_value", rate=msg.kpi("call_conversion_rate", c.get("call_conversion_rate")),
            converted=msg.kpi("calls_converted_count", c.get("calls_converted_count")),
            answered=msg.kpi("calls_answered_count", c.get("calls_answered_count")),
            revenue=msg.kpi("revenue_per_answered_call", c.get("revenue_per_answered_call"))))),
    ]


def morning_summary(report: DailyReport, lang: str | None = None) -> str:
    """The phone-sized summary: the day's ⚠ flags first, then the key figures with their changes,
    then the callers nobody reached back and the hours short of operators tomorrow."""
    msg = Messages(lang or report.lang)
    day = report.business_date
    flags = flag_lines(report, msg)
    lines = [bold(msg.t("summary_title", date=msg.date(day), weekday=msg.weekday(day))), ""]
    if flags:
        lines += [*flags, ""]
    recovery = recovery_line(report.figures, msg)
    extra = [f"{esc(msg.t('recovery'))}: {esc(recovery)}"] if recovery else []
    staffing = staffing_line(report.figures, msg)
    extra += [esc(staffing)] if staffing else []
    return "\n".join(lines + kpi_summary_lines(report, msg) + extra)


def kpi_lines(report: DailyReport | PeriodReport, msg: Messages) -> list[str]:
    lines = []
    for row in kpi_rows(report, msg):
        change = f" ({row['change']})" if row["change"] else ""
        lines.append(f"{esc(row['label'])}: {bold(row['value'])}{esc(change)}")
    return lines


def detailed_report_text(report: DailyReport, lang: str | None = None, top: int = 5,
                         timezone: str = "Europe/Moscow") -> str:
    """The day's ⚠ flags, every daily KPI with its change, the top restaurants and the busiest operators.

    `timezone` is BUSINESS_TIMEZONE: the generation time is shown in it, with its name.
    """
    msg = Messages(lang or report.lang)
    day = report.business_date
    lines = [bold(msg.t("report_title", date=msg.date(day))),
             esc(msg.t("report_version", version=report.version, generated_at=msg.moment(report.generated_at, timezone))),
             ""]
    flags = flag_lines(report, msg)
    if flags:
        lines += [*flags, ""]
    lines += kpi_lines(report, msg)
    restaurants: list[dict[str, Any]] = report.figures.get("restaurants") or []
    if restaurants:
        lines += ["", bold(msg.t("top_restaurants"))]
        lines += [restaurant_line(r, msg) for r in restaurants[:top]]
    operators: list[dict[str, Any]] = report.figures.get("operators") or []
    if operators:
        lines += ["", bold(msg.t("operators_section"))]
        for o in operators[:top]:
            lines.append(operator_line(o, msg))
    return "\n".join(lines)


def restaurant_line(r: dict[str, Any], msg: Messages) -> str:
    return (f"{esc(msg.t('restaurant_n', id=r.get('restaurant_id')))}: "
            f"{esc(msg.kpi('revenue_amount', r.get('revenue_amount')))}, "
            f"{esc(msg.label('orders_count').lower())} {esc(msg.kpi('orders_count', r.get('orders_count')))}")


def operator_line(o: dict[str, Any], msg: Messages) -> str:
    """One operator's figures; the name is left out when the reader may not see it (it is null)."""
    name, extension = o.get("operator_name"), o.get("operator_extension")
    who = f"{esc(name)} ({esc(extension)})" if name else esc(extension)
    return (f"{who}: "
            f"{esc(msg.label('calls_handled_count').lower())} {esc(msg.kpi('calls_handled_count', o.get('calls_handled_count')))}, "
            f"{esc(msg.label('avg_pickup_seconds').lower())} {esc(msg.kpi('avg_pickup_seconds', o.get('avg_pickup_seconds')))}, "
            f"{esc(msg.label('missed_ring_rate').lower())} {esc(msg.kpi('missed_ring_rate', o.get('missed_ring_rate')))}, "
            f"{esc(msg.label('occupancy').lower())} {esc(msg.kpi('occupancy', o.get('occupancy')))}")


_TAG = re.compile(r"</?(?:b|i|u|s|code|pre|a)(?:\s[^>]*)?>")


def to_plain(telegram_html: str) -> str:
    """Telegram HTML as terminal text: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", telegram_html))
