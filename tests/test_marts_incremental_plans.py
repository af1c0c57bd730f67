"""Incremental models keep set-based plans when the changed set outgrows work_mem (issue #15, item 4).

Right after a full build every landed row is within the landing overlap, so the next incremental
run of a landing-watermark model sees the whole history as changed: the largest changed set
there is. With `work_mem` at its minimum (64 kB), `order_id in (...) or customer_phone in (...)`
turned into SubPlans PostgreSQL can no longer hash: run once per outer row, quadratic (3.3e9 cost
units on 666k orders). This test compiles every incremental model as the next run would, and
asserts from `EXPLAIN (FORMAT JSON)` that no plan holds a non-hashed SubPlan, and that no
incremental plan costs more than its own full build's (cost units, not wall-clock time).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pantao.dbt_runner import run_dbt
from simulator import SimConfig
from tests.pipeline import WarehouseInfo, build_simulated_warehouse, seeded_target_dir

# about 5,400 orders: PostgreSQL estimates a third of them changed, more than a hash table in the
# smallest work_mem holds
SIM = SimConfig(days=4, restaurants=3, seed=3, scale=2.0, start=dt.date(2026, 6, 1), malformed_share=0.0)
TINY_WORK_MEM = "64kB"  # PostgreSQL's minimum; with hash_mem_multiplier 1 a hash table gets no more
# With every row changed an incremental run does the full build's work plus finding the changed
# keys and joining on them, and marts.orders compares its rows with the stored ones as well (2.0×
# its full build's cost here; the comparison spares the writes, which a plan's cost leaves out); a
# quadratic plan costs orders of magnitude more than its full build.
MAX_COST_RATIO = 2.5


def compiled_models(warehouse: WarehouseInfo, target: Path, *flags: str) -> dict[str, str]:
    """model name -> the SQL `dbt compile` writes for each incremental model (as the next run would)."""
    run_dbt(["compile", "--select", "config.materialized:incremental", *flags], warehouse.settings,
            warehouse.database_url, target_dir=seeded_target_dir(target))
    return {path.stem: path.read_text(encoding="utf-8")
            for path in (target / "compiled" / "pantao" / "models").rglob("*.sql")
            if path.parent.suffix != ".yml"}  # the models, not their data tests


def plan(database_url: str, sql: str) -> dict[str, Any]:
    with psycopg.connect(database_url) as conn:
        conn.execute(f"set work_mem = '{TINY_WORK_MEM}'")
        conn.execute("set hash_mem_multiplier = 1")
        [[found]] = conn.execute("explain (format json) " + sql).fetchall()
    return (found if isinstance(found, list) else json.loads(found))[0]["Plan"]


def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from nodes(child)


def non_hashed_subplans(root: dict[str, Any]) -> list[str]:
    """SubPlans of the plan that PostgreSQL does not hash: re-run for every row of their parent."""
    texts = json.dumps(root)
    subplans = [n["Subplan Name"] for n in nodes(root) if n.get("Parent Relationship") == "SubPlan"]
    return [name for name in subplans if f"hashed {name}" not in texts]


def pairwise_joins(root: dict[str, Any]) -> list[str]:
    """Nested loops that compare every pair of rows (a join filter, no index on the inner side):
    quadratic once an estimate of one row turns out to be thousands."""
    found = []
    for node in nodes(root):
        if node["Node Type"] == "Nested Loop" and "Join Filter" in node:
            inner = node["Plans"][-1]
            if not any("Index" in n["Node Type"] for n in nodes(inner)):
                found.append(node["Join Filter"])
    return found


@pytest.fixture(scope="module")
def plans(new_database, kafka_bootstrap: str, tmp_path_factory) -> Iterator[dict[str, dict[str, Any]]]:
    """model -> its incremental and full plans and incremental SQL; "" -> the database's URL."""
    work = tmp_path_factory.mktemp("plans")
    with new_database("plans") as url:
        warehouse = build_simulated_warehouse(url, work, kafka_bootstrap, SIM, dbt_args=["run"])
        incremental = compiled_models(warehouse, work / "incremental")
        full = compiled_models(warehouse, work / "full", "--full-refresh")
        found: dict[str, Any] = {name: {"incremental": plan(url, sql), "full": plan(url, full[name]), "sql": sql}
                                 for name, sql in incremental.items()}
        yield found | {"": {"url": url}}


def test_every_incremental_model_is_compiled_as_an_incremental_run(plans):
    assert {"int_orders_latest", "int_ratings_deduplicated", "int_customer_profiles_latest", "orders",
            "period_kpis", "restaurant_period_kpis"} <= set(plans)
    assert "max(last_landed_at)" in plans["orders"]["sql"]  # the incremental branch, not the full one


def test_the_changed_set_is_the_whole_history(plans):
    """The premise: right after the full build, every order is in the orders' changed set."""
    with psycopg.connect(plans[""]["url"]) as conn:
        [[changed, total]] = conn.execute("""
            select count(*) filter (where last_landed_at > (select max(last_landed_at) from marts.orders)
                                                           - interval '60 minutes'),
                   count(*)
            from intermediate.int_orders_latest""").fetchall()
    assert changed == total > 5000


def test_no_model_plans_a_non_hashed_subplan_over_the_changed_set(plans):
    found = {name: non_hashed_subplans(p["incremental"]) for name, p in plans.items() if name}
    assert {name: subplans for name, subplans in found.items() if subplans} == {}


def test_no_model_of_orders_plans_a_pairwise_join(plans):
    """marts.orders once joined its scope to itself; with the scope misestimated at one row, the
    plan was a nested loop over every pair of orders in it (minutes after one new day at 30 restaurants)."""
    found = {name: pairwise_joins(plans[name]["incremental"]) for name in
             ("int_orders_latest", "orders", "int_ratings_deduplicated", "int_customer_profiles_latest")}
    assert {name: joins for name, joins in found.items() if joins} == {}


def test_no_incremental_plan_costs_more_than_its_full_build(plans):
    ratios = {name: p["incremental"]["Total Cost"] / p["full"]["Total Cost"] for name, p in plans.items() if name}
    assert {name: round(r, 2) for name, r in ratios.items() if r > MAX_COST_RATIO} == {}


def test_the_old_or_in_scope_is_what_the_check_catches(plans):
    """The check can fail: the scope as it was before issue #15 plans non-hashed SubPlans here."""
    head = plans["orders"]["sql"].split("-- the customers affected", 1)[0].rstrip().rstrip(",")
    old = head + """
        , changed as (
            select order_id, customer_phone from latest
            where last_landed_at > (select max(last_landed_at) from marts.orders) - interval '60 minutes'
        )
        select * from latest
        where order_id in (select order_id from changed)
           or customer_phone in (select customer_phone from changed where customer_phone is not null)"""
    assert non_hashed_subplans(plan(plans[""]["url"], old)) != []


@pytest.mark.parametrize("view", ["stg_kafka__order_events", "stg_kafka__customer_events", "stg_kafka__ratings"])
def test_each_kafka_staging_view_parses_a_message_once(plans, view):
    """`payload::jsonb as doc` in a CTE was inlined into every `doc ->> ...`: the document parsed once
    per column, 18 times per order event (most of int_orders_latest's full build, issue #15). Parsed
    once, the parse is a plan node of its own whose only output is the document (EXPLAIN's text
    shows the expression at each use either way, so the plan's shape is what tells them apart)."""
    with psycopg.connect(plans[""]["url"]) as conn:
        [[found]] = conn.execute(f"explain (verbose, format json) select * from staging.{view}").fetchall()
    root = (found if isinstance(found, list) else json.loads(found))[0]["Plan"]
    parses = [node for node in nodes(root)
              if len(node.get("Output", [])) == 1 and node["Output"][0].endswith(".payload)::jsonb")]
    assert len(parses) == 1
