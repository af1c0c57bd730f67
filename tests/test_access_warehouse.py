"""The access rules on the real built warehouse (simulator -> Kafka/PBX landing -> dbt -> reporting).

Uses the session's shared `built_warehouse` (tests/pipeline.py): the only writes here are the
test logins, which are removed again through `remove_user`.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import psycopg
import pytest

from access.catalog import view_names
from access.export import export_view, validate_request
from access.users import remove_user
from pantao.domain import SEGMENTS
from tests.test_access_helpers import Login, Users, apply_reporting_layer, busiest_operator, fetch

pytestmark = pytest.mark.slow
VIEW_NAMES = view_names()
# The marts a view shows every row of (to a superuser): its own mart, or these.
# The rows a view shows (as superuser): a mart's, two marts', or an operator's page's answered calls.
VIEW_MARTS = {"daily_kpis": ("marts.daily_kpis", "marts.restaurant_daily_kpis"),
              "my_interactions": ("marts.calls where is_answered",)}
# Views over what the daily reports stored: rows once a report is made, which this shared warehouse
# never is (tests/test_staffing_oracle.py makes one on its own warehouse and checks the view).
FROM_STORED_REPORTS = {"staffing_advice"}


@pytest.fixture(scope="module")
def logins(built_warehouse) -> Iterator[dict[str, Login]]:
    url = built_warehouse.database_url
    extension = busiest_operator(url)
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
        marts = VIEW_MARTS.get(view, (f"marts.{view}",))
        assert _count(url, f"select count(*) from reporting.{view}") > 0 or view in FROM_STORED_REPORTS, view
        assert _count(url, f"select count(*) from reporting.{view}") == sum(
            _count(url, f"select count(*) from {mart}") for mart in marts), view


def test_every_segment_of_the_built_customers_can_be_exported(built_warehouse):
    """`pantao export --segment` accepts pantao.domain.SEGMENTS: dbt may assign nothing else."""
    segments = {r[0] for r in fetch(built_warehouse.database_url, "select distinct segment from reporting.customers")}
    assert segments and segments <= set(SEGMENTS)


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


def test_a_manager_of_restaurant_1_sees_the_customers_at_home_there_or_with_an_order_there(built_warehouse, logins):
    """reporting.customers for a scoped manager reads the customers mart's list of restaurants ordered
    at; the expected set is counted here from the orders themselves, cancelled orders included."""
    url, mgr = built_warehouse.database_url, logins["manager"]
    expected = {r[0] for r in fetch(url, """
        select c.customer_key from marts.customers as c
        where c.home_restaurant_id = 1
           or exists (select from marts.orders as o where o.customer_phone = c.customer_phone and o.restaurant_id = 1)""")}
    ordered_only = {r[0] for r in fetch(url, """
        select c.customer_key from marts.customers as c
        where c.home_restaurant_id is distinct from 1
          and exists (select from marts.orders as o where o.customer_phone = c.customer_phone and o.restaurant_id = 1)""")}
    seen = [r[0] for r in fetch(mgr.dsn, "select customer_key from reporting.customers")]
    assert ordered_only and len(expected) < _count(url, "select count(*) from marts.customers")
    assert len(seen) == len(set(seen)) and set(seen) == expected


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


def _access_state(url: str) -> list[tuple]:
    """Everything a build of the reporting views decides: view SQL, owners, grants, comments, and the marts' grants.

    Grants as a sorted list of ACL items: their order in relacl is the order they were granted in,
    which a re-apply may change without changing who may do what."""
    return fetch(url, """
        select n.nspname, c.relname, c.relkind::text, pg_get_userbyid(c.relowner),
               array(select a::text from unnest(c.relacl) as a order by 1),
               obj_description(c.oid, 'pg_class'), case when c.relkind = 'v' then pg_get_viewdef(c.oid) end
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('reporting', 'marts', 'access') and c.relkind in ('r', 'v', 'p')
        order by 1, 2""")


def test_reapplying_the_reporting_layer_on_the_built_warehouse_changes_nothing(built_warehouse, logins):
    """Every dbt build rebuilds the reporting views after the marts: on real marts that must be a no-op
    (its time is printed for a reader; tests assert no wall-clock times)."""
    url, op = built_warehouse.database_url, logins["operator"]
    before, seen_before = _access_state(url), fetch(op.dsn, "select count(*) from reporting.calls")
    started = time.perf_counter()
    names = apply_reporting_layer(built_warehouse.settings, url, built_warehouse.dbt_target_dir)
    elapsed = time.perf_counter() - started
    assert names == [f"reporting.{v}" for v in VIEW_NAMES]
    assert _access_state(url) == before
    assert fetch(op.dsn, "select count(*) from reporting.calls") == seen_before
    print(f"dbt run of the reporting views on the built warehouse: {elapsed:.2f} s")
