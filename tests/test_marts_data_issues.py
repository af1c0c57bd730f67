"""A record breaking a business rule is a data issue, not a failed build (issue #11, item 2).

On a small simulated chain, hand-made records land in the raw tables (straight into them: the
landing refuses some of these shapes, but the marts must not depend on it), one per rule of
dbt_project/macros/data_rules.sql, plus one valid anonymous order as a control. An incremental
`dbt build` must succeed, list each bad record in marts.data_issues with its rule and raw
message, keep it out of every KPI (the expected figures are the simulator's truth plus what the
hand-made records add, counted here by hand), and the report must still build and name the issues
in its footer. Then correcting events land, and the next incremental run (no --full-refresh)
takes the records off the issues and into the marts.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from prometheus_client import generate_latest

from monitoring.catalog import DATA_ISSUE_RULES
from monitoring.exporter import collect
from pantao.dbt_runner import run_dbt
from reports.messages import Messages
from reports.render import data_issues_footer
from reports.snapshot import build_daily_report
from tests.pipeline import PLANTED_SIM, WarehouseInfo, simulated_warehouse_copy
from tests.test_marts_oracle import fetch

SIM = PLANTED_SIM
DAY = SIM.start + dt.timedelta(days=SIM.days - 1)
AT = f"{DAY.isoformat()}T12:00:00.000+03:00"
LATER = f"{DAY.isoformat()}T13:00:00.000+03:00"
# after every simulated event: a change that must win over the order's own later statuses
MUCH_LATER = f"{(DAY + dt.timedelta(days=3)).isoformat()}T12:00:00.000+03:00"
TOPIC = "bad-records"  # the kafka_topic of the hand-made raw rows; offsets below are theirs

# order_id -> (restaurant_id, subtotal, discount, total, the one rule it breaks)
BAD_ORDERS: dict[str, tuple[int, str, str, str, str]] = {
    "ORD-BAD-NEGATIVE": (1, "-500.00", "0.00", "-500.00", "order_negative_total"),
    "ORD-BAD-MISMATCH": (1, "1000.00", "100.00", "950.00", "order_total_mismatch"),
    "ORD-BAD-DISCOUNT": (2, "1000.00", "-100.00", "1100.00", "order_negative_discount"),
    "ORD-BAD-RESTAURANT": (99, "400.00", "0.00", "400.00", "order_unknown_restaurant"),
}
CONTROL = ("ORD-GOOD-CONTROL", 1, "300.00")


def order_doc(template: dict[str, Any], order_id: str, restaurant_id: int, subtotal: str, discount: str,
              total: str, *, event_at: str = AT) -> str:
    """An anonymous completed order created at noon of DAY, in the orders-topic format."""
    doc = {**template, "event_id": str(uuid.uuid4()), "event_type": "order_completed", "status": "completed",
           "order_id": order_id, "created_at": AT, "event_at": event_at, "restaurant_id": restaurant_id,
           "channel": "app", "customer_phone": None, "call_linkedid": None, "operator_extension": None,
           "subtotal_amount": float(subtotal), "discount_amount": float(discount), "total_amount": float(total)}
    return json.dumps(doc, ensure_ascii=False)


def rating_doc(template: dict[str, Any], rating_id: str, *, subject_type: str, order_id: str | None,
               score: int) -> str:
    doc = {**template, "event_id": str(uuid.uuid4()), "rating_id": rating_id, "subject_type": subject_type,
           "order_id": order_id, "call_linkedid": None, "operator_extension": None, "score": score,
           "event_at": LATER}
    return json.dumps(doc, ensure_ascii=False)


class RawLanding:
    """Writes hand-made messages into raw.orders / raw.feedback, each at its own offset."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.offset = 0

    def land(self, table: str, key: str, payload: str) -> int:
        self.offset += 1
        with psycopg.connect(self.database_url) as conn:
            conn.execute(f"insert into raw.{table} (kafka_topic, kafka_partition, kafka_offset, kafka_key, payload)"
                         " values (%s, 0, %s, %s, %s)", (TOPIC, self.offset, key, payload))
        return self.offset


def day_kpis(database_url: str) -> dict[str, Any]:
    [row] = fetch(database_url, "select orders_count, revenue_amount, order_ratings_count from marts.daily_kpis"
                                " where business_date = %s", (DAY,))
    return row


def issues(database_url: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["rule"], r["entity_key"]): r for r in fetch(database_url, "select * from marts.data_issues")}


@pytest.fixture(scope="module")
def run(new_database, kafka_bootstrap: str, tmp_path_factory) -> Iterator[dict[str, Any]]:
    with simulated_warehouse_copy(new_database, "data_issues", tmp_path_factory, kafka_bootstrap, SIM,
                                  dbt_args=["run"]) as warehouse:
        url = warehouse.database_url
        settings = warehouse.settings.with_overrides(restaurant_ids=(1, 2))
        [order_template] = fetch(url, "select payload::jsonb as doc from raw.orders limit 1")
        [rating_template] = fetch(url, "select payload::jsonb as doc from raw.feedback limit 1")
        # a valid, unrated, anonymous, completed order of DAY that a later event will break
        [victim] = fetch(url, """
            select order_id, restaurant_id, total_amount from marts.orders
            where business_date = %s and customer_phone is null and not is_cancelled
              and order_id not in (select order_id from marts.ratings where order_id is not null)
            order by order_id limit 1""", (DAY,))
        # a valid order of DAY the bad rating rates
        [rated] = fetch(url, "select order_id from marts.orders where business_date = %s and order_id <> %s"
                             " and not is_cancelled order by order_id limit 1", (DAY, victim["order_id"]))
        raw = RawLanding(url)
        offsets = {order_id: raw.land("orders", order_id, order_doc(order_template["doc"], order_id, *values[:4]))
                   for order_id, values in BAD_ORDERS.items()}
        offsets[CONTROL[0]] = raw.land("orders", CONTROL[0], order_doc(order_template["doc"], CONTROL[0], CONTROL[1],
                                                                      CONTROL[2], "0.00", CONTROL[2]))
        # the victim's total turns negative in a later event (subtotal - discount = total still holds)
        offsets[victim["order_id"]] = raw.land("orders", victim["order_id"], order_doc(
            order_template["doc"], victim["order_id"], victim["restaurant_id"], "-1.00", "0.00", "-1.00",
            event_at=MUCH_LATER))
        offsets["RAT-BAD-SCORE"] = raw.land("feedback", "RAT-BAD-SCORE", rating_doc(
            rating_template["doc"], "RAT-BAD-SCORE", subject_type="order", order_id=rated["order_id"], score=7))
        offsets["RAT-BAD-SUBJECT"] = raw.land("feedback", "RAT-BAD-SUBJECT", rating_doc(
            rating_template["doc"], "RAT-BAD-SUBJECT", subject_type="call", order_id=None, score=5))
        run_dbt(["build"], settings, url, target_dir=warehouse.dbt_target_dir)  # raises on any failed node
        bad_keys = [key for _, key in expected_rules(victim["order_id"])]
        state: dict[str, Any] = {
            "warehouse": warehouse, "settings": settings, "victim": victim, "rated": rated, "offsets": offsets,
            "issues": issues(url), "kpis": day_kpis(url),
            "report": build_daily_report(settings.with_overrides(report_lang="ru"), url, DAY),
            "bad_in_marts": fetch(url, "select order_id as key from marts.orders where order_id = any(%s) union all"
                                       " select rating_id from marts.ratings where rating_id = any(%s)",
                                  (bad_keys, bad_keys))}
        state["html"] = (settings.reports_dir / DAY.isoformat() / "report.html").read_text(encoding="utf-8")
        # the corrections: the negative order re-sent right, the rating re-sent with a score in range
        raw.land("orders", "ORD-BAD-NEGATIVE", order_doc(order_template["doc"], "ORD-BAD-NEGATIVE", 1, "500.00",
                                                         "0.00", "500.00", event_at=LATER))
        raw.land("feedback", "RAT-BAD-SCORE", rating_doc(rating_template["doc"], "RAT-BAD-SCORE",
                                                         subject_type="order", order_id=rated["order_id"], score=4))
        run_dbt(["build"], settings, url, target_dir=warehouse.dbt_target_dir)
        state.update(corrected_issues=issues(url), corrected_kpis=day_kpis(url),
                     corrected_report=build_daily_report(settings.with_overrides(report_lang="en"), url, DAY))
        yield state


def expected_rules(victim_id: str) -> dict[tuple[str, str], str]:
    """(rule, key) -> the raw table: one issue per hand-made bad record, counted by hand."""
    return {**{(values[4], order_id): "orders" for order_id, values in BAD_ORDERS.items()},
            ("order_negative_total", victim_id): "orders",
            ("rating_score_out_of_range", "RAT-BAD-SCORE"): "feedback",
            ("rating_subject_missing", "RAT-BAD-SUBJECT"): "feedback"}


def test_each_bad_record_is_a_data_issue_with_its_rule_and_raw_message(run):
    found = run["issues"]
    expected = expected_rules(run["victim"]["order_id"])
    assert set(found) == set(expected)
    for (rule, key), stream in expected.items():
        issue = found[(rule, key)]
        assert (issue["entity"], issue["source_stream"]) == (("order", "orders") if stream == "orders"
                                                             else ("rating", "feedback"))
        assert (issue["source_partition"], issue["source_offset"]) == (0, run["offsets"][key]), key
        assert issue["first_seen_at"] is not None
    assert found[("order_negative_total", "ORD-BAD-NEGATIVE")]["business_date"] == DAY


def test_the_kpis_leave_the_bad_records_out(run):
    truth = run["warehouse"].truth["daily"][DAY.isoformat()]["chain"]
    victim_total = run["victim"]["total_amount"]
    # + the control order, − the victim (its stored valid state is deleted), nothing else
    assert run["kpis"]["orders_count"] == truth["orders_count"] + 1 - 1
    assert run["kpis"]["revenue_amount"] == Decimal(str(truth["revenue_amount"])) + Decimal("300.00") - victim_total
    assert run["kpis"]["order_ratings_count"] == truth["order_ratings_count"]
    assert run["bad_in_marts"] == []


def test_the_report_builds_and_names_the_issues_in_its_footer(run):
    report = run["report"]
    assert report.figures["data_issues"] == {"order_negative_total": 2, "order_total_mismatch": 1,
                                             "order_negative_discount": 1, "order_unknown_restaurant": 1,
                                             "rating_score_out_of_range": 1, "rating_subject_missing": 1}
    footer = re.search(r'<footer id="data-issues"><p class="note">(.*?)</p></footer>', run["html"], re.S)
    assert footer is not None
    assert "заказы с отрицательной суммой — 2" in footer[1]
    assert "оценки вне диапазона 1–5 — 1" in footer[1]


def test_a_correction_leaves_the_issues_and_reaches_the_kpis_on_the_next_incremental_run(run):
    found = run["corrected_issues"]
    expected = expected_rules(run["victim"]["order_id"])
    del expected[("order_negative_total", "ORD-BAD-NEGATIVE")], expected[("rating_score_out_of_range", "RAT-BAD-SCORE")]
    assert set(found) == set(expected)
    for key in expected:  # still open: first seen by the first build, not reset by the second
        assert found[key]["first_seen_at"] == run["issues"][key]["first_seen_at"]
    before, after = run["kpis"], run["corrected_kpis"]
    assert after["orders_count"] == before["orders_count"] + 1
    assert after["revenue_amount"] == before["revenue_amount"] + Decimal("500.00")
    assert after["order_ratings_count"] == before["order_ratings_count"] + 1
    url = run["warehouse"].database_url
    assert fetch(url, "select total_amount from marts.orders where order_id = 'ORD-BAD-NEGATIVE'") == [
        {"total_amount": Decimal("500.00")}]
    assert fetch(url, "select score from marts.ratings where rating_id = 'RAT-BAD-SCORE'") == [{"score": 4}]


def test_the_english_footer_lists_what_is_still_open(run):
    figures = run["corrected_report"].figures["data_issues"]
    assert figures == {"order_negative_total": 1, "order_total_mismatch": 1, "order_negative_discount": 1,
                       "order_unknown_restaurant": 1, "rating_subject_missing": 1}
    footer = data_issues_footer(figures, Messages("en"))
    assert "orders with a negative total — 1" in footer
    assert "ratings without the call or order they rate — 1" in footer
    assert data_issues_footer({}, Messages("en")) == ""


def test_the_exporter_counts_the_issues_by_rule(run):
    warehouse: WarehouseInfo = run["warehouse"]
    text = generate_latest(collect(run["settings"], warehouse.database_url, None)).decode()
    served = {m[1]: float(m[2]) for m in re.finditer(r'^pantao_data_issues\{rule="(\w+)"\} (\S+)$', text, re.M)}
    assert served == {rule: 0.0 for rule in DATA_ISSUE_RULES} | {
        "order_negative_total": 1.0, "order_total_mismatch": 1.0, "order_negative_discount": 1.0,
        "order_unknown_restaurant": 1.0, "rating_subject_missing": 1.0}


def test_the_exporters_rules_are_the_rules_dbt_applies():
    macros = (Path(__file__).resolve().parent.parent / "dbt_project" / "macros" / "data_rules.sql").read_text()
    assert set(re.findall(r"'((?:order|rating)_\w+)':", macros)) == set(DATA_ISSUE_RULES)
