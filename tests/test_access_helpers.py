"""Shared helpers for the access tests: small marts with known rows, and real logins.

The mart tables come from tests/mini_marts.py (the real marts' columns and types); the rows are
the access tests' own, chosen so every cell of the access matrix has something to show or hide.
The reporting views over them are the real ones: `apply_reporting_layer` runs dbt on the
reporting models (dbt_project/models/reporting/) as the pipeline's build does after the marts.
tests/test_access_warehouse.py repeats the key checks on the real built warehouse.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from access.catalog import reporting_views
from access.migrate import ensure_access_schema
from access.users import add_user
from pantao.dbt_runner import run_dbt
from pantao.settings import Settings
from tests.mini_marts import create_mini_marts
from tests.pipeline import seeded_target_dir

# The layers below the marts: one readable row each, to prove they stay closed to every login.
CLOSED_LAYERS_DDL = """
create schema if not exists raw;
create table raw.orders (payload text);
insert into raw.orders values ('{"customer_phone": "+79160000001"}');
create schema if not exists staging;
create table staging.stg_orders (customer_phone text);
insert into staging.stg_orders values ('+79160000001');
create schema if not exists intermediate;
create table intermediate.int_orders (customer_phone text);
"""

# Rows chosen for the access rules (tests/mini_marts.py makes the tables): customers whose home
# restaurant differs from where they ordered, phone orders taken by two operators, an anonymous
# cancelled order, a caller who is no customer, several segments. Other columns stay null.
ACCESS_ROWS = """
insert into marts.customers (customer_phone, customer_name, segment, first_order_at, last_order_at,
    lifetime_orders_count, lifetime_revenue_amount, average_check_amount, home_restaurant_id, last_call_at,
    last_rating_score, ordered_at_restaurant_ids) values
 ('+79160000001', 'Иван Петров',  'loyal',  '2026-11-01 10:00+03', '2026-11-02 12:00+03', 2, 1100, 550, 1, '2026-11-01 09:55+03', 5, '{1}'),
 ('+79160000002', 'Мария Сидорова', 'new',  '2026-11-01 11:00+03', '2026-11-01 11:00+03', 1, 700, 700, 2, null, null, '{2}'),
 ('+79160000003', 'Олег Смирнов', 'lapsed', '2026-11-02 13:00+03', '2026-11-02 13:00+03', 1, 300, 300, 3, null, 4, '{3}'),
 ('+79160000004', 'Нина Орлова',  'new',    '2026-11-02 14:00+03', '2026-11-02 14:00+03', 1, 450, 450, null, null, null, '{2}');

insert into marts.orders (order_id, created_at, business_date, status, restaurant_id, channel, customer_phone,
    subtotal_amount, discount_amount, total_amount, is_first_order, call_linkedid, operator_extension) values
 ('ORD-1', '2026-11-01 10:00+03', '2026-11-01', 'completed', 1, 'phone', '+79160000001', 600, 0, 600, true, 'L1', '101'),
 ('ORD-2', '2026-11-01 11:00+03', '2026-11-01', 'completed', 2, 'app', '+79160000002', 700, 0, 700, true, null, null),
 ('ORD-3', '2026-11-02 12:00+03', '2026-11-02', 'paid', 1, 'phone', '+79160000001', 550, 50, 500, false, 'L3', '102'),
 ('ORD-4', '2026-11-02 13:00+03', '2026-11-02', 'completed', 3, 'web', '+79160000003', 300, 0, 300, true, null, null),
 ('ORD-5', '2026-11-02 14:00+03', '2026-11-02', 'completed', 2, 'kiosk', '+79160000004', 450, 0, 450, true, null, null),
 ('ORD-6', '2026-11-02 15:00+03', '2026-11-02', 'cancelled', 3, 'delivery_partner', null, 200, 0, 200, false, null, null);

insert into marts.calls (linkedid, queue_name, entered_at, business_date, outcome, is_answered, wait_seconds,
    is_short_abandon, answered_by_extension, answered_by_name, pickup_seconds, talk_seconds, transfer_count,
    is_transferred, caller_phone, customer_phone, led_to_order, order_id, rating_score, rating_id) values
 ('L1', 'orders', '2026-11-01 09:55+03', '2026-11-01', 'answered', true, 12, false, '101', 'Анна Петрова', 4, 180, 0, false, '+79160000001', '+79160000001', true, 'ORD-1', 5, 'R1'),
 ('L2', 'orders', '2026-11-01 10:30+03', '2026-11-01', 'abandoned', false, 3, true, null, null, null, null, 0, false, '+79169999999', null, false, null, null, null),
 ('L3', 'orders', '2026-11-02 11:55+03', '2026-11-02', 'answered', true, 25, false, '102', 'Борис Иванов', 6, 240, 1, true, '+79160000001', '+79160000001', true, 'ORD-3', null, null),
 ('L4', 'orders', '2026-11-02 16:00+03', '2026-11-02', 'answered', true, 8, false, '101', 'Анна Петрова', 3, 60, 0, false, '+79160000003', '+79160000003', false, null, 4, 'R4');

insert into marts.ratings (rating_id, subject_type, call_linkedid, operator_extension, score, comment, interaction_at,
    business_date, submitted_at) values
 ('R1', 'call', 'L1', '101', 5, 'Очень вежливо, спасибо', '2026-11-01 09:55+03', '2026-11-01', '2026-11-01 10:10+03'),
 ('R4', 'call', 'L4', '101', 4, null, '2026-11-02 16:00+03', '2026-11-02', '2026-11-02 16:20+03');

insert into marts.operator_daily (business_date, operator_extension, operator_name,
    calls_handled_count, talk_seconds_total, avg_talk_seconds, missed_rings_count, missed_ring_rate,
    avg_pickup_seconds, logged_in_seconds, paused_seconds, occupancy, ratings_count, rating_mean,
    rating_share_4_5, phone_orders_count) values
 ('2026-11-01', '101', 'Анна Петрова', 1, 180, 180, 0, 0, 4, 3600, 0, 0.05, 1, 5, 1, 1),
 ('2026-11-01', '102', 'Борис Иванов', 0, 0, null, 1, 1, null, 3600, 600, 0, 0, null, null, 0),
 ('2026-11-02', '101', 'Анна Петрова', 1, 60, 60, 0, 0, 3, 3600, 0, 0.02, 1, 4, 1, 0),
 ('2026-11-02', '102', 'Борис Иванов', 1, 240, 240, 0, 0, 6, 3600, 0, 0.07, 0, null, null, 1);

insert into marts.missed_call_recovery (business_date, caller_phone, is_known_customer, had_ordered_before,
    home_restaurant_id, attempts_count, expected_lost_revenue_amount) values
 ('2026-11-01', '+79169999999', false, false, null, 1, 120),
 ('2026-11-02', '+79160000002', true, true, 2, 2, 350);

insert into marts.daily_kpis (business_date, orders_count, revenue_amount) values
 ('2026-11-01', 2, 1300), ('2026-11-02', 3, 1250);

insert into marts.restaurant_daily_kpis (business_date, restaurant_id, orders_count, revenue_amount) values
 ('2026-11-01', 1, 1, 600), ('2026-11-01', 2, 1, 700), ('2026-11-01', 3, 0, 0),
 ('2026-11-02', 1, 1, 500), ('2026-11-02', 2, 1, 450), ('2026-11-02', 3, 1, 300);

insert into marts.hourly_kpis (business_date, hour, hour_start_at, orders_count, revenue_amount,
    calls_offered_count, calls_answered_count, calls_unanswered_count, asa_seconds, service_level) values
 ('2026-11-01', 10, '2026-11-01 10:00+03', 1, 600, 1, 1, 0, 12, 1),
 ('2026-11-01', 11, '2026-11-01 11:00+03', 1, 700, 1, 0, 1, null, 0),
 ('2026-11-02', 12, '2026-11-02 12:00+03', 1, 500, 1, 1, 0, 25, 0);

insert into marts.staffing_advice (business_date, advised_date, hour, forecast_calls_offered, aht_seconds,
    operators_needed_count, expected_service_level, expected_asa_seconds, operators_logged_in_last_week_count,
    is_short_of_staff, operators_short_count, target_service_level, target_answer_seconds, report_version,
    reported_at) values
 ('2026-11-01', '2026-11-02', 12, 20.5, 180, 3, 0.86, 9.2, 2, true, 1, 0.8, 20, 1, '2026-11-02 08:00+03'),
 ('2026-11-01', '2026-11-02', 13, 12.25, 175, 2, 0.81, 14.7, 2, false, 0, 0.8, 20, 1, '2026-11-02 08:00+03'),
 ('2026-11-02', '2026-11-03', 12, 19.75, 182, 3, 0.85, 9.9, 3, false, 0, 0.8, 20, 2, '2026-11-03 08:05+03');
"""

RAW_PHONES = ("+79160000001", "+79160000002", "+79160000003", "+79160000004", "+79169999999")
CUSTOMER_NAMES = ("Иван Петров", "Мария Сидорова", "Олег Смирнов", "Нина Орлова")
OPERATOR_NAMES = ("Анна Петрова", "Борис Иванов")


# What a dbt build of the marts grants on each of them (dbt_project.yml, `grants` of marts/).
MART_GRANTS = "grant select on all tables in schema marts to crm_reporting_owner, crm_admin"


def fill_access_marts(database_url: str) -> None:
    """The shared mini marts (real mart columns and types) with the access rows, and the closed layers.

    The marts get the grants dbt gives the real ones, which needs the roles `pantao prepare` creates.
    """
    ensure_access_schema(Settings(), database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(CLOSED_LAYERS_DDL)
        create_mini_marts(conn)
        conn.execute(ACCESS_ROWS)
        conn.execute(MART_GRANTS)


def apply_reporting_layer(settings: Settings, database_url: str, target_dir: Path | None = None) -> list[str]:
    """Build the reporting views over the marts in `database_url` as the pipeline does: `pantao
    prepare`'s access setup, then dbt on the reporting models. Returns the views dbt built,
    `reporting.<view>` in the order analysts see them listed.

    `target_dir` holds dbt's artifacts; reuse a build's own, or leave it None for a fresh folder
    (concurrent calls need one each) seeded with the saved parse.
    """
    ensure_access_schema(settings, database_url)
    target = Path(target_dir) if target_dir is not None else seeded_target_dir(
        Path(settings.data_dir) / f"dbt_reporting_{uuid.uuid4().hex[:8]}")
    run_dbt(["run", "--select", "path:models/reporting"], settings, database_url, target_dir=target)
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    built = {r["unique_id"].rsplit(".", 1)[-1] for r in results if r["status"] == "success"}
    return [f"reporting.{view.name}" for view in reporting_views() if view.model in built]


def build_mini_warehouse(database_url: str, settings: Settings) -> None:
    fill_access_marts(database_url)
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
        """Drop the logins and their access.users rows, so a database shared by a module stays clean."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            for name in self.created:
                conn.execute(
                    "select pg_terminate_backend(pid, 5000) from pg_stat_activity where usename = %s", (name,))
                conn.execute(psycopg.sql.SQL("drop role if exists {}").format(psycopg.sql.Identifier(name)))
            if self.created:
                conn.execute("delete from access.users where username = any(%s)", (self.created,))
        self.created.clear()


@contextmanager
def mini_warehouse(new_database, data_dir: Path, logins: Mapping[str, tuple[str, dict]] | None = None,
                   ) -> Iterator[tuple[str, dict[str, Login]]]:
    """A database of its own (from the `new_database` fixture) with the small marts, the reporting
    layer and one login per entry.

    `logins` maps a key to (role, scope); the login names are unique (roles are cluster-wide).
    The marts and views are built once per server (a template database) and copied for each caller:
    the build runs dbt, the copy takes a fraction of a second.
    """
    settings = Settings(data_dir=data_dir)
    template, _ = new_database.template("mini", lambda url: build_mini_warehouse(url, Settings(data_dir=data_dir / "tmpl")))
    with new_database("t_access", template=template) as url:
        users = Users(url)
        try:
            ensure_access_schema(settings, url)  # what a copy lacks: CONNECT on its own database for the groups
            yield url, {key: users.add(key, role, **scope) for key, (role, scope) in (logins or {}).items()}
        finally:
            users.cleanup()


def fetch(dsn: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(query, params or None).fetchall()


def busiest_operator(dsn: str) -> str:
    """The extension that handled the most calls in the marts: an operator login with rows to see."""
    [(extension,)] = fetch(dsn, "select operator_extension from marts.operator_daily "
                                "group by 1 order by sum(calls_handled_count) desc limit 1")
    return extension
