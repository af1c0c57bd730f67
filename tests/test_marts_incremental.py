"""Late and duplicate events through the incremental marts, and incremental == full refresh.

Scenario on one simulated chain (5 days): build everything; then re-send a whole day's order
events (duplicates, same event_id) and late events for an earlier day — a new order by a new
customer, the cancellation of an anonymous order, and an order of a returning customer earlier
than their first one — land them with the real landing and run dbt incrementally. The late day must change by exactly what those events imply, every other
day must stay as it was, and a full refresh must then produce identical marts.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pantao.dbt_runner import run_dbt
from simulator import SimConfig, publish_to_kafka
from tests.pipeline import WarehouseInfo, build_simulated_warehouse
from tests.test_marts_oracle import fetch

START = dt.date(2026, 4, 6)
DAYS = 5
DUPLICATED_DAY = START + dt.timedelta(days=3)
LATE_DAY = START + dt.timedelta(days=2)
MART_KEYS = {
    "daily_kpis": "business_date",
    "restaurant_daily_kpis": "business_date, restaurant_id",
    "hourly_kpis": "business_date, hour",
    "operator_daily": "business_date, operator_extension",
    "orders": "order_id",
    "calls": "linkedid",
    "customers": "customer_phone",
    "period_kpis": "period_kind, period_start",
    "restaurant_period_kpis": "period_kind, period_start, restaurant_id",
}
ORDER_FIGURES = ("orders_count", "cancelled_orders_count", "revenue_amount", "unique_customers_count",
                 "new_customers_count", "repeat_customers_count")


def snapshot(database_url: str, mart: str) -> list[dict[str, Any]]:
    return fetch(database_url, f"select * from marts.{mart} order by {MART_KEYS[mart]}")


def daily_by_key(database_url: str) -> dict[tuple, dict[str, Any]]:
    """The chain's and the restaurants' daily rows by (business_date, 'chain' | 'restaurant', restaurant_id)."""
    chain = {(r["business_date"], "chain", None): r for r in snapshot(database_url, "daily_kpis")}
    return chain | {(r["business_date"], "restaurant", r["restaurant_id"]): r
                    for r in snapshot(database_url, "restaurant_daily_kpis")}


def order_event(order: dict[str, Any], *, status: str, event_at: str) -> dict[str, Any]:
    """An orders-topic event in the contract's format (docs/contracts.md §1)."""
    return {"schema_version": 1, "event_id": str(uuid.uuid4()), "event_type": f"order_{status}",
            "event_at": event_at, **order, "status": status}


def write_messages(directory: Path, messages: list[dict[str, Any]]) -> Path:
    (directory / "kafka").mkdir(parents=True, exist_ok=True)
    with (directory / "kafka" / "orders.jsonl").open("w", encoding="utf-8") as f:
        for message in messages:
            f.write(json.dumps(message, ensure_ascii=False) + "\n")
    return directory


@pytest.fixture(scope="module")
def warehouse(new_database, kafka_bootstrap: str, tmp_path_factory) -> Iterator[WarehouseInfo]:
    config = SimConfig(days=DAYS, restaurants=3, seed=5, scale=0.25, start=START, malformed_share=0.0)
    with new_database("incremental") as database_url:
        yield build_simulated_warehouse(database_url, tmp_path_factory.mktemp("incremental"), kafka_bootstrap,
                                        config, dbt_args=["run"])


@pytest.fixture(scope="module")
def late_run(warehouse: WarehouseInfo, tmp_path_factory) -> dict[str, Any]:
    """Publish duplicates and late events, land them, run dbt incrementally; return before/after."""
    url = warehouse.database_url
    before = {mart: snapshot(url, mart) for mart in MART_KEYS}
    daily_before = daily_by_key(url)

    # 1. every order event of DUPLICATED_DAY again, unchanged (same event_id)
    messages = []
    for line in (warehouse.out_dir / "kafka" / "orders.jsonl").read_text(encoding="utf-8").splitlines():
        message = json.loads(line)
        if "value" in message and json.loads(message["value"])["created_at"].startswith(DUPLICATED_DAY.isoformat()):
            messages.append(message)
    assert len(messages) > 50, "the simulation should have order events on the duplicated day"

    # 2. a late order of a customer never seen before, created at noon of LATE_DAY and completed
    [template] = fetch(url, """
        select restaurant_id from marts.orders where business_date = %s order by order_id limit 1""", (LATE_DAY,))
    new_order = {
        "order_id": f"ORD-LATE-{uuid.uuid4().hex[:8]}", "created_at": f"{LATE_DAY.isoformat()}T12:00:00.000+03:00",
        "restaurant_id": template["restaurant_id"], "channel": "app", "customer_phone": "+79990000001",
        "items": [{"sku": "TEST-1", "name": "Late burger", "qty": 2, "unit_price": 250.0}],
        "subtotal_amount": 500.0, "discount_amount": 20.0, "total_amount": 480.0, "currency": "RUB",
        "call_linkedid": None, "operator_extension": None,
    }
    late = [order_event(new_order, status="created", event_at=new_order["created_at"]),
            order_event(new_order, status="completed", event_at=f"{LATE_DAY.isoformat()}T12:40:00.000+03:00")]

    # 3. the cancellation, landing late, of an anonymous non-phone order of LATE_DAY
    [victim] = fetch(url, """
        select order_id, restaurant_id, total_amount from marts.orders
        where business_date = %s and customer_phone is null and channel <> 'phone' and not is_cancelled
        order by order_id limit 1""", (LATE_DAY,))
    [snapshot_doc] = fetch(url, """
        select payload::jsonb as doc from raw.orders where kafka_key = %s
        order by (payload::jsonb ->> 'event_at')::timestamptz desc limit 1""", (victim["order_id"],))
    cancelled = {k: v for k, v in snapshot_doc["doc"].items()
                 if k not in ("schema_version", "event_id", "event_type", "event_at", "status")}
    late.append(order_event(cancelled, status="cancelled", event_at=f"{(LATE_DAY + dt.timedelta(days=1)).isoformat()}"
                                                                      "T23:00:00.000+03:00"))
    # 4. a late order of a returning customer, earlier than their first order: their first order
    #    moves to LATE_DAY, so each stored order of theirs changes its first-order figures with no
    #    event of its own (none on DUPLICATED_DAY either, whose orders all land again)
    [returning] = fetch(url, """
        select customer_phone, min(business_date) filter (where is_first_order) as first_day
        from marts.orders where customer_phone is not null
        group by customer_phone
        having min(business_date) filter (where is_first_order) > %(late)s
           and count(*) filter (where business_date in (%(late)s, %(duplicated)s)) = 0
        order by count(*) desc, customer_phone limit 1""", {"late": LATE_DAY, "duplicated": DUPLICATED_DAY})
    early_order = new_order | {
        "order_id": f"ORD-EARLY-{uuid.uuid4().hex[:8]}", "created_at": f"{LATE_DAY.isoformat()}T13:00:00.000+03:00",
        "customer_phone": returning["customer_phone"],
        "items": [{"sku": "TEST-2", "name": "Early fries", "qty": 3, "unit_price": 100.0}],
        "subtotal_amount": 300.0, "discount_amount": 0.0, "total_amount": 300.0,
    }
    late += [order_event(early_order, status="created", event_at=early_order["created_at"]),
             order_event(early_order, status="completed", event_at=f"{LATE_DAY.isoformat()}T13:30:00.000+03:00")]
    messages += [{"key": e["order_id"], "value": json.dumps(e, ensure_ascii=False)} for e in late]

    # the orders table as the release before the rows-that-differ run built it: the run drops the column
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("alter table marts.orders add column customer_last_landed_at timestamptz")
        conn.execute("update marts.orders set customer_last_landed_at = last_landed_at")
    extra = write_messages(tmp_path_factory.mktemp("late"), messages)
    publish_to_kafka(extra, warehouse.kafka_bootstrap, {"orders": warehouse.settings.topic_orders})
    land_everything_orders_only(warehouse)
    run_dbt(["run"], warehouse.settings, url, target_dir=warehouse.dbt_target_dir)
    return {"before": before, "daily_before": daily_before, "daily_after": daily_by_key(url),
            "new_order": new_order, "victim": victim, "returning": returning}


def land_everything_orders_only(warehouse: WarehouseInfo) -> None:
    from ingestion.kafka import land_topics

    result = land_topics(warehouse.settings, warehouse.database_url, warehouse.kafka_bootstrap, ("orders",))
    assert result.landed > 0


def expected_change(row: dict[str, Any], added_orders: int, added: Decimal, removed: Decimal,
                    cancelled: bool) -> dict[str, Any]:
    """Each added order is a new customer's (the new one's, or the returning one's moved first order)."""
    return {
        "orders_count": row["orders_count"] + added_orders - (1 if cancelled else 0),
        "cancelled_orders_count": row["cancelled_orders_count"] + (1 if cancelled else 0),
        "revenue_amount": row["revenue_amount"] + added - removed,
        "unique_customers_count": row["unique_customers_count"] + added_orders,
        "new_customers_count": row["new_customers_count"] + added_orders,
        "repeat_customers_count": row["repeat_customers_count"],
    }


def test_late_day_changes_by_exactly_the_late_events(late_run: dict[str, Any]) -> None:
    before, after = late_run["daily_before"], late_run["daily_after"]
    added = Decimal("480.00") + Decimal("300.00")  # the new customer's order and the returning one's early order
    removed = Decimal(late_run["victim"]["total_amount"])
    new_rid, victim_rid = late_run["new_order"]["restaurant_id"], late_run["victim"]["restaurant_id"]
    scopes = [(LATE_DAY, "chain", None), (LATE_DAY, "restaurant", new_rid), (LATE_DAY, "restaurant", victim_rid)]
    for key in dict.fromkeys(scopes):
        _, scope, rid = key
        is_chain = scope == "chain"
        expected = expected_change(
            before[key],
            2 if is_chain or rid == new_rid else 0,
            added if is_chain or rid == new_rid else Decimal(0),
            removed if is_chain or rid == victim_rid else Decimal(0),
            cancelled=is_chain or rid == victim_rid,
        )
        actual = {k: after[key][k] for k in ORDER_FIGURES}
        assert actual == expected, f"{key}: expected {expected}, got {actual}"
        assert float(after[key]["average_check_amount"]) == pytest.approx(
            float(expected["revenue_amount"]) / expected["orders_count"], abs=1e-6)


def test_days_without_late_events_do_not_change(late_run: dict[str, Any]) -> None:
    """Only the late day and the day the returning customer's first order was on."""
    before, after = late_run["daily_before"], late_run["daily_after"]
    assert set(before) == set(after)
    changed = sorted({key[0] for key in before if before[key] != after[key]})
    assert changed == [LATE_DAY, late_run["returning"]["first_day"]], f"days that changed: {changed}"


def test_the_day_of_a_moved_first_order_counts_its_customer_as_repeat(late_run: dict[str, Any]) -> None:
    key = (late_run["returning"]["first_day"], "chain", None)
    before, after = late_run["daily_before"][key], late_run["daily_after"][key]
    expected = {k: before[k] for k in ORDER_FIGURES} | {
        "new_customers_count": before["new_customers_count"] - 1,
        "repeat_customers_count": before["repeat_customers_count"] + 1}
    assert {k: after[k] for k in ORDER_FIGURES} == expected


def test_duplicated_events_and_late_orders_leave_contact_centre_marts_unchanged(
        warehouse: WarehouseInfo, late_run: dict[str, Any]) -> None:
    for mart in ("operator_daily", "calls"):
        assert snapshot(warehouse.database_url, mart) == late_run["before"][mart], mart


def test_incremental_marts_equal_a_full_refresh(warehouse: WarehouseInfo, late_run: dict[str, Any]) -> None:
    url = warehouse.database_url
    incremental = {mart: snapshot(url, mart) for mart in MART_KEYS}
    run_dbt(["run", "--full-refresh"], warehouse.settings, url, target_dir=warehouse.dbt_target_dir)
    for mart in MART_KEYS:
        full = snapshot(url, mart)
        assert len(full) == len(incremental[mart]), mart
        differing = [(a, b) for a, b in zip(incremental[mart], full, strict=True) if a != b]
        assert not differing, f"{mart}: {len(differing)} rows differ, e.g. {differing[0]}"
