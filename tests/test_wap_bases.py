"""Bases (pantao/wap_bases.py): a build catches up the previous build's incremental tables by the
keys written since, instead of copying every live table into the shadow — and the shadow it
prepares that way holds exactly what a copy would: every row, index, owner, privilege and comment
of the live tables, whoever wrote them and however. Where the notes cannot vouch for a base (a
truncate, a changed table), the table is copied as before.

The expected shadow is the live table itself, compared row by row (as text, sorted), never
through the module's own catch-up.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from pantao import wap, wap_bases
from pantao.dbt_runner import newest_manifest, run_dbt
from tests.pipeline import PLANTED_SIM, WarehouseInfo, simulated_warehouse_copy
from tests.test_access_helpers import Users

ROWS = "select md5(coalesce(string_agg(t::text, '|' order by t::text), '')), count(*) from {} as t"
INDEXES = r"""select array(select regexp_replace(pg_get_indexdef(indexrelid), 'INDEX \S+ ON \S+ ', 'INDEX ON ')
                           from pg_index where indrelid = %s::regclass order by 1)"""
TABLE = """select relowner::regrole::text, array(select unnest(relacl)::text order by 1),
                  obj_description(oid, 'pg_class'),
                  array(select coalesce(col_description(attrelid, attnum), '') from pg_attribute
                        where attrelid = c.oid and attnum > 0 and not attisdropped order by attnum)
           from pg_class c where oid = %s::regclass"""


@pytest.fixture
def warehouse(new_database, kafka_bootstrap: str, tmp_path_factory) -> Iterator[WarehouseInfo]:
    # the same simulation and build as test_marts_outliers and test_build_inputs: one template
    with simulated_warehouse_copy(new_database, "wap_bases", tmp_path_factory, kafka_bootstrap, PLANTED_SIM,
                                  dbt_args=["run"]) as copy:
        yield copy


def keys_of(warehouse: WarehouseInfo) -> dict[tuple[str, str], tuple[str, ...]]:
    keys = wap.incremental_keys(newest_manifest(warehouse.dbt_target_dir))
    assert ("marts", "orders") in keys and ("intermediate", "int_orders_latest") in keys
    return keys


def describe(conn: psycopg.Connection, relation: str) -> tuple:
    return (conn.execute(ROWS.format(relation)).fetchone(), conn.execute(INDEXES, (relation,)).fetchone(),
            conn.execute(TABLE, (relation,)).fetchone())


def live_tables(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return conn.execute("select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                        " where n.nspname = any(%s) and c.relkind = 'r' order by 1, 2",
                        (list(wap.SHADOWED_SCHEMAS),)).fetchall()


@pytest.mark.parametrize("connections", [1, 2], ids=["one transaction", "two sessions"])
def test_the_shadow_caught_up_from_bases_is_the_live_state_whoever_wrote_it(
        warehouse: WarehouseInfo, connections: int) -> None:
    url, keys = warehouse.database_url, keys_of(warehouse)
    with psycopg.connect(url, autocommit=True) as conn:
        # the published build kept a base for every incremental table (a copy, after a whole build)
        assert conn.execute("select count(*) from pantao_wap.pairs").fetchone()[0] == len(keys)
        # writes of every kind since, by hand and not by dbt: the notes must cover them all
        conn.execute("update marts.orders set total_amount = total_amount + 1"
                     " where order_id in (select order_id from marts.orders order by order_id limit 3)")
        conn.execute("update marts.orders set order_id = order_id || '-RENAMED'"
                     " where order_id = (select max(order_id) from marts.orders)")  # a key changes
        conn.execute("delete from intermediate.int_orders_latest"
                     " where order_id = (select min(order_id) from intermediate.int_orders_latest)")
        conn.execute("insert into marts.hourly_kpis select * from marts.hourly_kpis"
                     " where business_date = (select max(business_date) from marts.hourly_kpis)")  # keys twice
        conn.execute("update marts.period_kpis set period_end = period_end + 1"
                     " where period_kind = 'month'")  # a key of two columns
        # where the notes cannot vouch for the base, the table is copied
        conn.execute("truncate marts.operator_daily")
        conn.execute("update intermediate__base.int_ratings_deduplicated set rating_id = rating_id")  # the base
        conn.execute("alter table marts.missed_call_recovery add column noted_by_hand int")
        conn.execute("grant select on marts.orders to crm_analyst")  # privileges follow the live table
        conn.execute("comment on column marts.orders.total_amount is 'changed by hand'")
        tables = live_tables(conn)
        expected = {f"{schema}.{table}": describe(conn, f'"{schema}"."{table}"') for schema, table in tables}

        caught_up: list[str] = []
        copied = wap.prepare_shadow(conn, keys=keys, caught_up=caught_up, database_url=url, connections=connections)
        try:
            found = {f"{schema}.{table}": describe(conn, f'"{schema}{wap.BUILD_SUFFIX}"."{table}"')
                     for schema, table in tables}
            bases_left = conn.execute("select count(*) from pg_namespace where nspname like %s",
                                      ("%" + wap_bases.BASE_SUFFIX,)).fetchone()[0]
            # every table in the shadow is tracked against the live table it now holds the rows of
            pairs = conn.execute(
                "select count(*) from pantao_wap.pairs p join pg_class t on t.oid = p.tracked_oid"
                " join pg_namespace n on n.oid = t.relnamespace where n.nspname like '%%__build'").fetchone()[0]
        finally:
            wap.drop_leftovers(conn)

    assert sorted(caught_up) == sorted(f"{schema}.{table}" for schema, table in keys
                                       if (schema, table) not in {("marts", "operator_daily"), ("marts", "missed_call_recovery"),
                                                                           ("intermediate", "int_ratings_deduplicated")})
    assert copied == len(tables) - len(caught_up)
    assert bases_left == 0
    assert pairs == len(keys)
    for relation, described in expected.items():
        assert found[relation] == described, relation
    assert expected["marts.operator_daily"][0][1] == 0  # the truncate is in the copy


def test_builds_publish_what_a_full_refresh_builds_and_bases_stay_out_of_reach(warehouse: WarehouseInfo) -> None:
    url, keys = warehouse.database_url, keys_of(warehouse)
    settings, target = warehouse.settings, warehouse.dbt_target_dir
    with psycopg.connect(url, autocommit=True) as conn:
        # a late order of an existing customer lands: a real change for the incremental models
        conn.execute("""insert into raw.orders (kafka_topic, kafka_partition, kafka_offset, kafka_key, payload)
                        select kafka_topic, kafka_partition, kafka_offset + 1000000, 'ORD-LATE-BASES',
                               jsonb_set(jsonb_set(payload::jsonb, '{order_id}', '"ORD-LATE-BASES"'),
                                         '{event_id}', to_jsonb(gen_random_uuid()::text))::text
                        from raw.orders where payload::jsonb ->> 'event_type' = 'order_created' limit 1""")
    runs = []
    for _ in range(2):  # the first catches up the copies the template's build kept, the second its own bases
        seconds: dict[str, float] = {}
        run_dbt(["run"], settings, url, target_dir=target, wap_seconds=seconds)
        runs.append(seconds)
    assert [run["tables_caught_up"] for run in runs] == [len(keys), len(keys)]
    assert [run["tables_based"] for run in runs] == [0, 0]
    with psycopg.connect(url, autocommit=True) as conn:
        incremental = {relation: describe(conn, f'"{relation[0]}"."{relation[1]}"')[0] for relation in keys}
        assert conn.execute("select count(*) from marts.orders where order_id = 'ORD-LATE-BASES'").fetchone()[0] == 1
    analyst = Users(url)
    try:
        login = analyst.add("bases_analyst", "crm_analyst").dsn
        with psycopg.connect(login) as conn:
            for schema in ("marts__base", "intermediate__base", "pantao_wap"):
                assert conn.execute("select has_schema_privilege(%s, 'usage')", (schema,)).fetchone()[0] is False
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("select count(*) from marts__base.orders")
    finally:
        analyst.cleanup()
    # the same rows as a build from nothing; a full refresh replaces the tables, so it makes new bases
    seconds = {}
    run_dbt(["run", "--full-refresh"], settings, url, target_dir=target, wap_seconds=seconds)
    assert seconds["tables_caught_up"] == 0 and seconds["tables_based"] == len(keys)
    with psycopg.connect(url) as conn:
        rebuilt = {relation: describe(conn, f'"{relation[0]}"."{relation[1]}"')[0] for relation in keys}
    assert incremental == rebuilt
