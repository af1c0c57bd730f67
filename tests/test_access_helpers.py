"""Shared helpers for the access tests: small hand-made marts with known rows, and real logins.

The marts here carry exactly the documented core columns (the preamble's mart contract), so
the access logic is tested fast and in isolation from dbt; tests/test_access_warehouse.py
repeats the key checks on the real built warehouse.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg
from psycopg.conninfo import make_conninfo

from access.migrate import apply_reporting_layer
from access.users import add_user
from pantao.settings import Settings

MINI_MARTS_DDL = """
create schema if not exists raw;
create table raw.orders (payload text);
insert into raw.orders values ('{"customer_phone": "+79160000001"}');
create schema if not exists staging;
create table staging.stg_orders (customer_phone text);
insert into staging.stg_orders values ('+79160000001');
create schema if not exists intermediate;
create table intermediate.int_orders (customer_phone text);
create schema if not exists marts;

create table marts.customers (
    customer_phone text primary key, customer_name text, segment text,
    first_order_at timestamptz, last_order_at timestamptz, lifetime_orders_count int,
    lifetime_revenue_amount numeric, average_check_amount numeric, home_restaurant_id int,
    last_call_at timestamptz, last_rating_score int
);
insert into marts.customers values
 ('+79160000001', 'Иван Петров',  'loyal',  '2026-11-01 10:00+03', '2026-11-02 12:00+03', 2, 1100, 550, 1, '2026-11-01 09:55+03', 5),
 ('+79160000002', 'Мария Сидорова', 'new',  '2026-11-01 11:00+03', '2026-11-01 11:00+03', 1, 700, 700, 2, null, null),
 ('+79160000003', 'Олег Смирнов', 'lapsed', '2026-11-02 13:00+03', '2026-11-02 13:00+03', 1, 300, 300, 3, null, 4),
 ('+79160000004', 'Нина Орлова',  'new',    '2026-11-02 14:00+03', '2026-11-02 14:00+03', 1, 450, 450, null, null, null);

create table marts.orders (
    order_id text primary key, created_at timestamptz, business_date date, status text, restaurant_id int,
    channel text, customer_phone text, subtotal_amount numeric, discount_amount numeric, total_amount numeric,
    is_first_order boolean, call_linkedid text, operator_extension text
);
insert into marts.orders values
 ('ORD-1', '2026-11-01 10:00+03', '2026-11-01', 'completed', 1, 'phone', '+79160000001', 600, 0, 600, true, 'L1', '101'),
 ('ORD-2', '2026-11-01 11:00+03', '2026-11-01', 'completed', 2, 'app', '+79160000002', 700, 0, 700, true, null, null),
 ('ORD-3', '2026-11-02 12:00+03', '2026-11-02', 'paid', 1, 'phone', '+79160000001', 550, 50, 500, false, 'L3', '102'),
 ('ORD-4', '2026-11-02 13:00+03', '2026-11-02', 'completed', 3, 'web', '+79160000003', 300, 0, 300, true, null, null),
 ('ORD-5', '2026-11-02 14:00+03', '2026-11-02', 'completed', 2, 'kiosk', '+79160000004', 450, 0, 450, true, null, null),
 ('ORD-6', '2026-11-02 15:00+03', '2026-11-02', 'cancelled', 3, 'delivery_partner', null, 200, 0, 200, false, null, null);

create table marts.calls (
    linkedid text primary key, queue_name text, entered_at timestamptz, business_date date, outcome text,
    wait_seconds numeric, is_short_abandon boolean, answered_by_extension text, pickup_seconds numeric,
    talk_seconds numeric, transfer_count int, caller_phone text, customer_phone text, led_to_order boolean,
    order_id text, rating_score int
);
insert into marts.calls values
 ('L1', 'orders', '2026-11-01 09:55+03', '2026-11-01', 'answered', 12, false, '101', 4, 180, 0, '+79160000001', '+79160000001', true, 'ORD-1', 5),
 ('L2', 'orders', '2026-11-01 10:30+03', '2026-11-01', 'abandoned', 3, true, null, null, null, 0, '+79169999999', null, false, null, null),
 ('L3', 'orders', '2026-11-02 11:55+03', '2026-11-02', 'answered', 25, false, '102', 6, 240, 1, '+79160000001', '+79160000001', true, 'ORD-3', null),
 ('L4', 'orders', '2026-11-02 16:00+03', '2026-11-02', 'answered', 8, false, '101', 3, 60, 0, '+79160000003', '+79160000003', false, null, 4);

create table marts.operator_daily (
    business_date date, operator_extension text, operator_name text,
    calls_handled_count int, talk_seconds_total numeric, avg_talk_seconds numeric, missed_rings_count int,
    missed_ring_rate numeric, avg_pickup_seconds numeric, logged_in_seconds numeric, paused_seconds numeric,
    occupancy numeric, ratings_count int, rating_mean numeric, rating_share_4_5 numeric, phone_orders_count int,
    primary key (business_date, operator_extension)
);
insert into marts.operator_daily values
 ('2026-11-01', '101', 'Анна Петрова', 1, 180, 180, 0, 0, 4, 3600, 0, 0.05, 1, 5, 1, 1),
 ('2026-11-01', '102', 'Борис Иванов', 0, 0, null, 1, 1, null, 3600, 600, 0, 0, null, null, 0),
 ('2026-11-02', '101', 'Анна Петрова', 1, 60, 60, 0, 0, 3, 3600, 0, 0.02, 1, 4, 1, 0),
 ('2026-11-02', '102', 'Борис Иванов', 1, 240, 240, 0, 0, 6, 3600, 0, 0.07, 0, null, null, 1);

create table marts.daily_kpis (
    business_date date, scope text, restaurant_id int,
    orders_count int, cancelled_orders_count int, revenue_amount numeric, average_check_amount numeric,
    unique_customers_count int, new_customers_count int, repeat_customers_count int, repeat_customer_share numeric,
    calls_offered_count int, calls_answered_count int, calls_unanswered_count int, missed_call_rate numeric,
    short_abandon_count int, asa_seconds numeric, service_level numeric, avg_talk_seconds numeric,
    occupancy numeric, calls_per_operator_hour numeric, ratings_count int, csat_mean numeric, csat_share numeric
);
insert into marts.daily_kpis (business_date, scope, restaurant_id, orders_count, revenue_amount) values
 ('2026-11-01', 'chain', null, 2, 1300), ('2026-11-01', 'restaurant', 1, 1, 600),
 ('2026-11-01', 'restaurant', 2, 1, 700), ('2026-11-01', 'restaurant', 3, 0, 0),
 ('2026-11-02', 'chain', null, 3, 1250), ('2026-11-02', 'restaurant', 1, 1, 500),
 ('2026-11-02', 'restaurant', 2, 1, 450), ('2026-11-02', 'restaurant', 3, 1, 300);

create table marts.hourly_kpis (
    business_date date, hour int, hour_start_at timestamptz, orders_count int, revenue_amount numeric,
    calls_offered_count int, calls_answered_count int, calls_unanswered_count int, asa_seconds numeric,
    service_level numeric
);
insert into marts.hourly_kpis values
 ('2026-11-01', 10, '2026-11-01 10:00+03', 1, 600, 1, 1, 0, 12, 1),
 ('2026-11-01', 11, '2026-11-01 11:00+03', 1, 700, 1, 0, 1, null, 0),
 ('2026-11-02', 12, '2026-11-02 12:00+03', 1, 500, 1, 1, 0, 25, 0);
"""

RAW_PHONES = ("+79160000001", "+79160000002", "+79160000003", "+79160000004", "+79169999999")
CUSTOMER_NAMES = ("Иван Петров", "Мария Сидорова", "Олег Смирнов", "Нина Орлова")
OPERATOR_NAMES = ("Анна Петрова", "Борис Иванов")


def create_mini_marts(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(MINI_MARTS_DDL)


def build_mini_warehouse(database_url: str, settings: Settings) -> None:
    create_mini_marts(database_url)
    apply_reporting_layer(settings, database_url)


def unique_name(prefix: str) -> str:
    """Roles are cluster-wide and the test server is shared: every test user gets a random suffix."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def login_dsn(database_url: str, user: str, password: str) -> str:
    """A DSN that logs in as `user` with a password over TCP (the server demands scram for non-superusers)."""
    return make_conninfo(database_url, user=user, password=password, host="127.0.0.1")


@dataclass
class Login:
    username: str
    password: str
    dsn: str


class Users:
    """Creates test logins through the real `access.users.add_user`, and drops them all afterwards."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.created: list[str] = []

    def add(self, prefix: str, role: str, **scope) -> Login:
        name = unique_name(prefix)
        password = add_user(self.database_url, name, role, **scope)
        self.created.append(name)
        return Login(name, password, login_dsn(self.database_url, name, password))

    def cleanup(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            for name in self.created:
                conn.execute(
                    "select pg_terminate_backend(pid, 5000) from pg_stat_activity where usename = %s", (name,))
                conn.execute(psycopg.sql.SQL("drop role if exists {}").format(psycopg.sql.Identifier(name)))


def fetch(dsn: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(query, params or None).fetchall()
