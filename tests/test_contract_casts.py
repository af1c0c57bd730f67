"""The landing's contract against the staging models' casts, on PostgreSQL.

Every cast a staging model applies to a Kafka payload is read from the model's SQL
(dbt_project/models/staging/kafka/*.sql), so a cast added there is tested here too. Values at and
beyond each boundary are put into otherwise valid events; for each one the expected verdict is
written down by hand (accept / reject, and whether PostgreSQL itself parses the value). Then:
- every payload the landing accepts passes `payload::jsonb` and every cast of its stream;
- every value rejected because of a storage type's range really fails that cast, so the landing
  is no stricter than PostgreSQL there;
- values PostgreSQL would parse but the contract rejects on purpose (a business rule, a timestamp
  form outside RFC 3339, the plausibility window) are listed as such, and checked to parse.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import orjson
import psycopg
import pytest

from ingestion.contract import EventTimeWindow, make_validator
from tests.test_kafka_landing_helpers import customer_event, feedback_event, order_event

STAGING = Path(__file__).resolve().parent.parent / "dbt_project" / "models" / "staging" / "kafka"
SOURCE = re.compile(r"source\('kafka',\s*'(\w+)'\)")
CAST = re.compile(r"\(doc ->> '(\w+)'\)::(\w+(?:\(\d+,\s*\d+\))?)")
ARRAY_LENGTH = re.compile(r"jsonb_array_length\(doc -> '(\w+)'\)")
EVENTS = {"orders": order_event, "customers": customer_event, "feedback": feedback_event}
_PLACEHOLDER = "\x01placeholder\x01"


def staging_casts() -> dict[str, dict[str, str]]:
    """stream -> field -> the SQL expression its staging model computes from the payload."""
    casts: dict[str, dict[str, str]] = {}
    for path in sorted(STAGING.glob("*.sql")):
        sql = path.read_text()
        stream = SOURCE.search(sql).group(1)
        fields = casts.setdefault(stream, {})
        for name, pg_type in CAST.findall(sql):
            fields[name] = f"(doc ->> '{name}')::{pg_type}"
        for name in ARRAY_LENGTH.findall(sql):
            fields[name] = f"jsonb_array_length(doc -> '{name}')"
    return casts


def _iso(instant: dt.datetime) -> str:
    return instant.isoformat()


MSK = dt.timezone(dt.timedelta(hours=3))

# (JSON literal, the landing accepts, PostgreSQL parses it); every "False, True" is deliberate.
INT4_ID = [  # restaurant_id: int >= 1 -> ::int
    ("1", True, True), ("2147483647", True, True), ("2147483648", False, False), ("3000000000", False, False),
    ("9223372036854775808", False, False), ("0", False, True), ("-1", False, True), ("1.0", False, False),
    ("1.5", False, False), ("1e2", False, True), ('"7"', False, True), ("true", False, False),
]
INT4 = [  # home_restaurant_id: int or null -> ::int
    ("-2147483648", True, True), ("2147483647", True, True), ("-2147483649", False, False),
    ("2147483648", False, False), ("null", True, True), ("2.0", False, False),
]
SCORE = [("1", True, True), ("5", True, True), ("0", False, True), ("6", False, True), ("2147483648", False, False)]
MONEY = [  # the amounts: number -> ::numeric(14,2)
    ("999999999999.99", True, True), ("-999999999999.99", True, True), ("999999999999.995", False, False),
    ("-999999999999.995", False, False), ("1e12", False, False), ("1e15", False, False), ("-1e15", False, False),
    ("1e308", False, False), ("0.005", True, True), ("0.015", True, True), ("123.456789", True, True),
    ("1E2", True, True), ("1e-400", True, True), ("-0", True, True), ("0", True, True),
    # float-close to the bound from below: PostgreSQL rounds it to .99, the landing's float reads it as
    # more than 999,999,999,999.99 and rejects it (the only numbers it rejects that would cast)
    (FLOAT_EDGE := "999999999999.994999", False, True), ('"599"', False, True),
]
DISCOUNT = [("0", True, True), ("0.0", True, True), ("-0.01", False, True), ("999999999999.99", True, True),
            ("1000000000000", False, False)]
BOOL = [("true", True, True), ("false", True, True), ('"true"', False, True), ("1", False, True), ("2", False, False),
        ("null", False, True)]
ITEMS = [("[]", False, True), ("{}", False, False), ('"x"', False, False), ("null", False, False)]


def instants() -> list[tuple[str, bool, bool]]:
    earliest = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    # taken when the test runs, not when the module is imported: a long suite runs it minutes later,
    # and a case 5 minutes past the window's end would by then be inside it
    latest = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=48)
    literals = [
        ("2026-11-01T12:34:56+03:00", True, True), ("2026-11-01T12:34:56.789+03:00", True, True),
        ("2026-11-01T12:34:56Z", True, True), ("2026-11-01T12:34:56z", True, True),
        ("2026-11-01t12:34:56+03:00", True, True), ("2026-11-01 12:34:56+03:00", True, True),
        ("2026-11-01T12:34:56.123456789+03:00", True, True), ("2026-11-01T23:59:59.9999999Z", True, True),
        ("2026-11-01T12:34:56+0300", True, True), ("2026-11-01T12:34:56-00:00", True, True),
        ("2026-11-01T12:34:56+15:59", True, True), ("2026-11-01T12:34:56-15:59", True, True),
        ("2024-02-29T12:00:00+03:00", True, True),
        # what the issue found: fromisoformat takes these, PostgreSQL does not
        ("2026-W48-5T12:00:00+03:00", False, False), ("2026-11-27T12+03:00", False, False),
        ("2026-11-01T12:00:00,5+03:00", False, False),
        # PostgreSQL refuses these too
        ("2026-11-01T12:34:56+16:00", False, False), ("2026-11-01T12:34:56-23:59", False, False),
        ("2026-02-29T12:00:00Z", False, False), ("2026-11-01T25:00:00Z", False, False),
        ("２０２６-11-01T12:34:56Z", False, False), ("2026-11-01T12:34:56.5e3Z", False, True),
        # PostgreSQL parses these; the contract (RFC 3339 with an offset) does not take them
        ("2026-11-01T12:34:56", False, True), ("2026-11-01", False, True), ("20261101T123456+0300", False, True),
        ("2026-11-01T24:00:00Z", False, True), ("2026-11-01T12:00:60Z", False, True),
        ("2026-11-01T12:34+03:00", False, True), ("2026-11-01T12:34:56+03", False, True),
        ("2026-331T12:00:00+03:00", False, True), ("2026-11-01T12:34:56+03:00:00", False, True),
        (" 2026-11-01T12:34:56Z", False, True), ("epoch", False, True), ("now", False, True),
        ("infinity", False, True),
        # the plausibility window: from 2000-01-01 to 48 hours after landing
        (_iso(earliest), True, True), (_iso(earliest.astimezone(MSK)), True, True),
        (_iso(earliest - dt.timedelta(seconds=1)), False, True),
        ("1999-12-31T21:00:00-03:00", True, True), ("2000-01-01T02:59:59+03:00", False, True),
        (_iso(latest - dt.timedelta(minutes=5)), True, True),
        (_iso((latest - dt.timedelta(minutes=5)).astimezone(dt.timezone(dt.timedelta(hours=14)))), True, True),
        (_iso(latest + dt.timedelta(minutes=5)), False, True), ("9999-12-31T23:59:59Z", False, True),
        ("0001-01-01T00:00:00Z", False, True), ("294277-01-01T00:00:00Z", False, False),
    ]
    return [(orjson.dumps(text).decode(), accept, pg) for text, accept, pg in literals]


def cases() -> dict[str, dict[str, list[tuple[str, bool, bool]]]]:
    """Per stream and field: (JSON literal, the landing accepts it, PostgreSQL's cast parses it)."""
    return {
        "orders": {"restaurant_id": INT4_ID, "subtotal_amount": MONEY, "total_amount": MONEY,
                   "discount_amount": DISCOUNT, "items": ITEMS, "event_at": instants(), "created_at": instants()},
        "customers": {"home_restaurant_id": INT4, "marketing_opt_in": BOOL, "registered_at": instants(),
                      "event_at": instants()},
        "feedback": {"score": SCORE, "event_at": instants()},
    }


STREAMS = ("customers", "feedback", "orders")


def _with_literal(event: dict, name: str, literal: str) -> bytes:
    return orjson.dumps({**event, name: _PLACEHOLDER}).replace(orjson.dumps(_PLACEHOLDER), literal.encode())


def _pg_accepts(conn: psycopg.Connection, payload: bytes, expressions: list[str]) -> str | None:
    """None when PostgreSQL computes every expression over the payload, else its error."""
    columns = ", ".join(f"({e})::text" for e in expressions) or "1"
    try:
        with conn.transaction():
            conn.execute(f"select {columns} from (select %s::text::jsonb as doc) s", (payload.decode(),))
    except psycopg.Error as exc:
        return str(exc).splitlines()[0]
    return None


def test_every_staging_cast_is_found_and_has_boundary_cases():
    casts = staging_casts()
    assert casts["orders"]["restaurant_id"] == "(doc ->> 'restaurant_id')::int"
    assert casts["orders"]["total_amount"] == "(doc ->> 'total_amount')::numeric(14, 2)"
    assert casts["orders"]["created_at"] == "(doc ->> 'created_at')::timestamptz"
    assert casts["customers"]["marketing_opt_in"] == "(doc ->> 'marketing_opt_in')::boolean"
    assert casts["orders"]["items"] == "jsonb_array_length(doc -> 'items')"
    untested = {stream: sorted(set(fields) - set(cases()[stream])) for stream, fields in casts.items()}
    assert untested == {"orders": [], "customers": [], "feedback": []}


@pytest.mark.parametrize("stream", STREAMS)
def test_what_the_landing_accepts_every_staging_cast_accepts(stream, database_url):
    validate = make_validator(stream, window=EventTimeWindow())
    expressions = list(staging_casts()[stream].values())
    base = EVENTS[stream](1)
    wrong_verdicts, cast_failures, too_strict, pg_mismatch = [], [], [], []
    accepted = 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        for field, field_cases in cases()[stream].items():
            single = [staging_casts()[stream][field]] if field in staging_casts()[stream] else []
            for literal, expect_accept, pg_parses in field_cases:
                payload = _with_literal(base, field, literal)
                reason = validate(payload)
                if (reason is None) != expect_accept:
                    wrong_verdicts.append((field, literal, reason))
                if reason is None:
                    accepted += 1
                    error = _pg_accepts(conn, payload, expressions)
                    if error is not None:
                        cast_failures.append((field, literal, error))
                    continue
                pg_error = _pg_accepts(conn, payload, single)
                if (pg_error is None) != pg_parses:
                    pg_mismatch.append((field, literal, pg_error))
                if pg_parses and "staging model casts it" in reason:
                    too_strict.append((field, literal, reason))
    assert wrong_verdicts == []
    assert cast_failures == []
    assert pg_mismatch == []  # the hand-written "PostgreSQL parses it" column is right
    # a storage-range rejection is never for a value the cast would take, but for the float edge above
    assert [literal for _, literal, _ in too_strict] == ([FLOAT_EDGE] * 2 if stream == "orders" else [])
    assert accepted >= 20


def test_the_issues_records_are_quarantined_with_reasons_naming_the_bound():
    orders = make_validator("orders")
    cases = {
        "restaurant_id": (3_000_000_000, "must be <= 2147483647 (int4"),
        "total_amount": (1e15, "must be <= 999999999999.99 (numeric(14,2)"),
        "created_at": ("9999-12-31T00:00:00+03:00", "more than 48 hours after the landing time"),
    }
    for field, (value, reason) in cases.items():
        assert reason in orders(orjson.dumps(order_event(1, **{field: value})))
    for text in ("2026-W48-5T12:00:00+03:00", "2026-11-27T12+03:00", "2026-11-27T12:00:00,5+03:00"):
        assert "is not an ISO 8601 timestamp" in orders(orjson.dumps(order_event(1, event_at=text)))
