"""The writer: one batch = one transaction of COPYs, rejected records and the new offsets.

A crash before the commit leaves nothing behind and the restart reads the same messages again;
a crash after it starts past them. Only this module's caller (the landing's main thread) writes,
whatever number of readers feed it, so exactly-once never depends on the readers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import psycopg

from ingestion.kafka.batch import Batch, Stream
from ingestion.kafka.broker import TP, LandingError
from ingestion.kafka.offsets import store_offsets
from ingestion.kafka.options import FaultHook, LandingResult
from pantao.db import libpq_params

log = logging.getLogger(__name__)

REJECTED_COPY = "copy raw.rejected_records (source, source_ref, reason, raw_bytes) from stdin"


def database_error(exc: psycopg.Error, database_url: str) -> LandingError:
    """A lost or unreachable database as one line: which database, what it said, what a rerun does."""
    p = libpq_params(database_url)
    said = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return LandingError(
        f"the database {p['dbname']} at {p['host']}:{p['port']} failed ({said}); nothing of the batch in "
        f"progress was committed. Once the database is up again (`pantao stack status`, or DATABASE_URL), "
        f"a rerun continues from the stored offsets")


class Writer:
    """Commits batches into raw.<stream>; keeps the tally in `result`."""

    def __init__(self, streams: Sequence[Stream], consumer_name: str, stored: set[TP], result: LandingResult,
                 fault_hook: FaultHook | None = None):
        self.streams = list(streams)
        self.consumer_name = consumer_name
        self.stored = stored  # partitions with a row in raw.kafka_offsets: updated, not inserted
        self.result = result
        self.fault_hook = fault_hook

    def _fault(self, point: str, batch: Batch) -> None:
        if self.fault_hook is not None:
            self.fault_hook(point, batch.number)

    def write(self, conn: psycopg.Connection, batch: Batch) -> None:
        batch.number = self.result.batches + 1
        with conn.transaction(), conn.cursor() as cur:
            self._fault("before_copy", batch)
            for s in self.streams:
                if not batch.counts[s.name]:
                    continue
                started = time.perf_counter()
                data = batch.rows[s.name]
                if not isinstance(data, bytes):
                    data = b"".join(data)
                with cur.copy(s.copy_sql) as copy:
                    copy.write(memoryview(data))  # psycopg sends big buffers in slices: views, not copies
                self.result.streams[s.name].seconds += time.perf_counter() - started
            if batch.rejected:
                with cur.copy(REJECTED_COPY) as copy:
                    for row in batch.rejected:
                        copy.write_row(row)
            store_offsets(cur, self.consumer_name, batch.starts, batch.nexts, self.stored)
            self._fault("after_copy", batch)
        self._fault("after_commit", batch)
        self.stored.update(batch.nexts)
        self._tally(batch)

    def _tally(self, batch: Batch) -> None:
        for s in self.streams:
            stats = self.result.streams[s.name]
            stats.landed += batch.counts[s.name]
            stats.rejected += batch.rejected_counts[s.name]
            stats.null_timestamps += batch.null_timestamps[s.name]
            if batch.counts[s.name] or batch.rejected_counts[s.name]:
                stats.batches += 1
            if batch.null_timestamps[s.name]:
                log.warning("%s: %d messages carried a Kafka timestamp outside the plausible window (a "
                            "producer's clock is wrong); their kafka_timestamp is stored as NULL",
                            s.name, batch.null_timestamps[s.name])
        self.result.batches += 1
        log.debug("batch %d committed: %s", batch.number, ", ".join(f"{k}={v}" for k, v in batch.counts.items()))
