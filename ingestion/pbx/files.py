"""Incremental reading of rotated, append-only PBX log files (queue_log, Master.csv): each line once.

Asterisk appends to these files; they are moved aside by logrotate — renamed (`create`:
`queue_log` → `queue_log.1`, or `queue_log-20261130` with `dateext`), compressed later
(`queue_log.2.gz`), or copied and truncated in place (`copytruncate`) — or by Asterisk's own
rotation (`queue_log.0`, `queue_log.<epoch>`), possibly several times between two runs.

The stored position is a ledger (`Ledger`): for every file read that still exists, its inode, the
bytes and lines read, and a sha256 of its first KiB. Each run lists the live file and every file
beside it named like a rotation of it (`rotated_files`) and matches them to the ledger:
- a plain file with an entry's inode, at least that long and with the same first bytes
  continues at the entry's offset (a rename keeps the inode);
- otherwise a file with an entry's first bytes (a copytruncate copy, a compressed file, read
  decompressed) continues there too;
- a file with no entry was never read: it is read from byte 0.
Re-reading is harmless (the raw tables' natural keys skip landed lines); the ledger saves the
work and finds what can no longer be read: an entry whose file is gone while it could still have
had unread lines (it was the live file, or a rotated file not closed yet) is a `FileGap`. The
landing quarantines a record of each gap and fails the run, naming the file and what to do.

A last line without its newline is still being written: it waits for the next run. In a rotated
file it is complete once the file is closed: compressed, or a newer file has content (Asterisk
writes to the renamed file until it reopens its log, and only then to the new one).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import logging
import lzma
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

FINGERPRINT_BYTES = 1024
DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024
_OPENERS: dict[str, Callable[[Path], IO[bytes]]] = {
    ".gz": lambda p: gzip.open(p, "rb"), ".bz2": lambda p: bz2.open(p, "rb"), ".xz": lambda p: lzma.open(p, "rb"),
}
# What orders files by age: the first record's time (a queue_log epoch or a Master.csv time).
_FIRST_EPOCH = re.compile(rb"(\d{9,11})\|")
_FIRST_TIME = re.compile(rb"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


@dataclass(frozen=True)
class FileState:
    """How far one file was read; an entry of the ledger stored in raw.pbx_watermarks."""

    name: str  # the file's name when read, e.g. "queue_log.1"
    inode: int
    offset: int  # bytes read (of the decompressed content for a compressed file)
    line: int  # number of the next line (1-based), for source_ref in rejects
    fingerprint: str  # sha256 of the first fp_len bytes
    fp_len: int
    live: bool  # it was the live file (still written to) when read
    closed: bool  # read to its end, and no line can be added to it any more
    read_at: str = ""


@dataclass(frozen=True)
class Ledger:
    """Where reading stopped in every file of one log (the live file and its rotations)."""

    path: str
    files: tuple[FileState, ...] = ()

    def to_json(self) -> dict:
        return {"path": self.path, "files": [asdict(f) for f in self.files]}

    @classmethod
    def from_json(cls, data: dict | None) -> Ledger | None:
        if not data:
            return None
        try:
            if "files" in data:
                return cls(data["path"], tuple(FileState(**f) for f in data["files"]))
            # A position stored before rotations were followed: one live file.
            return cls(data["path"], (FileState(Path(data["path"]).name, data["inode"], data["offset"], data["line"],
                                                data["fingerprint"], data["fp_len"], live=True, closed=False),))
        except (KeyError, TypeError) as exc:
            log.warning("stored file position %r is not readable (%s); reading every file from the start", data, exc)
            return None


@dataclass(frozen=True)
class FileGap:
    """Lines of a file that can no longer be read: it is gone, and it may have had lines after `offset`."""

    path: str  # the live file's path
    state: FileState

    @property
    def source_ref(self) -> str:
        return f"{self.state.name}@inode{self.state.inode}:{self.state.offset}"

    def describe(self) -> str:
        s, live = self.state, Path(self.path)
        return (f"lines after line {s.line - 1} (byte {s.offset}) of {s.name} (inode {s.inode}, read at "
                f"{s.read_at or 'an earlier run'}) can no longer be read: no file beside {live} holds them "
                "(rotated away and deleted, or truncated without a copy). If a copy exists (a backup, the "
                f"PBX's archive), put it beside {live.name} under a rotated name ({live.name}.1, "
                f"{live.name}-YYYYMMDD, optionally .gz) and run `pantao ingest pbx` again: lines already landed "
                "are skipped. In db mode `pantao ingest pbx --source db --since <date>` re-lands the span "
                "from the PBX's database")


@dataclass(frozen=True)
class Block:
    """Complete lines read from one file, and the ledger to store once they have landed (None
    when re-reading a window, which must not move the position)."""

    data: bytes
    name: str  # file name for source_ref, e.g. "queue_log.1"
    first_line: int
    ledger: Ledger | None


@dataclass
class _Candidate:
    path: Path
    live: bool
    opener: Callable[[Path], IO[bytes]] | None  # None for a plain file
    inode: int
    size: int | None  # plain files only; a compressed file's content size is known once read
    head: bytes
    order: tuple
    start: FileState | None = None  # the ledger entry it continues, if any

    @property
    def compressed(self) -> bool:
        return self.opener is not None


@dataclass
class Scan:
    """The files of one log in age order, each matched to where it was left, and the gaps found."""

    path: Path
    candidates: list[_Candidate] = field(default_factory=list)
    gaps: list[FileGap] = field(default_factory=list)


def rotated_files(path: Path) -> list[Path]:
    """Files beside `path` named like rotations of it: `<name>.<n>`, `<name>-<date>`, `<name>.<epoch>`,
    each optionally compressed (.gz, .bz2, .xz)."""
    pattern = re.compile(re.escape(path.name) + r"[.-]\d[\w.:-]*")
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return []
    return [p for p in entries if p.is_file() and pattern.fullmatch(p.name)]


def _fingerprint(head: bytes, length: int) -> str:
    return hashlib.sha256(head[:length]).hexdigest()


def _order(head: bytes, mtime: float, name: str) -> tuple:
    found = _FIRST_EPOCH.match(head)
    if found:
        return (0, f"{int(found.group(1)):012d}", mtime, name)
    found = _FIRST_TIME.search(head[:FINGERPRINT_BYTES])
    if found:
        return (0, found.group().decode(), mtime, name)
    return (1, "", mtime, name)


def _candidate(path: Path, live: bool) -> _Candidate | None:
    opener = _OPENERS.get(path.suffix)
    try:
        st = path.stat()
        with (opener(path) if opener else open(path, "rb")) as f:
            head = f.read(FINGERPRINT_BYTES)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        log.warning("cannot read %s (%s); it is left out of this run", path, exc)
        return None
    return _Candidate(path, live, opener, st.st_ino, None if opener else st.st_size, head,
                      (2,) if live else _order(head, st.st_mtime, path.name))


def _matches_head(c: _Candidate, s: FileState) -> bool:
    return s.fp_len == 0 or (len(c.head) >= s.fp_len and _fingerprint(c.head, s.fp_len) == s.fingerprint)


def scan(path: Path, stored: Ledger | None) -> Scan:
    """List the live file and its rotations, oldest first, and match them to the stored ledger."""
    result = Scan(path)
    if stored is not None and stored.path != str(path):
        log.info("PBX file path changed from %s to %s; reading the new files from the start", stored.path, path)
        stored = None
    found = [_candidate(p, live=False) for p in rotated_files(path)]
    if path.is_file():
        found.append(_candidate(path, live=True))
    candidates = sorted((c for c in found if c is not None), key=lambda c: c.order)
    entries = list(stored.files) if stored else []
    # Same inode, not shorter, same first bytes: the file itself (renamed or not).
    for c in candidates:
        for s in entries:
            if not c.compressed and c.inode == s.inode and c.size >= s.offset and _matches_head(c, s):
                c.start = s
                entries.remove(s)
                break
    # Same first bytes, not shorter: a copy (copytruncate) or a compressed rotation of it.
    for c in candidates:
        if c.start is not None:
            continue
        for s in entries:
            if s.fp_len and _matches_head(c, s) and (c.size is None or c.size >= s.offset):
                c.start = s
                entries.remove(s)
                break
    result.candidates = candidates
    for s in entries:
        if s.closed or (s.fp_len == 0 and s.offset == 0):
            continue  # read to its end and closed, or nothing was ever read from it
        result.gaps.append(FileGap(str(path), s))
    return result


def _closed(candidates: list[_Candidate], i: int) -> bool:
    """A rotated file is closed when compressed or when a newer file has content."""
    c = candidates[i]
    if c.live:
        return False
    return c.compressed or any((n.size if n.size is not None else len(n.head)) > 0 for n in candidates[i + 1:])


def _read(c: _Candidate, start: FileState | None, *, closed: bool, chunk_bytes: int,
          emit: Callable[[FileState], Ledger | None]) -> Iterator[Block]:
    """Blocks of complete lines of one file from `start` (or byte 0); a closed file's last line too."""
    offset, line = (start.offset, start.line) if start else (0, 1)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with (c.opener(c.path) if c.opener else open(c.path, "rb")) as f:
        inode = os.fstat(f.fileno()).st_ino if not c.compressed else c.inode
        head = c.head
        if offset:
            if c.compressed:
                skipped = 0
                while skipped < offset and (chunk := f.read(min(chunk_bytes, offset - skipped))):
                    skipped += len(chunk)
            else:
                f.seek(offset)

        def state(end: int, next_line: int, done: bool) -> FileState:
            fp_len = min(end, FINGERPRINT_BYTES, len(head))
            return FileState(c.path.name, inode, end, next_line, _fingerprint(head, fp_len), fp_len, c.live, done, now)

        carry = b""
        while True:
            try:
                buf = f.read(chunk_bytes)
            except (EOFError, OSError, lzma.LZMAError) as exc:  # e.g. a .gz logrotate is still writing
                log.warning("%s: stopped reading at byte %d (%s); the rest is read on a later run", c.path, offset, exc)
                closed = False
                break
            if not buf:
                break
            buf = carry + buf
            cut = buf.rfind(b"\n")
            if cut == -1:
                carry = buf
                continue
            data, carry = buf[: cut + 1], buf[cut + 1:]
            first = line
            offset, line = offset + len(data), line + data.count(b"\n")
            yield Block(data, c.path.name, first, emit(state(offset, line, False)))
        if carry and closed:
            first = line
            offset, line = offset + len(carry), line + 1
            # The newline is ours, not the file's: the position ends at the file's end.
            yield Block(carry + b"\n", c.path.name, first, emit(state(offset, line, True)))
        else:
            if carry:
                log.info("%s: last line (%d bytes) has no newline yet; left for the next run", c.path, len(carry))
            emit(state(offset, line, closed and not carry))


def read_new_lines(path: Path, stored: Ledger | None, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
                   whole: bool = False, found: Scan | None = None) -> Iterator[Block]:
    """Yield the lines added to the log at `path` and its rotations since `stored`.

    The last block carries the ledger to store (an empty block when nothing was new). `whole`
    re-reads every file from byte 0 and moves no position (re-landing a window).
    """
    found = found or scan(path, None if whole else stored)
    candidates = found.candidates
    states: dict[int, FileState] = {i: c.start for i, c in enumerate(candidates) if c.start and not whole}

    def ledger_with(i: int) -> Callable[[FileState], Ledger | None]:
        def emit(s: FileState) -> Ledger | None:
            states[i] = s
            return None if whole else Ledger(str(path), tuple(states[k] for k in sorted(states)))
        return emit

    for i, c in enumerate(candidates):
        start = None if whole else c.start
        closed = _closed(candidates, i)
        if start is not None and (c.compressed and start.closed or not c.compressed and c.size == start.offset):
            # Nothing new: a compressed file read to its end, or a file no longer than what was read.
            states[i] = replace(start, name=c.path.name, live=c.live, closed=start.closed or closed)
            continue
        if start is None and c.live is False:
            log.info("%s: reading rotated file %s from the start", path.name, c.path.name)
        elif start is not None and not c.live:
            log.info("%s was rotated; continuing %s at byte %d", path.name, c.path.name, start.offset)
        yield from _read(c, start, closed=closed, chunk_bytes=chunk_bytes, emit=ledger_with(i))
    if not candidates:
        log.warning("PBX file %s does not exist (nor any rotation of it); nothing to read", path)
    final = None if whole else Ledger(str(path), tuple(states[k] for k in sorted(states)))
    yield Block(b"", path.name, 0, final)
