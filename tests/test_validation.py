"""The event validator: good events pass, each kind of bad event gets a reason naming what is wrong."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ingestion.validation import SCHEMAS, make_validator
from tests.test_kafka_landing_helpers import customer_event, feedback_event, order_event

GOOD = {"orders": order_event, "customers": customer_event, "feedback": feedback_event}


@pytest.mark.parametrize("stream", sorted(GOOD))
def test_good_events_of_every_stream_pass(stream):
    assert make_validator(stream)(orjson.dumps(GOOD[stream](7))) is None


def test_optional_fields_may_be_absent_and_unknown_fields_are_kept():
    validate = make_validator("customers")
    event = {k: v for k, v in customer_event(1).items() if k not in ("email", "home_restaurant_id", "marketing_opt_in")}
    event["loyalty_tier"] = "gold"
    assert validate(orjson.dumps(event)) is None


def _without(event: dict, name: str) -> bytes:
    return orjson.dumps({k: v for k, v in event.items() if k != name})


@pytest.mark.parametrize(("stream", "raw", "reason"), [
    ("orders", b"", "empty message (no value)"),
    ("orders", b"{not json", "invalid JSON"),
    ("orders", b"\xff\xfe{}", "not UTF-8"),
    ("orders", b"[1, 2]", "top-level JSON value must be an object, got array"),
    ("orders", _without(order_event(1), "schema_version"), "missing required field 'schema_version'"),
    ("orders", orjson.dumps(order_event(1, schema_version="1")), "field 'schema_version' must be an int, got string"),
    ("orders", orjson.dumps(order_event(1, schema_version=9)), "unknown schema_version 9 (this landing reads 1)"),
    ("orders", _without(order_event(1), "customer_phone"), "missing required field 'customer_phone'"),
    ("orders", orjson.dumps(order_event(1, total_amount="599")), "field 'total_amount' must be a number, got string"),
    ("orders", orjson.dumps(order_event(1, restaurant_id=True)), "field 'restaurant_id' must be an int, got bool"),
    ("orders", orjson.dumps(order_event(1, restaurant_id=0)), "field 'restaurant_id' must be >= 1, got 0"),
    ("orders", orjson.dumps(order_event(1, order_id=None)), "field 'order_id' must not be null"),
    ("orders", orjson.dumps(order_event(1, channel="fax")), "field 'channel' must be one of"),
    ("orders", orjson.dumps(order_event(1, items=[])), "field 'items' must not be empty"),
    ("orders", orjson.dumps(order_event(1, items=[{"sku": "A", "name": "x", "qty": 0, "unit_price": 1}])),
     "field 'items' [0].qty must be >= 1, got 0"),
    ("orders", orjson.dumps(order_event(1, discount_amount=-5)), "field 'discount_amount' must be >= 0"),
    ("orders", orjson.dumps(order_event(1, created_at="2026-11-01T12:00:00")), "field 'created_at' has no UTC offset"),
    ("orders", orjson.dumps(order_event(1, event_at="yesterday")), "field 'event_at' is not an ISO 8601 timestamp"),
    ("orders", orjson.dumps(order_event(1, event_id="123")), "field 'event_id' is not a uuid"),
    ("orders", orjson.dumps(order_event(1, status="paid")), "does not match event_type 'order_created'"),
    ("orders", orjson.dumps(order_event(1, customer_phone="+7\u00001")), "contains \\u0000"),
    ("customers", orjson.dumps(customer_event(1, marketing_opt_in="yes")),
     "field 'marketing_opt_in' must be a bool, got string"),
    ("feedback", orjson.dumps(feedback_event(1, score=6)), "field 'score' must be from 1 to 5, got 6"),
    ("feedback", orjson.dumps(feedback_event(1, subject_type="visit")), "field 'subject_type' must be one of"),
])
def test_bad_events_are_rejected_with_a_reason_naming_the_problem(stream, raw, reason):
    result = make_validator(stream)(raw)
    assert result is not None and reason in result


def test_escaped_backslash_before_u0000_is_ordinary_text():
    event = order_event(1, customer_phone="C:\\u0000")  # the text backslash-u-0-0-0-0, not a NUL
    assert make_validator("orders")(orjson.dumps(event)) is None


def test_docs_describe_every_field_of_every_schema():
    docs = (Path(__file__).resolve().parent.parent / "docs" / "schemas.md").read_text()
    for stream, versions in SCHEMAS.items():
        for version, (fields, _rules) in versions.items():
            section = docs.split(f"## `{stream}`, version {version}")[1].split("\n## ")[0]
            missing = [f.name for f in fields if f"`{f.name}`" not in section and f.name not in COMMON_NAMES]
            assert not missing, f"docs/schemas.md, {stream} v{version}, does not describe {missing}"


COMMON_NAMES = {"event_id", "event_at"}


def test_every_stream_has_version_1():
    assert all(1 in versions for versions in SCHEMAS.values())
    with pytest.raises(ValueError, match="no schema for stream 'calls'"):
        make_validator("calls")
