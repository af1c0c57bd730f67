"""The bot's /callbacks: the day's callers nobody reached back (marts.missed_call_recovery), highest
expected lost revenue first, each with a «перезвонили» button that takes them off the open list
(reports.callback_marks). For administrators and managers, in private chats only: it shows the
numbers to call. A manager limited to restaurants sees the customers at home in them, as
reporting.missed_call_recovery lets them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any

from psycopg.rows import dict_row
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from notifications.bot_data import BotUser
from notifications.bot_rules import BadArgument, BotContext
from notifications.telegram import escape_html
from pantao.db import connect

LISTED = 10
BUTTON = re.compile(r"^callback:([0-9]{4}-[0-9]{2}-[0-9]{2}):(\+?[0-9]{3,20})$")
_OPEN = """
    select r.business_date, r.caller_phone, r.is_known_customer, r.lifetime_orders_count, r.attempts_count,
           r.wait_seconds_total, r.last_call_at, r.expected_lost_revenue_amount
    from marts.missed_call_recovery as r
    where r.business_date = %(day)s
      and (%(scope)s::int[] is null or r.home_restaurant_id = any(%(scope)s::int[]))
      and not exists (select 1 from reports.callback_marks as m
                      where m.business_date = r.business_date and m.caller_phone = r.caller_phone)
"""


def _scope(user: BotUser) -> list[int] | None:
    return list(user.restaurant_ids) if user.role == "crm_manager" and user.restaurant_ids else None


def open_callbacks(database_url: str, day: dt.date, user: BotUser) -> tuple[int, list[dict[str, Any]]]:
    """(how many are open, the LISTED first by expected lost revenue) of `day`, as `user` may see them."""
    params = {"day": day, "scope": _scope(user)}
    with connect(database_url, row_factory=dict_row) as conn:
        count = conn.execute(f"select count(*) as n from ({_OPEN}) as o", params).fetchone()["n"]
        rows = conn.execute(f"{_OPEN} order by r.expected_lost_revenue_amount desc, r.last_call_at, r.caller_phone "
                            f"limit {LISTED}", params).fetchall()
    return int(count), rows


def mark_called_back(database_url: str, day: dt.date, phone: str, user: BotUser, telegram_id: int) -> bool:
    """Take the caller off the open list; False when they are not on it (or not the user's to mark)."""
    params = {"day": day, "scope": _scope(user), "phone": phone}
    with connect(database_url) as conn:
        found = conn.execute(f"select 1 from ({_OPEN} and r.caller_phone = %(phone)s) as o", params).fetchone()
        if found is None:
            return False
        conn.execute("insert into reports.callback_marks (business_date, caller_phone, marked_by_telegram_id, "
                     "marked_by_username) values (%s, %s, %s, %s) on conflict do nothing",
                     (day, phone, telegram_id, user.username))
    return True


def _line(row: dict[str, Any], bot: BotContext) -> str:
    msg = bot.msg
    when = msg.moment(row["last_call_at"], bot.settings.business_timezone).rsplit(" (", 1)[0]
    who = msg.t("callbacks_known", orders=row["lifetime_orders_count"]) if row["is_known_customer"] else msg.t(
        "callbacks_unknown")
    return escape_html(msg.t("callbacks_line", phone=row["caller_phone"], who=who, attempts=row["attempts_count"],
                             when=when, amount=msg.money(row["expected_lost_revenue_amount"], 0)))


async def callbacks(bot: BotContext, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser,
                    day: dt.date) -> None:
    count, rows = await asyncio.to_thread(open_callbacks, bot.database_url, day, user)
    msg = bot.msg
    if not rows:
        await bot.reply(update, context, escape_html(msg.t("callbacks_none", date=msg.date(day))))
        return
    title = f"<b>{escape_html(msg.t('callbacks_title', date=msg.date(day), count=count))}</b>"
    await bot.reply(update, context, title)
    for row in rows:
        button = InlineKeyboardButton(msg.t("callbacks_button"),
                                      callback_data=f"callback:{day.isoformat()}:{row['caller_phone']}")
        await context.bot.send_message(update.effective_chat.id, _line(row, bot), parse_mode=ParseMode.HTML,
                                       reply_markup=InlineKeyboardMarkup([[button]]))


async def callback_button(bot: BotContext, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
    query = update.callback_query
    found = BUTTON.fullmatch(query.data or "")
    if found is None:
        raise BadArgument(bot.msg.t("callbacks_bad_button"))
    day, phone = dt.date.fromisoformat(found.group(1)), found.group(2)
    marked = await asyncio.to_thread(mark_called_back, bot.database_url, day, phone, user, update.effective_user.id)
    await query.answer(bot.msg.t("callbacks_marked" if marked else "callbacks_not_open"))
    if marked:
        await bot.reply(update, context, escape_html(bot.msg.t("callbacks_done", phone=phone)))
