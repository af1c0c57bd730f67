"""The Telegram bot (`pantao bot`): details on request, to registered people only.

Every command and button press goes through one gate: the sender's Telegram id must be in
access.users (the same table that drives the database roles), each attempt is written to
reports.bot_access_log, and what a person may ask follows their role, as docs/access.md sets
it for the database: operators see only their own figures (/mystats), managers limited to
restaurants see only those restaurants, analysts see no operator names. The bot reads the
marts as the pipeline does, so it applies those rules itself.
Only commands and buttons reach the gate: in a group chat the bot must not answer (or log)
the people talking to each other. The gate also decides where the bot answers at all
(`bot_guard`): private chats, and the groups of TELEGRAM_BOT_GROUP_IDS with the chain summary
only; and it answers an overlong request with one short error. Database work runs in worker
threads so one slow query never stalls other chats.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from notifications import bot_callbacks, bot_data, bot_guard, bot_operator, bot_periods, bot_staffing
from notifications.bot_data import BotUser
from notifications.bot_guard import Place, shown
from notifications.bot_rules import BadArgument, operators_for, report_for
from notifications.telegram import escape_html, split_message
from pantao.domain import business_today, business_yesterday
from pantao.kpis import model_kpis
from pantao.settings import Settings
from reports.messages import Messages
from reports.report import DailyReport, ReportError
from reports.snapshot import current_report
from reports.summary import detailed_report_text, morning_summary, operator_line

log = logging.getLogger(__name__)

MANAGEMENT_ROLES = ("crm_admin", "crm_manager", "crm_analyst")
CALLBACK_ROLES = ("crm_admin", "crm_manager")
MAX_PERIOD_DAYS = 366
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE, BotUser], Awaitable[None]]


# -- argument parsing (pure) -------------------------------------------------------------------
def parse_day(value: str | None, yesterday: dt.date, msg: Messages) -> dt.date:
    """YYYY-MM-DD (or DD.MM.YYYY, as Russians write it); no value means `yesterday`."""
    if not value:
        return yesterday
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:  # strptime reads ASCII digits only (tests/test_bot.py checks)
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise BadArgument(msg.t("bad_date", value=shown(value), example=yesterday.isoformat()))


def parse_period(value: str | None, today: dt.date, msg: Messages) -> tuple[dt.date, dt.date]:
    """today | yesterday | week (the last 7 days) | month (since the 1st) | A..B; default yesterday."""
    value = (value or "yesterday").strip().lower()
    named = {
        "today": (today, today),
        "yesterday": (today - dt.timedelta(days=1),) * 2,
        "week": (today - dt.timedelta(days=6), today),
        "month": (today.replace(day=1), today),
    }
    if value in named:
        return named[value]
    example = f"{(today - dt.timedelta(days=7)).isoformat()}..{today.isoformat()}"
    start_text, sep, end_text = value.partition("..")
    try:
        if not sep:
            raise ValueError
        start, end = dt.date.fromisoformat(start_text), dt.date.fromisoformat(end_text)
    except ValueError:
        raise BadArgument(msg.t("bad_period", value=shown(value), example=example)) from None
    if start > end or (end - start).days >= MAX_PERIOD_DAYS:
        raise BadArgument(msg.t("bad_period", value=shown(value), example=example))
    return start, end


# -- the bot -----------------------------------------------------------------------------------
class ReportBot:
    """Handlers bound to the settings and the database they read."""

    def __init__(self, settings: Settings, database_url: str) -> None:
        self.settings = settings
        self.database_url = database_url
        self.msg = Messages(settings.report_lang)

    def today(self) -> dt.date:
        return business_today(self.settings.tz)

    def yesterday(self) -> dt.date:
        return business_yesterday(self.settings.tz)

    def _db(self, fn: Callable[..., Any], *args: Any) -> Awaitable[Any]:
        return asyncio.to_thread(fn, self.database_url, *args)

    # -- gate ----------------------------------------------------------------------------
    def guarded(self, command: str, handler: Handler, roles: tuple[str, ...] | None = None,
                group: Handler | None = None):
        """Wrap a handler: answered only where the bot may answer (`bot_guard.place_of`), overlong
        requests refused, known users only, the attempt logged, the role checked, bad args explained.

        In a group of TELEGRAM_BOT_GROUP_IDS everyone reads the answer, so `group` runs there
        instead of `handler` (it must show nothing a group may not read); without one the command
        is pointed to the private chat."""

        @functools.wraps(handler)
        async def wrapper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            sender = update.effective_user
            chat = update.effective_chat
            text = update.callback_query.data if update.callback_query else (
                update.effective_message.text if update.effective_message else command)
            place = bot_guard.place_of(chat, self.settings.telegram_bot_group_ids)
            if place is Place.CLOSED:  # no answer in the chat, where others would read it
                await self._db_log(sender, chat, text or command, False, bot_guard.closed_reason(chat))
                if update.callback_query:
                    await update.callback_query.answer(self.msg.t("chat_closed"), show_alert=True)
                return
            if bot_guard.too_long(text):
                await self._db_log(sender, chat, text, False, f"request of {len(text)} characters")
                await self._answer_refusal(update, self.msg.t("too_long", limit=bot_guard.MAX_REQUEST_CHARS))
                return
            user = await self._db(bot_data.find_user, sender.id) if sender else None
            allowed, reason = user is not None, None if user else "unknown telegram id"
            if user and roles and user.role not in roles:
                allowed, reason = False, f"role {user.role} may not use {command}"
            run = group if place is Place.GROUP else handler
            if allowed and run is None:
                allowed, reason = False, f"{command} is answered in private chats only"
            await self._db_log(sender, chat, text or command, allowed, reason)
            if user is None:
                log.warning("bot: refused %r from unknown telegram id %s (@%s)", text, sender and sender.id,
                            sender and sender.username)
                await self._answer_refusal(update, self.msg.t("refusal", telegram_id=sender.id if sender else "?"))
                return
            if not allowed:
                await self._answer_refusal(update, self.msg.t("group_private_only" if run is None else "role_refusal"))
                return
            try:
                await run(update, context, user)
            except BadArgument as exc:
                await self.reply(update, context, str(exc))

        return wrapper

    async def _db_log(self, sender, chat, command: str, allowed: bool, reason: str | None) -> None:
        await asyncio.to_thread(
            bot_data.log_access, self.database_url, telegram_id=sender.id if sender else None,
            telegram_username=sender.username if sender else None, chat_id=chat.id if chat else None,
            command=command, allowed=allowed, reason=reason,
        )

    async def _answer_refusal(self, update: Update, text: str) -> None:
        if update.callback_query:
            await update.callback_query.answer(text[:200], show_alert=True)
        elif update.effective_message:
            await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)

    async def reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
        for part in split_message(text):
            await context.bot.send_message(update.effective_chat.id, part, parse_mode=ParseMode.HTML,
                                           disable_web_page_preview=True)

    # -- commands ------------------------------------------------------------------------
    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
        await self.reply(update, context, self.msg.t("help"))

    async def report(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
        day = parse_day(context.args[0] if context.args else None, self.yesterday(), self.msg)
        await self._send_report(update, context, user, day)

    async def group_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
        await self.reply(update, context, self.msg.t("group_help"))

    async def group_report(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
        """/report in a group of TELEGRAM_BOT_GROUP_IDS: the chain summary only, as the morning
        message reads (no restaurants, no operators, no file)."""
        day = parse_day(context.args[0] if context.args else None, self.yesterday(), self.msg)
        report = await self._report(update, context, day)
        if report is not None:
            await self.reply(update, context, morning_summary(report, self.settings.report_lang))

    async def report_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
        query = update.callback_query
        await query.answer()
        day = parse_day(query.data.removeprefix("report:"), self.yesterday(), self.msg)
        await self._send_report(update, context, user, day)

    async def _report(self, update: Update, context: ContextTypes.DEFAULT_TYPE, day: dt.date) -> DailyReport | None:
        """The day's current report, or None once the user was told there is none."""
        try:
            return await asyncio.to_thread(current_report, self.settings, self.database_url, day)
        except ReportError as exc:
            log.info("bot: no report for %s: %s", day, exc)
            await self.reply(update, context, self.msg.t("no_data", date=self.msg.date(day)))
            return None

    async def _send_report(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser,
                           day: dt.date) -> None:
        report = await self._report(update, context, day)
        if report is None:
            return
        visible = report_for(user, report)
        await self.reply(update, context, detailed_report_text(visible, self.settings.report_lang,
                                                               timezone=self.settings.business_timezone))
        # The HTML lists every restaurant and every operator by name: only for those who may see all of it.
        if visible is report and report.html_path and report.html_path.is_file():
            with report.html_path.open("rb") as fh:
                await context.bot.send_document(update.effective_chat.id, fh,
                                                filename=f"report-{day.isoformat()}.html")

    async def operators(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
        day = parse_day(context.args[0] if context.args else None, self.yesterday(), self.msg)
        rows = operators_for(user, await self._db(bot_data.operators_day, day))
        if not rows:
            await self.reply(update, context, self.msg.t("no_data", date=self.msg.date(day)))
            return
        lines = [f"<b>{escape_html(self.msg.t('operators_title', date=self.msg.date(day)))}</b>"]
        lines += [operator_line(r, self.msg) for r in rows]
        await self.reply(update, context, "\n".join(lines))

    async def calls(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
        day = parse_day(context.args[0] if context.args else None, self.yesterday(), self.msg)
        chain = await self._db(bot_data.chain_kpis, day)
        if not chain:
            await self.reply(update, context, self.msg.t("no_data", date=self.msg.date(day)))
            return
        hourly = await self._db(bot_data.hourly_kpis, day)
        lines = [f"<b>{escape_html(self.msg.t('calls_title', date=self.msg.date(day)))}</b>"]
        lines += self._kpi_lines(chain, "daily_kpis", groups=("calls", "operators"))
        if hourly:
            peak = max(hourly, key=lambda r: r.get("calls_offered_count") or 0)
            lines.append(f"{escape_html(self.msg.t('peak_hour'))}: {int(peak['hour']):02d}:00 — "
                         f"{self.msg.kpi('calls_offered_count', peak.get('calls_offered_count'))}")
        await self.reply(update, context, "\n".join(lines))

    async def restaurant(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
        args = context.args or []
        restaurant_id = bot_guard.parse_number(args[0] if args else None)
        if restaurant_id is None:
            raise BadArgument(self.msg.t("bad_restaurant"))
        day = parse_day(args[1] if len(args) > 1 else None, self.yesterday(), self.msg)
        if not user.may_see_restaurant(restaurant_id):
            await self._db_log(update.effective_user, update.effective_chat, f"/restaurant {restaurant_id}",
                               False, "restaurant outside the manager's scope")
            allowed = ", ".join(str(i) for i in user.restaurant_ids or ())
            await self.reply(update, context, self.msg.t("restaurant_refusal", id=restaurant_id, allowed=allowed))
            return
        row = await self._db(bot_data.restaurant_kpis, restaurant_id, day)
        if not row:
            await self.reply(update, context, self.msg.t("unknown_restaurant", id=restaurant_id,
                                                         date=self.msg.date(day)))
            return
        lines = [f"<b>{escape_html(self.msg.t('restaurant_title', id=restaurant_id, date=self.msg.date(day)))}</b>"]
        lines += self._kpi_lines(row, "restaurant_daily_kpis")
        await self.reply(update, context, "\n".join(lines))

    async def mystats(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
        await bot_operator.mystats(self, update, context, user, parse_period)

    async def myratings(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
        await bot_operator.myratings(self, update, context, user, parse_period)

    async def week(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
        await bot_periods.week(self, update, context, user)

    async def month(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
        await bot_periods.month(self, update, context, user)

    async def period_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
        await bot_periods.period_button(self, update, context, user)

    async def callbacks(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
        day = parse_day(context.args[0] if context.args else None, self.today(), self.msg)
        await bot_callbacks.callbacks(self, update, context, user, day)

    async def callback_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
        await bot_callbacks.callback_button(self, update, context, user)

    async def staffing(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
        day = parse_day(context.args[0] if context.args else None, self.today() + dt.timedelta(days=1), self.msg)
        await bot_staffing.staffing(self, update, context, day)

    async def unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: BotUser) -> None:
        await self.reply(update, context, self.msg.t("help"))

    async def private_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Plain text in a private chat: a pointer to /help, nothing read, nothing logged."""
        await update.effective_message.reply_text(self.msg.t("text_hint"))

    def _kpi_lines(self, row: dict[str, Any], mart: str, groups: tuple[str, ...] | None = None) -> list[str]:
        """One line per KPI of `mart` (of `groups`, when given) that `row` holds, in the registry's order."""
        columns = [k.name for k in model_kpis(mart) if groups is None or k.group in groups]
        return [f"{escape_html(self.msg.label(c))}: <b>{escape_html(self.msg.kpi(c, row.get(c)))}</b>"
                for c in columns if c in row]

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("bot: handling %r failed", update, exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat:
            await context.bot.send_message(update.effective_chat.id, self.msg.t("internal_error"))


def build_application(settings: Settings, database_url: str) -> Application:
    """The python-telegram-bot Application with every handler, pointed at TELEGRAM_API_BASE_URL."""
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set; the bot needs a token from @BotFather")
    base = settings.telegram_api_base_url.rstrip("/")
    timeout = settings.http_timeout_seconds
    app = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .connect_timeout(timeout).read_timeout(timeout).write_timeout(timeout)
        .get_updates_connect_timeout(timeout).get_updates_read_timeout(timeout + 30)
        .concurrent_updates(8)
        .build()
    )
    bot = ReportBot(settings, database_url)
    management = MANAGEMENT_ROLES
    # Every command answers in private chats; in a group of TELEGRAM_BOT_GROUP_IDS only those given
    # a `group=` handler answer, with what the whole group may read (bot_guard).
    app.add_handler(CommandHandler(["help", "start"], bot.guarded("/help", bot.help, group=bot.group_help)))
    app.add_handler(CommandHandler("report", bot.guarded("/report", bot.report, management, group=bot.group_report)))
    app.add_handler(CommandHandler("operators", bot.guarded("/operators", bot.operators, management)))
    app.add_handler(CommandHandler("calls", bot.guarded("/calls", bot.calls, management)))
    app.add_handler(CommandHandler("restaurant", bot.guarded("/restaurant", bot.restaurant, management)))
    app.add_handler(CommandHandler("mystats", bot.guarded("/mystats", bot.mystats)))
    app.add_handler(CommandHandler("myratings", bot.guarded("/myratings", bot.myratings)))
    app.add_handler(CommandHandler("week", bot.guarded("/week", bot.week, management)))
    app.add_handler(CommandHandler("month", bot.guarded("/month", bot.month, management)))
    # /callbacks shows the numbers to call: administrators and managers, private chats only
    app.add_handler(CommandHandler("callbacks", bot.guarded("/callbacks", bot.callbacks, CALLBACK_ROLES)))
    app.add_handler(CommandHandler("staffing", bot.guarded("/staffing", bot.staffing, management)))
    app.add_handler(CallbackQueryHandler(bot.guarded("callback button", bot.callback_button, CALLBACK_ROLES),
                                         pattern=r"^callback:"))
    app.add_handler(CallbackQueryHandler(bot.guarded("report button", bot.report_button, management),
                                         pattern=r"^report:"))
    app.add_handler(CallbackQueryHandler(bot.guarded("period button", bot.period_button, management),
                                         pattern=r"^period:(week|month):"))
    # Only commands and buttons are requests. In a group, other messages are people talking to each
    # other (and unknown commands are another bot's): no answer, no log row. In a private chat an
    # unknown command gets the help, plain text a one-line pointer to it.
    private = filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(private & filters.COMMAND, bot.guarded("other", bot.unknown)))
    app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, bot.private_text))
    app.add_error_handler(bot.on_error)
    return app


def run_bot(settings: Settings, database_url: str) -> None:
    """Poll Telegram until stopped (Ctrl-C / SIGTERM); python-telegram-bot handles the signals."""
    app = build_application(settings, database_url)
    log.info("bot: polling %s for updates", settings.telegram_api_base_url)
    app.run_polling(allowed_updates=["message", "callback_query"])
