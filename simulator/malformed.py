"""Deliberately broken EXTRA records, so every error path of the landing is exercised.

They never alter a real record: each one is a new message/line (with a fresh event_id and an
order/rating id that exists nowhere else), so the truth is unaffected by them.
"""

from __future__ import annotations

import random
from typing import Any

import orjson

from simulator.events import customer_event, order_event, rating_event
from simulator.model import Malformed, Simulation
from simulator.pbx import cdr_csv_row
from simulator.rand import uuid4

KAFKA_KINDS = ("bad_json", "missing_field", "wrong_type", "unknown_schema_version", "non_utf8")
CDR_KINDS = ("too_few_columns", "non_numeric_duration", "bad_date")
QUEUE_LOG_KINDS = ("too_few_fields", "non_numeric_epoch")
_WRONG_TYPES = {"orders": ("restaurant_id", "первый"), "customers": ("registered_at", 20261101),
                "feedback": ("score", "пять")}
_MISSING = {"orders": "total_amount", "customers": "customer_phone", "feedback": "score"}
_KEYS = {"orders": "order_id", "customers": "customer_phone", "feedback": "rating_id"}


def malformed_count(rng_share: float, valid: int) -> int:
    """A share of the valid volume, at least one whenever the share is positive."""
    if rng_share <= 0 or valid == 0:
        return 0
    return max(1, round(valid * rng_share))


def make_malformed(rng: random.Random, sim: Simulation) -> list[Malformed]:
    share = sim.config.malformed_share
    clock = sim.clock
    records: list[Malformed] = []
    volumes = {"orders": sum(len(o.events) for o in sim.orders), "customers": len(sim.customer_events),
               "feedback": len(sim.ratings)}
    for topic, volume in volumes.items():
        for i in range(malformed_count(share, volume)):
            at_ms, doc = _template(rng, sim, topic)
            records.append(_kafka_record(rng, topic, KAFKA_KINDS[i % len(KAFKA_KINDS)], i, at_ms + 1, doc))
    for i in range(malformed_count(share, len(sim.cdrs))):
        cdr = rng.choice(sim.cdrs)
        kind = CDR_KINDS[i % len(CDR_KINDS)]
        records.append(Malformed("pbx_cdr:file", kind, cdr.end * 1000 + 1, None,
                                 _cdr_line(kind, cdr_csv_row(cdr, clock))))
    queue_lines = len(sim.calls) * 3 + len(sim.sessions) * 2
    for i in range(malformed_count(share, queue_lines) if sim.calls else 0):
        call = rng.choice(sim.calls)
        kind = QUEUE_LOG_KINDS[i % len(QUEUE_LOG_KINDS)]
        records.append(Malformed("pbx_queue_log:file", kind, call.enter * 1000 + 1, None,
                                 _queue_log_line(kind, call.enter, call.linkedid, call.queue)))
    return records


def _template(rng: random.Random, sim: Simulation, topic: str) -> tuple[int, dict[str, Any]]:
    """A real event document to break a copy of, with its event time in ms."""
    if topic == "orders":
        order = rng.choice(sim.orders)
        return order.events[0][1], order_event(order, 0, sim.clock)
    if topic == "customers":
        event = rng.choice(sim.customer_events)
        return event.at_ms, customer_event(event, sim.clock)
    rating = rng.choice(sim.ratings)
    return rating.submitted_ms, rating_event(rating, sim.clock)


def _kafka_record(rng: random.Random, topic: str, kind: str, number: int, at_ms: int,
                  doc: dict[str, Any]) -> Malformed:
    doc = dict(doc)
    doc["event_id"] = uuid4(rng)
    if topic == "orders":
        doc["order_id"] = f"{doc['order_id']}-BAD{number}"
    elif topic == "feedback":
        doc["rating_id"] = f"{doc['rating_id']}-BAD{number}"
    key = str(doc[_KEYS[topic]])
    payload: str | bytes
    if kind == "bad_json":
        text = orjson.dumps(doc).decode()
        payload = text[: max(10, len(text) // 2)]
    elif kind == "missing_field":
        del doc[_MISSING[topic]]
        payload = orjson.dumps(doc).decode()
    elif kind == "wrong_type":
        name, value = _WRONG_TYPES[topic]
        doc[name] = value
        payload = orjson.dumps(doc).decode()
    elif kind == "unknown_schema_version":
        doc["schema_version"] = 2
        payload = orjson.dumps(doc).decode()
    else:
        payload = orjson.dumps(doc)[:-1] + b',"note":"\xff\xfe\xc3\x28"}'
    return Malformed(f"kafka:{topic}", kind, at_ms, key, payload)


def _cdr_line(kind: str, row: list[str]) -> str:
    if kind == "too_few_columns":
        row = row[:12]
    elif kind == "non_numeric_duration":
        row = [*row[:12], "12s", *row[13:]]
    else:
        row = [*row[:9], "2026-13-45 25:61:00", *row[10:]]
    return ",".join('"' + field.replace('"', '""') + '"' for field in row)


def _queue_log_line(kind: str, epoch: int, callid: str, queue: str) -> str:
    if kind == "too_few_fields":
        return f"{epoch}|{callid}|{queue}|NONE"
    return f"{epoch}x|{callid}|{queue}|NONE|ENTERQUEUE||+70000000000|1||"
