"""Incremental reading of append-only PBX log files (queue_log, Master.csv) by byte position.

Asterisk appends to these files and logrotate moves them aside (`queue_log` → `queue_log.1`,
a new empty `queue_log`) or truncates them in place (copytruncate). A stored position is
(inode, byte offset, line number, fingerprint of the file's first bytes); on the next run:
- same inode, not shorter, same first bytes → continue at the offset;
- otherwise the file was rotated or truncated → finish the rotated `<name>.1` from the stored
  offset if it is there (found by inode, or by fingerprint after copytruncate), then start the
  new file at byte 0.
A last line without its newline is still being written: it is left for the next run (except
in a rotated file, which is complete by definition).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FINGERPRINT_BYTES = 1024
DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class FilePosition:
    """Where reading of one file stopped; stored as JSON in raw.pbx_watermarks."""

    path: str
    inode: int
    offset: int
    line: int  # number of the next line (1-based), for source_ref in rejects
    fingerprint: str  # sha256 of the first fp_len bytes
    fp_len: int

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> FilePosition | None:
        if not data:
            return None
        try:
            return cls(**{k: data[k] for k in ("path", "inode", "offset", "line", "fingerprint", "fp_len")})
        except KeyError:
            log.warning("stored file position %r is incomplete; reading from the start", data)
            return None


@dataclass(frozen=True)
class Block:
    """Complete lines read from one file, and the position to store once they have landed."""

    data: bytes
    name: str  # file name for source_ref, e.g. "queue_log.1"
    first_line: int
    next_position: FilePosition


def _fingerprint(head: bytes, length: int) -> str:
    return hashlib.sha256(head[:length]).hexdigest()


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(FINGERPRINT_BYTES)


def _matches(path: Path, pos: FilePosition) -> bool:
    if pos.fp_len == 0:
        return True
    head = _head(path)
    return len(head) >= pos.fp_len and _fingerprint(head, pos.fp_len) == pos.fingerprint


def _find_rotated(path: Path, pos: FilePosition) -> Path | None:
    rotated = path.with_name(path.name + ".1")
    if not rotated.is_file():
        return None
    st = rotated.stat()
    if st.st_ino == pos.inode and st.st_size >= pos.offset:
        return rotated
    if st.st_size >= pos.offset and pos.fp_len and _matches(rotated, pos):
        return rotated  # copytruncate: a copy with the same first bytes
    return None


def _read(path: Path, start: FilePosition, *, complete: bool, chunk_bytes: int,
          logical_path: str) -> Iterator[Block]:
    """Blocks of complete lines from `start.offset`; `complete` takes a final unterminated line too."""
    with open(path, "rb") as f:
        inode = os.fstat(f.fileno()).st_ino
        head = f.read(FINGERPRINT_BYTES)
        f.seek(start.offset)
        offset, line = start.offset, start.line
        carry = b""
        emitted = False

        def block(data: bytes) -> Block:
            end = offset + len(data)
            fp_len = min(end, FINGERPRINT_BYTES, len(head))
            return Block(data, path.name, line,
                         FilePosition(logical_path, inode, end, line + data.count(b"\n"),
                                      _fingerprint(head, fp_len), fp_len))

        while True:
            buf = f.read(chunk_bytes)
            if not buf:
                break
            buf = carry + buf
            cut = buf.rfind(b"\n")
            if cut == -1:
                carry = buf
                continue
            data, carry = buf[: cut + 1], buf[cut + 1 :]
            b = block(data)
            yield b
            emitted = True
            offset, line = b.next_position.offset, b.next_position.line
        if carry and complete:
            b = block(carry + b"\n")
            # The synthetic newline is not in the file: the position ends at the file's end.
            yield Block(b.data, b.name, b.first_line,
                        FilePosition(logical_path, inode, offset + len(carry), b.next_position.line,
                                     b.next_position.fingerprint, b.next_position.fp_len))
            emitted = True
        elif carry:
            log.info("%s: last line (%d bytes) has no newline yet; left for the next run", path, len(carry))
        if not emitted:
            yield block(b"")


def read_new_lines(path: Path, stored: FilePosition | None, *,
                   chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[Block]:
    """Yield the lines appended to `path` since `stored`, following a rotation if there was one."""
    logical = str(path)
    if stored is not None and stored.path != logical:
        log.info("PBX file path changed from %s to %s; reading the new file from the start", stored.path, path)
        stored = None
    current = path.stat() if path.is_file() else None

    if stored is not None and current is not None and current.st_ino == stored.inode \
            and current.st_size >= stored.offset and _matches(path, stored):
        yield from _read(path, stored, complete=False, chunk_bytes=chunk_bytes, logical_path=logical)
        return

    if stored is not None:
        rotated = _find_rotated(path, stored)
        if rotated is not None:
            log.info("%s was rotated; finishing %s from byte %d", path, rotated, stored.offset)
            yield from _read(rotated, stored, complete=True, chunk_bytes=chunk_bytes, logical_path=logical)
        elif stored.offset > 0:
            log.warning("%s was rotated or truncated and no %s.1 holds the rest after byte %d; "
                        "starting the new file at byte 0", path, path.name, stored.offset)
    if current is None:
        log.warning("PBX file %s does not exist; nothing to read", path)
        return
    yield from _read(path, FilePosition(logical, current.st_ino, 0, 1, "", 0), complete=False,
                     chunk_bytes=chunk_bytes, logical_path=logical)
