"""The bot's /week and /month, and the "in detail" button under the weekly and monthly summaries.

Handler functions over the ReportBot (notifications/bot.py registers them), kept in their own
module so the day's commands and these evolve apart. Who may see what follows /report: the
management roles only; a manager limited to restaurants sees only theirs and gets no HTML, an
analyst sees no operator names and gets no HTML.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from telegram import Update
from telegram.ext import ContextTypes

from notifications.bot_data import BotUser
from notifications.bot_guard import shown
from notifications.bot_rules import BadArgument, BotContext, report_for
from pantao.periods import Period, last_complete, period_of
from reports.messages import Messages
from reports.period_snapshot import current_period_report
from reports.period_summary import period_detailed_text
from reports.report import ReportError


def parse_period_day(kind: str, value: str | None, today: dt.date, msg: Messages) -> Period:
    """`/week [date]`, `/month [date | YYYY-MM]`: the period holding the date; by default the last whole one."""
    if not value:
        return last_complete(kind, today)
    if kind == "month" and len(value) == 7:
        value = f"{value}-01"
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return period_of(kind, dt.datetime.strptime(value, fmt).date())
        except ValueError:
            continue
    raise BadArgument(msg.t("bad_date", value=shown(value), example=last_complete(kind, today).start.isoformat()))


async def send_period(bot: BotContext, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser,
                      period: Period) -> None:
    """The period's detailed text, then its page for those who may see all of it."""
    msg = bot.msg
    try:
        report = await asyncio.to_thread(current_period_report, bot.settings, bot.database_url, period)
    except ReportError:
        await bot.reply(update, context, msg.t("no_data_period", period=msg.period(period)))
        return
    visible = report_for(user, report)
    await bot.reply(update, context, period_detailed_text(visible, bot.settings.report_lang,
                                                          bot.settings.business_timezone))
    if visible is report and report.html_path and report.html_path.is_file():
        suffix = period.start.isoformat() if period.kind == "week" else period.start.strftime("%Y-%m")
        with report.html_path.open("rb") as fh:
            await context.bot.send_document(update.effective_chat.id, fh, filename=f"report-{period.kind}-{suffix}.html")


async def week(bot: BotContext, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
    period = parse_period_day("week", context.args[0] if context.args else None, bot.today(), bot.msg)
    await send_period(bot, update, context, user, period)


async def month(bot: BotContext, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
    period = parse_period_day("month", context.args[0] if context.args else None, bot.today(), bot.msg)
    await send_period(bot, update, context, user, period)


async def period_button(bot: BotContext, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
    """`period:week:2026-11-23` from the button under a weekly or monthly summary."""
    query = update.callback_query
    await query.answer()
    _, kind, day = query.data.split(":", 2)
    if kind not in ("week", "month"):
        raise BadArgument(bot.msg.t("bad_date", value=shown(query.data), example=bot.today().isoformat()))
    await send_period(bot, update, context, user, parse_period_day(kind, day, bot.today(), bot.msg))
