"""The bot's /staffing: tomorrow's (or a given day's) operators per hour as reports/staffing.py advises
them (Erlang C at SERVICE_LEVEL_TARGET within SERVICE_LEVEL_SECONDS), short hours marked ⚠."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from psycopg.rows import dict_row
from telegram import Update
from telegram.ext import ContextTypes

from notifications.bot_rules import BotContext
from notifications.telegram import escape_html
from pantao.db import connect
from reports.staffing import Target, staffing_figures


def read_advice(database_url: str, day: dt.date, target: Target) -> dict[str, Any]:
    with connect(database_url, row_factory=dict_row) as conn:
        return staffing_figures(conn, day, target)


def advice_text(advice: dict[str, Any], bot: BotContext) -> str:
    msg, day = bot.msg, dt.date.fromisoformat(advice["date"])
    if not advice["hours"]:
        return escape_html(msg.t("staffing_none", date=msg.date(day)))
    lines = [f"<b>{escape_html(msg.t('staffing_title', date=msg.date(day), weekday=msg.weekday(day), share=msg.percent(advice['target'], 0), seconds=advice['seconds']))}</b>"]
    for h in advice["hours"]:
        line = msg.t("staffing_hour_line", hour=f"{h['hour']:02d}", forecast=msg.number(h["forecast_calls"], 1),
                     needed=msg.number(h["operators_needed"]), last_week=msg.number(h["logged_in_last_week"]))
        if h["is_short"]:
            line = f"⚠ {line}: {msg.t('staffing_short', count=h['operators_needed'] - h['logged_in_last_week'])}"
        lines.append(escape_html(line))
    return "\n".join(lines)


async def staffing(bot: BotContext, update: Update, context: ContextTypes.DEFAULT_TYPE, day: dt.date) -> None:
    target = Target(bot.settings.service_level_target, bot.settings.service_level_seconds)
    advice = await asyncio.to_thread(read_advice, bot.database_url, day, target)
    await bot.reply(update, context, advice_text(advice, bot))
