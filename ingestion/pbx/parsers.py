"""Parsers for the two FreePBX text formats: the `queue_log` file and cdr_csv's `Master.csv`.

They turn a block of complete lines (bytes) into tuples ready for COPY plus a list of rejects,
and never raise on bad input: a malformed line becomes a `Reject` carrying its original bytes
so it can be inspected in raw.rejected_records while the lines around it land.

Speed matters (a year of history is re-parsed in minutes): the block is decoded once, split
with str methods, and rows are built as tuples, not dicts. Decoding falls back per line only
when the block is not valid UTF-8 (caller names from old phones arrive in cp1251 or latin-1).
"""

from __future__ import annotations

import csv
import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from ingestion.pbx.formats import AMAFLAGS, MASTER_CSV_COLUMNS, queue_log_row

_FALLBACK_ENCODINGS = ("cp1251", "latin-1")
# A wall-clock time PostgreSQL accepts as `timestamp`; day 29-31 is checked against the month.
DATETIME_RE = re.compile(r"[12]\d{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]) (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d")
_MAX_EPOCH_DIGITS = 11  # beyond year 5000: a corrupt line, not an event


def valid_datetime(value: str) -> bool:
    """True for 'YYYY-MM-DD HH:MM:SS' that is a real calendar time (so the COPY cannot fail on it)."""
    if not DATETIME_RE.fullmatch(value):
        return False
    if value[8:10] <= "28":
        return True
    try:
        datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return False
    return True


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a block is parsed.

    Parsing allocates a list or tuple per line; CPython's collector would rescan them over and
    over as they accumulate (it counts allocations, not garbage), which costs up to half the
    parse time. The rows hold only strings and ints, so they cannot form cycles to collect.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass(frozen=True)
class Reject:
    """One line that could not be parsed: where it was, why, and its bytes as read."""

    source_ref: str
    reason: str
    raw_bytes: bytes


@dataclass
class Parsed:
    """Rows ready for COPY and the rejects of one block of lines."""

    rows: list[tuple] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    lines: int = 0


# Lines are parsed this many bytes at a time and their rows streamed into COPY: the rows of a
# small piece stay in the CPU cache, which measured ~1.5x faster than parsing 4 MiB at once.
PARSE_BYTES = 64 * 1024


def iter_pieces(block: bytes, first_line: int = 1, size: int = PARSE_BYTES) -> Iterator[tuple[int, bytes]]:
    """Split a block of complete lines into (first line number, ~size bytes of whole lines)."""
    pos, line, total = 0, first_line, len(block)
    while pos < total:
        end = block.rfind(b"\n", pos, pos + size) + 1 if pos + size < total else total
        if end <= pos:  # one line longer than size
            end = block.find(b"\n", pos) + 1 or total
        piece = block[pos:end]
        yield line, piece
        line += piece.count(b"\n")
        pos = end


def decode_line(raw: bytes) -> str:
    """UTF-8, else cp1251 (Cyrillic caller names), else latin-1, which never fails."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        for encoding in _FALLBACK_ENCODINGS:
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
    raise AssertionError("latin-1 decodes every byte string")  # pragma: no cover


def split_lines(block: bytes) -> tuple[list[str], list[bytes] | None]:
    """Decode a block of complete lines; also return the byte lines when the block was not UTF-8.

    The byte lines are needed only for rejects; for a UTF-8 block they are re-encoded on demand.
    A trailing newline yields no extra empty line.
    """
    if block.endswith(b"\n"):
        block = block[:-1]
    if not block:
        return [], None
    try:
        return block.decode("utf-8").split("\n"), None
    except UnicodeDecodeError:
        raw_lines = block.split(b"\n")
        return [decode_line(b) for b in raw_lines], raw_lines


def _reject_nul_lines(lines: list[str], raw_lines: list[bytes] | None, name: str, first_line: int,
                      rejects: list[Reject]) -> None:
    """PostgreSQL text cannot hold NUL: reject such lines up front and blank them out."""
    for i, line in enumerate(lines):
        if "\x00" in line:
            raw = raw_lines[i] if raw_lines is not None else line.encode("utf-8")
            rejects.append(Reject(f"{name}:{first_line + i}", "contains a NUL byte", raw))
            lines[i] = ""


def parse_queue_log(block: bytes, *, name: str = "queue_log", first_line: int = 1,
                    epoch_range: tuple[int, int] | None = None) -> Parsed:
    """Parse `epoch|callid|queuename|agent|event|data1..data5` lines into queue_log COPY rows.

    Each row is the canonical line's ten fields (formats.QUEUE_LOG_COLUMNS, missing data fields
    as ''); PostgreSQL derives event_hash and event_at from them during the insert. A complete
    line is used as split, with no per-field work. `epoch_range` (inclusive start, exclusive
    end) keeps only events inside a re-landing window.
    """
    lines, raw_lines = split_lines(block)
    out = Parsed(lines=len(lines))
    rows, rejects = out.rows, out.rejects
    append = rows.append
    if b"\x00" in block:
        _reject_nul_lines(lines, raw_lines, name, first_line, rejects)
    with _no_gc():
        for i, line in enumerate(lines):
            if line and line[-1] == "\r":
                line = line[:-1]
            parts = line.split("|")
            n = len(parts)
            p0 = parts[0]
            if n == 10 and p0.isdigit() and parts[4] and len(p0) <= _MAX_EPOCH_DIGITS and p0.isascii():
                if epoch_range is None or epoch_range[0] <= int(parts[0]) < epoch_range[1]:
                    append(parts)
                continue
            if not line:
                continue
            if n < 5:
                reason = f"expected epoch|callid|queuename|agent|event|data1..data5, got {n} field(s)"
            elif not (p0.isdigit() and p0.isascii() and len(p0) <= _MAX_EPOCH_DIGITS):
                reason = f"epoch {p0[:40]!r} is not whole UTC seconds"
            elif not parts[4]:
                reason = "empty event name"
            else:
                if epoch_range is None or epoch_range[0] <= int(parts[0]) < epoch_range[1]:
                    append(queue_log_row(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5:]))
                continue
            raw = raw_lines[i] if raw_lines is not None else lines[i].encode("utf-8")
            rejects.append(Reject(f"{name}:{first_line + i}", reason, raw))
    return out


# Master.csv column positions. Rows go to COPY as the csv module returns them (21 strings in
# Master.csv order): PostgreSQL casts and maps them to raw.pbx_cdr (store.MASTER_CSV_INSERT),
# so the parser only checks what would make that cast fail.
_CSV_INDEX = {name: i for i, name in enumerate(MASTER_CSV_COLUMNS)}
_N_CSV = len(MASTER_CSV_COLUMNS)
_I_START, _I_AMA = _CSV_INDEX["start"], _CSV_INDEX["amaflags"]
_I_UNIQUEID = _CSV_INDEX["uniqueid"]
_I_DURATION, _I_BILLSEC, _I_SEQUENCE = _CSV_INDEX["duration"], _CSV_INDEX["billsec"], _CSV_INDEX["sequence"]
_INT_FIELDS = ("duration", "billsec", "sequence")
_INT4_DIGITS = 9  # up to 999,999,999: always inside int4
_start_ok = valid_datetime
_datetime_shape = DATETIME_RE.fullmatch
_AMA_FAST = frozenset(AMAFLAGS) | {"0", "1", "2", "3"}


def _small_int(value: str) -> bool:
    return value.isdigit() and value.isascii() and len(value) <= _INT4_DIGITS


def _row_ok(row: list[str]) -> bool:
    """Everything PostgreSQL's casts need: 21 fields, a real start time, small whole numbers."""
    return (len(row) == _N_CSV and bool(row[_I_UNIQUEID]) and _start_ok(row[_I_START])
            and _small_int(row[_I_DURATION]) and _small_int(row[_I_BILLSEC]) and _small_int(row[_I_SEQUENCE])
            and (row[_I_AMA].upper() in AMAFLAGS or _small_int(row[_I_AMA])))


def _csv_row_problem(row: list[str]) -> str:
    """Why a Master.csv row cannot land (called only for rows _row_ok refused)."""
    if len(row) != _N_CSV:
        return f"expected {_N_CSV} Master.csv columns ({', '.join(MASTER_CSV_COLUMNS[:3])}, …), got {len(row)}"
    start = row[_I_START]
    if not _start_ok(start):
        return f"start {start[:40]!r} is not a 'YYYY-MM-DD HH:MM:SS' time"
    if not row[_I_UNIQUEID]:
        return "empty uniqueid"
    for col in _INT_FIELDS:
        value = row[_CSV_INDEX[col]]
        if not _small_int(value):
            return f"{col} {value[:40]!r} is not a whole number from 0 to 999999999"
    return f"amaflags {row[_I_AMA][:40]!r} is neither a small number nor an AMA flag name"


def parse_master_csv(block: bytes, *, name: str = "Master.csv", first_line: int = 1,
                     calldate_range: tuple[str, str] | None = None) -> Parsed:
    """Parse and check cdr_csv lines; rows are the 21 fields in Master.csv order, ready for COPY.

    `calldate_range` (local 'YYYY-MM-DD HH:MM:SS' strings, start inclusive, end exclusive)
    filters a window. One csv reader runs over the whole block (the csv module's C loop is the
    fast part). A quoted field that never closes would make it swallow the following lines, so
    a row that spans several lines is re-parsed line by line and only the bad line is rejected.
    """
    lines, raw_lines = split_lines(block)
    out = Parsed(lines=len(lines))
    rows, rejects = out.rows, out.rejects
    append = rows.append
    if b"\x00" in block:
        _reject_nul_lines(lines, raw_lines, name, first_line, rejects)

    def reject(i: int, reason: str) -> None:
        raw = raw_lines[i] if raw_lines is not None else lines[i].encode("utf-8")
        rejects.append(Reject(f"{name}:{first_line + i}", reason, raw))

    def take(i: int, row: list[str]) -> None:
        if not row or row == [""] or (row[0] == "accountcode" and len(row) > 1 and row[1] == "src"):
            return  # blank line, or a header some exporters add
        if not _row_ok(row):
            reject(i, _csv_row_problem(row))
        elif calldate_range is None or calldate_range[0] <= row[_I_START] < calldate_range[1]:
            append(row)

    base = 0
    with _no_gc():
        while base < len(lines):
            reader = csv.reader(lines[base:] if base else lines)
            seen = 0
            try:
                for row in reader:
                    ln = reader.line_num
                    if ln - seen == 1:
                        # The common case, checked inline (function calls cost more than the checks);
                        # anything unusual takes the careful path, which gives the reason.
                        if len(row) == _N_CSV and calldate_range is None:
                            d, b, q, t = row[_I_DURATION], row[_I_BILLSEC], row[_I_SEQUENCE], row[_I_START]
                            digits = d + b + q
                            if (d and b and q and len(d) <= _INT4_DIGITS and len(b) <= _INT4_DIGITS
                                    and len(q) <= _INT4_DIGITS and digits.isdigit() and digits.isascii()
                                    and row[_I_UNIQUEID] and row[_I_AMA] in _AMA_FAST
                                    and _datetime_shape(t) and (t[8:10] <= "28" or valid_datetime(t))):
                                append(row)
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
