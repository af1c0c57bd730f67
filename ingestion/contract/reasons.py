"""Rejection reasons, worded from the event classes' own types (`msgspec.inspect`).

The detailed path runs this on a document the schema did not accept, to name the first field
that is wrong and what is wrong with it, in the words docs/schemas.md uses. The verdict itself is
always the schema's (msgspec's): this module only explains it.
"""

from __future__ import annotations

import datetime as dt
import functools

import msgspec
import msgspec.inspect as mi

from ingestion.contract.fields import MAX_UTC_OFFSET
from ingestion.contract.window import EventTimeWindow

MISSING = object()
_AS_DATETIME = msgspec.json.Decoder(dt.datetime).decode
EXAMPLE_INSTANT = "2026-11-01T12:34:56+03:00"


def type_name(value: object) -> str:
    return "null" if value is None else {dict: "object", list: "array", str: "string", bool: "bool",
                                         int: "int", float: "number"}.get(type(value), type(value).__name__)


@functools.cache
def struct_fields(cls: type) -> tuple[mi.Field, ...]:
    return mi.type_info(cls).fields


def _unwrap(t: mi.Type) -> tuple[mi.Type, dict]:
    if isinstance(t, mi.Metadata):
        return t.type, t.extra or {}
    return t, {}


def _nullable(t: mi.Type) -> tuple[mi.Type, bool]:
    if isinstance(t, mi.UnionType):
        others = [u for u in t.types if not isinstance(u, mi.NoneType)]
        if len(others) == 1:
            return others[0], len(others) < len(t.types)
    return t, False


def describe(t: mi.Type) -> str:
    """The documented kind of a type, for "must not be null (expected …)"."""
    inner, extra = _unwrap(_nullable(t)[0])
    check = extra.get("check")
    if check == "uuid":
        return "uuid string"
    if isinstance(inner, mi.DateTimeType):
        return "ISO 8601 timestamp with offset"
    return {mi.StrType: "string", mi.IntType: "int", mi.FloatType: "number", mi.BoolType: "bool",
            mi.LiteralType: "string", mi.ListType: "array", mi.StructType: "object"}.get(type(inner), "value")


def _bounds(lo: float | None, hi: float | None, value: float, limit: str | None) -> str | None:
    if (lo is None or value >= lo) and (hi is None or value <= hi):
        return None
    if limit is None and lo is not None and hi is not None:
        return f"must be from {lo} to {hi}, got {value}"
    bound, relation = (lo, ">=") if lo is not None and value < lo else (hi, "<=")
    # a bound of 0 or 1 is the business rule; a larger one is the storage type's range
    note = f" ({limit}, the type the staging model casts it to)" if limit and abs(bound) > 1 else ""
    return f"must be {relation} {bound}{note}, got {value}"


def instant_problem(value: dt.datetime, window: EventTimeWindow) -> str | None:
    """Why a decoded, offset-aware instant is not accepted (offset or plausibility), or None."""
    offset = value.utcoffset()
    if not -MAX_UTC_OFFSET <= offset <= MAX_UTC_OFFSET:
        return "has a UTC offset beyond ±15:59, which PostgreSQL rejects"
    return window.problem(value)


def _instant_reason(value: object, window: EventTimeWindow) -> str | None:
    if type(value) is not str:
        return f"must be an ISO 8601 timestamp string, got {type_name(value)}"
    shown = repr(value[:40])
    try:
        parsed = _AS_DATETIME(msgspec.json.encode(value))
    except msgspec.ValidationError:
        return (f"is not an ISO 8601 timestamp: {shown} (expected YYYY-MM-DDTHH:MM:SS[.fraction] "
                f"with Z or ±HH:MM, e.g. {EXAMPLE_INSTANT})")
    if parsed.tzinfo is None:
        return f"has no UTC offset: {shown} (expected e.g. {EXAMPLE_INSTANT})"
    problem = instant_problem(parsed, window)
    return None if problem is None else f"{problem}: {shown}"


def value_problem(value: object, t: mi.Type, window: EventTimeWindow) -> str | None:
    """What is wrong with one non-null value of type `t`, or None (the caller names the field)."""
    t, extra = _unwrap(t)
    check, limit = extra.get("check"), extra.get("limit")
    if check == "instant":
        return _instant_reason(value, window)
    if check == "uuid":
        if type(value) is not str:
            return f"must be a uuid string, got {type_name(value)}"
        if len(value) != 36 or value[8:24:5] != "----":
            return f"is not a uuid: {value[:40]!r}"
        return None
    if isinstance(t, mi.StrType):
        if type(value) is not str:
            return f"must be a string, got {type_name(value)}"
        return "must not be empty" if t.min_length and len(value) < t.min_length else None
    if isinstance(t, mi.LiteralType):
        shown = ", ".join(map(str, t.values))
        if type(value) is not str:
            return f"must be one of {shown}, got {type_name(value)}"
        return None if value in t.values else f"must be one of {shown}, got {value[:40]!r}"
    if isinstance(t, mi.BoolType):
        return None if type(value) is bool else f"must be a bool, got {type_name(value)}"
    if isinstance(t, mi.IntType):
        if type(value) is not int:
            return f"must be an int, got {type_name(value)}"
        return _bounds(t.ge, t.le, value, limit)
    if isinstance(t, mi.FloatType):
        if type(value) is not int and type(value) is not float:
            return f"must be a number, got {type_name(value)}"
        return _bounds(t.ge, t.le, value, limit)
    if isinstance(t, mi.ListType):
        return _list_problem(value, t, window)
    return None


def _list_problem(value: object, t: mi.ListType, window: EventTimeWindow) -> str | None:
    if type(value) is not list:
        return f"must be an array, got {type_name(value)}"
    if t.min_length and len(value) < t.min_length:
        return "must not be empty"
    item = t.item_type
    for i, element in enumerate(value):
        if isinstance(item, mi.StructType):
            if type(element) is not dict:
                return f"[{i}] must be an object, got {type_name(element)}"
            problem = fields_problem(element, item.cls, window, item_prefix=f"[{i}]")
        else:
            problem = value_problem(element, item, window)
            problem = None if problem is None else f"[{i}] {problem}"
        if problem is not None:
            return problem
    return None


def fields_problem(doc: dict, cls: type, window: EventTimeWindow, item_prefix: str = "") -> str | None:
    """The first field of `doc` that breaks `cls`, worded; None when every field is fine."""
    get = doc.get
    for field in struct_fields(cls):
        value = get(field.name, MISSING)
        inner, nullable = _nullable(field.type)
        if value is MISSING:
            if not field.required:
                continue
            return f"{item_prefix} is missing '{field.name}'" if item_prefix else \
                f"missing required field '{field.name}'"
        if value is None:
            if nullable:
                continue
            where = f"{item_prefix}.{field.name}" if item_prefix else f"field '{field.name}'"
            return f"{where} must not be null (expected {describe(field.type)})"
        problem = value_problem(value, inner, window)
        if problem is not None:
            where = f"{item_prefix}.{field.name}" if item_prefix else f"field '{field.name}'"
            return f"{where} {problem}"
    return None
