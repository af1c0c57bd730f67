"""The access matrix of docs/access.md, cell by cell, with real logins and passwords.

MATRIX below is the doc's table as data: the doc's cell text (checked against the doc itself)
and the rows that text means on the small marts of tests/test_access_helpers.py.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from access.catalog import reporting_views, view_by_name, view_names
from pantao.domain import GROUP_ROLES
from pantao.kpis import load_kpis, model_kpis
from pantao.settings import Settings
from tests.test_access_helpers import (
    CUSTOMER_NAMES,
    MART_GRANTS,
    OPERATOR_NAMES,
    RAW_PHONES,
    fetch,
    fill_access_marts,
    login_dsn,
    mini_warehouse,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "access.md"
VIEW_NAMES = view_names()


def _kpis(mart: str) -> tuple[str, ...]:
    """The KPI columns of a mart (the KPI registry), in the mart's order."""
    return tuple(kpi.name for kpi in model_kpis(mart))


def _kpi_comments(view: str) -> dict[str, str]:
    """The comments the view's yml gives its KPI columns (empty ones left out)."""
    return {c.name: c.comment for c in view_by_name(view).columns if c.name in load_kpis() and c.comment}

# How each view's rows are identified in the assertions.
ROW_KEY = {
    "customers": "customer_phone_masked",
    "orders": "order_id",
    "calls": "linkedid",
    "operator_daily": "business_date::text || '/' || operator_extension",
    "daily_kpis": "business_date::text || '/' || coalesce(restaurant_id::text, 'chain')",
    "hourly_kpis": "business_date::text || '/' || hour",
    "my_interactions": "linkedid",
    "missed_call_recovery": "business_date::text || '/' || caller_phone_masked",
    "staffing_advice": "advised_date::text || '/' || hour",
}

ALL = {
    "customers": {"*** ***-**-01", "*** ***-**-02", "*** ***-**-03", "*** ***-**-04"},
    "orders": {"ORD-1", "ORD-2", "ORD-3", "ORD-4", "ORD-5", "ORD-6"},
    "calls": {"L1", "L2", "L3", "L4"},
    "operator_daily": {"2026-11-01/101", "2026-11-01/102", "2026-11-02/101", "2026-11-02/102"},
    "daily_kpis": {f"2026-11-0{d}/{r}" for d in (1, 2) for r in ("chain", "1", "2", "3")},
    "hourly_kpis": {"2026-11-01/10", "2026-11-01/11", "2026-11-02/12"},
    "my_interactions": {"L1", "L3", "L4"},  # the answered calls
    "missed_call_recovery": {"2026-11-01/*** ***-**-99", "2026-11-02/*** ***-**-02"},
    "staffing_advice": {"2026-11-02/12", "2026-11-02/13", "2026-11-03/12"},
}

# Logins of the matrix. The manager column is checked twice: limited to restaurant 2, and unscoped.
PRINCIPALS = {
    "admin": ("crm_admin", {}),
    "manager_r2": ("crm_manager", {"restaurant_ids": [2]}),
    "manager_all": ("crm_manager", {}),
    "analyst": ("crm_analyst", {}),
    "operator_101": ("crm_operator", {"operator_extension": "101"}),
}
ROLE_OF = {"admin": "crm_admin", "manager_r2": "crm_manager", "manager_all": "crm_manager",
           "analyst": "crm_analyst", "operator_101": "crm_operator"}

# view -> role -> doc cell text; the expected rows per principal follow.
MATRIX: dict[str, dict[str, str]] = {
    "customers": {"crm_admin": "all", "crm_manager": "customers of their restaurants (all if unscoped)",
                  "crm_analyst": "all", "crm_operator": "none"},
    "orders": {"crm_admin": "all", "crm_manager": "their restaurants' orders (all if unscoped)",
               "crm_analyst": "all", "crm_operator": "orders they took"},
    "calls": {"crm_admin": "all", "crm_manager": "all", "crm_analyst": "all", "crm_operator": "calls they answered"},
    "operator_daily": {"crm_admin": "all", "crm_manager": "all", "crm_analyst": "all",
                       "crm_operator": "their own rows"},
    "daily_kpis": {"crm_admin": "all", "crm_manager": "chain rows + their restaurants (all if unscoped)",
                   "crm_analyst": "all", "crm_operator": "none"},
    "hourly_kpis": {"crm_admin": "all", "crm_manager": "all", "crm_analyst": "all", "crm_operator": "none"},
    "my_interactions": {"crm_admin": "all", "crm_manager": "all", "crm_analyst": "all",
                        "crm_operator": "calls they answered"},
    "missed_call_recovery": {"crm_admin": "all", "crm_manager": "callers at home in their restaurants (all if unscoped)",
                             "crm_analyst": "all", "crm_operator": "none"},
    "staffing_advice": {"crm_admin": "all", "crm_manager": "all", "crm_analyst": "all", "crm_operator": "none"},
}

EXPECTED: dict[tuple[str, str], set[str]] = {}
for _view, _cells in MATRIX.items():
    for _principal, _role in ROLE_OF.items():
        EXPECTED[(_principal, _view)] = set(ALL[_view])
    EXPECTED[("operator_101", _view)] = set()
EXPECTED[("manager_r2", "customers")] = {"*** ***-**-02", "*** ***-**-04"}  # home 2; ordered at 2
EXPECTED[("manager_r2", "orders")] = {"ORD-2", "ORD-5"}
EXPECTED[("manager_r2", "daily_kpis")] = {"2026-11-01/chain", "2026-11-02/chain", "2026-11-01/2", "2026-11-02/2"}
EXPECTED[("operator_101", "orders")] = {"ORD-1"}
EXPECTED[("operator_101", "calls")] = {"L1", "L4"}
EXPECTED[("operator_101", "operator_daily")] = {"2026-11-01/101", "2026-11-02/101"}
EXPECTED[("operator_101", "my_interactions")] = {"L1", "L4"}
EXPECTED[("manager_r2", "missed_call_recovery")] = {"2026-11-02/*** ***-**-02"}  # home 2; the unknown caller has none

CLOSED_TABLES = ("raw.orders", "staging.stg_orders", "intermediate.int_orders", "marts.customers",
                 "marts.orders", "access.users", "access.audit_log", "access.install_secret")


@pytest.fixture(scope="module")
def warehouse(access_new_database, tmp_path_factory) -> Iterator[tuple[str, dict]]:
    """One database with the small marts, the reporting layer and one login per matrix principal,
    on PostgreSQL 18 and 15 in turn."""
    with mini_warehouse(access_new_database, tmp_path_factory.mktemp("access"), PRINCIPALS) as built:
        yield built


def _doc_matrix() -> dict[str, dict[str, str]]:
    """The role x view table of docs/access.md, parsed."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Access matrix", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| `reporting.")]
    matrix = {}
    for line in rows:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        view = re.fullmatch(r"`reporting\.(\w+)`", cells[0]).group(1)
        matrix[view] = dict(zip(GROUP_ROLES, cells[1:5], strict=True))
    return matrix


def test_the_matrix_here_is_the_one_in_docs_access_md():
    assert _doc_matrix() == MATRIX
    assert set(MATRIX) == set(VIEW_NAMES)


@pytest.mark.parametrize(("principal", "view"), sorted(EXPECTED))
def test_each_login_sees_exactly_its_cell_of_the_matrix(warehouse, principal, view):
    url, logins = warehouse
    rows = fetch(logins[principal].dsn, f"select {ROW_KEY[view]} from reporting.{view}")
    assert {r[0] for r in rows} == EXPECTED[(principal, view)]


@pytest.mark.parametrize("principal", ["manager_r2", "manager_all", "analyst", "operator_101"])
@pytest.mark.parametrize("table", CLOSED_TABLES)
def test_only_reporting_is_open_to_managers_analysts_and_operators(warehouse, principal, table):
    _, logins = warehouse
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
        fetch(logins[principal].dsn, f"select * from {table} limit 1")


def test_administrators_also_read_the_marts_and_the_user_tables(warehouse):
    _, logins = warehouse
    dsn = logins["admin"].dsn
    assert fetch(dsn, "select count(*) from marts.customers") == [(4,)]
    assert len(fetch(dsn, "select username from access.users")) == len(PRINCIPALS)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        fetch(dsn, "select * from raw.orders")


def _everything_visible(dsn: str) -> str:
    return "\n".join(
        repr(fetch(dsn, f"select * from reporting.{view}")) for view in VIEW_NAMES
    )


@pytest.mark.parametrize("principal", list(PRINCIPALS))
def test_no_login_sees_a_raw_phone_number_through_reporting(warehouse, principal):
    _, logins = warehouse
    visible = _everything_visible(logins[principal].dsn)
    assert "*** ***-" in visible or principal == "operator_101"
    for phone in RAW_PHONES:
        assert phone not in visible
        assert phone[2:] not in visible  # not even without the +7


MASKED_COLUMNS = [(v.name, c) for v in reporting_views() for c in v.column_names if c.endswith("_phone_masked")]


@pytest.mark.parametrize("principal", list(PRINCIPALS))
def test_masked_phones_show_at_most_their_last_two_digits(warehouse, principal):
    """Issue #17: with the salt, a key and four visible digits left 10^6 numbers to try (1.3 s);
    two visible digits leave 10^8, and no other digit (not even the country code) is shown."""
    _, logins = warehouse
    assert {view for view, _ in MASKED_COLUMNS} == {"customers", "orders", "calls", "missed_call_recovery"}
    shown = []
    for view, column in MASKED_COLUMNS:
        shown += [r[0] for r in fetch(logins[principal].dsn, f"select {column} from reporting.{view}") if r[0]]
    assert shown or principal == "operator_101"
    for value in shown:
        digits = re.sub(r"[^0-9]", "", value)
        assert len(digits) <= 2, f"{value!r} shows {len(digits)} digits"
        assert any(phone.endswith(digits) for phone in RAW_PHONES)


def test_a_formatted_number_is_masked_by_its_digits_not_its_layout(warehouse):
    """`8 (916) 123-45-67` must not show its leading `8 (916)` (the old mask kept all but ten characters)."""
    url, _ = warehouse
    with psycopg.connect(url) as conn:  # the superuser reads as an administrator; rolled back at the end
        conn.execute("insert into marts.customers (customer_phone, segment) values "
                     "('8 (916) 123-45-67', 'new'), ('101', 'new')")
        masked = {r[0] for r in conn.execute("select customer_phone_masked from reporting.customers")}
        conn.rollback()
    assert {"*** ***-**-67", "***"} <= masked
    assert not [m for m in masked if "916" in m or "(" in m]


def test_analysts_see_no_names_of_customers_or_operators(warehouse):
    _, logins = warehouse
    visible = _everything_visible(logins["analyst"].dsn)
    for name in (*CUSTOMER_NAMES, *OPERATOR_NAMES):
        assert name not in visible
    assert fetch(logins["analyst"].dsn, "select count(*) from reporting.customers where customer_name is null") == [(4,)]


def test_managers_see_customer_names_and_operators_their_own_name(warehouse):
    _, logins = warehouse
    names = {r[0] for r in fetch(logins["manager_all"].dsn, "select customer_name from reporting.customers")}
    assert names == set(CUSTOMER_NAMES)
    own = {r[0] for r in fetch(logins["operator_101"].dsn, "select operator_name from reporting.operator_daily")}
    assert own == {"Анна Петрова"}


def test_an_operators_own_page_has_their_ratings_and_comments_and_analysts_no_comments(warehouse):
    _, logins = warehouse
    query = ("select linkedid, operator_name, rating_score, rating_comment, call_result "
             "from reporting.my_interactions order by linkedid")
    assert fetch(logins["operator_101"].dsn, query) == [
        ("L1", "Анна Петрова", 5, "Очень вежливо, спасибо", "order_placed"),
        ("L4", "Анна Петрова", 4, None, "answered")]
    assert fetch(logins["manager_r2"].dsn, query)[1] == ("L3", "Борис Иванов", None, None, "order_placed")
    assert [row[1:4] for row in fetch(logins["analyst"].dsn, query)] == [
        (None, 5, None), (None, None, None), (None, 4, None)]


def test_customer_key_is_stable_joinable_and_not_the_phone(warehouse):
    _, logins = warehouse
    dsn = logins["analyst"].dsn
    keys = dict(fetch(dsn, "select customer_phone_masked, customer_key from reporting.customers"))
    assert len(set(keys.values())) == 4 and all(re.fullmatch(r"[0-9a-f]{24}", k) for k in keys.values())
    joined = fetch(dsn, "select count(*) from reporting.orders o join reporting.customers c using (customer_key)")
    assert joined == [(5,)]  # every non-anonymous order finds its customer
    again = dict(fetch(dsn, "select customer_phone_masked, customer_key from reporting.customers"))
    assert again == keys


def test_a_callers_own_predicate_cannot_reveal_hidden_rows(warehouse):
    """security_barrier: an erroring predicate on hidden rows must not run before the row filter."""
    _, logins = warehouse
    rows = fetch(logins["operator_101"].dsn,
                 "select linkedid from reporting.calls where 1 / (case when linkedid = 'L3' then 0 else 1 end) = 1")
    assert {r[0] for r in rows} == {"L1", "L4"}


def test_a_login_outside_access_users_sees_nothing(warehouse):
    url, _ = warehouse
    name = f"stray_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"create role {name} login password 'stray-password-123' in role crm_analyst")
    try:
        dsn = login_dsn(url, name, "stray-password-123")
        assert fetch(dsn, "select count(*) from reporting.orders") == [(0,)]
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"drop role {name}")


def test_every_reporting_view_and_column_has_a_comment(warehouse):
    url, _ = warehouse
    views = fetch(url, """
        select c.relname, obj_description(c.oid, 'pg_class')
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'reporting' and c.relkind = 'v'""")
    assert {v for v, _ in views} == set(VIEW_NAMES)
    assert all(comment and len(comment) > 20 for _, comment in views)
    columns = fetch(url, """
        select c.relname, a.attname, col_description(c.oid, a.attnum)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        where n.nspname = 'reporting'""")
    expected = {(v.name, c.name) for v in reporting_views() for c in v.columns}
    assert {(v, c) for v, c, _ in columns} == expected
    assert [(v, c) for v, c, comment in columns if not comment] == []


def test_reporting_views_are_owned_by_a_role_without_superuser_or_bypassrls(warehouse):
    url, _ = warehouse
    owners = fetch(url, """
        select distinct r.rolname, r.rolsuper, r.rolbypassrls from pg_class c
        join pg_namespace n on n.oid = c.relnamespace join pg_roles r on r.oid = c.relowner
        where n.nspname = 'reporting'""")
    assert owners == [("crm_reporting_owner", False, False)]


def test_applying_the_reporting_layer_again_keeps_everything(warehouse, tmp_path):
    from access.migrate import ensure_access_schema
    from tests.test_access_helpers import apply_reporting_layer

    url, logins = warehouse
    settings = Settings(data_dir=tmp_path)
    ensure_access_schema(settings, url)
    apply_reporting_layer(settings, url)
    rows = fetch(logins["operator_101"].dsn, "select linkedid from reporting.calls")
    assert {r[0] for r in rows} == {"L1", "L4"}
    assert fetch(url, "select count(*) from access.install_secret") == [(1,)]


def test_concurrent_applies_on_a_fresh_database_neither_deadlock_nor_race(fresh_database_url, tmp_path):
    """A `pantao prepare` or a hand-run build of the views may overlap the pipeline's: they queue, none fails."""
    from tests.test_access_helpers import apply_reporting_layer

    fill_access_marts(fresh_database_url)
    settings = Settings(data_dir=tmp_path)
    with ThreadPoolExecutor(max_workers=2) as pool:  # two suffice to overlap; each more is a dbt build's time
        results = list(pool.map(lambda _: apply_reporting_layer(settings, fresh_database_url), range(2)))
    assert results == [[f"reporting.{v}" for v in VIEW_NAMES]] * 2
    assert fetch(fresh_database_url, "select count(*) from reporting.orders") == [(6,)]
    assert fetch(fresh_database_url, "select count(*) from access.install_secret") == [(1,)]


def test_views_survive_a_dbt_style_rebuild_once_the_layer_is_reapplied(warehouse, tmp_path):
    """dbt swaps a table mart (new table, old one dropped with cascade): the views go, apply brings them back."""
    from tests.test_access_helpers import apply_reporting_layer

    url, logins = warehouse
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table marts.hourly_kpis__dbt_tmp as select * from marts.hourly_kpis")
        conn.execute("alter table marts.hourly_kpis rename to hourly_kpis__dbt_backup")
        conn.execute("alter table marts.hourly_kpis__dbt_tmp rename to hourly_kpis")
        conn.execute(MART_GRANTS)  # dbt grants the new table in the same transaction (the marts' grants config)
        conn.execute("drop table marts.hourly_kpis__dbt_backup cascade")
    with pytest.raises(psycopg.errors.UndefinedTable):
        fetch(logins["analyst"].dsn, "select * from reporting.hourly_kpis")
    apply_reporting_layer(Settings(data_dir=tmp_path), url)
    assert len(fetch(logins["analyst"].dsn, "select * from reporting.hourly_kpis")) == 3
    assert len(fetch(logins["admin"].dsn, "select * from marts.hourly_kpis")) == 3


def test_docs_analysts_md_describes_every_view_and_column():
    """The doc shows what the database's COMMENTs say, word for word, so a BI tool and the doc agree."""
    text = (DOC.parent / "analysts.md").read_text(encoding="utf-8")
    for view in reporting_views():
        section = text.split(f"### `reporting.{view.name}`", 1)[1].split("\n### ", 1)[0]
        assert view.comment in section, f"docs/analysts.md: the description of {view.name} differs from its comment"
        missing = [c.name for c in view.columns if f"| `{c.name}` | {c.comment} |" not in section]
        assert missing == [], f"docs/analysts.md lacks or words differently {view.name}: {missing}"


@pytest.mark.parametrize(
    ("view", "kpis", "comments"),
    [(view, _kpis(view), _kpi_comments(view)) for view in ("daily_kpis", "operator_daily", "hourly_kpis")],
)
def test_kpi_views_carry_their_marts_kpis_each_with_its_own_comment(view, kpis, comments):
    columns = view_by_name(view).column_names
    assert tuple(c for c in columns if c in kpis) == kpis
    assert set(comments) == set(kpis), "a KPI without its own comment (or a comment for a KPI that is gone)"
