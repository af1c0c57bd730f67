"""Oracle tests: the dbt marts, built from simulated data through the real landing, equal truth.json.

The simulator computes every KPI of docs/metrics.md from its own objects (simulator/truth.py);
here the same figures come from Kafka → raw → dbt. Counts must match exactly, amounts and
averages within 1e-6, and a null in the truth must be a null in the mart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from simulator import SimConfig
from tests.pipeline import WarehouseInfo, build_simulated_warehouse

DAILY_KPIS = (
    "orders_count", "cancelled_orders_count", "revenue_amount", "average_check_amount",
    "unique_customers_count", "new_customers_count", "repeat_customers_count", "repeat_customer_share",
    "calls_offered_count", "calls_answered_count", "calls_unanswered_count", "missed_call_rate",
    "short_abandon_count", "asa_seconds", "service_level", "avg_talk_seconds", "occupancy",
    "calls_per_operator_hour", "calls_converted_count", "call_conversion_rate", "revenue_per_answered_call",
    "ratings_count", "csat_mean", "csat_share", "call_ratings_count", "call_csat_mean",
    "order_ratings_count", "order_csat_mean",
)
OPERATOR_KPIS = (
    "calls_handled_count", "talk_seconds_total", "avg_talk_seconds", "missed_rings_count",
    "missed_ring_rate", "avg_pickup_seconds", "logged_in_seconds", "paused_seconds", "occupancy",
    "ratings_count", "rating_mean", "rating_share_4_5", "phone_orders_count",
    "calls_converted_count", "call_conversion_rate", "revenue_per_answered_call",
)
TOLERANCE = 1e-6
SEEDS = (11, 29)


def fetch(database_url: str, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def same(expected: Any, actual: Any) -> bool:
    """Counts exactly, amounts/averages within TOLERANCE, null only where the truth is null."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, int) and not isinstance(expected, bool) and not isinstance(actual, (float, Decimal)):
        return expected == actual
    return abs(float(expected) - float(actual)) <= TOLERANCE


def daily_mismatches(truth: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    by_key = {(r["business_date"].isoformat(), r["scope"], r["restaurant_id"]): r for r in rows}
    problems: list[str] = []
    expected_keys = set()
    for day, figures in truth["daily"].items():
        scopes = [("chain", None, figures["chain"])]
        scopes += [("restaurant", int(rid), kpis) for rid, kpis in figures["restaurants"].items()]
        for scope, restaurant_id, kpis in scopes:
            key = (day, scope, restaurant_id)
            expected_keys.add(key)
            row = by_key.get(key)
            if row is None:
                problems.append(f"{key}: no row in marts.{'daily_kpis' if scope == 'chain' else 'restaurant_daily_kpis'}")
                continue
            for kpi in DAILY_KPIS:
                # restaurant rows carry the order and customer KPIs; the truth has null for the rest
                actual = row[kpi] if scope == "chain" or kpi in row else None
                if not same(kpis[kpi], actual):
                    problems.append(f"{key} {kpi}: truth {kpis[kpi]!r}, mart {actual!r}")
    extra = set(by_key) - expected_keys
    if extra:
        problems.append(f"rows the truth does not have: {sorted(extra, key=str)[:5]}")
    return problems


def operator_mismatches(truth: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    by_key = {(r["business_date"].isoformat(), r["operator_extension"]): r for r in rows}
    expected = {(day, ext): kpis for day, exts in truth["operator_daily"].items() for ext, kpis in exts.items()}
    problems = [f"{key}: missing in marts.operator_daily" for key in sorted(set(expected) - set(by_key))]
    problems += [f"{key}: not in the truth" for key in sorted(set(by_key) - set(expected))]
    for key in sorted(set(expected) & set(by_key)):
        for kpi in OPERATOR_KPIS:
            if not same(expected[key][kpi], by_key[key][kpi]):
                problems.append(f"{key} {kpi}: truth {expected[key][kpi]!r}, mart {by_key[key][kpi]!r}")
    return problems


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def warehouse(request, new_database, kafka_bootstrap: str, tmp_path_factory) -> Iterator[WarehouseInfo]:
    config = SimConfig(days=4, restaurants=3, seed=request.param, scale=0.25, start=dt.date(2026, 3, 26),
                       timezone="Europe/Moscow")
    with new_database("oracle") as database_url:
        yield build_simulated_warehouse(database_url, tmp_path_factory.mktemp(f"oracle{request.param}"),
                                        kafka_bootstrap, config)


def daily_rows(database_url: str) -> list[dict[str, Any]]:
    """The chain rows of marts.daily_kpis and the rows of marts.restaurant_daily_kpis, keyed as the
    truth keys them (scope 'chain' or 'restaurant', restaurant_id)."""
    chain = fetch(database_url, "select * from marts.daily_kpis")
    restaurants = fetch(database_url, "select * from marts.restaurant_daily_kpis")
    return ([{**r, "scope": "chain", "restaurant_id": None} for r in chain]
            + [{**r, "scope": "restaurant"} for r in restaurants])


def test_daily_kpis_equal_the_truth_for_the_chain_and_every_restaurant(warehouse: WarehouseInfo) -> None:
    rows = daily_rows(warehouse.database_url)
    assert {r["scope"] for r in rows} == {"chain", "restaurant"}, "marts.daily_kpis or restaurant_daily_kpis is empty"
    problems = daily_mismatches(warehouse.truth, rows)
    assert not problems, f"{len(problems)} differences, first ones:\n" + "\n".join(problems[:25])


def test_operator_daily_equals_the_truth(warehouse: WarehouseInfo) -> None:
    rows = fetch(warehouse.database_url, "select * from marts.operator_daily")
    assert rows, "marts.operator_daily is empty"
    problems = operator_mismatches(warehouse.truth, rows)
    assert not problems, f"{len(problems)} differences, first ones:\n" + "\n".join(problems[:25])


def test_hourly_kpis_add_up_to_the_daily_chain_figures(warehouse: WarehouseInfo) -> None:
    rows = fetch(warehouse.database_url, """
        select h.business_date, sum(h.orders_count) as orders, sum(h.revenue_amount) as revenue,
               sum(h.calls_offered_count) as offered, sum(h.calls_answered_count) as answered,
               count(*) as hours
        from marts.hourly_kpis as h group by 1 order by 1""")
    assert [r["business_date"].isoformat() for r in rows] == sorted(warehouse.truth["daily"])
    for row in rows:
        chain = warehouse.truth["daily"][row["business_date"].isoformat()]["chain"]
        assert row["hours"] == 24
        assert (row["orders"], row["offered"], row["answered"]) == (
            chain["orders_count"], chain["calls_offered_count"], chain["calls_answered_count"])
        assert same(chain["revenue_amount"], row["revenue"])


def test_orders_mart_has_one_row_per_simulated_order(warehouse: WarehouseInfo) -> None:
    [row] = fetch(warehouse.database_url, "select count(*) as n, count(distinct order_id) as d from marts.orders")
    assert row["n"] == row["d"] == warehouse.truth["counts"]["orders"]


def test_calls_mart_has_one_row_per_simulated_call(warehouse: WarehouseInfo) -> None:
    [row] = fetch(warehouse.database_url, """
        select count(*) as n, count(*) filter (where outcome = 'in_queue') as open_calls from marts.calls""")
    assert row["n"] == warehouse.truth["counts"]["calls"]
    assert row["open_calls"] == 0



RECOVERY_COLUMNS = ("is_known_customer", "had_ordered_before", "lifetime_orders_count", "average_check_amount",
                    "first_call_at", "last_call_at", "last_call_hour", "attempts_count", "wait_seconds_total",
                    "callback_attempts_count", "expected_conversion_rate", "expected_check_amount",
                    "expected_lost_revenue_amount")


def test_missed_call_recovery_equals_the_truth(warehouse: WarehouseInfo) -> None:
    rows = fetch(warehouse.database_url, """
        select r.*, right(regexp_replace(caller_phone, '[^0-9]', '', 'g'), 10) as phone_key,
               extract(epoch from first_call_at)::bigint as first_epoch,
               extract(epoch from last_call_at)::bigint as last_epoch
        from marts.missed_call_recovery as r""")
    actual = {(r["business_date"].isoformat(), r["phone_key"]):
              {**r, "first_call_at": r["first_epoch"], "last_call_at": r["last_epoch"]} for r in rows}
    expected = {(day, phone[-10:]): row for day, callers in warehouse.truth["missed_call_recovery"].items()
                for phone, row in callers.items()}
    assert expected, "the simulated days have no caller left unreached: the test would check nothing"
    assert sorted(actual) == sorted(expected)
    problems = [f"{key} {column}: truth {expected[key][column]!r}, mart {actual[key][column]!r}"
                for key in sorted(expected) for column in RECOVERY_COLUMNS
                if not same(expected[key][column], actual[key][column])]
    assert not problems, f"{len(problems)} differences, first ones:\n" + "\n".join(problems[:25])
