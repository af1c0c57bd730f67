"""Small hand-made marts for the reports and Telegram tests that do not need the whole pipeline.

The tables carry the documented mart columns (docs/contracts.md §4, the preamble's marts list)
with a few rows of known values, so the rendering and delivery tests can assert exact output.
The oracle test (figures equal the simulator's truth) uses the real `built_warehouse` instead.
"""

from __future__ import annotations

import datetime as dt

import psycopg

DAY = dt.date(2026, 11, 2)  # a Monday
LAST_WEEK = DAY - dt.timedelta(days=7)

KPI_COLUMNS = (
    "orders_count int, cancelled_orders_count int, revenue_amount numeric(14,2), average_check_amount numeric(12,2), "
    "unique_customers_count int, new_customers_count int, repeat_customers_count int, repeat_customer_share numeric, "
    "calls_offered_count int, calls_answered_count int, calls_unanswered_count int, missed_call_rate numeric, "
    "short_abandon_count int, asa_seconds numeric, service_level numeric, avg_talk_seconds numeric, "
    "occupancy numeric, calls_per_operator_hour numeric, ratings_count int, csat_mean numeric, csat_share numeric"
)

CHAIN = {
    DAY: (1234, 17, 1234567.50, 1000.46, 900, 300, 600, 0.6667, 620, 575, 45, 0.0726, 8, 18.4, 0.871,
          214.2, 0.6412, 5.13, 345, 4.31, 0.82),
    LAST_WEEK: (1173, 12, 1100000.00, 937.77, 850, 310, 540, 0.6353, 600, 560, 40, 0.0667, 6, 20.1, 0.85,
                210.0, 0.60, 5.0, 300, 4.2, 0.8),
}
RESTAURANTS = {
    1: (400, 5, 420000.00, 1050.00, 300, 100, 200, 0.6667),
    2: (500, 7, 520000.50, 1040.00, 360, 120, 240, 0.6667),
    3: (334, 5, 294567.00, 881.94, 240, 80, 160, 0.6667),
}
OPERATORS = [
    # extension, name, calls, talk_total, avg_talk, missed_rings, missed_rate, pickup, logged_in, paused,
    # occupancy, ratings, rating_mean, share_4_5, phone_orders
    ("101", "O'Brien", 210, 42000, 200.0, 5, 0.0233, 4.2, 28800, 1800, 0.7, 80, 4.4, 0.86, 150),
    ("102", "<Иван>", 190, 41800, 220.0, 9, 0.0452, 5.1, 28800, 3600, 0.6, 70, 4.1, 0.78, 140),
    ("103", "Анна_Мария*", 175, 39375, 225.0, 2, 0.0113, 3.9, 25200, 1200, 0.64, 65, 4.5, 0.9, 120),
]


def create_small_marts(database_url: str) -> None:
    """Create marts.* (and the columns the reports read) with known rows for DAY and LAST_WEEK."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute(f"create table marts.daily_kpis (business_date date, scope text, restaurant_id int, {KPI_COLUMNS})")
        conn.execute(
            "create table marts.hourly_kpis (business_date date, hour int, hour_start_at timestamptz, "
            "orders_count int, revenue_amount numeric(14,2), calls_offered_count int, calls_answered_count int, "
            "calls_unanswered_count int, asa_seconds numeric, service_level numeric)"
        )
        conn.execute(
            "create table marts.operator_daily (business_date date, operator_extension text, operator_name text, "
            "calls_handled_count int, talk_seconds_total int, avg_talk_seconds numeric, missed_rings_count int, "
            "missed_ring_rate numeric, avg_pickup_seconds numeric, logged_in_seconds int, paused_seconds int, "
            "occupancy numeric, ratings_count int, rating_mean numeric, rating_share_4_5 numeric, "
            "phone_orders_count int)"
        )
        conn.execute(
            "create table marts.calls (linkedid text primary key, queue_name text, entered_at timestamptz, "
            "business_date date, outcome text, wait_seconds int, is_short_abandon boolean, "
            "answered_by_extension text, pickup_seconds int, talk_seconds int, rating_score int)"
        )
        conn.execute(
            "create table marts.orders (order_id text primary key, created_at timestamptz, business_date date, "
            "status text, restaurant_id int, total_amount numeric(12,2))"
        )
        for day, values in CHAIN.items():
            placeholders = ", ".join(["%s"] * len(values))
            conn.execute(f"insert into marts.daily_kpis values (%s, 'chain', null, {placeholders})", (day, *values))
        for rid, values in RESTAURANTS.items():
            conn.execute(
                "insert into marts.daily_kpis (business_date, scope, restaurant_id, orders_count, "
                "cancelled_orders_count, revenue_amount, average_check_amount, unique_customers_count, "
                "new_customers_count, repeat_customers_count, repeat_customer_share) "
                "values (%s, 'restaurant', %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (DAY, rid, *values),
            )
        for hour in range(9, 23):
            orders = 40 + (hour - 9) * 5 if hour < 15 else 120 - (hour - 15) * 8
            conn.execute(
                "insert into marts.hourly_kpis values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (DAY, hour, dt.datetime(2026, 11, 2, hour - 3, tzinfo=dt.UTC), orders, orders * 1000.0,
                 orders // 2, orders // 2 - 3, 3, 15.0 + hour % 5, 0.85),
            )
        for row in OPERATORS:
            conn.execute("insert into marts.operator_daily values (%s, " + ", ".join(["%s"] * len(row)) + ")",
                         (DAY, *row))
            conn.execute("insert into marts.operator_daily values (%s, " + ", ".join(["%s"] * len(row)) + ")",
                         (LAST_WEEK, *row[:2], 1, *row[3:]))
        for i, score in enumerate([5, 5, 4, 3, 1, 5, 4]):
            conn.execute(
                "insert into marts.calls values (%s, 'orders', %s, %s, 'answered', 10, false, '101', 4, 200, %s)",
                (f"call-{i}", dt.datetime(2026, 11, 2, 9, i, tzinfo=dt.UTC), DAY, score),
            )
        conn.execute(
            "insert into marts.orders values ('ORD-1', %s, %s, 'completed', 1, 900)",
            (dt.datetime(2026, 11, 2, 20, 59, tzinfo=dt.UTC), DAY),
        )


def create_access_users(database_url: str, users: list[dict]) -> None:
    """access.users as the access engineer documents it, when it does not exist yet, plus `users`."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("create schema if not exists access")
        conn.execute(
            "create table if not exists access.users (username text primary key, role text not null "
            "check (role in ('crm_admin','crm_manager','crm_analyst','crm_operator')), operator_extension text, "
            "restaurant_ids int[], telegram_id bigint unique, created_at timestamptz default now(), created_by text)"
        )
        for u in users:
            conn.execute(
                "insert into access.users (username, role, operator_extension, restaurant_ids, telegram_id, created_by) "
                "values (%s, %s, %s, %s, %s, 'test')",
                (u["username"], u["role"], u.get("operator_extension"), u.get("restaurant_ids"), u.get("telegram_id")),
            )
