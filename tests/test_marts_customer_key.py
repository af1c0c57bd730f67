"""The pseudonymous customer key stored in the marts (dbt_project/macros/customer_key.sql, issue #15).

The reporting views used to hash every phone of every query; the marts now store the key when they
write a row. These tests compute the key independently, in Python, from docs/access.md's
definition (the first 24 hex digits of SHA-256 over the install's salt followed by the phone) and
check every stored key of the four marts that carry one, after a full build, and after an
incremental run that meets both situations the stored key adds: a new salt (every key must change)
and a table built by the release before (no customer_key column yet).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Iterator

import psycopg
import pytest

from pantao.dbt_runner import DbtError, run_dbt
from tests.mini_marts import KEYED  # mart -> the phone its key is computed from
from tests.pipeline import PLANTED_SIM, WarehouseInfo, simulated_warehouse_copy
from tests.test_marts_oracle import fetch


def expected_key(salt: bytes, phone: str | None) -> str | None:
    return None if phone is None else hashlib.sha256(salt + phone.encode("utf-8")).hexdigest()[:24]


def salt_of(database_url: str) -> bytes:
    [row] = fetch(database_url, "select secret from access.install_secret where name = 'customer_key_salt'")
    return bytes(row["secret"])


def wrong_keys(database_url: str, salt: bytes) -> dict[str, int]:
    """mart -> how many of its rows hold a key other than the one computed here (0 everywhere is right);
    each mart must have rows with a phone, or the check would pass on nothing."""
    wrong = {}
    for mart, phone in KEYED.items():
        rows = fetch(database_url, f"select {phone} as phone, customer_key from marts.{mart}")
        assert any(r["phone"] for r in rows), f"marts.{mart} has no row with a phone to check"
        wrong[mart] = sum(r["customer_key"] != expected_key(salt, r["phone"]) for r in rows)
    return wrong


@pytest.fixture
def warehouse(new_database, kafka_bootstrap: str, tmp_path_factory) -> Iterator[WarehouseInfo]:
    # the same simulation and build as test_marts_outliers: one template for both
    with simulated_warehouse_copy(new_database, "customer_key", tmp_path_factory, kafka_bootstrap, PLANTED_SIM,
                                  dbt_args=["run"]) as copy:
        yield copy


def test_every_stored_key_is_the_salted_hash_of_its_phone(warehouse: WarehouseInfo):
    url = warehouse.database_url
    assert wrong_keys(url, salt_of(url)) == dict.fromkeys(KEYED, 0)
    # one customer, one key: the orders' keys are the customers' keys
    [row] = fetch(url, """
        select count(*) filter (where c.customer_key is null) as unmatched, count(*) as orders
        from marts.orders o left join marts.customers c using (customer_key)
        where o.customer_phone is not null""")
    assert row["orders"] > 0 and row["unmatched"] == 0


def _updated_rows(url: str, table: str) -> int:
    """Rows UPDATEd in marts.<table> since it was created (the statistics collector's count; a build's
    copy and its delete+insert merge write none, so only the rekeying pre-hook makes them)."""
    [row] = fetch(url, "select coalesce(n_tup_upd, 0) as updated from pg_stat_user_tables"
                       " where schemaname = 'marts' and relname = %s", (table,))
    return row["updated"]


def test_a_new_salt_and_a_table_from_the_release_before_are_rekeyed_by_the_next_run(warehouse: WarehouseInfo):
    url = warehouse.database_url
    orders_before = fetch(url, "select order_id, customer_phone from marts.orders order by 1")
    columns_before = fetch(url, """
        select column_name from information_schema.columns
        where table_schema = 'marts' and table_name = 'missed_call_recovery' order by ordinal_position""")
    new_salt = secrets.token_bytes(32)
    with psycopg.connect(url, autocommit=True) as conn:
        # the release before stored no key in missed_call_recovery; the administrator retires a leaked salt
        conn.execute("alter table marts.missed_call_recovery drop column customer_key cascade")  # and the view on it
        conn.execute("update access.install_secret set secret = %s where name = 'customer_key_salt'", (new_salt,))

    # nothing new landed, no late-data window and no landing overlap: the incremental models rewrite
    # (almost) no row themselves, so the keys must come from the pre-hook that rekeys a whole table
    quiet = dict(warehouse.settings.dbt_vars, late_data_lookback_days=0, landing_overlap_minutes=0)
    run_dbt(["run", "--vars", json.dumps(quiet)], warehouse.settings, url, target_dir=warehouse.dbt_target_dir)

    assert wrong_keys(url, new_salt) == dict.fromkeys(KEYED, 0)
    assert fetch(url, "select order_id, customer_phone from marts.orders order by 1") == orders_before
    # the incremental marts were rekeyed in place (UPDATE), every row with a key: not rewritten by the model
    for mart in ("orders", "calls", "missed_call_recovery"):
        [row] = fetch(url, f"select count(*) as keyed from marts.{mart} where customer_key is not null")
        deadline = time.monotonic() + 10  # the statistics reach the collector within a second or so
        while _updated_rows(url, mart) < row["keyed"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert row["keyed"] > 0 and _updated_rows(url, mart) >= row["keyed"], mart
    # the column comes back where a full build puts it, so a later whole-row comparison holds
    assert fetch(url, """
        select column_name from information_schema.columns
        where table_schema = 'marts' and table_name = 'missed_call_recovery' order by ordinal_position""") == columns_before


def test_a_build_of_a_keyed_mart_without_the_salt_stops_and_says_to_run_prepare(warehouse: WarehouseInfo):
    url = warehouse.database_url
    keys_before = fetch(url, "select customer_phone, customer_key from marts.customers order by 1")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("delete from access.install_secret where name = 'customer_key_salt'")
    with pytest.raises(DbtError, match="run `pantao prepare` first"):
        run_dbt(["run", "--select", "customers"], warehouse.settings, url, target_dir=warehouse.dbt_target_dir)
    # nothing was published: the customers keep their keys
    assert fetch(url, "select customer_phone, customer_key from marts.customers order by 1") == keys_before
