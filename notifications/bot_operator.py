"""The bot's /mystats and /myratings: an operator's own figures beside the team's median, and the calls
their customers rated, with the comments.

An operator asks about themselves only: the extension comes from access.users, and naming another
one is refused. Administrators and managers ask about any operator by extension
(`/mystats 101 week`), or about their own when their login has one. Figures over a period are
re-derived from the daily sums (reports/operator_stats.py); the rated calls are those of
reporting.my_interactions, read from the marts as every bot answer is.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import re
from typing import Any

from psycopg.rows import dict_row
from telegram import Update
from telegram.ext import ContextTypes

from notifications.bot_data import BotUser
from notifications.bot_guard import shown
from notifications.bot_rules import BadArgument, BotContext
from notifications.telegram import escape_html
from pantao.db import connect
from pantao.kpis import model_kpis
from reports.messages import Messages
from reports.operator_stats import operator_figures, rated_calls, rated_calls_count, team_medians

EXTENSION = re.compile(r"^[0-9]{1,10}$")  # ASCII digits only, as bot_guard reads numbers
DIGITS = re.compile(r"[0-9]+")
SEES_EVERY_OPERATOR = ("crm_admin", "crm_manager")
LATEST_RATED = 10
RATINGS_LISTED = 20


# -- what is read (run in worker threads) --------------------------------------------------------
def overview(database_url: str, extension: str, start: dt.date, end: dt.date
             ) -> tuple[dict[str, Any] | None, dict[str, float | None], list[dict[str, Any]]]:
    """The operator's figures, the team's medians over the same days, their latest rated calls with comments."""
    with connect(database_url, row_factory=dict_row) as conn:
        everyone = operator_figures(conn, start, end)
        own = next((r for r in everyone if r["operator_extension"] == extension), None)
        columns = [k.name for k in model_kpis("operator_daily")]
        rated = rated_calls(conn, extension, start, end, with_comment=True, limit=LATEST_RATED) if own else []
    return own, team_medians(everyone, columns), rated


def ratings(database_url: str, extension: str, start: dt.date, end: dt.date) -> tuple[int, list[dict[str, Any]]]:
    with connect(database_url, row_factory=dict_row) as conn:
        return (rated_calls_count(conn, extension, start, end),
                rated_calls(conn, extension, start, end, limit=RATINGS_LISTED))


# -- arguments -----------------------------------------------------------------------------------
def whose(user: BotUser, args: list[str], msg: Messages) -> tuple[str | None, str | None]:
    """(extension asked about, the period argument); the extension is None when the user has none to ask.

    An operator's own extension always; another operator's only for administrators and managers.
    """
    first = args[0] if args else None
    if first is not None and EXTENSION.fullmatch(first):
        if user.role not in SEES_EVERY_OPERATOR and first != user.operator_extension:
            raise BadArgument(msg.t("own_figures_only", extension=escape_html(user.operator_extension or "—")))
        return first, args[1] if len(args) > 1 else None
    if first is not None and user.role in SEES_EVERY_OPERATOR and DIGITS.fullmatch(first):
        raise BadArgument(msg.t("bad_extension", value=shown(first)))
    return user.operator_extension, first


def _period_text(msg: Messages, start: dt.date, end: dt.date) -> str:
    return msg.date(start) if start == end else f"{msg.date(start)} – {msg.date(end)}"


def rated_line(row: dict[str, Any], msg: Messages, timezone: str) -> str:
    """«27.11.2026 18:05 — 2 из 5, ожидание 95 с, разговор 130 с, оформлен заказ» and the comment below it."""
    moment = msg.moment(row["entered_at"], timezone).rsplit(" (", 1)[0]  # the title names the zone once
    line = msg.t("rating_line", time=moment, score=row["rating_score"], wait=msg.seconds(row.get("wait_seconds")),
                 talk=msg.seconds(row.get("talk_seconds")), result=msg.t(f"call_result_{row['call_result']}"))
    comment = row.get("rating_comment")
    return escape_html(line) + (f"\n   «<i>{escape_html(comment)}</i>»" if comment else "")


# -- handlers ------------------------------------------------------------------------------------
async def _asked(bot: BotContext, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser,
                 parse_period) -> tuple[str, dt.date, dt.date, str] | None:
    """(extension, first day, last day, the period as text) a request is about; None when the user has
    no extension to ask about (they are told so)."""
    extension, period_arg = whose(user, list(context.args or []), bot.msg)
    if not extension:
        await bot.reply(update, context, bot.msg.t("not_operator"))
        return None
    start, end = parse_period(period_arg, bot.today(), bot.msg)
    return extension, start, end, _period_text(bot.msg, start, end)


def _about_an_operator(handler):
    """A command about one operator's period: the wrapped command reads whose and which period from
    the arguments (`_asked`) and hands the handler (extension, first day, last day, period text)."""

    @functools.wraps(handler)
    async def command(bot: BotContext, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser,
                      parse_period) -> None:
        asked = await _asked(bot, update, context, user, parse_period)
        if asked is not None:
            await handler(bot, update, context, user, *asked)

    return command


@_about_an_operator
async def mystats(bot: BotContext, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser,
                  extension: str, start: dt.date, end: dt.date, period: str) -> None:
    msg = bot.msg
    own, medians, rated = await asyncio.to_thread(overview, bot.database_url, extension, start, end)
    if own is None:
        key = "mystats_empty" if extension == user.operator_extension else "unknown_extension"
        await bot.reply(update, context, msg.t(key, period=period, extension=extension))
        return
    title = "mystats_title" if extension == user.operator_extension else "operator_stats_title"
    lines = [f"<b>{escape_html(msg.t(title, extension=extension, period=period))}</b>"]
    if own.get("operator_name") and user.role in SEES_EVERY_OPERATOR:
        lines.append(escape_html(own["operator_name"]))
    for kpi in model_kpis("operator_daily"):
        if kpi.name in own:
            team = msg.t("mystats_team", value=msg.kpi(kpi.name, medians.get(kpi.name)))
            lines.append(f"{escape_html(kpi.label(msg.lang))}: <b>{escape_html(msg.kpi(kpi.name, own[kpi.name]))}</b>"
                         f" ({escape_html(team)})")
    lines += ["", f"<b>{escape_html(msg.t('mystats_rated'))}</b>"]
    tz = bot.settings.business_timezone
    lines += [rated_line(r, msg, tz) for r in rated] or [escape_html(msg.t("mystats_no_rated"))]
    await bot.reply(update, context, "\n".join(lines))


@_about_an_operator
async def myratings(bot: BotContext, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser,
                    extension: str, start: dt.date, end: dt.date, period: str) -> None:
    msg = bot.msg
    total, rows = await asyncio.to_thread(ratings, bot.database_url, extension, start, end)
    if not total:
        await bot.reply(update, context, msg.t("myratings_empty", period=period))
        return
    tz = bot.settings.business_timezone
    lines = [f"<b>{escape_html(msg.t('myratings_title', extension=extension, period=period, count=total))}</b>",
             escape_html(f"({tz})")]
    lines += [rated_line(r, msg, tz) for r in rows]
    if total > len(rows):
        lines.append(escape_html(msg.t("myratings_more", count=total - len(rows))))
    await bot.reply(update, context, "\n".join(lines))
