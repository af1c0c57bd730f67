"""The reports and Telegram tests' scenario on the shared mini marts (tests/mini_marts.py).

Two days: DAY (a Monday) with the mini marts' default figures, and the same weekday a week
before with a chain row and operator rows only, so "change against last week" has a base.
Bot users are registered through the access engineer's real `access.users` table and
`add_user`, so the bot is tested against exactly what production authorises by.
The oracle test (figures equal the simulator's truth) uses the real `built_warehouse` instead.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import psycopg

from access.migrate import ensure_access_schema
from access.users import add_user, remove_user
from pantao.settings import Settings
from tests.mini_marts import OPERATORS, create_mini_marts, insert_day, insert_period

DAY = dt.date(2026, 11, 2)  # a Monday
LAST_WEEK = DAY - dt.timedelta(days=7)
LAST_WEEK_CHAIN: dict[str, Any] = {
    "orders_count": 1173, "cancelled_orders_count": 12, "revenue_amount": 1100000.00, "average_check_amount": 937.77,
    "unique_customers_count": 850, "new_customers_count": 310, "repeat_customers_count": 540,
    "repeat_customer_share": 0.6353, "calls_offered_count": 600, "calls_answered_count": 560,
    "calls_unanswered_count": 40, "missed_call_rate": 0.0667, "short_abandon_count": 6, "asa_seconds": 20.1,
    "service_level": 0.85, "avg_talk_seconds": 210.0, "occupancy": 0.60, "calls_per_operator_hour": 5.0,
    "ratings_count": 300, "csat_mean": 4.2, "csat_share": 0.8,
}


def create_small_marts(database_url: str) -> None:
    """The mini marts with DAY and, as its comparison day, LAST_WEEK (one call per operator); DAY's week
    and month in the period marts, and the week before with LAST_WEEK_CHAIN's figures."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        create_mini_marts(conn)
        insert_day(conn, DAY)
        insert_day(conn, LAST_WEEK, restaurants={}, hours=(), call_ratings=(), order_ratings=(), orders=0,
                   operators=[{**o, "calls_handled_count": 1} for o in OPERATORS], **LAST_WEEK_CHAIN)
        insert_period(conn, "week", DAY)
        insert_period(conn, "week", LAST_WEEK, restaurants={}, **LAST_WEEK_CHAIN)
        insert_period(conn, "month", DAY.replace(day=1))


def register_users(settings: Settings, database_url: str, users: list[dict[str, Any]]) -> dict[str, str]:
    """Create access.users (the real schema) and add `users` with `access.users.add_user`.

    Logins are cluster-wide roles, so each name gets a random suffix (another test database on
    the same server may register the same people); returns {name in `users`: login created}.
    """
    ensure_access_schema(settings, database_url)
    suffix = uuid.uuid4().hex[:6]
    logins = {}
    for user in users:
        login = f"{user['username']}_{suffix}"
        add_user(database_url, login, user["role"], operator_extension=user.get("operator_extension"),
                 restaurant_ids=user.get("restaurant_ids"), telegram_id=user.get("telegram_id"))
        logins[user["username"]] = login
    return logins


def remove_users(database_url: str, logins: dict[str, str]) -> None:
    """Drop the logins `register_users` created (roles outlive the test database otherwise)."""
    for login in logins.values():
        remove_user(database_url, login)


# A Friday whose missed-call rate is out of the ordinary: 20 % against 11–14 % on the four Fridays
# before it (everything else as CHAIN on all five days). Its usual band is median 12,5 % ± 3 ×
# 1.4826 × MAD 1 point = 8.1–16.9 %, and 20 % also crosses the alert rule's 15 %.
UNUSUAL_FRIDAY = dt.date(2026, 11, 20)
USUAL_MISSED_RATES = {dt.date(2026, 10, 23): 0.11, dt.date(2026, 10, 30): 0.12, dt.date(2026, 11, 6): 0.13,
                      dt.date(2026, 11, 13): 0.14}


def insert_unusual_friday(database_url: str) -> None:
    """UNUSUAL_FRIDAY and its four Fridays of history, into mini marts that exist already."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        for day, rate in USUAL_MISSED_RATES.items():
            insert_day(conn, day, restaurants={}, hours=(), call_ratings=(), order_ratings=(), orders=0,
                       operators=(), missed_call_rate=rate)
        insert_day(conn, UNUSUAL_FRIDAY, orders=0, missed_call_rate=0.20)
