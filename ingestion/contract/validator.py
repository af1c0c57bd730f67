"""The validator of one stream: raw message bytes -> None (accepted) or the reason it is rejected.

The landing validates every message before it reaches a raw table, so this is on the hot path.
Both paths below come from the event classes of `ingestion.contract.events`:

- **Fast path** (every good record): `msgspec` decodes the bytes straight into the event class
  of the message's `schema_version`, checking JSON syntax, UTF-8, types, nullability, enums,
  ranges and RFC 3339 instants in C; then the few checks msgspec cannot express run on the
  decoded struct (a uuid's hyphens, an instant's UTC offset and plausibility window). About
  3 µs of CPU for a 670-byte order event (docs/performance.md).
- **Detailed path** (a record the fast path did not accept): `orjson` parses the document, the
  class is picked by `schema_version`, and `msgspec.convert` into the same class (which ignores
  fields beyond the schema, allowed) gives the verdict; `ingestion.contract.reasons` words it.

A validator answers with `None` for a good record or with the reason it was rejected; the reason
is stored in `raw.rejected_records`, so it names the field and what was wrong.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
from collections.abc import Callable
from operator import attrgetter
from typing import Annotated, Union, get_args, get_origin, get_type_hints

import msgspec
import orjson
from msgspec import UNSET

from ingestion.contract.events import SCHEMAS, Event
from ingestion.contract.reasons import fields_problem, instant_problem, struct_fields, type_name
from ingestion.contract.window import EventTimeWindow

Validator = Callable[[bytes | None], "str | None"]
# \u0000 as a JSON escape (an even number of backslashes before it would make it literal text)
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
NUL_REASON = "contains \\u0000, which PostgreSQL jsonb cannot store"
# ValueError: msgspec's UnicodeDecodeError, or a rule of the class; RecursionError: deep nesting
_FAST_ERRORS = (msgspec.MsgspecError, ValueError, RecursionError)
_MISSING = object()


class _Unknown(msgspec.Struct, tag=-(2**63), forbid_unknown_fields=True, tag_field="schema_version"):
    """Never matches a real event. With it the fast decoder is a tagged union even for a stream
    with one version, and msgspec then requires `schema_version` (a lone tagged class would not)."""


def _checks_of(cls: type) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """The top-level fields of a class whose values need a check msgspec cannot do (uuids,
    instants), and whether any of them may be null or absent."""
    named: dict[str, list[str]] = {"uuid": [], "instant": []}
    optional = False
    for field in struct_fields(cls):
        t = field.type
        types = t.types if isinstance(t, msgspec.inspect.UnionType) else (t,)
        for u in types:
            if isinstance(u, msgspec.inspect.Metadata) and (u.extra or {}).get("check") in named:
                named[u.extra["check"]].append(field.name)
                optional = optional or not field.required or len(types) > 1
    return tuple(named["uuid"]), tuple(named["instant"]), optional


def post_checker(cls: type, window: EventTimeWindow) -> Callable[[msgspec.Struct], bool]:
    """True when a decoded event passes what msgspec could not check itself: a uuid's hyphens,
    an instant's plausibility window and UTC offset (within ±15:59, which PostgreSQL requires).

    This runs once per record, so it is written for the interpreter: the values come out in one
    `attrgetter` call, the window is compared as day numbers (the exact comparison of aware
    datetimes is three times slower and only needed within a day of either end), and the offset
    is looked at only when the tzinfo object differs from the last good one (msgspec reuses them).
    """
    uuid_names, instant_names, optional = _checks_of(cls)
    names = uuid_names + instant_names
    if not names:
        return lambda _r: True
    get = attrgetter(*names) if len(names) > 1 else (lambda r, one=attrgetter(names[0]): (one(r),))
    n_uuids = len(uuid_names)
    w = window
    good_tz = [None]

    def instant_ok(v: dt.datetime) -> bool:
        if not (w.first_day <= v.toordinal() <= w.last_day or w.earliest <= v <= w.latest):
            return False
        if v.tzinfo is not good_tz[0]:
            if instant_problem(v, w) is not None:
                return False
            good_tz[0] = v.tzinfo
        return True

    if n_uuids == 1 and len(instant_names) == 2 and not optional:  # orders, customers
        def post_uuid_two_instants(r: msgspec.Struct) -> bool:
            u, a, b = get(r)
            if u[8:24:5] != "----":  # the hyphens at 8, 13, 18 and 23, in one slice
                return False
            first, last, tz = w.first_day, w.last_day, good_tz[0]
            if (not first <= a.toordinal() <= last or a.tzinfo is not tz) and not instant_ok(a):
                return False
            return (first <= b.toordinal() <= last and b.tzinfo is good_tz[0]) or instant_ok(b)

        return post_uuid_two_instants

    if n_uuids == 1 and len(instant_names) == 1 and not optional:  # feedback
        def post_uuid_instant(r: msgspec.Struct) -> bool:
            u, a = get(r)
            if u[8:24:5] != "----":
                return False
            return (w.first_day <= a.toordinal() <= w.last_day and a.tzinfo is good_tz[0]) or instant_ok(a)

        return post_uuid_instant

    def post(r: msgspec.Struct) -> bool:  # any other shape a future version may have
        values = get(r)
        for v in values[:n_uuids]:
            if v is not None and v is not UNSET and v[8:24:5] != "----":
                return False
        return all(v is None or v is UNSET or instant_ok(v) for v in values[n_uuids:])

    return post


@functools.cache
def lenient(cls: type) -> type:
    """The same class without `forbid_unknown_fields`, down to nested classes, for `msgspec.convert`
    of a document orjson has already parsed (and so checked: UTF-8, numbers) field by field."""
    info = msgspec.inspect.type_info(cls)
    overrides = []
    for name, hint in get_type_hints(cls, include_extras=True).items():
        relaxed = _relax(hint)
        if relaxed is not hint:
            overrides.append((name, relaxed))
    return msgspec.defstruct(f"{cls.__name__}Lenient", overrides, bases=(cls,), kw_only=True,
                             forbid_unknown_fields=False, tag=info.tag, tag_field=info.tag_field)


def _relax(hint: object) -> object:
    if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
        return lenient(hint)
    args = get_args(hint)
    if not args:
        return hint
    relaxed = tuple(_relax(a) for a in args)
    if all(r is a for r, a in zip(relaxed, args, strict=True)):
        return hint
    origin = get_origin(hint)
    if origin is Annotated:
        return Annotated[(relaxed[0], *hint.__metadata__)]
    if origin is Union or isinstance(hint, type(int | None)):
        return functools.reduce(operator.or_, relaxed)
    return origin[relaxed]


def make_validator(stream: str, *, fast: bool = True, window: EventTimeWindow | None = None) -> Validator:
    """The validator of one stream. `window`: the event-time window, shared with the caller, who
    refreshes it (default: the default window as of now). `fast=False` gives the detailed path
    alone (the reference the tests compare the fast path to)."""
    if stream not in SCHEMAS:
        raise ValueError(f"no schema for stream {stream!r}; known streams: {', '.join(SCHEMAS)}")
    window = window or EventTimeWindow()
    versions: dict[int, type[Event]] = SCHEMAS[stream]
    posts = {cls: post_checker(cls, window) for cls in versions.values()}
    posts[_Unknown] = lambda _r: False
    decode = msgspec.json.Decoder(functools.reduce(operator.or_, [_Unknown, *versions.values()])).decode
    known = ", ".join(str(v) for v in sorted(versions))
    relaxed = {version: lenient(cls) for version, cls in versions.items()}
    loads, decode_error, convert = orjson.loads, orjson.JSONDecodeError, msgspec.convert

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
            return f"top-level JSON value must be an object, got {type_name(doc)}"
        version = doc.get("schema_version", _MISSING)
        if version is _MISSING:
            return "missing required field 'schema_version'"
        if type(version) is not int:
            return f"field 'schema_version' must be an int, got {type_name(version)}"
        cls = versions.get(version)
        if cls is None:
            return f"unknown schema_version {version} (this landing reads {known})"
        try:
            record = convert(doc, relaxed[version])  # fields beyond the schema are fine here
        except _FAST_ERRORS as exc:
            return fields_problem(doc, cls, window) or str(exc)
        if posts[cls](record):
            return None
        return fields_problem(doc, cls, window) or "rejected by the schema"

    only = next(iter(versions.values())) if len(versions) == 1 else None  # the usual case: one version
    post_only = posts.get(only)

    def nul_problem(raw: bytes) -> str | None:
        # A backslash first (memchr, a few ns; `in` is slower than find on bytes), then the escape.
        if raw.find(b"\\") != -1 and raw.find(b"\\u0000") != -1 and _NUL_ESCAPE.search(raw):
            # Valid JSON, but PostgreSQL's jsonb (dbt's staging cast) cannot hold a NUL character.
            return NUL_REASON
        return None

    if not fast:
        def validate_detailed(raw: bytes | None) -> str | None:
            if not raw:
                return "empty message (no value)"
            return detailed(raw) or nul_problem(raw)

        return validate_detailed

    def validate(raw: bytes | None) -> str | None:
        if not raw:
            return "empty message (no value)"
        try:
            record = decode(raw)
        except _FAST_ERRORS:
            record = None
        if record is None or not (post_only(record) if type(record) is only else posts[type(record)](record)):
            error = detailed(raw)
            if error is not None:
                return error
        if raw.find(b"\\") != -1:  # inline: the common case costs one memchr, no call
            return nul_problem(raw)
        return None

    return validate
