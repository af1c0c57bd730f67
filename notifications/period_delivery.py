"""The weekly and monthly summaries: sent once per period and chat, as the morning summary is.

Monday 08:00 sends the week just ended, the 1st at 08:00 the month just ended (Dagster schedules,
orchestration/defs/reports/periods.py). Each is a `reports.deliveries` row of its own kind
(`weekly_summary`, `monthly_summary`) keyed on the period's first day, through the same delivery
functions as the morning summary (notifications/delivery.py): once per chat, retried, alerted.
"""

from __future__ import annotations

from notifications.delivery import DeliveryOutcome, Summary, deliver_summary
from pantao.periods import Period
from pantao.settings import Settings
from reports.messages import Messages
from reports.period_snapshot import current_period_report
from reports.period_summary import period_summary

KINDS = {"week": "weekly_summary", "month": "monthly_summary"}
# After the text: the orders and the missed-call trends, and the page.
ATTACHMENTS = ("png:orders_by_day", "png:missed_call_rate_by_day", "html")


def period_callback_data(period: Period) -> str:
    """The "in detail" button's data: `period:week:2026-11-23`, answered by the bot's period handler."""
    return f"period:{period.kind}:{period.start.isoformat()}"


def deliver_period_summary(settings: Settings, database_url: str, period: Period,
                           force: bool = False) -> list[DeliveryOutcome]:
    """Send the week's or the month's summary to every configured chat that has not had it."""
    report = current_period_report(settings, database_url, period)
    msg = Messages(settings.report_lang)
    summary = Summary(KINDS[period.kind], period_summary(report, settings.report_lang),
                      (msg.t(f"detailed_{period.kind}"), period_callback_data(period)), ATTACHMENTS,
                      alert=f"alert_{KINDS[period.kind].removesuffix('_summary')}_delivery_failed")
    return deliver_summary(settings, database_url, report, summary, force)
