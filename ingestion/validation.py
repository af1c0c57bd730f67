"""Versioned schemas of the Kafka events (docs/contracts.md §1) and a fast validator for them.

The landing validates every message before it reaches a raw table, so validation is on the hot
path. Two paths give one verdict:

- **Fast path** (every good record): `msgspec` decodes the raw bytes straight into a typed
  struct of the message's stream and `schema_version`, checking JSON syntax, UTF-8, types,
  required/nullable fields, enums and ranges in C; a few checks msgspec cannot express (ISO 8601
  instants with an offset, the uuid's hyphens, cross-field rules) run as one generated function
  over the struct. About 3.1 µs of CPU for a 670-byte order event, where `orjson.loads` plus
  generated checks in Python took 7.0 µs (docs/performance.md). This decoder forbids fields the
  schema does not list: with every byte of the document either JSON structure or a value msgspec
  decoded, nothing goes unchecked (msgspec skips unknown fields without validating their UTF-8
  or number range).
- **Detailed path** (a record the fast path did not accept): `orjson.loads` and the checks
  below, which name the field and what was wrong. It is the authority: a record is rejected only
  when it finds a reason. A record with fields beyond the schema (allowed) is accepted here, via
  `msgspec.convert` of the parsed document into the same struct type, at about 9 µs.

The fast path accepts a subset of what the detailed path accepts (tests/test_validation.py
holds the two to the same verdict over hundreds of variants), so the verdicts are the same
whichever path decides. The schemas are data (`SCHEMAS`): both paths come from one definition,
which docs/schemas.md describes (a test keeps the two in step).

A validator answers with `None` for a good record or with the reason it was rejected; the
reason is stored in `raw.rejected_records`, so it names the field and what was wrong.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

import msgspec
import orjson
from msgspec import UNSET, Meta, UnsetType

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
# Each also registers how the fast path checks the same thing: a msgspec type, and optionally a
# boolean expression over `v` (the decoded value) for what the type cannot say. A check without
# a registration cannot be used in a schema (building the validator fails).

_TYPED: dict[Check, tuple[object, str | None]] = {}

# orjson (the detailed path) reads integers outside int64/uint64 as floats, so "is an int" means
# "fits in 64 bits"; msgspec bounds must fit in int64, so the fast path takes int64 and leaves
# the rare uint64-only value to the detailed path.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _typed(annotation: object, post: str | None = None) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        _TYPED[check] = (annotation, post)
        return check

    return register


def _type_name(value: object) -> str:
    return "null" if value is None else {dict: "object", list: "array", str: "string", bool: "bool",
                                         int: "int", float: "number"}.get(type(value), type(value).__name__)


@_typed(str)
def _string(value: object) -> str | None:
    return None if type(value) is str else f"must be a string, got {_type_name(value)}"


@_typed(Annotated[str, Meta(min_length=1)])
def _non_empty_string(value: object) -> str | None:
    if type(value) is not str:
        return f"must be a string, got {_type_name(value)}"
    return None if value else "must not be empty"


@_typed(Annotated[int, Meta(ge=INT64_MIN, le=INT64_MAX)])
def _int(value: object) -> str | None:
    return None if type(value) is int else f"must be an int, got {_type_name(value)}"


@_typed(float)  # msgspec's float takes JSON integers too, never `true`
def _number(value: object) -> str | None:
    t = type(value)
    return None if t is int or t is float else f"must be a number, got {_type_name(value)}"


@_typed(bool)
def _bool(value: object) -> str | None:
    return None if type(value) is bool else f"must be a bool, got {_type_name(value)}"


# Not msgspec's `datetime`: it reads RFC 3339, which also allows a lowercase `t`/`z` that
# `datetime.fromisoformat` (ISO 8601, the documented rule) rejects.
@_typed(str, post="_iso(v).tzinfo is not None")
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


# Not msgspec's `uuid.UUID`: it also takes the 32-digit form without hyphens.
@_typed(Annotated[str, Meta(min_length=36, max_length=36)],
        post="v[8:24:5] == '----'")  # the hyphens at 8, 13, 18 and 23, in one slice
def _uuid(value: object) -> str | None:
    if type(value) is not str:
        return f"must be a uuid string, got {_type_name(value)}"
    if len(value) != 36 or value[8] != "-" or value[13] != "-" or value[18] != "-" or value[23] != "-":
        return f"is not a uuid: {value[:40]!r}"
    return None


def _one_of(*options: str) -> Check:
    allowed = frozenset(options)
    shown = ", ".join(options)

    def check(value: object) -> str | None:
        if type(value) is not str:
            return f"must be one of {shown}, got {_type_name(value)}"
        return None if value in allowed else f"must be one of {shown}, got {value[:40]!r}"

    _TYPED[check] = (Literal[options], None)
    return check


def _int_between(lo: int, hi: int | None) -> Check:
    def check(value: object) -> str | None:
        if type(value) is not int:
            return f"must be an int, got {_type_name(value)}"
        if value < lo or (hi is not None and value > hi):
            return f"must be from {lo} to {hi}, got {value}" if hi is not None else f"must be >= {lo}, got {value}"
        return None

    _TYPED[check] = (Annotated[int, Meta(ge=max(lo, INT64_MIN), le=INT64_MAX if hi is None else min(hi, INT64_MAX))],
                     None)
    return check


@_typed(Annotated[float, Meta(ge=0)])
def _non_negative_number(value: object) -> str | None:
    error = _number(value)
    if error is None and value < 0:  # type: ignore[operator]
        return f"must be >= 0, got {value}"
    return error


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

Rule = Callable[[dict], "str | None"]
_RULE_EXPR: dict[Rule, str] = {}  # the same rule as a boolean expression over the decoded struct `r`


def _order_status_matches(doc: dict) -> str | None:
    expected = "order_" + doc["status"]
    if doc["event_type"] != expected:
        return f"status {doc['status']!r} does not match event_type {doc['event_type']!r}"
    return None


_RULE_EXPR[_order_status_matches] = "'order_' + r.status == r.event_type"

# stream -> schema_version -> (fields, cross-field rules). Adding version 2 = adding an entry;
# version 1 stays readable (docs/contracts.md: "bump schema_version and keep the old reader").
SCHEMAS: dict[str, dict[int, tuple[tuple[Field, ...], tuple[Rule, ...]]]] = {
    "orders": {1: (ORDERS_V1, (_order_status_matches,))},
    "customers": {1: (CUSTOMERS_V1, ())},
    "feedback": {1: (FEEDBACK_V1, ())},
}

_MISSING = object()
# \u0000 as a JSON escape (an even number of backslashes before it would make it literal text)
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
NUL_REASON = "contains \\u0000, which PostgreSQL jsonb cannot store"
Validator = Callable[[bytes | None], "str | None"]


# -- the detailed path: the reason a record is rejected

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


# -- the fast path: msgspec struct types and the generated post-check, from the same schemas


def _annotation(check: Check | None, strict: bool) -> object:
    """The msgspec type of a field (the check's registered type; items are a struct of their own)."""
    if check is _order_items:
        item = msgspec.defstruct("Item", [(name, _annotation(c, strict)) for name, c in _ITEM_FIELDS],
                                 forbid_unknown_fields=strict, gc=False)
        return Annotated[list[item], Meta(min_length=1)]  # type: ignore[valid-type]
    if check is None:
        return object
    if check not in _TYPED:
        raise ValueError(f"check {check.__name__} has no fast-path type; register it with _typed")
    return _TYPED[check][0]


def _struct(name: str, version: int, fields: tuple[Field, ...], *, strict: bool, tagged: bool) -> type[msgspec.Struct]:
    """One struct type per stream and version.

    `schema_version` is a required `Literal` field, or, when several versions share one decoder,
    the tag of a tagged union (msgspec then requires the tag and picks the type by it; a lone
    tagged struct would accept a document without it).
    """
    spec: list[tuple] = [] if tagged else [("schema_version", Literal[version])]
    for f in fields:
        annotation = _annotation(f.check, strict)
        if f.nullable:
            annotation = annotation | None
        if f.required:
            spec.append((f.name, annotation))
        elif f.nullable:
            spec.append((f.name, annotation, None))
        else:
            spec.append((f.name, annotation | UnsetType, UNSET))  # absent is fine, null is not
    options = {"tag_field": "schema_version", "tag": version} if tagged else {}
    return msgspec.defstruct(f"{name.title()}V{version}", spec, kw_only=True, gc=False,
                             forbid_unknown_fields=strict, **options)


def _post_check(fields: tuple[Field, ...], rules: tuple[Rule, ...]) -> Callable[[msgspec.Struct], bool]:
    """One generated function, True when the checks msgspec cannot express all pass (straight-line code)."""
    lines = ["def post(r):", "    try:"]
    for f in fields:
        post = None if f.check is None or f.check is _order_items else _TYPED[f.check][1]
        if post is None:
            continue
        allowed = (["v is _UNSET"] if not f.required else []) + (["v is None"] if f.nullable else [])
        condition = " or ".join([*allowed, f"({post})"])
        lines += [f"        v = r.{f.name}", f"        if not ({condition}):", "            return False"]
    for rule in rules:
        if rule not in _RULE_EXPR:
            raise ValueError(f"rule {rule.__name__} has no fast-path expression; add it to _RULE_EXPR")
        lines += [f"        if not ({_RULE_EXPR[rule]}):", "            return False"]
    lines += ["    except ValueError:", "        return False", "    return True"]
    namespace: dict[str, object] = {"_UNSET": UNSET, "_iso": datetime.fromisoformat}
    exec("\n".join(lines), namespace)  # code built above from our own schema constants, not from input
    return namespace["post"]  # type: ignore[return-value]


def make_validator(stream: str, *, fast: bool = True) -> Validator:
    """The validator of one stream: raw message bytes -> None (good) or the rejection reason.

    `fast=False` gives the detailed path alone (the reference the tests compare the fast path to).
    """
    if stream not in SCHEMAS:
        raise ValueError(f"no schema for stream {stream!r}; known streams: {', '.join(SCHEMAS)}")
    versions = {}
    posts: dict[type, Callable[[msgspec.Struct], bool]] = {}
    strict_types = []
    tagged = len(SCHEMAS[stream]) > 1
    for version, (fields, rules) in SCHEMAS[stream].items():
        post = _post_check(fields, rules)
        strict_type = _struct(stream, version, fields, strict=True, tagged=tagged)
        lenient_type = _struct(stream, version, fields, strict=False, tagged=False)
        posts[strict_type] = posts[lenient_type] = post
        strict_types.append(strict_type)
        versions[version] = (_compile(fields), rules, lenient_type, post)
    decode = msgspec.json.Decoder(functools.reduce(operator.or_, strict_types)).decode
    known = ", ".join(str(v) for v in sorted(versions))
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    convert = msgspec.convert
    # ValueError: msgspec's UnicodeDecodeError; RecursionError: nesting deeper than the schema's
    fast_errors = (msgspec.MsgspecError, ValueError, RecursionError)

    def detailed(raw: bytes) -> str | None:
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
        fields, rules, lenient_type, post = schema
        try:
            accepted = fast and post(convert(doc, lenient_type))  # a good record with extra fields
        except fast_errors:
            accepted = False
        if not accepted:
            error = _check_fields(doc, fields)
            if error is not None:
                return error
            for rule in rules:
                error = rule(doc)
                if error is not None:
                    return error
        return None

    def validate(raw: bytes | None) -> str | None:
        if not raw:
            return "empty message (no value)"
        try:
            record = decode(raw) if fast else None
        except fast_errors:
            record = None
        if record is None or not posts[type(record)](record):
            error = detailed(raw)
            if error is not None:
                return error
        # A backslash first (memchr, a few ns; `in` is slower than find on bytes), then the escape.
        if raw.find(b"\\") != -1 and raw.find(b"\\u0000") != -1 and _NUL_ESCAPE.search(raw):
            # Valid JSON, but PostgreSQL's jsonb (dbt's staging cast) cannot hold a NUL character.
            return NUL_REASON
        return None

    return validate
