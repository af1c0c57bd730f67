"""What the bot's handlers share besides the bot itself: the error a bad argument raises, what a
role may see of a report, and the little of the bot a handler module uses (`BotContext`).

Handler modules (bot_periods.py, bot_operator.py) import this, never notifications/bot.py, which
registers them: so they add commands without an import cycle.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Protocol, TypeVar

from telegram import Update
from telegram.ext import ContextTypes

from notifications.bot_data import BotUser
from pantao.settings import Settings
from reports.messages import Messages
from reports.report import DailyReport, PeriodReport

AnyReport = TypeVar("AnyReport", DailyReport, PeriodReport)


class BadArgument(ValueError):
    """An argument the user typed cannot be read; the message is ready to show to them."""


class BotContext(Protocol):
    """The bot as a handler module sees it (notifications.bot.ReportBot)."""

    settings: Settings
    database_url: str
    msg: Messages

    def today(self) -> dt.date: ...

    async def reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None: ...


def operators_for(user: BotUser, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Operator rows as the user may see them: the names null for those docs/access.md denies them."""
    if user.sees_operator_names:
        return rows
    return [{**row, "operator_name": None} for row in rows]


def report_for(user: BotUser, report: AnyReport) -> AnyReport:
    """The report (a day's, a week's or a month's) as the user may see it; the very same object when
    nothing is hidden from them.

    A manager limited to some restaurants sees the chain figures (the chain is theirs too) but
    only their restaurants' rows; an analyst sees every figure but no operator names.
    """
    figures = report.figures
    if user.restaurant_ids and user.role == "crm_manager":
        figures = {**figures, "restaurants": [
            r for r in figures.get("restaurants") or [] if r.get("restaurant_id") in user.restaurant_ids]}
    if not user.sees_operator_names:
        figures = {**figures, "operators": operators_for(user, figures.get("operators") or [])}
    return report if figures is report.figures else dataclasses.replace(report, figures=figures)
