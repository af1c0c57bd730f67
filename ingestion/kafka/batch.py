"""What passes from a reader to the writer: batches of binary COPY rows with their offsets."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ingestion.contract import EventTimeWindow, make_validator
from ingestion.kafka.broker import TP, LandingError
from ingestion.kafka.copy_rows import HEADER, TRAILER
from ingestion.schema import KAFKA_COPY_COLUMNS, KAFKA_STREAMS
from pantao.settings import Settings


@dataclass
class Stream:
    name: str
    topic: str
    validate: Callable[[bytes | None], str | None]
    copy_sql: str


def streams_of(settings: Settings, names: Iterable[str], window: EventTimeWindow | None = None) -> list[Stream]:
    """The streams to land, each with its topic, its validator (sharing `window`) and its COPY."""
    result = []
    for name in names:
        if name not in KAFKA_STREAMS:
            raise LandingError(f"unknown stream {name!r}; expected one of {', '.join(KAFKA_STREAMS)}")
        copy_sql = f"copy raw.{name} ({', '.join(KAFKA_COPY_COLUMNS)}) from stdin (format binary)"
        result.append(Stream(name, settings.topics[name], make_validator(name, window=window), copy_sql))
    return result


@dataclass
class Batch:
    number: int = 0
    # binary COPY data per stream: while filling, a list of pieces (header, then five per row);
    # once sealed, one bytes object
    rows: dict[str, list[bytes] | bytes] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    rejected: list[tuple[str, str, str, bytes | None]] = field(default_factory=list)
    rejected_counts: dict[str, int] = field(default_factory=dict)
    null_timestamps: dict[str, int] = field(default_factory=dict)  # Kafka timestamps outside the window
    starts: dict[TP, int] = field(default_factory=dict)  # offset stored before this batch
    nexts: dict[TP, int] = field(default_factory=dict)  # offset to store with this batch
    size: int = 0

    @classmethod
    def empty(cls, names: Iterable[str]) -> Batch:
        names = list(names)
        return cls(rows={name: [HEADER] for name in names}, counts=dict.fromkeys(names, 0),
                   rejected_counts=dict.fromkeys(names, 0), null_timestamps=dict.fromkeys(names, 0))

    def seal(self, join: bool) -> Batch:
        """End each stream's COPY data; `join`: make each one bytes object (to pickle it for another process).

        Pieces joined once cost less than a growing buffer: a bytearray appended to while the
        consumer allocates messages cannot grow in place and copies itself over and over. In a
        reader thread the writer joins them: `bytes.join` releases the GIL while it copies
        megabytes, so the copy runs on the other core instead of in the reader's time.
        """
        for pieces in self.rows.values():
            pieces.append(TRAILER)
        if join:
            self.rows = {name: b"".join(pieces) for name, pieces in self.rows.items()}
        return self


@dataclass
class Done:
    """A reader has nothing more to hand over; with the CPU time it spent (a tuning hint)."""

    reader_cpu_seconds: float = 0.0


def key_problem(key: bytes) -> str | None:
    """Why a message key cannot land in `kafka_key text`, or None."""
    try:
        key.decode("utf-8")
    except UnicodeDecodeError:
        return "message key is not UTF-8"
    if key.find(b"\x00") != -1:
        return "message key contains a NUL byte"
    return None
