"""The queue_log file parser, and what both FreePBX text parsers share (cdr_csv.py has Master.csv's).

They turn a block of complete lines (bytes) into tuples ready for COPY plus a list of rejects,
and never raise on bad input: a malformed line becomes a `Reject` carrying its original bytes
so it can be inspected in raw.rejected_records while the lines around it land.

Speed matters (a year of history is re-parsed in minutes): the block is decoded once, split
with str methods, and rows are built as tuples, not dicts. Decoding falls back per line only
when the block is not valid UTF-8 (caller names from old phones arrive in cp1251 or latin-1).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from ingestion.pbx.formats import queue_log_row

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
def no_gc() -> Iterator[None]:
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


def reject_nul_lines(lines: list[str], raw_lines: list[bytes] | None, name: str, first_line: int,
                      rejects: list[Reject]) -> None:
    """PostgreSQL text cannot hold NUL: reject such lines up front and blank them out."""
    for i, line in enumerate(lines):
        if "\x00" in line:
            raw = raw_lines[i] if raw_lines is not None else line.encode("utf-8")
            rejects.append(Reject(f"{name}:{first_line + i}", "contains a NUL byte", raw))
            lines[i] = ""


def begin_block(block: bytes, name: str, first_line: int) -> tuple[list[str], list[bytes] | None, Parsed]:
    """The decoded lines of a block, its byte lines when it was not UTF-8, and an empty result
    holding the rejects of lines with a NUL byte (blanked out, so the parser skips them)."""
    lines, raw_lines = split_lines(block)
    out = Parsed(lines=len(lines))
    if b"\x00" in block:
        reject_nul_lines(lines, raw_lines, name, first_line, out.rejects)
    return lines, raw_lines, out


def parse_queue_log(block: bytes, *, name: str = "queue_log", first_line: int = 1,
                    epoch_range: tuple[int, int] | None = None) -> Parsed:
    """Parse `epoch|callid|queuename|agent|event|data1..data5` lines into queue_log COPY rows.

    Each row is the canonical line's ten fields (formats.QUEUE_LOG_COLUMNS, missing data fields
    as ''); PostgreSQL derives event_hash and event_at from them during the insert. A complete
    line is used as split, with no per-field work. `epoch_range` (inclusive start, exclusive
    end) keeps only events inside a re-landing window.
    """
    lines, raw_lines, out = begin_block(block, name, first_line)
    rows, rejects = out.rows, out.rejects
    append = rows.append
    with no_gc():
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
