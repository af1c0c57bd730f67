"""The event validator: good events pass, each kind of bad event gets a reason naming what is wrong."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Literal

import orjson
import pytest

from ingestion.contract import SCHEMAS, EventTimeWindow, make_validator
from ingestion.contract.events import OrderV1
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
        for version, cls in versions.items():
            section = docs.split(f"## `{stream}`, version {version}")[1].split("\n## ")[0]
            missing = [name for name in cls.__struct_fields__ if f"`{name}`" not in section and name not in COMMON_NAMES]
            assert not missing, f"docs/schemas.md, {stream} v{version}, does not describe {missing}"


COMMON_NAMES = {"event_id", "event_at"}


def test_every_stream_has_version_1():
    assert all(1 in versions for versions in SCHEMAS.values())
    with pytest.raises(ValueError, match="no schema for stream 'calls'"):
        make_validator("calls")


# -- the fast path (msgspec) and the detailed path (orjson + checks) must give the same verdict

_PLACEHOLDER = "\x01placeholder\x01"
# JSON literals as raw text: numbers orjson and msgspec read differently at the edges, strings
# each path must accept or reject alike, and input that is not valid at all.
LITERALS: list[bytes] = [
    b"null", b"true", b"false", b"0", b"1", b"-1", b"5", b"6", b"-0", b"1.0", b"1E2", b"1.5", b"-0.0",
    b"9223372036854775807", b"9223372036854775808", b"18446744073709551615", b"18446744073709551616",
    b"-9223372036854775808", b"-9223372036854775809", b"1e308", b"1e400", b"-1e400", b"1" + b"0" * 400,
    b'""', b'"x"', b'"3"', b'"RUB"', b'"rub"', b'"created"', b'"order_created"', b'"call"', b'"phone"',
    b'"rating_submitted"', b'"customer_created"',
    b'"00000000-0000-0000-0000-000000000001"', b'"00000000000000000000000000000001"',
    b'"zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"', b'"\xd0\xaf\xd0\xaf\xd0\xaf\xd0\xaf\xd0\xaf\xd0\xaf\xd0\xaf\xd0\xaf-'
    b'\xd0\xaf\xd0\xaf\xd0\xaf\xd0\xaf-\xd0\xaf\xd0\xaf\xd0\xaf\xd0\xaf-\xd0\xaf\xd0\xaf\xd0\xaf\xd0\xaf-'
    + b"\xd0\xaf" * 12 + b'"',
    b'"2026-11-01T12:34:56.789+03:00"', b'"2026-11-01T12:34:56Z"', b'"2026-11-01t12:34:56z"',
    b'"2026-11-01T12:34:56"', b'"2026-11-01 12:34:56+03:00"', b'"2026-11-01T12:34:56+0300"',
    b'"20261101T123456+0300"', b'"2026-11-01T12:34:56,5+03:00"', b'"2026-11-01T24:00:00Z"',
    b'"2026-02-30T12:00:00Z"', b'"2026-11-01T12:34+03:00"', b'"2026-11-01T12:34:56.1234567891-00:00"',
    b'"2026-11-01"',
    b"[]", b"{}", b"[{}]", b'[{"sku": "A", "name": "x", "qty": 1, "unit_price": 1}]',
    b'[{"sku": "A", "name": "x", "qty": 1, "unit_price": 1, "note": "extra keys are fine"}]',
    b'[{"sku": "A", "name": "x", "qty": 0, "unit_price": 1}]', b'[{"sku": "A", "name": "x", "qty": 1}]',
    b'[{"sku": "A", "name": null, "qty": 1, "unit_price": 1}]', b'[{"sku": "A", "name": "x", "qty": 1, "unit_price": true}]',
    b'"\\u0000"', b'"a\\\\u0000"', b'"\\ud800"', b'"\\ud83d\\ude00"', b'"\xff"', b'"\xed\xa0\x80"', b'"a\tb"',
    b"NaN", b"[1,,2]", b"0" * 3 + b"1", b"[" * 1100 + b"]" * 1100,
]


def _with_literal(event: dict, name: str, literal: bytes) -> bytes:
    return orjson.dumps({**event, name: _PLACEHOLDER}).replace(orjson.dumps(_PLACEHOLDER), literal)


def _variants(stream: str) -> list[bytes]:
    event = GOOD[stream](3)
    names = [*event, "loyalty_tier"]  # every field, and one the schema does not list
    variants = [orjson.dumps(event), orjson.dumps(event, option=orjson.OPT_INDENT_2),
                orjson.dumps(event)[:-1] + b', "schema_version": 2}', orjson.dumps(event)[:-1] + b', "schema_version": 1}',
                b'{"schema_version": 1}', b"[]", b"1", b"\xef\xbb\xbf" + orjson.dumps(event), orjson.dumps(event) + b" x"]
    for name in names:
        variants.append(_without(event, name))
        variants += [_with_literal(event, name, literal) for literal in LITERALS]
    return variants


@pytest.mark.parametrize("stream", sorted(GOOD))
def test_fast_path_gives_the_detailed_paths_verdict_on_every_variant(stream):
    fast, detailed = make_validator(stream), make_validator(stream, fast=False)
    variants = _variants(stream)
    verdicts = [(raw, fast(raw), detailed(raw)) for raw in variants]
    assert [v for v in verdicts if v[1] != v[2]] == []
    accepted = sum(1 for _, verdict, _ in verdicts if verdict is None)
    assert 20 < accepted < len(variants) - 200  # the variants exercise both verdicts


def test_fields_beyond_the_schema_are_accepted_but_their_values_must_still_be_valid_json():
    validate = make_validator("orders")
    assert validate(_with_literal(order_event(1), "loyalty_tier", b'"gold"')) is None
    assert validate(_with_literal(order_event(1), "loyalty_tier", b'"\xff"')).startswith("not UTF-8")
    assert validate(_with_literal(order_event(1), "loyalty_tier", b"1e400")).startswith("invalid JSON")


class OrderV2(OrderV1, tag=2, kw_only=True):
    loyalty_tier: Literal["bronze", "gold"]


def test_a_second_schema_version_is_chosen_by_schema_version(monkeypatch):
    monkeypatch.setitem(SCHEMAS, "orders", {1: OrderV1, 2: OrderV2})
    for fast in (True, False):
        validate = make_validator("orders", fast=fast)
        assert validate(orjson.dumps(order_event(1))) is None
        assert validate(orjson.dumps(order_event(1, schema_version=2, loyalty_tier="gold"))) is None
        assert validate(orjson.dumps(order_event(1, schema_version=2))) == "missing required field 'loyalty_tier'"
        assert validate(orjson.dumps(order_event(1, schema_version=2, loyalty_tier="tin"))).startswith(
            "field 'loyalty_tier' must be one of bronze, gold")
        assert validate(orjson.dumps(order_event(1, schema_version=3))) == "unknown schema_version 3 (this landing reads 1, 2)"
        assert validate(_without(order_event(1), "schema_version")) == "missing required field 'schema_version'"


# -- the event-time window: the hot path compares day numbers, which must agree with the exact rule

OFFSETS = [dt.timedelta(hours=h, minutes=m) for h, m in ((-15, -59), (-3, 0), (0, 0), (3, 0), (14, 0), (15, 59))]


def _instants_near(edge: dt.datetime) -> list[dt.datetime]:
    return [(edge + dt.timedelta(minutes=30 * step)).astimezone(dt.timezone(offset))
            for step in range(-100, 101) for offset in OFFSETS]


def test_the_windows_day_check_agrees_with_comparing_instants():
    window = EventTimeWindow(dt.datetime(2000, 1, 1, 5, tzinfo=dt.UTC), dt.timedelta(hours=48))
    window.refresh(dt.datetime(2026, 11, 30, 16, 34, 26, tzinfo=dt.UTC).timestamp())
    candidates = _instants_near(window.earliest) + _instants_near(window.latest)
    assert [t for t in candidates if window.contains(t) != (window.earliest <= t <= window.latest)] == []
    assert 0 < sum(map(window.contains, candidates)) < len(candidates)


def test_event_times_are_accepted_exactly_inside_the_window_at_any_offset():
    window = EventTimeWindow()
    validators = {"fast": make_validator("feedback", window=window),
                  "detailed": make_validator("feedback", fast=False, window=window)}
    for t in _instants_near(window.latest.replace(microsecond=0)):
        raw = orjson.dumps(feedback_event(1, event_at=t.isoformat()))
        expected = t <= window.latest
        for name, validate in validators.items():
            assert (validate(raw) is None) == expected, (name, t.isoformat(), validate(raw))


def test_the_window_end_moves_with_the_clock():
    window = EventTimeWindow()
    validate = make_validator("feedback", window=window)
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=50)).isoformat()
    assert "more than 48 hours after the landing time" in validate(orjson.dumps(feedback_event(1, event_at=soon)))
    window.refresh(time.time() + 3 * 3600)
    assert validate(orjson.dumps(feedback_event(1, event_at=soon))) is None
