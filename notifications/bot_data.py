"""What the bot reads from PostgreSQL: who is asking (access.users) and the marts' figures.

Plain synchronous functions, run by the bot in worker threads, so they are testable without
Telegram and the bot's event loop never blocks on the database.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from pantao.db import connect
from reports.report import plain_value

log = logging.getLogger(__name__)

# docs/access.md: operator_daily.operator_name is shown to administrators and managers, null for
# analysts, and to an operator only on their own row (the bot shows operators no names at all).
OPERATOR_NAME_ROLES = ("crm_admin", "crm_manager")


@dataclass(frozen=True)
class BotUser:
    """A registered person, as access.users knows them."""

    username: str
    role: str
    operator_extension: str | None
    restaurant_ids: tuple[int, ...] | None  # None or empty: not limited

    @property
    def sees_operator_names(self) -> bool:
        return self.role in OPERATOR_NAME_ROLES

    def may_see_restaurant(self, restaurant_id: int) -> bool:
        return not (self.role == "crm_manager" and self.restaurant_ids) or restaurant_id in self.restaurant_ids


def find_user(database_url: str, telegram_id: int) -> BotUser | None:
    """The user registered with this Telegram id, or None (also when access.users does not exist yet)."""
    try:
        with connect(database_url, row_factory=dict_row) as conn:
            row = conn.execute(
                "select username, role, operator_extension, restaurant_ids from access.users where telegram_id = %s",
                (telegram_id,),
            ).fetchone()
    except psycopg.errors.UndefinedTable:
        log.error("access.users does not exist: nobody can use the bot until `pantao prepare` creates it "
                  "and `pantao users add ... --telegram-id ID` registers people")
        return None
    if row is None:
        return None
    ids = tuple(row["restaurant_ids"]) if row["restaurant_ids"] else None
    return BotUser(row["username"], row["role"], row["operator_extension"], ids)


def log_access(database_url: str, *, telegram_id: int | None, telegram_username: str | None, chat_id: int | None,
               command: str, allowed: bool, reason: str | None = None) -> None:
    """Record who asked for what; a failure to record is logged, never shown to the user."""
    try:
        with connect(database_url, autocommit=True) as conn:
            conn.execute(
                "insert into reports.bot_access_log (telegram_id, telegram_username, chat_id, command, allowed, reason) "
                "values (%s, %s, %s, %s, %s, %s)",
                (telegram_id, telegram_username, chat_id, command[:200], allowed, reason),
            )
    except psycopg.Error as exc:
        log.error("could not record bot access (telegram id %s, %r): %s", telegram_id, command, exc)


def _rows(database_url: str, sql: str, params: tuple) -> list[dict[str, Any]]:
    with connect(database_url, row_factory=dict_row) as conn:
        return [{k: plain_value(v) for k, v in r.items()} for r in conn.execute(sql, params).fetchall()]


def chain_kpis(database_url: str, day: dt.date) -> dict[str, Any] | None:
    rows = _rows(database_url, "select * from marts.daily_kpis where business_date = %s", (day,))
    return rows[0] if rows else None


def restaurant_kpis(database_url: str, restaurant_id: int, day: dt.date) -> dict[str, Any] | None:
    rows = _rows(database_url, "select * from marts.restaurant_daily_kpis where business_date = %s "
                 "and restaurant_id = %s", (day, restaurant_id))
    return rows[0] if rows else None


def hourly_kpis(database_url: str, day: dt.date) -> list[dict[str, Any]]:
    return _rows(database_url, "select * from marts.hourly_kpis where business_date = %s order by hour", (day,))


def operators_day(database_url: str, day: dt.date) -> list[dict[str, Any]]:
    return _rows(database_url, "select * from marts.operator_daily where business_date = %s "
                 "order by calls_handled_count desc nulls last, operator_extension", (day,))


def operator_period(database_url: str, extension: str, start: dt.date, end: dt.date) -> dict[str, Any] | None:
    """One operator's figures over a period, re-derived from the daily sums (not averages of averages)."""
    rows = _rows(
        database_url,
        """
        select
            max(operator_name) as operator_name,
            count(*) as days_count,
            sum(calls_handled_count) as calls_handled_count,
            sum(talk_seconds_total) as talk_seconds_total,
            sum(talk_seconds_total)::numeric / nullif(sum(calls_handled_count), 0) as avg_talk_seconds,
            sum(missed_rings_count) as missed_rings_count,
            sum(missed_rings_count)::numeric
                / nullif(sum(missed_rings_count) + sum(calls_handled_count), 0) as missed_ring_rate,
            sum(avg_pickup_seconds * calls_handled_count) / nullif(sum(calls_handled_count)
                filter (where avg_pickup_seconds is not null), 0) as avg_pickup_seconds,
            sum(logged_in_seconds) as logged_in_seconds,
            sum(paused_seconds) as paused_seconds,
            sum(talk_seconds_total)::numeric
                / nullif(sum(logged_in_seconds) - sum(paused_seconds), 0) as occupancy,
            sum(ratings_count) as ratings_count,
            sum(rating_mean * ratings_count) / nullif(sum(ratings_count)
                filter (where rating_mean is not null), 0) as rating_mean,
            sum(phone_orders_count) as phone_orders_count
        from marts.operator_daily
        where operator_extension = %s and business_date between %s and %s
        """,
        (extension, start, end),
    )
    return rows[0] if rows and rows[0]["days_count"] else None
