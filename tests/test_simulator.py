"""The simulator: determinism, real formats, consistency guarantees, and truth.json vs the files.

Truth checks recompute KPIs from the PARSED OUTPUT FILES (not from simulator objects), the way an
independent reader would, and compare them with truth.json.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from app.simulate import simulate
from pantao.kafka_config import KafkaSecurity, client_config
from simulator import OutputPaths, SimConfig, generate, publish_to_kafka, write_outputs

START = dt.date(2026, 3, 27)  # Friday: the run covers weekday and weekend demand
CONFIG = SimConfig(days=3, restaurants=3, seed=7, start=START, scale=0.5, malformed_share=0.02)
TZ = ZoneInfo(CONFIG.timezone)
REQUIRED = {
    "orders": ("order_id", "status", "created_at", "restaurant_id", "channel", "customer_phone", "items",
               "subtotal_amount", "discount_amount", "total_amount", "currency", "call_linkedid",
               "operator_extension"),
    "customers": ("customer_phone", "name", "registered_at"),
    "feedback": ("rating_id", "subject_type", "call_linkedid", "order_id", "operator_extension", "customer_phone",
                 "score"),
}
TYPES: dict[str, dict[str, type | tuple[type, ...]]] = {
    "orders": {"restaurant_id": int, "items": list, "subtotal_amount": (int, float), "total_amount": (int, float),
               "discount_amount": (int, float), "order_id": str, "created_at": str},
    "customers": {"customer_phone": str, "registered_at": str},
    "feedback": {"score": int, "rating_id": str, "subject_type": str},
}
RANK = {"created": 0, "paid": 1, "completed": 2, "cancelled": 3}


# parsing the outputs as an independent reader would

def _valid_event(topic: str, raw: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("schema_version") != 1:
        return None
    for name in ("event_id", "event_type", "event_at", *REQUIRED[topic]):
        if name not in doc:
            return None
    for name, kind in TYPES[topic].items():
        if not isinstance(doc[name], kind) or isinstance(doc[name], bool):
            return None
    dt.datetime.fromisoformat(doc["event_at"])
    return doc


def read_topic(paths: OutputPaths, topic: str) -> tuple[list[dict[str, Any]], int]:
    """(valid event documents in file order, number of malformed messages)."""
    valid: list[dict[str, Any]] = []
    malformed = 0
    for line in paths.kafka[topic].read_bytes().splitlines():
        message = json.loads(line)
        raw = base64.b64decode(message["value_b64"]) if "value_b64" in message else message["value"].encode()
        doc = _valid_event(topic, raw)
        if doc is None:
            malformed += 1
        else:
            valid.append(doc)
    return valid, malformed


def _epoch(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def read_queue_log(paths: OutputPaths) -> tuple[list[list[str]], int]:
    rows, broken = [], 0
    for line in paths.queue_log.read_text(encoding="utf-8").splitlines():
        fields = line.split("|")
        if len(fields) != 10 or _epoch(fields[0]) is None:
            broken += 1
        else:
            rows.append(fields)
    return rows, broken


def read_master_csv(paths: OutputPaths) -> tuple[list[list[str]], int]:
    rows, broken = [], 0
    with paths.master_csv.open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f):
            ok = len(row) == 21 and row[12].isdigit() and row[13].isdigit()
            if ok:
                try:
                    dt.datetime.strptime(row[9], "%Y-%m-%d %H:%M:%S")
                except ValueError:
                    ok = False
            if ok:
                rows.append(row)
            else:
                broken += 1
    return rows, broken


def business_day(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, TZ).date().isoformat()


def iso_day(value: str) -> str:
    return dt.datetime.fromisoformat(value).astimezone(TZ).date().isoformat()


def latest_orders(paths: OutputPaths) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for doc in read_topic(paths, "orders")[0]:
        current = latest.get(doc["order_id"])
        key = (RANK[doc["status"]], dt.datetime.fromisoformat(doc["event_at"]))
        if current is None or key > (RANK[current["status"]], dt.datetime.fromisoformat(current["event_at"])):
            latest[doc["order_id"]] = doc
    return latest


def calls_from_queue_log(rows: list[list[str]]) -> dict[str, dict[str, Any]]:
    calls: dict[str, dict[str, Any]] = {}
    for epoch, callid, _queue, agent, event, d1, d2, d3, d4, _d5 in rows:
        if event == "ENTERQUEUE":
            calls[callid] = {"day": business_day(int(epoch)), "connect": None, "talk": None, "rna": []}
        elif event == "CONNECT":
            calls[callid]["connect"] = (agent.removeprefix("PJSIP/"), int(d1), int(d3))
        elif event in ("COMPLETEAGENT", "COMPLETECALLER"):
            calls[callid]["talk"] = int(d2)
        elif event in ("BLINDTRANSFER", "ATTENDEDTRANSFER"):
            calls[callid]["talk"] = int(d4)
        elif event == "RINGNOANSWER":
            calls[callid]["rna"].append(agent.removeprefix("PJSIP/"))
    return calls


# fixtures

@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> OutputPaths:
    return write_outputs(generate(CONFIG), tmp_path_factory.mktemp("sim"))


@pytest.fixture(scope="module")
def truth(outputs: OutputPaths) -> dict[str, Any]:
    return json.loads(outputs.truth.read_text(encoding="utf-8"))


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# determinism

def test_same_seed_gives_byte_identical_outputs(outputs: OutputPaths, tmp_path: Path) -> None:
    again = write_outputs(generate(CONFIG), tmp_path / "again")
    assert _digest(again.out_dir) == _digest(outputs.out_dir)


def test_different_seed_gives_different_orders(outputs: OutputPaths, tmp_path: Path) -> None:
    other = write_outputs(generate(SimConfig(**{**CONFIG.__dict__, "seed": 8})), tmp_path / "other")
    assert other.kafka["orders"].read_bytes() != outputs.kafka["orders"].read_bytes()


# real formats

def test_master_csv_valid_rows_have_21_quoted_columns(outputs: OutputPaths) -> None:
    rows, _ = read_master_csv(outputs)
    assert rows
    first_line = outputs.master_csv.read_text(encoding="utf-8").splitlines()[0]
    assert first_line.startswith('"') and first_line.endswith('"')
    assert {row[14] for row in rows} <= {"ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION"}


def test_queue_log_valid_lines_have_ten_pipe_fields(outputs: OutputPaths) -> None:
    rows, _ = read_queue_log(outputs)
    events = Counter(row[4] for row in rows)
    for event in ("ENTERQUEUE", "CONNECT", "ABANDON", "RINGNOANSWER", "ADDMEMBER", "PAUSE", "COMPLETECALLER"):
        assert events[event] > 0, event


def test_kafka_events_carry_required_fields(outputs: OutputPaths) -> None:
    for topic in REQUIRED:
        valid, _ = read_topic(outputs, topic)
        assert valid, topic
        assert all(dt.datetime.fromisoformat(doc["event_at"]).utcoffset() is not None for doc in valid)


def test_order_totals_equal_subtotal_minus_discount(outputs: OutputPaths) -> None:
    for doc in read_topic(outputs, "orders")[0]:
        subtotal = sum(item["qty"] * item["unit_price"] for item in doc["items"])
        assert doc["subtotal_amount"] == pytest.approx(subtotal)
        assert doc["total_amount"] == pytest.approx(doc["subtotal_amount"] - doc["discount_amount"])


def test_cdr_jsonl_matches_master_csv_rows(outputs: OutputPaths) -> None:
    csv_rows, _ = read_master_csv(outputs)
    db_rows = [json.loads(line) for line in outputs.cdr_jsonl.read_text(encoding="utf-8").splitlines()]
    assert len(db_rows) == len(csv_rows)
    assert {(r["uniqueid"], r["sequence"]) for r in db_rows} == {(r[16], int(r[20])) for r in csv_rows}


# consistency guarantees

def test_every_queued_call_has_cdr_rows(outputs: OutputPaths) -> None:
    queue_rows, _ = read_queue_log(outputs)
    cdr_rows, _ = read_master_csv(outputs)
    queued = {row[1] for row in queue_rows if row[4] == "ENTERQUEUE"}
    assert queued <= {row[19] for row in cdr_rows}


def test_every_phone_order_points_to_a_call_answered_by_its_operator(outputs: OutputPaths) -> None:
    calls = calls_from_queue_log(read_queue_log(outputs)[0])
    phone_orders = [o for o in latest_orders(outputs).values() if o["channel"] == "phone"]
    assert phone_orders
    for order in phone_orders:
        connect = calls[order["call_linkedid"]]["connect"]
        assert connect is not None and connect[0] == order["operator_extension"]


def test_every_rating_points_to_an_existing_interaction(outputs: OutputPaths) -> None:
    calls = calls_from_queue_log(read_queue_log(outputs)[0])
    orders = latest_orders(outputs)
    ratings, _ = read_topic(outputs, "feedback")
    assert {r["subject_type"] for r in ratings} == {"call", "order"}
    for rating in ratings:
        if rating["subject_type"] == "call":
            assert calls[rating["call_linkedid"]]["connect"][0] == rating["operator_extension"]
        else:
            assert orders[rating["order_id"]]["status"] == "completed"


def test_sessions_and_pauses_stay_inside_one_business_day(outputs: OutputPaths) -> None:
    rows, _ = read_queue_log(outputs)
    opened: dict[tuple[str, str], int] = {}
    spans = 0
    for epoch, _callid, queue, agent, event, *_ in rows:
        if event in ("ADDMEMBER", "PAUSE"):
            opened[(agent, queue, event)] = int(epoch)
        elif event in ("REMOVEMEMBER", "UNPAUSE"):
            start = opened.pop((agent, queue, "ADDMEMBER" if event == "REMOVEMEMBER" else "PAUSE"))
            assert business_day(start) == business_day(int(epoch)) and start <= int(epoch)
            spans += 1
    assert spans and not opened


def test_duplicates_resend_the_same_event_id(outputs: OutputPaths, truth: dict[str, Any]) -> None:
    ids = Counter(doc["event_id"] for doc in read_topic(outputs, "orders")[0])
    resent = sum(n - 1 for n in ids.values())
    assert resent == truth["counts"]["duplicates"]["orders"] > 0


def test_malformed_records_match_truth_counts(outputs: OutputPaths, truth: dict[str, Any]) -> None:
    malformed = truth["counts"]["malformed"]
    for topic in REQUIRED:
        valid, broken = read_topic(outputs, topic)
        assert broken == malformed[f"kafka:{topic}"] > 0
        assert len(valid) == truth["counts"]["valid_messages"][topic]
    assert read_master_csv(outputs)[1] == malformed["pbx_cdr:file"] > 0
    queue_rows, broken_lines = read_queue_log(outputs)
    assert broken_lines == malformed["pbx_queue_log:file"] > 0
    assert len(queue_rows) == truth["counts"]["queue_log_lines"]


# truth.json against the files

def test_truth_orders_and_revenue_match_order_events(outputs: OutputPaths, truth: dict[str, Any]) -> None:
    count: Counter[str] = Counter()
    revenue: defaultdict[str, float] = defaultdict(float)
    for order in latest_orders(outputs).values():
        if order["status"] != "cancelled":
            day = iso_day(order["created_at"])
            count[day] += 1
            revenue[day] += order["total_amount"]
    for day, row in truth["daily"].items():
        assert row["chain"]["orders_count"] == count[day]
        assert row["chain"]["revenue_amount"] == pytest.approx(revenue[day])
        assert sum(r["orders_count"] for r in row["restaurants"].values()) == count[day]


def test_truth_call_kpis_match_queue_log(outputs: OutputPaths, truth: dict[str, Any]) -> None:
    calls = calls_from_queue_log(read_queue_log(outputs)[0])
    for day, row in truth["daily"].items():
        offered = [c for c in calls.values() if c["day"] == day]
        answered = [c for c in offered if c["connect"] is not None]
        chain = row["chain"]
        assert chain["calls_offered_count"] == len(offered) > 0
        assert chain["calls_answered_count"] == len(answered)
        assert chain["asa_seconds"] == pytest.approx(sum(c["connect"][1] for c in answered) / len(answered))
        assert chain["avg_talk_seconds"] == pytest.approx(sum(c["talk"] for c in answered) / len(answered))


def test_truth_operator_handled_and_missed_rings_match_queue_log(outputs: OutputPaths,
                                                                 truth: dict[str, Any]) -> None:
    handled: Counter[tuple[str, str]] = Counter()
    missed: Counter[tuple[str, str]] = Counter()
    for call in calls_from_queue_log(read_queue_log(outputs)[0]).values():
        if call["connect"] is not None:
            handled[(call["day"], call["connect"][0])] += 1
        for ext in call["rna"]:
            missed[(call["day"], ext)] += 1
    for day, operators in truth["operator_daily"].items():
        for ext, row in operators.items():
            assert row["calls_handled_count"] == handled[(day, ext)]
            assert row["missed_rings_count"] == missed[(day, ext)]
    assert sum(missed.values()) > 0


def test_restaurant_rows_have_null_call_kpis(truth: dict[str, Any]) -> None:
    row = next(iter(truth["daily"].values()))["restaurants"]["1"]
    assert row["calls_offered_count"] is None and row["asa_seconds"] is None
    assert isinstance(row["orders_count"], int)


def test_default_scale_gives_realistic_daily_volumes() -> None:
    sim = generate(SimConfig(days=2, start=START, seed=3))
    orders_per_day = len(sim.orders) / 2
    calls_per_day = len(sim.calls) / 2
    assert 1500 <= orders_per_day <= 2500
    assert 400 <= calls_per_day <= 900
    anonymous = sum(1 for o in sim.orders if o.phone is None) / len(sim.orders)
    assert 0.08 <= anonymous <= 0.22


# CLI and Kafka

def test_cli_writes_files_and_prints_a_summary(tmp_path: Path) -> None:
    result = CliRunner().invoke(simulate, ["--days", "1", "--restaurants", "1", "--scale", "0.2",
                                           "--start", "2026-03-02", "--out", str(tmp_path / "sim")])
    assert result.exit_code == 0, result.output
    assert "orders" in result.output
    assert (tmp_path / "sim" / "truth.json").is_file()
    assert (tmp_path / "sim" / "pbx" / "Master.csv").is_file()


def test_publish_to_kafka_produces_every_message(outputs: OutputPaths, truth: dict[str, Any],
                                                 kafka_bootstrap: str, unique_topics: dict[str, str]) -> None:
    from confluent_kafka.admin import AdminClient

    counts = publish_to_kafka(outputs.out_dir, kafka_bootstrap, unique_topics, partitions=3)
    assert counts == truth["counts"]["messages_total"]
    metadata = AdminClient(client_config(KafkaSecurity(), kafka_bootstrap)).list_topics(timeout=10)
    assert len(metadata.topics[unique_topics["orders"]].partitions) == 3
