"""What a landing run is asked to do (`LandingOptions`) and what it reports (`LandingResult`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from ingestion.kafka.broker import LandingError

DEFAULT_BATCH_SIZE = 25_000
METADATA_REFRESH_SECONDS = 10.0
RESET_CHOICES = ("earliest",)

FaultHook = Callable[[str, int], None]  # (point, batch number); used by the crash-injection tests


@dataclass(frozen=True)
class LandingOptions:
    """How to land: batch or follow, which share of the partitions, how to read, where to crash.

    follow: keep landing until `stop_event` is set (default: drain to the end offsets seen at start).
    worker_index / worker_count: this worker lands the partitions with partition % count == index.
    reset_offsets_to: "earliest" first moves this worker's stored offsets to each partition's first
        available offset (the remedy after a broker lost its data; it is logged).
    reader_processes: how many processes read in batch mode (0: a thread of this process; default:
        a thread, or one process per core but one when a big backlog is due).
    fault_hook: called at named points of every batch (tests crash the process there).
    """

    follow: bool = False
    worker_index: int = 0
    worker_count: int = 1
    stop_event: threading.Event | None = None
    reset_offsets_to: str | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    fault_hook: FaultHook | None = None
    metadata_refresh_seconds: float = METADATA_REFRESH_SECONDS
    reader_processes: int | None = None

    def check(self) -> None:
        """Raise LandingError naming the option that cannot work."""
        if self.worker_count < 1 or not 0 <= self.worker_index < self.worker_count:
            raise LandingError(f"worker index {self.worker_index} of {self.worker_count} is not valid; "
                               f"expected 0 <= --worker-index < --worker-count")
        if self.reset_offsets_to is not None and self.reset_offsets_to not in RESET_CHOICES:
            raise LandingError(f"--reset-offsets-to {self.reset_offsets_to!r} is not supported; use earliest")
        if self.batch_size < 1:
            raise LandingError(f"batch size must be at least 1, got {self.batch_size}")


@dataclass
class StreamStats:
    """Per stream: records landed and rejected, batches that carried them, seconds spent in COPY,
    and messages whose Kafka timestamp was outside the plausible window (stored as NULL)."""

    landed: int = 0
    rejected: int = 0
    batches: int = 0
    seconds: float = 0.0
    null_timestamps: int = 0


@dataclass
class LandingResult:
    streams: dict[str, StreamStats] = field(default_factory=dict)
    seconds: float = 0.0  # wall clock of the whole run
    batches: int = 0
    # Which side of the pipeline waited for the other: a tuning hint (database- or reader-bound).
    writer_idle_seconds: float = 0.0
    reader_blocked_seconds: float = 0.0
    reader_processes: int = 0  # 0: read in a thread of the landing process
    reader_cpu_seconds: float = 0.0  # CPU the reader thread(s) spent consuming, validating, encoding

    @property
    def landed(self) -> int:
        return sum(s.landed for s in self.streams.values())

    @property
    def rejected(self) -> int:
        return sum(s.rejected for s in self.streams.values())

    @property
    def null_timestamps(self) -> int:
        return sum(s.null_timestamps for s in self.streams.values())


class PartitionLag(NamedTuple):
    stream: str
    topic: str
    partition: int
    stored_offset: int | None  # None: never landed
    high_watermark: int
