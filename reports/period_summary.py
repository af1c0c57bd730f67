"""The texts of a week's or a month's report (Telegram HTML, data escaped): the summary the Monday and
1st-of-month deliveries send, and the detailed text the bot's /week and /month answer with."""

from __future__ import annotations

from typing import Any

from reports.messages import Messages
from reports.report import PeriodReport
from reports.sections import top_and_bottom
from reports.summary import bold, esc, kpi_lines, kpi_summary_lines

RANKED = 3


def summary_title(report: PeriodReport, msg: Messages) -> str:
    period = report.period
    if period.kind == "week":
        return msg.t("week_summary_title", start=msg.date(period.start), end=msg.date(period.end))
    return msg.t("month_summary_title", month=msg.month(period.start))


def _head(report: PeriodReport, msg: Messages) -> list[str]:
    lines = [bold(summary_title(report, msg))]
    days = int(report.figures.get("days_count") or 0)
    notes = [msg.t("partial_period", days=days, total=report.period.days) if days < report.period.days else "",
             msg.no_comparison(report.period) if report.previous_chain is None else ""]
    if any(notes):
        lines.append(esc(f"({'; '.join(n for n in notes if n)})"))
    return lines


def _names(rows: list[dict[str, Any]], describe) -> str:
    return "; ".join(describe(r) for r in rows) or "—"


def ranked_lines(report: PeriodReport, msg: Messages) -> list[str]:
    """The top and bottom restaurants by revenue and the operators with the most and the fewest calls."""
    restaurants = report.figures.get("restaurants") or []
    operators = report.figures.get("operators") or []

    def restaurant(r: dict[str, Any]) -> str:
        return f"{esc(msg.t('restaurant_n', id=r['restaurant_id']))} — {esc(msg.kpi('revenue_amount', r.get('revenue_amount')))}"

    def operator(o: dict[str, Any]) -> str:
        who = f"{o['operator_name']} ({o['operator_extension']})" if o.get("operator_name") else o["operator_extension"]
        return f"{esc(who)} — {esc(msg.kpi('calls_handled_count', o.get('calls_handled_count')))}"

    lines = []
    if restaurants:
        top, bottom = top_and_bottom(restaurants, "revenue_amount", RANKED)
        lines += [bold(msg.t("restaurants_ranked")),
                  f"{esc(msg.t('top'))}: {_names(top, restaurant)}",
                  f"{esc(msg.t('bottom'))}: {_names(bottom, restaurant)}"]
    if operators:
        most, least = top_and_bottom(operators, "calls_handled_count", RANKED)
        lines += [bold(msg.t("operators_ranked")),
                  f"{esc(msg.t('most'))}: {_names(most, operator)}",
                  f"{esc(msg.t('least'))}: {_names(least, operator)}"]
    return lines


def period_summary(report: PeriodReport, lang: str | None = None) -> str:
    """The weekly or monthly summary: key figures against the period before, then who led and who trailed."""
    msg = Messages(lang or report.lang)
    return "\n".join([*_head(report, msg), "", *kpi_summary_lines(report, msg), "", *ranked_lines(report, msg)])


def period_detailed_text(report: PeriodReport, lang: str | None = None, timezone: str = "Europe/Moscow") -> str:
    """Every KPI of the period with its change, and the ranked restaurants and operators (the bot's /week)."""
    msg = Messages(lang or report.lang)
    version = esc(msg.t("report_version", version=report.version, generated_at=msg.moment(report.generated_at, timezone)))
    return "\n".join([*_head(report, msg), version, "", *kpi_lines(report, msg), "", *ranked_lines(report, msg)])
