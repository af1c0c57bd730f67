"""One record with a broken clock cannot stretch the KPI marts or stop the report (issue #11, item 3).

On a small simulated chain, an order created 9999-12-31, one created 1900-01-01 and a call that
entered a queue 9999-12-31 land in the raw tables (straight into them: the landing is to refuse
such times, but the marts must not depend on it), and dbt builds incrementally. Before the rule of
docs/metrics.md ("Which days the KPI marts cover") the date spines ran to the outliers: millions of
rows, and a report that crashed on a timestamp past year 9999.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from pantao.dbt_runner import run_dbt
from reports.snapshot import current_report
from reports.summary import morning_summary, to_plain
from tests.pipeline import PLANTED_SIM, WarehouseInfo, simulated_warehouse_copy
from tests.test_marts_oracle import fetch

SIM = PLANTED_SIM
DAYS = [SIM.start + dt.timedelta(days=i) for i in range(SIM.days)]
OUTLIER_ORDERS = {"ORD-OUTLIER-FUTURE": "9999-12-31T12:00:00.000+03:00", "ORD-OUTLIER-PAST": "1900-01-01T12:00:00.000+03:00"}
OUTLIER_CALL = "OUTLIER.1"


def _order_rows(template: dict[str, Any]) -> list[tuple]:
    """raw.orders rows of two completed orders at impossible times, shaped like a landed one."""
    rows = []
    for n, (order_id, created_at) in enumerate(OUTLIER_ORDERS.items()):
        doc = {**template, "event_id": str(uuid.uuid4()), "event_type": "order_created", "status": "completed",
               "order_id": order_id, "created_at": created_at, "event_at": created_at,
               "customer_phone": f"+7999000000{n}", "call_linkedid": None, "operator_extension": None}
        rows.append(("orders-outliers", 0, n, order_id, json.dumps(doc, ensure_ascii=False)))
    return rows


def _call_rows(callid: str, entered_at: str) -> list[tuple]:
    """raw.pbx_queue_log rows of a call that waited 30 s in the queue and hung up."""
    entered = dt.datetime.fromisoformat(entered_at)
    return [
        (f"{callid}/enter", entered, callid, "orders", "NONE", "ENTERQUEUE", None, "+79990000009", "1", None, None),
        (f"{callid}/abandon", entered + dt.timedelta(seconds=30), callid, "orders", "NONE", "ABANDON",
         "1", "1", "30", None, None),
    ]


def _land(database_url: str, orders: list[tuple] = (), calls: list[tuple] = ()) -> None:
    with psycopg.connect(database_url) as conn:
        conn.cursor().executemany(
            "insert into raw.orders (kafka_topic, kafka_partition, kafka_offset, kafka_key, payload)"
            " values (%s, %s, %s, %s, %s)", orders)
        conn.cursor().executemany(
            "insert into raw.pbx_queue_log (event_hash, event_at, callid, queuename, agent, event,"
            " data1, data2, data3, data4, data5, source) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'file')",
            calls)


def _counts(database_url: str) -> dict[str, Any]:
    [row] = fetch(database_url, """
        select (select count(*) from marts.daily_kpis) as daily,
               (select count(*) from marts.restaurant_daily_kpis) as restaurant_daily,
               (select count(*) from marts.hourly_kpis) as hourly,
               (select min(business_date) from marts.daily_kpis) as first_day,
               (select max(business_date) from marts.daily_kpis) as last_day""")
    return row


@pytest.fixture(scope="module")
def outliers(new_database, kafka_bootstrap: str, tmp_path_factory) -> Iterator[dict[str, Any]]:
    with simulated_warehouse_copy(new_database, "outliers", tmp_path_factory, kafka_bootstrap, SIM,
                                  dbt_args=["run"]) as warehouse:
        url = warehouse.database_url
        before = _counts(url)
        [template] = fetch(url, "select payload::jsonb as doc from raw.orders limit 1")
        _land(url, orders=_order_rows(template["doc"]), calls=_call_rows(OUTLIER_CALL, "9999-12-31T12:00:00+03:00"))
        run_dbt(["build"], warehouse.settings, url, target_dir=warehouse.dbt_target_dir)
        results = json.loads((warehouse.dbt_target_dir / "run_results.json").read_text(encoding="utf-8"))["results"]
        yield {"warehouse": warehouse, "before": before, "after": _counts(url), "results": results}


def test_the_kpi_marts_keep_to_the_days_with_data(outliers):
    before, after = outliers["before"], outliers["after"]
    assert (before["first_day"], before["last_day"]) == (DAYS[0], DAYS[-1])
    assert after == before
    assert (after["daily"], after["restaurant_daily"], after["hourly"]) == (3, 3 * 2, 3 * 24)


def test_the_outliers_stay_in_the_facts_and_count_in_no_kpi(outliers):
    url = outliers["warehouse"].database_url
    kept = fetch(url, "select order_id, business_date from marts.orders where order_id = any(%s) order by 1",
                 (list(OUTLIER_ORDERS),))
    assert [(r["order_id"], r["business_date"]) for r in kept] == [
        ("ORD-OUTLIER-FUTURE", dt.date(9999, 12, 31)), ("ORD-OUTLIER-PAST", dt.date(1900, 1, 1))]
    assert fetch(url, "select business_date from marts.calls where linkedid = %s", (OUTLIER_CALL,)) == [
        {"business_date": dt.date(9999, 12, 31)}]
    truth = outliers["warehouse"].truth["daily"]
    rows = fetch(url, "select business_date, orders_count, calls_offered_count from marts.daily_kpis order by 1")
    assert [(r["business_date"].isoformat(), r["orders_count"], r["calls_offered_count"]) for r in rows] == [
        (day, truth[day]["chain"]["orders_count"], truth[day]["chain"]["calls_offered_count"]) for day in sorted(truth)]


def test_the_build_succeeds_and_flags_the_outliers_as_warnings(outliers):
    flagged = {r["unique_id"].split(".")[2]: (r["status"], r["failures"]) for r in outliers["results"]
               if ".plausible_business_date_" in r["unique_id"]}
    assert flagged == {"plausible_business_date_orders_business_date": ("warn", 2),
                       "plausible_business_date_calls_business_date": ("warn", 1)}
    assert [r["unique_id"] for r in outliers["results"] if r["status"] in ("error", "fail")] == []


def test_the_customer_segments_are_as_of_the_last_real_day(outliers):
    url = outliers["warehouse"].database_url
    assert fetch(url, "select distinct segment_as_of_date from marts.customers") == [{"segment_as_of_date": DAYS[-1]}]


def test_the_report_of_a_normal_day_builds_and_shows_that_days_data(outliers):
    """What `pantao report show` does: the report as the marts stand, and its summary."""
    warehouse: WarehouseInfo = outliers["warehouse"]
    report = current_report(warehouse.settings, warehouse.database_url, DAYS[-1])
    assert report.chain["orders_count"] == warehouse.truth["daily"][DAYS[-1].isoformat()]["chain"]["orders_count"]
    tz = ZoneInfo(SIM.timezone)
    for latest in ("latest_order_at", "latest_call_at"):
        assert dt.datetime.fromisoformat(report.data_freshness[latest]).astimezone(tz).date() == DAYS[-1], latest
    assert to_plain(morning_summary(report, "en")).startswith(f"Daily summary {DAYS[-1].isoformat()}")


def test_a_late_call_still_reaches_its_day_after_a_call_dated_9999(outliers):
    """The late-data window starts at the latest plausible day, not at the outlier's."""
    warehouse: WarehouseInfo = outliers["warehouse"]
    url = warehouse.database_url
    [before] = fetch(url, "select calls_offered_count from marts.daily_kpis where business_date = %s", (DAYS[-1],))
    _land(url, calls=_call_rows("LATE.1", f"{DAYS[-1].isoformat()}T21:00:00+03:00"))
    run_dbt(["run"], warehouse.settings, url, target_dir=warehouse.dbt_target_dir)
    [after] = fetch(url, "select calls_offered_count from marts.daily_kpis where business_date = %s", (DAYS[-1],))
    assert after["calls_offered_count"] == before["calls_offered_count"] + 1
