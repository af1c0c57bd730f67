"""The access rules on the real built warehouse (simulator -> Kafka/PBX landing -> dbt -> reporting).

Uses the session's shared `built_warehouse` (tests/pipeline.py): the only writes here are the
test logins, which are removed again through `remove_user`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import psycopg
import pytest

from access.export import export_view, validate_request
from access.users import remove_user
from access.views import VIEW_NAMES
from tests.test_access_helpers import Login, Users, fetch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def logins(built_warehouse) -> Iterator[dict[str, Login]]:
    url = built_warehouse.database_url
    [(extension,)] = fetch(url, "select operator_extension from marts.operator_daily "
                                "group by 1 order by sum(calls_handled_count) desc limit 1")
    users = Users(url)
    made = {
        "analyst": users.add("wh_ana", "crm_analyst"),
        "operator": users.add("wh_op", "crm_operator", operator_extension=extension),
        "manager": users.add("wh_mgr", "crm_manager", restaurant_ids=[1]),
    }
    yield made
    for login in made.values():
        remove_user(url, login.username)


def _count(dsn: str, query: str) -> int:
    return fetch(dsn, query)[0][0]


def test_every_reporting_view_exists_over_the_built_marts_and_has_rows(built_warehouse):
    url = built_warehouse.database_url
    for view in VIEW_NAMES:
        assert _count(url, f"select count(*) from reporting.{view}") > 0, view
        assert _count(url, f"select count(*) from reporting.{view}") == _count(url, f"select count(*) from marts.{view}")


def test_an_operator_sees_exactly_their_rows_of_the_built_marts(built_warehouse, logins):
    url, op = built_warehouse.database_url, logins["operator"]
    [(ext,)] = fetch(url, "select operator_extension from access.users where username = %s", (op.username,))
    assert _count(op.dsn, "select count(*) from reporting.operator_daily") == \
        _count(url, f"select count(*) from marts.operator_daily where operator_extension = '{ext}'") > 0
    assert _count(op.dsn, "select count(*) from reporting.calls") == \
        _count(url, f"select count(*) from marts.calls where answered_by_extension = '{ext}'") > 0
    assert fetch(op.dsn, "select distinct operator_extension from reporting.operator_daily") == [(ext,)]


def test_a_manager_of_restaurant_1_sees_its_orders_and_the_chain_rows(built_warehouse, logins):
    url, mgr = built_warehouse.database_url, logins["manager"]
    assert _count(mgr.dsn, "select count(*) from reporting.orders") == \
        _count(url, "select count(*) from marts.orders where restaurant_id = 1") > 0
    restaurants = fetch(mgr.dsn, "select distinct coalesce(restaurant_id::text, scope) from reporting.daily_kpis")
    assert {r[0] for r in restaurants} == {"1", "chain"}


def test_an_analyst_sees_no_phone_number_or_name_of_the_built_customers(built_warehouse, logins):
    url, ana = built_warehouse.database_url, logins["analyst"]
    phones = {r[0] for r in fetch(url, "select customer_phone from marts.customers")}
    names = {r[0] for r in fetch(url, "select customer_name from marts.customers where customer_name is not null")}
    names |= {r[0] for r in fetch(url, "select distinct operator_name from marts.operator_daily")}
    [(first, last)] = fetch(url, "select min(business_date), max(business_date) from marts.orders")
    for view in ("customers", "orders", "calls", "operator_daily"):
        out = io.BytesIO()
        export_view(ana.dsn, validate_request(view, first, last), out)
        text = out.getvalue().decode("utf-8")
        assert text.count("\n") > 1
        leaked = [p for p in phones if p in text] + [n for n in names if n and n in text]
        assert leaked == [], f"{view} shows {leaked[:3]}"
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        fetch(ana.dsn, "select * from marts.customers limit 1")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        fetch(ana.dsn, "select * from raw.orders limit 1")
