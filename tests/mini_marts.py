"""Hand-made marts for tests that need a few known rows, not the whole pipeline.

One module for every test suite that reads the marts without running dbt (reports, the bot,
access, monitoring): the tables have the real marts' names, columns and PostgreSQL types
(the KPI columns from the KPI registry, pantao.kpis; `tests/test_reports_oracle.py` checks them
against a real dbt build), and `insert_day` fills one business day with small, round numbers a test can
assert exactly. The same facts are not re-derived: the figures are whatever you pass, so a test
of a KPI formula needs the real pipeline (`built_warehouse`), not this module.

Usage::

    with psycopg.connect(database_url, autocommit=True) as conn:
        create_mini_marts(conn)                       # marts.daily_kpis, restaurant_daily_kpis, hourly_kpis,
                                                      # operator_daily, calls, ratings, period_kpis,
                                                      # restaurant_period_kpis, orders, customers,
                                                      # missed_call_recovery, staffing_advice (empty)
        insert_day(conn, dt.date(2026, 11, 2))        # the default day (CHAIN, RESTAURANTS, OPERATORS, ...)
        insert_day(conn, dt.date(2026, 10, 26), orders_count=1173, restaurants={}, hours=())

`insert_day(conn, business_date, *, restaurants=..., operators=..., hours=..., call_ratings=...,
orders=..., timezone=..., **chain)`:

- `**chain` overrides columns of the day's row of marts.daily_kpis (any of its KPIs; an unknown
  name raises TypeError). Defaults: `CHAIN`.
- `restaurants`: {restaurant_id: {column: value}} rows of marts.restaurant_daily_kpis (order and
  customer KPIs). Default `RESTAURANTS` (ids 1, 2, 3).
- `operators`: rows of marts.operator_daily as dicts with `operator_extension`, `operator_name`
  and its KPIs. Default `OPERATORS` (101, 102, 103, with awkward names).
- `hours`: the local hours with activity; marts.hourly_kpis gets all 24 hours (zeros elsewhere,
  as dbt builds it) and the peak at 15:00. Default 9..22.
- `call_ratings`: one answered call in marts.calls per score (answered by the first operator), each
  with its marts.ratings row (comments from CALL_COMMENTS); `order_ratings`: marts.ratings rows of
  orders. The defaults are what CHAIN's rating KPIs count.
- `orders`: how many orders (marts.orders, with one marts.customers row each), the last one at
  23:59 local time. Default 1.
- `timezone`: the business time zone the local hours are in (default Europe/Moscow).

The four marts with a phone (orders, customers, calls, missed_call_recovery) fill `customer_key`
by themselves, as dbt computes it when it writes a row: an insert trigger hashes the phone with
the install's salt when the row has no key (null before `pantao prepare` created the salt). A
write-audit-publish build (the reporting layer's, `apply_reporting_layer`) copies the tables
without their triggers: a row inserted after it gets the key it is given, or none.

The connection may be in autocommit or not; nothing is committed here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from pantao.domain import CHANNELS
from pantao.kpis import model_kpis


def _kpi_type(column: str) -> str:
    # dbt's counts are count(*) (bigint); every ratio, mean, duration sum and amount sum is numeric.
    return "bigint" if column.endswith("_count") else "numeric"


def _kpis(model: str) -> dict[str, str]:
    return {kpi.name: _kpi_type(kpi.name) for kpi in model_kpis(model)}


DAILY_KPIS = tuple(_kpis("daily_kpis"))
RESTAURANT_KPIS = tuple(_kpis("restaurant_daily_kpis"))
OPERATOR_KPIS = tuple(_kpis("operator_daily"))

# Column -> PostgreSQL type, in the dbt marts' column order.
TABLES: dict[str, dict[str, str]] = {
    "daily_kpis": {"business_date": "date", **_kpis("daily_kpis")},
    "restaurant_daily_kpis": {"business_date": "date", "restaurant_id": "integer", **_kpis("restaurant_daily_kpis")},
    "hourly_kpis": {
        "business_date": "date", "hour": "integer", "hour_start_at": "timestamp with time zone",
        **_kpis("hourly_kpis"),
    },
    "operator_daily": {
        "business_date": "date", "operator_extension": "text", "operator_name": "text",
        "is_known_operator": "boolean", **_kpis("operator_daily"),
    },
    "calls": {
        "linkedid": "text", "queue_name": "text", "answered_by_extension": "text", "answered_by_name": "text",
        "caller_phone": "text", "customer_phone": "text", "order_id": "text", "rating_id": "text",
        "outcome": "text", "is_answered": "boolean", "is_short_abandon": "boolean",
        "is_answered_within_service_level": "boolean", "is_transferred": "boolean", "led_to_order": "boolean",
        "order_total_amount": "numeric(14,2)",
        "rating_score": "integer", "is_called_back": "boolean", "is_answered_again": "boolean",
        "is_reached_later": "boolean", "callback_attempts_count": "bigint", "wait_seconds": "bigint",
        "hold_seconds": "bigint", "pickup_seconds": "bigint", "talk_seconds": "bigint", "transfer_count": "bigint",
        "missed_rings_count": "bigint", "cdr_count": "bigint", "cdr_billed_seconds": "bigint",
        "entered_at": "timestamp with time zone", "business_date": "date",
        "business_hour": "integer", "connected_at": "timestamp with time zone",
        "ended_at": "timestamp with time zone", "reached_at": "timestamp with time zone",
        "last_landed_at": "timestamp with time zone", "customer_key": 'text collate "C"',
    },
    "orders": {
        "order_id": "text", "restaurant_id": "integer", "customer_phone": "text", "call_linkedid": "text",
        "operator_extension": "text", "status": "text", "channel": "text", "items_count": "integer",
        "is_cancelled": "boolean", "is_first_order": "boolean", "customer_first_order_date": "date",
        "subtotal_amount": "numeric(14,2)",
        "discount_amount": "numeric(14,2)", "total_amount": "numeric(14,2)",
        "created_at": "timestamp with time zone", "business_date": "date", "business_hour": "integer",
        "latest_event_at": "timestamp with time zone", "last_landed_at": "timestamp with time zone",
        "customer_key": 'text collate "C"',
    },
    "ratings": {
        "rating_id": "text", "subject_type": "text", "call_linkedid": "text", "order_id": "text",
        "operator_extension": "text", "restaurant_id": "integer", "score": "integer", "comment": "text",
        "interaction_at": "timestamp with time zone", "business_date": "date",
        "submitted_at": "timestamp with time zone",
    },
    "period_kpis": {
        "period_kind": "text", "period_start": "date", "period_end": "date", "days_count": "bigint",
        **_kpis("period_kpis"),
    },
    "restaurant_period_kpis": {
        "period_kind": "text", "period_start": "date", "period_end": "date", "restaurant_id": "integer",
        **_kpis("restaurant_period_kpis"),
    },
    "missed_call_recovery": {
        "business_date": "date", "caller_phone": "text", "is_known_customer": "boolean",
        "had_ordered_before": "boolean", "home_restaurant_id": "integer", "lifetime_orders_count": "bigint",
        "last_order_at": "timestamp with time zone", "average_check_amount": "numeric",
        "first_call_at": "timestamp with time zone", "last_call_at": "timestamp with time zone",
        "last_call_hour": "integer", "attempts_count": "bigint", "wait_seconds_total": "bigint",
        "callback_attempts_count": "bigint", "expected_conversion_rate": "numeric", "expected_check_amount": "numeric",
        "expected_lost_revenue_amount": "numeric", "customer_key": 'text collate "C"',
    },
    # a view over the reports' stored figures in dbt; a table here
    "staffing_advice": {
        "business_date": "date", "advised_date": "date", "hour": "integer", "forecast_calls_offered": "numeric",
        "aht_seconds": "numeric", "operators_needed_count": "integer", "expected_service_level": "numeric",
        "expected_asa_seconds": "numeric", "operators_logged_in_last_week_count": "integer",
        "is_short_of_staff": "boolean", "operators_short_count": "integer", "target_service_level": "numeric",
        "target_answer_seconds": "integer", "report_version": "integer", "reported_at": "timestamp with time zone",
    },
    "customers": {
        "customer_phone": "text", "customer_key": 'text collate "C"', "customer_name": "text", "email": "text",
        "home_restaurant_id": "integer", "ordered_at_restaurant_ids": "integer[]", "segment": "text", "is_marketing_opt_in": "boolean", "first_order_at": "timestamp with time zone",
        "last_order_at": "timestamp with time zone", "lifetime_orders_count": "bigint",
        "cancelled_orders_count": "bigint", "lifetime_revenue_amount": "numeric", "average_check_amount": "numeric",
        "last_call_at": "timestamp with time zone", "calls_count": "bigint", "last_rating_score": "integer",
        "last_rating_at": "timestamp with time zone", "registered_at": "timestamp with time zone",
        "segment_as_of_date": "date",
    },
}

# The default day's figures: round enough to assert, awkward enough to test formatting.
CHAIN: dict[str, Any] = dict(zip(DAILY_KPIS, (
    1234, 17, 1234567.50, 1000.46, 900, 300, 600, 0.6667, 620, 575, 45, 0.0726, 8, 18.4, 0.871,
    214.2, 230, 0.4, 860.87, 0.6412, 5.13, 12, 3.9167, 0.75, 7, 3.8571, 5, 4.0,
), strict=True))
RESTAURANTS: dict[int, dict[str, Any]] = {
    1: dict(zip(RESTAURANT_KPIS, (400, 5, 420000.00, 1050.00, 300, 100, 200, 0.6667), strict=True)),
    2: dict(zip(RESTAURANT_KPIS, (500, 7, 520000.50, 1040.00, 360, 120, 240, 0.6667), strict=True)),
    3: dict(zip(RESTAURANT_KPIS, (334, 5, 294567.00, 881.94, 240, 80, 160, 0.6667), strict=True)),
}
OPERATORS: list[dict[str, Any]] = [
    {"operator_extension": ext, "operator_name": name, **dict(zip(OPERATOR_KPIS, kpis, strict=True))}
    for ext, name, kpis in (
        ("101", "O'Brien", (210, 42000, 200.0, 5, 0.0233, 4.2, 28800, 1800, 0.7, 80, 4.4, 0.86, 150, 84, 0.4, 861.9)),
        ("102", "<Иван>", (190, 41800, 220.0, 9, 0.0452, 5.1, 28800, 3600, 0.6, 70, 4.1, 0.78, 140, 76, 0.4, 880.0)),
        ("103", "Анна_Мария*", (175, 39375, 225.0, 2, 0.0113, 3.9, 25200, 1200, 0.64, 65, 4.5, 0.9, 120, 70, 0.4, 840.5)),
    )
]
# The day's ratings (marts.ratings), which CHAIN's rating KPIs count: 7 calls, 5 orders.
CALL_RATINGS: tuple[int, ...] = (5, 5, 4, 3, 1, 5, 4)
ORDER_RATINGS: tuple[int, ...] = (5, 4, 4, 5, 2)
# Comments of the call ratings, by position (None: no comment); one with markup to escape.
CALL_COMMENTS: tuple[str | None, ...] = ("Быстро и вежливо", None, None, "Долго ждал", "<b>Грубо</b> & долго",
                                         None, "Спасибо!")
OPEN_HOURS = range(9, 23)
PEAK_HOUR = 15


# The marts that store the pseudonymous customer key, and the phone it is computed from.
KEYED = {"orders": "customer_phone", "customers": "customer_phone", "calls": "caller_phone",
         "missed_call_recovery": "caller_phone"}

# dbt computes customer_key when it writes a mart row (dbt_project/macros/customer_key.sql); a mini
# mart does it when a row is inserted without one: SHA-256 of the install's salt and the phone, the
# first 24 hex digits (docs/access.md). Null while `pantao prepare` has not created the salt.
KEY_TRIGGER = """
create or replace function marts.mini_mart_customer_key() returns trigger language plpgsql as $$
begin
    if new.customer_key is null and to_regclass('access.install_secret') is not null then
        new.customer_key := left(encode(sha256(
            (select s.secret from access.install_secret s where s.name = 'customer_key_salt')
            || convert_to(to_jsonb(new) ->> tg_argv[0], 'UTF8')), 'hex'), 24);
    end if;
    return new;
end $$
"""


def create_mini_marts(conn: psycopg.Connection) -> None:
    """Create the `marts` schema and its tables, empty, with the dbt marts' column types."""
    conn.execute("create schema if not exists marts")
    conn.execute(KEY_TRIGGER)
    for table, columns in TABLES.items():
        conn.execute(sql.SQL("create table marts.{} ({})").format(
            sql.Identifier(table),
            sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in columns.items()),
        ))
        if table in KEYED:
            conn.execute(sql.SQL("create trigger customer_key before insert on marts.{} for each row "
                                 "execute function marts.mini_mart_customer_key({})").format(
                sql.Identifier(table), sql.Literal(KEYED[table])))


def _insert(conn: psycopg.Connection, table: str, row: Mapping[str, Any]) -> None:
    unknown = set(row) - set(TABLES[table])
    if unknown:
        raise TypeError(f"marts.{table} has no column(s) {', '.join(sorted(unknown))}")
    conn.execute(
        sql.SQL("insert into marts.{} ({}) values ({})").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join(sql.Placeholder() * len(row))),
        tuple(row.values()),
    )


def _hour_row(business_date: dt.date, hour: int, tz: ZoneInfo, active: bool) -> dict[str, Any]:
    # A ramp to the peak at 15:00 and down again; all zeros (null ASA/SL) outside the open hours.
    orders = (40 + (hour - 9) * 5 if hour < PEAK_HOUR else 120 - (hour - PEAK_HOUR) * 8) if active else 0
    offered = orders // 2
    answered = max(offered - 3, 0)
    return {
        "business_date": business_date, "hour": hour,
        "hour_start_at": dt.datetime.combine(business_date, dt.time(hour), tz),
        "orders_count": orders, "revenue_amount": orders * 1000, "calls_offered_count": offered,
        "calls_answered_count": answered, "calls_unanswered_count": offered - answered,
        "missed_call_rate": (offered - answered) / offered if offered else None,
        "short_abandon_count": 1 if offered else 0,
        "asa_seconds": 15.0 + hour % 5 if answered else None, "service_level": 0.85 if offered else None,
        "avg_talk_seconds": 200.0 if answered else None,
        "operators_logged_in_count": 3 if active else 0,
    }


def insert_day(
    conn: psycopg.Connection,
    business_date: dt.date,
    *,
    restaurants: Mapping[int, Mapping[str, Any]] = RESTAURANTS,
    operators: Sequence[Mapping[str, Any]] = OPERATORS,
    hours: Iterable[int] = OPEN_HOURS,
    call_ratings: Sequence[int] = CALL_RATINGS,
    order_ratings: Sequence[int] = ORDER_RATINGS,
    orders: int = 1,
    timezone: str = "Europe/Moscow",
    **chain: Any,
) -> None:
    """Insert one business day into every mini mart (see the module docstring for the arguments)."""
    unknown = set(chain) - set(DAILY_KPIS)
    if unknown:
        raise TypeError(f"insert_day: {', '.join(sorted(unknown))} is not a KPI of marts.daily_kpis")
    tz = ZoneInfo(timezone)
    _insert(conn, "daily_kpis", {"business_date": business_date, **CHAIN, **chain})
    for restaurant_id, figures in restaurants.items():
        _insert(conn, "restaurant_daily_kpis", {"business_date": business_date, "restaurant_id": restaurant_id,
                                                **figures})
    active = set(hours)
    if active:
        for hour in range(24):
            _insert(conn, "hourly_kpis", _hour_row(business_date, hour, tz, hour in active))
    for operator in operators:
        _insert(conn, "operator_daily", {"business_date": business_date, "is_known_operator": True, **operator})
    first = operators[0] if operators else {}
    for i, score in enumerate(call_ratings):
        entered = dt.datetime.combine(business_date, dt.time(12, i), tz)
        _insert(conn, "calls", {
            "linkedid": f"{business_date:%Y%m%d}.{i}", "queue_name": "orders",
            "answered_by_extension": first.get("operator_extension"), "answered_by_name": first.get("operator_name"),
            "caller_phone": f"+7900{business_date:%m%d}{i:03d}", "outcome": "answered", "is_answered": True,
            "is_short_abandon": False, "is_answered_within_service_level": True, "is_transferred": False,
            "led_to_order": False, "rating_score": score, "rating_id": f"R-{business_date:%Y%m%d}-c{i}",
            "is_called_back": False, "is_answered_again": False,
            "is_reached_later": False, "callback_attempts_count": 0, "wait_seconds": 10, "hold_seconds": 10,
            "pickup_seconds": 4, "talk_seconds": 200, "transfer_count": 0, "missed_rings_count": 0,
            "entered_at": entered, "business_date": business_date, "business_hour": 12,
            "connected_at": entered + dt.timedelta(seconds=10), "ended_at": entered + dt.timedelta(seconds=210),
            "last_landed_at": entered + dt.timedelta(seconds=211),
        })
        _insert(conn, "ratings", {
            "rating_id": f"R-{business_date:%Y%m%d}-c{i}", "subject_type": "call",
            "call_linkedid": f"{business_date:%Y%m%d}.{i}", "operator_extension": first.get("operator_extension"),
            "score": score, "comment": CALL_COMMENTS[i % len(CALL_COMMENTS)], "interaction_at": entered,
            "business_date": business_date, "submitted_at": entered + dt.timedelta(seconds=300),
        })
    for i, score in enumerate(order_ratings):
        created = dt.datetime.combine(business_date, dt.time(13, i), tz)
        _insert(conn, "ratings", {
            "rating_id": f"R-{business_date:%Y%m%d}-o{i}", "subject_type": "order",
            "order_id": f"ORD-{business_date:%Y%m%d}-R{i}", "restaurant_id": 1 + i % 3, "score": score,
            "interaction_at": created, "business_date": business_date,
            "submitted_at": created + dt.timedelta(hours=2),
        })
    for i in range(orders):
        created = dt.datetime.combine(business_date, dt.time(23, 59), tz) - dt.timedelta(minutes=orders - 1 - i)
        phone = f"+7911{business_date:%m%d}{i:03d}"
        _insert(conn, "orders", {
            "order_id": f"ORD-{business_date:%Y%m%d}-{i + 1}", "restaurant_id": 1 + i % 3, "customer_phone": phone,
            "status": "completed", "channel": CHANNELS[i % len(CHANNELS)], "items_count": 2, "is_cancelled": False,
            "is_first_order": True, "customer_first_order_date": business_date,
            "subtotal_amount": 950, "discount_amount": 50, "total_amount": 900,
            "created_at": created, "business_date": business_date, "business_hour": created.hour,
            "latest_event_at": created, "last_landed_at": created,
        })
        _insert(conn, "customers", {
            "customer_phone": phone, "customer_name": f"Клиент {i + 1}", "home_restaurant_id": 1 + i % 3,
            "ordered_at_restaurant_ids": [1 + i % 3],
            "segment": "new", "is_marketing_opt_in": False, "first_order_at": created, "last_order_at": created,
            "lifetime_orders_count": 1, "cancelled_orders_count": 0, "lifetime_revenue_amount": 900,
            "average_check_amount": 900, "calls_count": 0, "registered_at": created,
            "segment_as_of_date": business_date,
        })


def insert_period(conn: psycopg.Connection, period_kind: str, period_start: dt.date, *,
                  restaurants: Mapping[int, Mapping[str, Any]] = RESTAURANTS, **chain: Any) -> None:
    """One week (a Monday) or month (a 1st) of marts.period_kpis (CHAIN's figures unless overridden,
    every day present) and its restaurants' rows of marts.restaurant_period_kpis."""
    unknown = set(chain) - set(DAILY_KPIS)
    if unknown:
        raise TypeError(f"insert_period: {', '.join(sorted(unknown))} is not a KPI of marts.period_kpis")
    if period_kind == "week":
        end = period_start + dt.timedelta(days=6)
    else:
        end = (period_start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    keys = {"period_kind": period_kind, "period_start": period_start, "period_end": end}
    _insert(conn, "period_kpis", {**keys, "days_count": (end - period_start).days + 1, **CHAIN, **chain})
    for restaurant_id, figures in restaurants.items():
        _insert(conn, "restaurant_period_kpis", {**keys, "restaurant_id": restaurant_id, **figures})
