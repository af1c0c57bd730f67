"""Versioned schemas of the Kafka events (docs/contracts.md §1) and a fast validator for them.

The landing validates every message before it reaches a raw table, so validation is on the hot
path: the checks are plain Python over the dict `orjson` returns, and a good record goes through
one generated function of straight-line checks (on the project machine about 5 µs for a 600-byte
order event, next to 2.5 µs for `orjson.loads`). The schemas are data (`SCHEMAS`): the fast path
and the detailed checks come from one definition, which docs/schemas.md describes (a test keeps
the two in step).

A validator answers with `None` for a good record or with the reason it was rejected; the
reason is stored in `raw.rejected_records`, so it names the field and what was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import orjson

Check = Callable[[object], "str | None"]


@dataclass(frozen=True)
class Field:
    """One field of an event: its JSON type as the docs state it, and the check that enforces it."""

    name: str
    kind: str  # as documented: "string", "int", "number", "bool", "instant", "array", ...
    required: bool = True
    nullable: bool = False
    check: Check | None = None
    doc: str = ""


# -- value checks: each returns None when fine, or what is wrong (the caller prefixes the field).
# Each also registers a boolean expression over `v` for the generated fast path (see _fast_path):
# good records pass through straight-line code without a call per field; only a record that
# fails it goes through the checks above to find the reason.

_FAST_EXPR: dict[Check, str] = {}


def _fast(expression: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        _FAST_EXPR[check] = expression
        return check

    return register


def _type_name(value: object) -> str:
    return "null" if value is None else {dict: "object", list: "array", str: "string", bool: "bool",
                                         int: "int", float: "number"}.get(type(value), type(value).__name__)


@_fast("type(v) is str")
def _string(value: object) -> str | None:
    return None if type(value) is str else f"must be a string, got {_type_name(value)}"


@_fast("type(v) is str and v != ''")
def _non_empty_string(value: object) -> str | None:
    if type(value) is not str:
        return f"must be a string, got {_type_name(value)}"
    return None if value else "must not be empty"


@_fast("type(v) is int")
def _int(value: object) -> str | None:
    return None if type(value) is int else f"must be an int, got {_type_name(value)}"


@_fast("(type(v) is float or type(v) is int)")
def _number(value: object) -> str | None:
    t = type(value)
    return None if t is int or t is float else f"must be a number, got {_type_name(value)}"


@_fast("type(v) is bool")
def _bool(value: object) -> str | None:
    return None if type(value) is bool else f"must be a bool, got {_type_name(value)}"


@_fast("_instant(v) is None")
def _instant(value: object) -> str | None:
    """An ISO 8601 timestamp *with* a UTC offset: without one the instant is ambiguous."""
    if type(value) is not str:
        return f"must be an ISO 8601 timestamp string, got {_type_name(value)}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return f"is not an ISO 8601 timestamp: {value[:40]!r}"
    if parsed.tzinfo is None:
        return f"has no UTC offset: {value[:40]!r} (expected e.g. 2026-11-01T12:34:56+03:00)"
    return None


@_fast("type(v) is str and len(v) == 36 and v[8] == '-' and v[13] == '-' and v[18] == '-' and v[23] == '-'")
def _uuid(value: object) -> str | None:
    if type(value) is not str:
        return f"must be a uuid string, got {_type_name(value)}"
    if len(value) != 36 or value[8] != "-" or value[13] != "-" or value[18] != "-" or value[23] != "-":
        return f"is not a uuid: {value[:40]!r}"
    return None


def _one_of(*options: object) -> Check:
    allowed = frozenset(options)
    shown = ", ".join(str(o) for o in options)

    def check(value: object) -> str | None:
        if type(value) is not str:
            return f"must be one of {shown}, got {_type_name(value)}"
        return None if value in allowed else f"must be one of {shown}, got {value[:40]!r}"

    _FAST_EXPR[check] = "type(v) is str and v in {" + ", ".join(repr(o) for o in options) + "}"
    return check


def _int_between(lo: int, hi: int | None) -> Check:
    def check(value: object) -> str | None:
        if type(value) is not int:
            return f"must be an int, got {_type_name(value)}"
        if value < lo or (hi is not None and value > hi):
            return f"must be from {lo} to {hi}, got {value}" if hi is not None else f"must be >= {lo}, got {value}"
        return None

    _FAST_EXPR[check] = f"type(v) is int and v >= {lo}" + (f" and v <= {hi}" if hi is not None else "")
    return check


@_fast("(type(v) is float or type(v) is int) and v >= 0")
def _non_negative_number(value: object) -> str | None:
    error = _number(value)
    if error is None and value < 0:  # type: ignore[operator]
        return f"must be >= 0, got {value}"
    return error


@_fast("_items_ok(v)")
def _order_items(value: object) -> str | None:
    if type(value) is not list:
        return f"must be an array, got {_type_name(value)}"
    if not value:
        return "must not be empty"
    for i, item in enumerate(value):
        if type(item) is not dict:
            return f"[{i}] must be an object, got {_type_name(item)}"
        for name, check in _ITEM_FIELDS:
            if name not in item:
                return f"[{i}] is missing '{name}'"
            error = check(item[name])
            if error is not None:
                return f"[{i}].{name} {error}"
    return None


def _items_ok(value: object) -> bool:
    """The fast path of _order_items: True when every item is well-formed."""
    if type(value) is not list or not value:
        return False
    for item in value:
        if type(item) is not dict:
            return False
        get = item.get
        qty = get("qty")
        price = get("unit_price")
        if (type(get("sku")) is not str or type(get("name")) is not str or type(qty) is not int or qty < 1
                or (type(price) is not float and type(price) is not int)):
            return False
    return True


_ITEM_FIELDS: tuple[tuple[str, Check], ...] = (
    ("sku", _string), ("name", _string), ("qty", _int_between(1, None)), ("unit_price", _number),
)


# -- the schemas

COMMON_V1: tuple[Field, ...] = (
    Field("event_id", "string (uuid)", check=_uuid, doc="Unique per logical event; a re-sent duplicate repeats it."),
    Field("event_at", "string (ISO 8601 with offset)", check=_instant, doc="When it happened at the source."),
)

ORDER_EVENT_TYPES = ("order_created", "order_paid", "order_completed", "order_cancelled")
ORDER_STATUSES = ("created", "paid", "completed", "cancelled")
CHANNELS = ("phone", "app", "web", "kiosk", "delivery_partner")

ORDERS_V1: tuple[Field, ...] = (
    Field("event_type", "string", check=_one_of(*ORDER_EVENT_TYPES)),
    *COMMON_V1,
    Field("order_id", "string", check=_non_empty_string),
    Field("status", "string", check=_one_of(*ORDER_STATUSES), doc="Must match event_type."),
    Field("created_at", "string (ISO 8601 with offset)", check=_instant),
    Field("restaurant_id", "int >= 1", check=_int_between(1, None)),
    Field("channel", "string", check=_one_of(*CHANNELS)),
    Field("customer_phone", "string or null", nullable=True, check=_string),
    Field("items", "array of {sku, name, qty >= 1, unit_price}", check=_order_items, doc="Non-empty."),
    Field("subtotal_amount", "number", check=_number),
    Field("discount_amount", "number >= 0", check=_non_negative_number),
    Field("total_amount", "number", check=_number),
    Field("currency", "string", check=_one_of("RUB")),
    Field("call_linkedid", "string or null", nullable=True, check=_string),
    Field("operator_extension", "string or null", nullable=True, check=_string),
)

CUSTOMERS_V1: tuple[Field, ...] = (
    Field("event_type", "string", check=_one_of("customer_created", "customer_updated")),
    *COMMON_V1,
    Field("customer_phone", "string", check=_non_empty_string),
    Field("name", "string or null", nullable=True, check=_string),
    Field("email", "string or null", required=False, nullable=True, check=_string),
    Field("home_restaurant_id", "int or null", required=False, nullable=True, check=_int),
    Field("marketing_opt_in", "bool", required=False, check=_bool),
    Field("registered_at", "string (ISO 8601 with offset)", check=_instant),
)

FEEDBACK_V1: tuple[Field, ...] = (
    Field("event_type", "string", check=_one_of("rating_submitted")),
    *COMMON_V1,
    Field("rating_id", "string", check=_non_empty_string),
    Field("subject_type", "string", check=_one_of("call", "order")),
    Field("call_linkedid", "string or null", nullable=True, check=_string, doc="Set when subject_type = call."),
    Field("order_id", "string or null", nullable=True, check=_string, doc="Set when subject_type = order."),
    Field("operator_extension", "string or null", nullable=True, check=_string),
    Field("customer_phone", "string or null", nullable=True, check=_string),
    Field("score", "int 1..5", check=_int_between(1, 5)),
    Field("comment", "string or null", required=False, nullable=True, check=_string),
)


def _order_status_matches(doc: dict) -> str | None:
    expected = "order_" + doc["status"]
    if doc["event_type"] != expected:
        return f"status {doc['status']!r} does not match event_type {doc['event_type']!r}"
    return None


# stream -> schema_version -> (fields, cross-field rules). Adding version 2 = adding an entry;
# version 1 stays readable (docs/contracts.md: "bump schema_version and keep the old reader").
SCHEMAS: dict[str, dict[int, tuple[tuple[Field, ...], tuple[Callable[[dict], str | None], ...]]]] = {
    "orders": {1: (ORDERS_V1, (_order_status_matches,))},
    "customers": {1: (CUSTOMERS_V1, ())},
    "feedback": {1: (FEEDBACK_V1, ())},
}

_MISSING = object()
# \u0000 as a JSON escape (an even number of backslashes before it would make it literal text)
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
Validator = Callable[[bytes | None], "str | None"]


_Compiled = tuple[tuple[str, bool, bool, Check, str], ...]


def _compile(fields: tuple[Field, ...]) -> _Compiled:
    """Fields as plain tuples: the per-record loop then does no attribute lookups."""
    return tuple((f.name, f.required, f.nullable, f.check or (lambda _v: None), f.kind) for f in fields)


def _check_fields(doc: dict, fields: _Compiled) -> str | None:
    get = doc.get
    for name, required, nullable, check, kind in fields:
        value = get(name, _MISSING)
        if value is _MISSING:
            if required:
                return f"missing required field '{name}'"
            continue
        if value is None:
            if nullable:
                continue
            return f"field '{name}' must not be null (expected {kind})"
        error = check(value)
        if error is not None:
            return f"field '{name}' {error}"
    return None


def _fast_path(fields: tuple[Field, ...]) -> Callable[[dict], bool]:
    """Generate one function that is True when every field is fine (straight-line code, few calls)."""
    lines = ["def fast(doc):", "    get = doc.get"]
    for f in fields:
        expression = _FAST_EXPR[f.check] if f.check is not None else "True"
        allowed = (["v is _M"] if not f.required else []) + (["v is None"] if f.nullable else [])
        condition = " or ".join([*allowed, f"({expression})"])
        lines += [f"    v = get({f.name!r}, _M)", f"    if not ({condition}):", "        return False"]
    lines.append("    return True")
    namespace: dict[str, object] = {"_M": _MISSING, "_instant": _instant, "_items_ok": _items_ok}
    exec("\n".join(lines), namespace)  # code built above from our own schema constants, not from input
    return namespace["fast"]  # type: ignore[return-value]


def make_validator(stream: str) -> Validator:
    """The validator of one stream: raw message bytes -> None (good) or the rejection reason."""
    if stream not in SCHEMAS:
        raise ValueError(f"no schema for stream {stream!r}; known streams: {', '.join(SCHEMAS)}")
    versions = {version: (_fast_path(fields), _compile(fields), rules)
                for version, (fields, rules) in SCHEMAS[stream].items()}
    known = ", ".join(str(v) for v in sorted(versions))
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError

    def validate(raw: bytes | None) -> str | None:
        if not raw:
            return "empty message (no value)"
        try:
            doc = loads(raw)
        except decode_error as exc:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as uexc:
                return f"not UTF-8: {uexc.reason} at byte {uexc.start}"
            return f"invalid JSON: {exc}"
        if type(doc) is not dict:
            return f"top-level JSON value must be an object, got {_type_name(doc)}"
        version = doc.get("schema_version", _MISSING)
        if version is _MISSING:
            return "missing required field 'schema_version'"
        if type(version) is not int:
            return f"field 'schema_version' must be an int, got {_type_name(version)}"
        schema = versions.get(version)
        if schema is None:
            return f"unknown schema_version {version} (this landing reads {known})"
        fast, fields, rules = schema
        if not fast(doc):
            error = _check_fields(doc, fields)
            if error is not None:
                return error
        for rule in rules:
            error = rule(doc)
            if error is not None:
                return error
        if b"\\u0000" in raw and _NUL_ESCAPE.search(raw):
            # Valid JSON, but PostgreSQL's jsonb (dbt's staging cast) cannot hold a NUL character.
            return "contains \\u0000, which PostgreSQL jsonb cannot store"
        return None

    return validate
