"""cdr_csv's `Master.csv` in every layout Asterisk writes, checked for COPY.

cdr_csv.c writes the 16 base columns, then `uniqueid` if `loguniqueid=yes`, `userfield` if
`loguserfield=yes` and `peeraccount, linkedid, sequence` if `newcdrcolumns=yes`: 16 to 21
columns (formats.CDR_CSV_LAYOUTS). With PBX_CDR_CSV_LAYOUT=auto (the default) each line is
placed by its own field count, so a file whose configuration changed midway reads line by
line; 17 and 20 columns are told apart by the shape of field 17 (a uniqueid is
`[systemname-]<epoch>.<counter>`, a userfield is anything else, usually empty).

Every parsed row has the 21 positions of formats.MASTER_CSV_COLUMNS, a column the layout lacks
being None; PostgreSQL casts and keys them (store.py), so the parser only checks what would make
those casts fail.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable

from ingestion.pbx.formats import AMAFLAGS, CDR_CSV_LAYOUTS, MASTER_CSV_COLUMNS
from ingestion.pbx.parsers import DATETIME_RE, Parsed, Reject, begin_block, no_gc, valid_datetime

_INDEX = {name: i for i, name in enumerate(MASTER_CSV_COLUMNS)}
_N = len(MASTER_CSV_COLUMNS)
_I_START, _I_AMA, _I_UNIQUEID = _INDEX["start"], _INDEX["amaflags"], _INDEX["uniqueid"]
_I_DURATION, _I_BILLSEC, _I_SEQUENCE = _INDEX["duration"], _INDEX["billsec"], _INDEX["sequence"]
_INT_FIELDS = ("duration", "billsec", "sequence")
_INT4_DIGITS = 9  # up to 999,999,999: always inside int4
_datetime_shape = DATETIME_RE.fullmatch
_AMA_FAST = frozenset(AMAFLAGS) | {"0", "1", "2", "3"}
# Asterisk's uniqueid: `<epoch>.<counter>`, prefixed by `<systemname>-` when systemname is set.
_uniqueid_shape = re.compile(r"(?:.+-)?\d{9,11}\.\d+").fullmatch

Row = list  # 21 positions: str, or None for a column the layout does not have

# layout -> places a row of that layout on the 21 positions (written out: this runs per line)
PLACE: dict[str, Callable[[list[str]], Row]] = {
    "16": lambda r: r + [None, None, None, None, None],
    "17u": lambda r: r + [None, None, None, None],
    "17f": lambda r: [*r[:16], None, r[16], None, None, None],
    "18": lambda r: r + [None, None, None],
    "19": lambda r: [*r[:16], None, None, r[16], r[17], r[18]],
    "20u": lambda r: [*r[:17], None, *r[17:]],
    "20f": lambda r: [*r[:16], None, *r[16:]],
    "21": lambda r: r,
}
LAYOUT_FIELDS = {name: 16 + len(extra) for name, extra in CDR_CSV_LAYOUTS.items()}


def detect_layout(row: list[str]) -> str | None:
    """The cdr_csv layout of one parsed line, or None when no layout has that many fields."""
    n = len(row)
    if n == 17:
        return "17u" if _uniqueid_shape(row[16]) else "17f"
    if n == 20:
        return "20u" if _uniqueid_shape(row[16]) else "20f"
    return {16: "16", 18: "18", 19: "19", 21: "21"}.get(n)


# field count -> placer, for PBX_CDR_CSV_LAYOUT=auto
_AUTO: dict[int, Callable[[list[str]], Row]] = {
    16: PLACE["16"],
    17: lambda r: PLACE["17u"](r) if _uniqueid_shape(r[16]) else PLACE["17f"](r),
    18: PLACE["18"],
    19: PLACE["19"],
    20: lambda r: PLACE["20u"](r) if _uniqueid_shape(r[16]) else PLACE["20f"](r),
    21: PLACE["21"],
}


def _small_int(value: str) -> bool:
    return value.isdigit() and value.isascii() and len(value) <= _INT4_DIGITS


def _row_ok(full: Row) -> bool:
    """Everything PostgreSQL's casts need: a real start time, small whole numbers, a known AMA flag."""
    uniqueid, sequence = full[_I_UNIQUEID], full[_I_SEQUENCE]
    return (uniqueid != "" and valid_datetime(full[_I_START])
            and _small_int(full[_I_DURATION]) and _small_int(full[_I_BILLSEC])
            and (sequence is None or _small_int(sequence))
            and (full[_I_AMA].upper() in AMAFLAGS or _small_int(full[_I_AMA])))


def _row_problem(full: Row) -> str:
    """Why a placed row cannot land (called only for rows _row_ok refused)."""
    start = full[_I_START]
    if not valid_datetime(start):
        return f"start {start[:40]!r} is not a 'YYYY-MM-DD HH:MM:SS' time"
    if full[_I_UNIQUEID] == "":
        return "empty uniqueid"
    for col in _INT_FIELDS:
        value = full[_INDEX[col]]
        if value is not None and not _small_int(value):
            return f"{col} {value[:40]!r} is not a whole number from 0 to 999999999"
    return f"amaflags {full[_I_AMA][:40]!r} is neither a small number nor an AMA flag name"


def _count_problem(n: int, layout: str) -> str:
    if layout == "auto":
        return (f"expected 16 to 21 Master.csv columns (cdr_csv writes 16 by default, more with loguniqueid, "
                f"loguserfield, newcdrcolumns), got {n}")
    return (f"expected {LAYOUT_FIELDS[layout]} Master.csv columns for PBX_CDR_CSV_LAYOUT={layout}, got {n}; "
            "PBX_CDR_CSV_LAYOUT=auto reads every layout line by line")


def parse_master_csv(block: bytes, *, name: str = "Master.csv", first_line: int = 1,
                     calldate_range: tuple[str, str] | None = None, layout: str = "auto") -> Parsed:
    """Parse and check cdr_csv lines of `layout` ('auto' or a formats.CDR_CSV_LAYOUTS name).

    `calldate_range` ('YYYY-MM-DD HH:MM:SS' strings in the CDR clock, start inclusive, end
    exclusive) filters a window. One csv reader runs over the whole block (the csv module's C
    loop is the fast part). A quoted field that never closes would make it swallow the following
    lines, so a row that spans several lines is re-parsed line by line and only the bad line is
    rejected.
    """
    if layout != "auto" and layout not in PLACE:
        raise ValueError(f"unknown cdr_csv layout {layout!r}; expected auto or one of {', '.join(PLACE)}")
    lines, raw_lines, out = begin_block(block, name, first_line)
    rows, rejects = out.rows, out.rejects
    append = rows.append
    auto = layout == "auto"
    fixed_n = LAYOUT_FIELDS.get(layout, 0)
    fixed_place = PLACE.get(layout)
    placers = _AUTO if auto else {fixed_n: fixed_place}
    native = auto or layout == "21"  # 21 fields need no placing

    def reject(i: int, reason: str) -> None:
        raw = raw_lines[i] if raw_lines is not None else lines[i].encode("utf-8")
        rejects.append(Reject(f"{name}:{first_line + i}", reason, raw))

    def take(i: int, row: list[str]) -> None:
        if not row or row == [""] or (row[0] == "accountcode" and len(row) > 1 and row[1] == "src"):
            return  # blank line, or a header some exporters add
        place = placers.get(len(row))
        if place is None:
            reject(i, _count_problem(len(row), layout))
            return
        full = place(row)
        if not _row_ok(full):
            reject(i, _row_problem(full))
        elif calldate_range is None or calldate_range[0] <= full[_I_START] < calldate_range[1]:
            append(full)

    base = 0
    with no_gc():
        while base < len(lines):
            reader = csv.reader(lines[base:] if base else lines)
            seen = 0
            try:
                for row in reader:
                    ln = reader.line_num
                    if ln - seen == 1:
                        # The common case, checked inline (function calls cost more than the checks);
                        # anything unusual takes the careful path, which gives the reason.
                        n = len(row)
                        if n == _N and native:
                            full = row
                        else:
                            place = placers.get(n)
                            full = place(row) if place is not None else None
                        if full is not None and calldate_range is None:
                            d, b, q, t = full[_I_DURATION], full[_I_BILLSEC], full[_I_SEQUENCE], full[_I_START]
                            digits = d + b if q is None else d + b + q
                            if (d and b and q != "" and len(d) <= _INT4_DIGITS and len(b) <= _INT4_DIGITS
                                    and (q is None or len(q) <= _INT4_DIGITS)
                                    and digits.isdigit() and digits.isascii()
                                    and full[_I_UNIQUEID] != "" and full[_I_AMA] in _AMA_FAST
                                    and _datetime_shape(t) and (t[8:10] <= "28" or valid_datetime(t))):
                                append(full)
                                seen = ln
                                continue
                        take(base + seen, row)
                    else:
                        for j in range(seen, ln):
                            try:
                                single = next(csv.reader([lines[base + j]], strict=True))
                            except (csv.Error, StopIteration) as exc:
                                reject(base + j, f"not CSV: {exc}")
                                continue
                            take(base + j, single)
                    seen = ln
                break
            except csv.Error as exc:  # e.g. a NUL byte: reject that line and go on after it
                bad = max(reader.line_num, seen + 1)
                for j in range(seen, bad):
                    reject(base + j, f"not CSV: {exc}")
                base += bad
    return out
