"""Write–audit–publish (pantao/wap.py): a build stopped half-way leaves readers on the last
published build, every reporting view agreeing with every other and with the simulator's truth,
and the next build publishes with no manual step.

The build runs on a PostgreSQL server of this module's own, which the test stops mid-build
(`pg_ctl stop -m immediate`, a crash as far as the server's clients can tell) and starts again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from pantao import wap
from pantao.dbt_runner import DBT_PROJECT_DIR, DEFAULT_TARGET_DIR, DbtError, newest_manifest, run_dbt
from pantao.local_postgres import EmbeddedPostgres
from pantao.manifest import load_models
from simulator import SimConfig, publish_to_kafka
from tests.conftest import database_factory
from tests.pipeline import WarehouseInfo, build_simulated_warehouse
from tests.test_access_helpers import Users, fetch

SIM = SimConfig(days=4, restaurants=2, seed=23, scale=0.2, start=dt.date(2026, 10, 5), malformed_share=0.0)
ADDED_DAY = dt.date(2026, 10, 7)
ADDED_ORDERS = 3  # completed orders of three new customers, all on ADDED_DAY


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("wap_pg") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def warehouse(own_server: EmbeddedPostgres, kafka_bootstrap: str, tmp_path_factory) -> Iterator[WarehouseInfo]:
    with database_factory(own_server.dsn("postgres"))("wap") as url:
        yield build_simulated_warehouse(url, tmp_path_factory.mktemp("wap"), kafka_bootstrap, SIM)


@pytest.fixture(scope="module")
def admin(warehouse: WarehouseInfo) -> Iterator[str]:
    """A crm_admin login: the reporting views show it every row."""
    users = Users(warehouse.database_url)
    try:
        yield users.add("wap_admin", "crm_admin").dsn
    finally:
        users.cleanup()


def reporting_figures(dsn: str) -> dict[str, dict[dt.date, int]]:
    """Orders per business day as each reporting view tells it (chain scope for the KPI views)."""
    queries = {
        "orders": "select business_date as d, count(*) filter (where status <> 'cancelled') as n "
                  "from reporting.orders group by 1",
        "daily_kpis": "select business_date as d, orders_count as n from reporting.daily_kpis where scope = 'chain'",
        "daily_kpis_restaurants": "select business_date as d, sum(orders_count) as n from reporting.daily_kpis "
                                  "where scope = 'restaurant' group by 1",
        "hourly_kpis": "select business_date as d, sum(orders_count) as n from reporting.hourly_kpis group by 1",
    }
    return {view: {row[0]: int(row[1]) for row in fetch(dsn, query) if row[1]} for view, query in queries.items()}


def truth_orders(warehouse: WarehouseInfo) -> dict[dt.date, int]:
    return {dt.date.fromisoformat(day): figures["chain"]["orders_count"]
            for day, figures in warehouse.truth["daily"].items() if figures["chain"]["orders_count"]}


def assert_views_agree(dsn: str, expected: dict[dt.date, int]) -> None:
    figures = reporting_figures(dsn)
    for view, per_day in figures.items():
        assert per_day == expected, f"reporting.{view} disagrees: {per_day} != {expected}"


def publish_added_orders(warehouse: WarehouseInfo, tmp_dir: Path) -> None:
    """ADDED_ORDERS completed orders on ADDED_DAY, through the topic and the real landing."""
    [(restaurant_id,)] = fetch(warehouse.database_url, "select min(restaurant_id) from marts.orders")
    messages = []
    for n in range(ADDED_ORDERS):
        created = f"{ADDED_DAY.isoformat()}T1{n}:00:00.000+03:00"
        order = {"order_id": f"ORD-WAP-{uuid.uuid4().hex[:8]}", "created_at": created, "restaurant_id": restaurant_id,
                 "channel": "app", "customer_phone": f"+7999000010{n}",
                 "items": [{"sku": "WAP-1", "name": "Burger", "qty": 1, "unit_price": 300.0}],
                 "subtotal_amount": 300.0, "discount_amount": 0.0, "total_amount": 300.0, "currency": "RUB",
                 "call_linkedid": None, "operator_extension": None}
        for status, at in (("created", created), ("completed", created.replace(":00:00.", ":30:00."))):
            event = {"schema_version": 1, "event_id": str(uuid.uuid4()), "event_type": f"order_{status}",
                     "event_at": at, **order, "status": status}
            messages.append({"key": order["order_id"], "value": json.dumps(event)})
    (tmp_dir / "kafka").mkdir(parents=True)
    (tmp_dir / "kafka" / "orders.jsonl").write_text("".join(json.dumps(m) + "\n" for m in messages), encoding="utf-8")
    publish_to_kafka(tmp_dir, warehouse.kafka_bootstrap, {"orders": warehouse.settings.topic_orders})

    from ingestion.kafka import land_topics

    landed = land_topics(warehouse.settings, warehouse.database_url, warehouse.kafka_bootstrap, ("orders",))
    assert landed.landed == 2 * ADDED_ORDERS


def wait_for_shadow_orders(url: str, live_count: int, timeout: float = 300) -> None:
    """Until the build has committed marts__build.orders with the added orders (and not yet the KPIs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg.connect(url, autocommit=True) as conn:
            if conn.execute("select to_regclass('marts__build.orders') is not null").fetchone()[0]:
                count = conn.execute("select count(*) from marts__build.orders").fetchone()[0]
                if count > live_count:
                    return
        time.sleep(0.2)
    raise AssertionError("the build never wrote the added orders into marts__build.orders")


def test_the_first_build_is_published_and_agrees_with_the_truth(warehouse: WarehouseInfo, admin: str) -> None:
    assert_views_agree(admin, truth_orders(warehouse))
    with psycopg.connect(warehouse.database_url) as conn:
        schemas = {r[0] for r in conn.execute("select nspname from pg_namespace where nspname like '%%\\_\\_%%'")}
    assert not schemas & {s + suffix for s in wap.SHADOWED_SCHEMAS for suffix in (wap.BUILD_SUFFIX, wap.OLD_SUFFIX)}


def test_postgres_stopped_mid_build_leaves_readers_on_the_last_published_build(
        warehouse: WarehouseInfo, admin: str, own_server: EmbeddedPostgres, tmp_path: Path) -> None:
    before = truth_orders(warehouse)
    publish_added_orders(warehouse, tmp_path / "added")
    [(live_count,)] = fetch(warehouse.database_url, "select count(*) from marts.orders")

    failure: list[BaseException] = []

    def build() -> None:
        try:
            run_dbt(["build"], warehouse.settings, warehouse.database_url, target_dir=warehouse.dbt_target_dir)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            failure.append(exc)

    builder = threading.Thread(target=build)
    builder.start()
    wait_for_shadow_orders(warehouse.database_url, live_count)
    own_server._cmd("pg_ctl", ["-D", str(own_server.pgdata), "-m", "immediate", "-w", "stop"])
    builder.join(timeout=300)
    assert not builder.is_alive()
    assert failure and isinstance(failure[0], (DbtError, psycopg.Error)), failure
    own_server.start()

    # the readers: the last published build, every view agreeing, the added orders not in any of them
    assert_views_agree(admin, before)
    [(marts_orders,)] = fetch(warehouse.database_url, "select count(*) from marts.orders")
    assert marts_orders == live_count

    # the next build needs no manual step, and publishes the added orders everywhere at once
    run_dbt(["build"], warehouse.settings, warehouse.database_url, target_dir=warehouse.dbt_target_dir)
    after = dict(before)
    after[ADDED_DAY] = before[ADDED_DAY] + ADDED_ORDERS
    assert_views_agree(admin, after)


def test_a_failed_build_publishes_nothing(warehouse: WarehouseInfo, admin: str) -> None:
    before = reporting_figures(admin)
    with psycopg.connect(warehouse.database_url, autocommit=True) as conn:
        conn.execute("alter table raw.orders rename to orders_away")  # the build fails on it
    try:
        with pytest.raises(DbtError, match="raw.orders"):
            run_dbt(["build"], warehouse.settings, warehouse.database_url, target_dir=warehouse.dbt_target_dir)
    finally:
        with psycopg.connect(warehouse.database_url, autocommit=True) as conn:
            conn.execute("alter table raw.orders_away rename to orders")
    assert reporting_figures(admin) == before
    with psycopg.connect(warehouse.database_url, row_factory=dict_row) as conn:
        left = conn.execute("select to_regclass('marts__build.orders') as t").fetchone()
    assert left["t"] is not None, "the failed build stays in marts__build for inspection"


def relations(url: str) -> set[tuple[str, str, str]]:
    return set(fetch(url, "select n.nspname, c.relname, c.relkind::text from pg_class c "
                          "join pg_namespace n on n.oid = c.relnamespace "
                          "where n.nspname in ('staging', 'intermediate', 'marts', 'reporting') and c.relkind in ('r', 'v')"))


def test_a_partial_build_keeps_every_other_model_and_view(warehouse: WarehouseInfo, admin: str) -> None:
    before_relations, before_figures = relations(warehouse.database_url), reporting_figures(admin)
    # orders is rebuilt; the views over it (dropped with the old table) come back, the rest is copied
    run_dbt(["run", "--select", "orders", "--full-refresh"], warehouse.settings, warehouse.database_url,
            target_dir=warehouse.dbt_target_dir)
    assert relations(warehouse.database_url) == before_relations
    assert reporting_figures(admin) == before_figures


def test_writing_commands_and_partial_selections_are_told_apart() -> None:
    assert wap.writes_models(["build"]) and wap.writes_models(["run", "--select", "orders"])
    assert not wap.writes_models(["test"]) and not wap.writes_models(["parse"]) and not wap.writes_models([])
    assert wap.is_partial(["run", "--select", "path:models/reporting"])
    assert wap.is_partial(["build", "--exclude=orders"])
    assert not wap.is_partial(["build", "--full-refresh"])
    assert wap.is_full_refresh(["build", "--full-refresh"]) and not wap.is_full_refresh(["build"])


@pytest.mark.parametrize("connections", [1, 2], ids=["one transaction", "two sessions"])
def test_the_shadow_copies_each_live_table_with_its_rows_and_indexes(warehouse: WarehouseInfo, connections: int) -> None:
    """The copy inserts the rows first and builds each index once from them (issue #15): the same
    indexes as the live tables' (named by PostgreSQL, as `like ... including indexes` names them),
    the same rows, owners and grants, whether one session copies every table or two share them."""
    indexes = r"""
        select c.relname, regexp_replace(pg_get_indexdef(x.indexrelid), 'INDEX \S+ ON \S+ ', 'INDEX ON ')
        from pg_index x join pg_class c on c.oid = x.indrelid
        join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s order by 1, 2"""
    tables = """select c.relname, c.relowner::regrole::text, array(select unnest(c.relacl)::text order by 1)
                from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where n.nspname = %s and c.relkind = 'r' order by 1"""
    with psycopg.connect(warehouse.database_url, autocommit=True) as conn:
        copied = wap.prepare_shadow(conn, database_url=warehouse.database_url, connections=connections)
        try:
            found = {schema: (conn.execute(indexes, (schema,)).fetchall(), conn.execute(tables, (schema,)).fetchall())
                     for live in ("intermediate", "marts") for schema in (live, live + wap.BUILD_SUFFIX)}
            [counts] = conn.execute(f"select (select count(*) from marts.orders),"
                                    f" (select count(*) from marts{wap.BUILD_SUFFIX}.orders)").fetchall()
            [[live_tables]] = conn.execute(
                "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = any(%s) and c.relkind = 'r'", (list(wap.SHADOWED_SCHEMAS),)).fetchall()
        finally:
            wap.drop_leftovers(conn)
    for live in ("intermediate", "marts"):
        assert found[live + wap.BUILD_SUFFIX] == found[live] != ([], []), live
    assert counts[0] == counts[1] > 0
    assert copied == live_tables


def _model(name: str, materialized: str, code: str, *, schema: str = "marts", macros: tuple[str, ...] = (),
           hooks: tuple[str, ...] = ()) -> tuple[str, dict]:
    return f"model.pantao.{name}", {
        "resource_type": "model", "package_name": "pantao", "name": name, "alias": name, "schema": schema,
        "raw_code": code, "depends_on": {"macros": list(macros)},
        "config": {"materialized": materialized, "enabled": True, "post-hook": [{"sql": h} for h in hooks]}}


def test_a_whole_build_does_not_copy_the_tables_it_replaces_without_reading_them(tmp_path: Path) -> None:
    """Only `table` models that never name `this` (in their code, hooks or the project macros they
    call) are left out of the copy; whatever is unsure is copied."""
    nodes = dict([
        _model("plain", "table", "{#- rebuilt from {{ this }}'s inputs, says a comment -#} select 1"),
        _model("shadowed", "table", "select 1", schema="marts__build"),
        _model("carries_over", "table", "select * from {{ this }}"),
        _model("carries_in_a_macro", "table", "select {{ carry() }}", macros=("macro.pantao.carry",)),
        _model("carries_deeper", "table", "select {{ outer() }}", macros=("macro.pantao.outer",)),
        _model("unknown_macro", "table", "select {{ gone() }}", macros=("macro.pantao.gone",)),
        _model("hooked", "table", "select 1", hooks=("delete from {{ this }} where false",)),
        _model("merged", "incremental", "select 1"),
        _model("viewed", "view", "select 1", schema="staging"),
        _model("elsewhere", "table", "select 1", schema="public"),
    ])
    macros = {"macro.pantao.carry": {"macro_sql": "{% macro carry() %}(select 1 from {{ this }}){% endmacro %}",
                                     "depends_on": {"macros": []}},
              "macro.pantao.outer": {"macro_sql": "{% macro outer() %}{{ carry() }}{% endmacro %}",
                                     "depends_on": {"macros": ["macro.pantao.carry"]}},
              "macro.dbt.is_incremental": {"macro_sql": "{{ this }}", "depends_on": {"macros": []}}}
    manifest = tmp_path / "target" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text(json.dumps({"nodes": nodes, "macros": macros}), encoding="utf-8")
    assert wap.rebuilt_whole(manifest) == {("marts", "plain"), ("marts", "shadowed")}

    # no manifest, an unreadable one, or a project changed after it: copy everything
    assert wap.rebuilt_whole(None) == wap.rebuilt_whole(tmp_path / "missing.json") == frozenset()
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: pantao\n", encoding="utf-8")
    model = project / "models" / "plain.sql"
    model.write_text("select 1", encoding="utf-8")
    old = manifest.stat().st_mtime - 60
    os.utime(project / "dbt_project.yml", (old, old))
    os.utime(model, (old, old))
    assert wap.rebuilt_whole(manifest, project) == {("marts", "plain"), ("marts", "shadowed")}
    os.utime(model, (old + 120, old + 120))
    assert wap.rebuilt_whole(manifest, project) == frozenset()
    manifest.write_text("{", encoding="utf-8")
    assert wap.rebuilt_whole(manifest) == frozenset()


def test_the_projects_carry_over_models_are_always_copied() -> None:
    """data_issues reads its previous build (first_seen_at): it must never be left out of the copy."""
    rebuilt = wap.rebuilt_whole(newest_manifest(DEFAULT_TARGET_DIR))
    models = {doc.relation: doc for doc in load_models().values()}
    assert ("marts", "data_issues") not in rebuilt
    assert all(f"{schema}.{table}" in models for schema, table in rebuilt)


def test_an_incremental_whole_build_copies_only_the_tables_it_does_not_replace(
        warehouse: WarehouseInfo, admin: str) -> None:
    before_relations, before_figures = relations(warehouse.database_url), reporting_figures(admin)
    with psycopg.connect(warehouse.database_url) as conn:
        live = set(conn.execute("select n.nspname, c.relname from pg_class c join pg_namespace n"
                                " on n.oid = c.relnamespace where n.nspname = any(%s) and c.relkind = 'r'",
                                (list(wap.SHADOWED_SCHEMAS),)).fetchall())
    rebuilt = wap.rebuilt_whole(newest_manifest(warehouse.dbt_target_dir), DBT_PROJECT_DIR) & live
    seconds: dict[str, float] = {}
    run_dbt(["build"], warehouse.settings, warehouse.database_url, target_dir=warehouse.dbt_target_dir,
            wap_seconds=seconds)
    # the rest is copied, or caught up from the base the previous publish kept (pantao/wap_bases.py)
    assert seconds["tables_copied"] + seconds["tables_caught_up"] == len(live) - len(rebuilt)
    assert relations(warehouse.database_url) == before_relations
    assert reporting_figures(admin) == before_figures
    # the tables it did not copy were rebuilt with their indexes and grants
    with psycopg.connect(warehouse.database_url) as conn:
        for schema, table in rebuilt:
            assert conn.execute("select has_table_privilege('crm_reporting_owner', %s, 'select')",
                                (f"{schema}.{table}",)).fetchone()[0], (schema, table)


def test_a_shadow_leaves_out_the_tables_it_is_told_the_build_replaces(warehouse: WarehouseInfo) -> None:
    with psycopg.connect(warehouse.database_url, autocommit=True) as conn:
        copied_all = wap.prepare_shadow(conn)
        wap.drop_leftovers(conn)
        copied = wap.prepare_shadow(conn, skip={("marts", "customers")})
        try:
            [[customers, orders]] = conn.execute(
                f"select to_regclass('marts{wap.BUILD_SUFFIX}.customers') is null,"
                f" to_regclass('marts{wap.BUILD_SUFFIX}.orders') is not null").fetchall()
        finally:
            wap.drop_leftovers(conn)
    assert copied == copied_all - 1 and customers and orders
