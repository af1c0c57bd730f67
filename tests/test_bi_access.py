"""Superset shows each person exactly what their own PostgreSQL login shows, and KPIs the truth has.

Every test asks Superset's REST API (`/api/v1/chart/data`, what dashboards and CSV exports use)
as a real person signed in with their real database password, and compares with the same query
run over that person's own login, or with the simulator's truth.json.
"""

from __future__ import annotations

import json

import psycopg
import pytest
import requests

from bi.identity import bi_login, bi_password
from tests.bi_server import BiStack
from tests.test_access_helpers import fetch, login_dsn

pytestmark = pytest.mark.slow

READERS = ("admin", "manager", "scoped_manager", "analyst")


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) < 1e-6


@pytest.mark.parametrize("who", READERS)
def test_revenue_by_restaurant_in_superset_equals_the_persons_own_query(bi_stack: BiStack, who: str):
    rows = bi_stack.chart_data(bi_stack.api(who), "orders", metrics=["revenue_amount", "orders_count"],
                               columns=["restaurant_id"])
    own = fetch(bi_stack.people[who].dsn, """
        select restaurant_id, coalesce(sum(total_amount) filter (where status <> 'cancelled'), 0),
               count(*) filter (where status <> 'cancelled')
        from reporting.orders group by 1 order by 1""")
    assert [(r["restaurant_id"], round(r["revenue_amount"], 2), r["orders_count"]) for r in rows] == \
        [(rid, round(float(revenue), 2), n) for rid, revenue, n in own]
    if who == "scoped_manager":
        assert {r["restaurant_id"] for r in rows} == {1}
    else:
        assert len(rows) == bi_stack.warehouse.sim_config.restaurants


@pytest.mark.parametrize("who", READERS)
def test_customers_in_superset_are_the_rows_and_masking_of_the_persons_login(bi_stack: BiStack, who: str):
    rows = bi_stack.chart_data(bi_stack.api(who), "customers",
                               columns=["customer_key", "customer_name", "customer_phone_masked"])
    own = fetch(bi_stack.people[who].dsn, "select customer_key, customer_name, customer_phone_masked "
                                          "from reporting.customers order by 1, 2, 3")
    assert [(r["customer_key"], r["customer_name"], r["customer_phone_masked"]) for r in rows] == own
    names = {r["customer_name"] for r in rows}
    if who == "analyst":
        assert names == {None}
    else:
        assert names - {None}, "administrators and managers see the names their login sees"
    assert all(r["customer_phone_masked"] is None or "***" in r["customer_phone_masked"] for r in rows)


def test_a_scoped_manager_sees_fewer_customers_than_an_unscoped_one(bi_stack: BiStack):
    def count(who: str) -> int:
        return bi_stack.chart_data(bi_stack.api(who), "customers", metrics=["customers_count"])[0]["customers_count"]

    assert 0 < count("scoped_manager") < count("manager") == count("analyst")


def test_an_analyst_sees_operators_by_extension_only(bi_stack: BiStack):
    rows = bi_stack.chart_data(bi_stack.api("analyst"), "operator_daily", metrics=["calls_handled_count"],
                               columns=["operator_label", "operator_name"])
    assert rows and {r["operator_name"] for r in rows} == {None}
    assert all(r["operator_label"].isdigit() for r in rows)
    admin = bi_stack.chart_data(bi_stack.api("admin"), "operator_daily", columns=["operator_name"])
    assert {r["operator_name"] for r in admin} - {None}


def test_daily_sales_and_call_figures_in_superset_equal_the_simulators_truth(bi_stack: BiStack):
    session = bi_stack.api("analyst")
    sales = bi_stack.chart_data(session, "orders", columns=["business_date"], metrics=[
        "orders_count", "revenue_amount", "average_check_amount", "new_customers_count", "repeat_customers_count"])
    calls = bi_stack.chart_data(session, "calls", columns=["business_date"], metrics=[
        "calls_offered_count", "calls_answered_count", "short_abandon_count", "asa_seconds", "service_level"])
    truth = bi_stack.warehouse.truth["daily"]
    assert sorted(r["business_date"] for r in sales) and len(sales) == len(truth)
    problems = []
    for row in sales + calls:
        day = _day(row["business_date"])
        for kpi, value in row.items():
            if kpi != "business_date" and not _close(value, truth[day]["chain"][kpi]):
                problems.append(f"{day} {kpi}: superset {value!r}, truth {truth[day]['chain'][kpi]!r}")
    assert not problems, problems[:10]


def _day(value) -> str:
    """Superset returns dates as epoch milliseconds in JSON."""
    import datetime as dt

    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC).date().isoformat()
    return str(value)[:10]


def test_an_operator_gets_no_superset_account_and_a_wrong_password_is_refused(bi_stack: BiStack):
    login_url = f"{bi_stack.address}/api/v1/security/login"
    operator = bi_stack.people["operator"]
    refused = requests.post(login_url, json={"username": operator.username, "password": operator.password,
                                             "provider": "db"}, timeout=60)
    assert refused.status_code == 401
    analyst = bi_stack.people["analyst"]
    wrong = requests.post(login_url, json={"username": analyst.username, "password": analyst.password + "x",
                                           "provider": "db"}, timeout=60)
    assert wrong.status_code == 401
    assert fetch(bi_stack.warehouse.database_url, "select count(*) from pg_roles where rolname = %s",
                 (bi_login(operator.username),)) == [(0,)]


def test_a_bi_login_acts_as_its_person_and_can_become_no_one_else(bi_stack: BiStack):
    analyst, admin = bi_stack.people["analyst"], bi_stack.people["admin"]
    dsn = login_dsn(bi_stack.warehouse.database_url, bi_login(analyst.username),
                    bi_password(bi_stack.config.secret_key, analyst.username))
    with psycopg.connect(dsn, autocommit=True, options=f"-c role={analyst.username}") as conn:
        assert conn.execute("select current_user").fetchone() == (analyst.username,)
        assert conn.execute("select count(*) filter (where customer_name is not null) "
                            "from reporting.customers").fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(psycopg.sql.SQL("set role {}").format(psycopg.sql.Identifier(admin.username)))
        conn.execute("set role none")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from reporting.customers")
    with pytest.raises(psycopg.OperationalError, match="permission denied to set role"):
        psycopg.connect(dsn, options=f"-c role={admin.username}").close()


def test_bi_down_leaves_no_process_of_the_server_behind(bi_stack: BiStack, tmp_path):
    """A second server from the same metadata on its own port: `stop` must take every worker with it."""
    import dataclasses

    import psutil

    from bi import server
    from pantao.stack import free_port

    config = dataclasses.replace(bi_stack.config, port=free_port(), run_dir=tmp_path / "run")
    started = server.start(config)
    assert server.start(config).pid == started.pid, "up is idempotent"
    record = json.loads(server.run_file(config).read_text())
    assert set(record) == {"name", "pid", "pgid", "address", "cmd_hint", "started_at"}
    group = [p for p in psutil.process_iter(["pid"]) if _pgid(p.pid) == record["pgid"]]
    assert len(group) >= 2, "gunicorn's master and at least one worker"
    assert server.stop(config) is True
    assert not [p for p in group if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert server.status(config).state == "stopped" and not server.run_file(config).exists()


def _pgid(pid: int) -> int | None:
    import os

    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None
