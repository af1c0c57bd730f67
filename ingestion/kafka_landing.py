"""Kafka -> PostgreSQL landing, exactly once: rows and the offsets they came from commit together.

How it works
- Partitions are assigned explicitly (no consumer group): worker `i` of `n` owns the partitions
  with `partition % n == i`. Each starts at the offset stored in `raw.kafka_offsets`.
- A reader thread consumes in bulk, validates each message and encodes it as a binary COPY row,
  filling a batch while the main thread COPYs the previous one (a queue of two batches keeps
  memory flat); a big backlog in batch mode is read by reader processes instead. One batch is
  one transaction: COPY into each `raw.<stream>`, the rejected records, and the new offsets. A
  crash before the commit loses the whole transaction, and the restart reads the same messages
  again; a crash after it starts past them.
- The offset update checks the offset it expects to replace, so two processes landing the
  same partition (a misconfigured worker split) fail loudly instead of landing twice.
- Batch mode drains to the end offsets seen at start and stops (what Dagster runs); follow
  mode keeps reading, picks up new partitions from metadata refreshes and stops cleanly when
  `stop_event` is set, after committing what it has read.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import psycopg
from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaError, TopicPartition

from ingestion.copy_rows import (
    HEADER,
    POSTGRES_EPOCH_MILLIS,
    TRAILER,
    kafka_row_prefix,
    pack_int8_then_length,
    pack_null_then_length,
)
from ingestion.kafka_broker import (
    TP,
    LandingError,
    consumer_config,
    fetch_metadata,
    topic_partitions,
    watermarks,
    worker_partitions,
)
from ingestion.schema import KAFKA_COPY_COLUMNS, KAFKA_STREAMS
from ingestion.validation import make_validator
from pantao.db import connect
from pantao.settings import Settings

__all__ = ["LandingError", "LandingResult", "StreamStats", "PartitionLag", "land_topics", "stream_lag"]

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 25_000
CONSUME_CHUNK = 10_000
FOLLOW_FLUSH_SECONDS = 1.0  # follow mode commits what it has at least this often
METADATA_REFRESH_SECONDS = 10.0
STALL_SECONDS = 60.0  # batch mode: no progress for this long while records are due -> error
RESET_CHOICES = ("earliest",)
PROCESS_READERS_FROM = 100_000  # records due in a batch run before reader processes pay off
MAX_READER_PROCESSES = 4

FaultHook = Callable[[str, int], None]  # (point, batch number); used by the crash-injection tests


@dataclass
class StreamStats:
    """Per stream: records landed and rejected, batches that carried them, seconds spent in COPY."""

    landed: int = 0
    rejected: int = 0
    batches: int = 0
    seconds: float = 0.0


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


class PartitionLag(NamedTuple):
    stream: str
    topic: str
    partition: int
    stored_offset: int | None  # None: never landed
    high_watermark: int


@dataclass
class _Stream:
    name: str
    topic: str
    validate: Callable[[bytes | None], str | None]
    copy_sql: str


@dataclass
class _Batch:
    number: int = 0
    # binary COPY data per stream: while filling, a list of pieces (header, then five per row);
    # once sealed, one bytes object
    rows: dict[str, list[bytes] | bytes] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    rejected: list[tuple[str, str, str, bytes | None]] = field(default_factory=list)
    rejected_counts: dict[str, int] = field(default_factory=dict)
    starts: dict[TP, int] = field(default_factory=dict)  # offset stored before this batch
    nexts: dict[TP, int] = field(default_factory=dict)  # offset to store with this batch
    size: int = 0

    def seal(self, join: bool) -> _Batch:
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
class _Done:
    """A reader has nothing more to hand over; with the CPU time it spent (a tuning hint)."""

    reader_cpu_seconds: float = 0.0


def _key_problem(key: bytes) -> str | None:
    """Why a message key cannot land in `kafka_key text`, or None."""
    try:
        key.decode("utf-8")
    except UnicodeDecodeError:
        return "message key is not UTF-8"
    if key.find(b"\x00") != -1:
        return "message key contains a NUL byte"
    return None


def _check_worker(worker_index: int, worker_count: int) -> None:
    if worker_count < 1 or not 0 <= worker_index < worker_count:
        raise LandingError(f"worker index {worker_index} of {worker_count} is not valid; "
                           f"expected 0 <= --worker-index < --worker-count")


def _streams(settings: Settings, names: Iterable[str]) -> list[_Stream]:
    result = []
    for name in names:
        if name not in KAFKA_STREAMS:
            raise LandingError(f"unknown stream {name!r}; expected one of {', '.join(KAFKA_STREAMS)}")
        copy_sql = f"copy raw.{name} ({', '.join(KAFKA_COPY_COLUMNS)}) from stdin (format binary)"
        result.append(_Stream(name, settings.topics[name], make_validator(name), copy_sql))
    return result


def _load_offsets(conn: psycopg.Connection, consumer_name: str, topics: Sequence[str]) -> dict[TP, int]:
    rows = conn.execute(
        "select topic, partition, next_offset from raw.kafka_offsets where consumer = %s and topic = any(%s)",
        (consumer_name, list(topics)),
    ).fetchall()
    return {(t, p): n for t, p, n in rows}


def _check_raw_tables(conn: psycopg.Connection, streams: Sequence[_Stream]) -> None:
    needed = ["raw.kafka_offsets", "raw.rejected_records", *(f"raw.{s.name}" for s in streams)]
    missing = [name for name in needed
               if conn.execute("select to_regclass(%s)", (name,)).fetchone()[0] is None]
    if missing:
        raise LandingError(f"the raw tables {', '.join(missing)} do not exist in the database; "
                           f"run `pantao prepare` first")


class _Landing:
    """One landing run. Not reusable: build one per call of `land_topics`."""

    def __init__(self, settings: Settings, database_url: str, bootstrap: str, streams: Sequence[_Stream], *,
                 follow: bool, worker_index: int, worker_count: int, stop_event: threading.Event | None,
                 reset_offsets_to: str | None, batch_size: int, fault_hook: FaultHook | None,
                 metadata_refresh_seconds: float, reader_count: int | None = None):
        self.settings = settings
        self.database_url = database_url
        self.bootstrap = bootstrap
        self.streams = list(streams)
        self.by_topic = {s.topic: s for s in self.streams}
        self.follow = follow
        self.worker_index = worker_index
        self.worker_count = worker_count
        self.stop_event = stop_event or threading.Event()
        self.reset_offsets_to = reset_offsets_to
        self.batch_size = batch_size
        self.fault_hook = fault_hook
        self.metadata_refresh_seconds = metadata_refresh_seconds
        self.reader_count = reader_count
        self.consumer_name = settings.kafka_consumer_name
        self.positions: dict[TP, int] = {}  # next offset to read (reader thread)
        self.targets: dict[TP, int] = {}  # batch mode: stop here
        self.stored: set[TP] = set()  # partitions with a row in raw.kafka_offsets (writer thread)
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.abort = threading.Event()
        self.result = LandingResult({s.name: StreamStats() for s in self.streams})
        # Where the time went: which side of the pipeline waited for the other (tuning hint).
        self.reader_waited = 0.0
        self.writer_waited = 0.0
        self.reader_cpu = 0.0
        self.reader_in_process = False

    # -- start: partitions, offsets, checks

    def _plan(self, consumer: Consumer, conn: psycopg.Connection, only_new: bool = False) -> dict[TP, int]:
        """Start offsets of this worker's partitions (only those not yet assigned when `only_new`)."""
        metadata = fetch_metadata(consumer, self.bootstrap)
        tps: list[TP] = []
        for s in self.streams:
            partitions = topic_partitions(metadata, s.topic, self.bootstrap, s.name)
            for p in worker_partitions(partitions, self.worker_index, self.worker_count):
                if not (only_new and (s.topic, p) in self.positions):
                    tps.append((s.topic, p))
        if not tps:
            return {}
        stored = _load_offsets(conn, self.consumer_name, [s.topic for s in self.streams])
        ends = watermarks(self.settings, self.bootstrap, tps)
        starts: dict[TP, int] = {}
        for tp in tps:
            low, high = ends[tp]
            offset = stored.get(tp)
            if self.reset_offsets_to == "earliest" and offset is not None and offset != low:
                log.warning("resetting the stored offset of %s/%s for consumer %s from %s to the earliest "
                            "offset %s (--reset-offsets-to earliest)", *tp, self.consumer_name, offset, low)
                conn.execute("update raw.kafka_offsets set next_offset = %s, updated_at = now() "
                             "where consumer = %s and topic = %s and partition = %s",
                             (low, self.consumer_name, *tp))
                offset = low
            if offset is None:
                offset = low
            elif offset > high:
                raise LandingError(
                    f"the stored offset {offset} of topic {tp[0]!r} partition {tp[1]} (consumer "
                    f"{self.consumer_name}) is past the broker's end offset {high} at {self.bootstrap}: "
                    f"the broker has lost records it once had (restarted with empty storage, or the topic "
                    f"was re-created). Nothing was skipped. To land the topic again from its start, run "
                    f"`pantao ingest kafka --reset-offsets-to earliest`")
            elif offset < low:
                raise LandingError(
                    f"the stored offset {offset} of topic {tp[0]!r} partition {tp[1]} (consumer "
                    f"{self.consumer_name}) is before the broker's first offset {low} at {self.bootstrap}: "
                    f"records {offset}..{low - 1} were deleted (retention) before they were landed. "
                    f"To accept the gap and go on from the earliest record, run "
                    f"`pantao ingest kafka --reset-offsets-to earliest`")
            starts[tp] = offset
            if tp in stored:
                self.stored.add(tp)
            if not self.follow:
                self.targets[tp] = high
        return starts

    # -- the reader thread: consume, validate, encode

    def _read(self, consumer: Consumer) -> None:
        cpu_started = time.thread_time()
        try:
            self._read_loop(consumer)
            self._put(_Done(time.thread_time() - cpu_started))
        except BaseException as exc:  # handed to the writer, which raises it
            if self.reader_in_process and not isinstance(exc, LandingError):
                exc = LandingError(f"a reader process failed: {type(exc).__name__}: {exc}")  # picklable
            self._put(exc)

    def _put(self, item: object) -> None:
        started = time.perf_counter()
        while not self.abort.is_set():
            try:
                self.queue.put(item, timeout=0.5)
                break
            except queue.Full:
                continue
        self.reader_waited += time.perf_counter() - started

    def _new_batch(self) -> _Batch:
        names = [s.name for s in self.streams]
        return _Batch(rows={name: [HEADER] for name in names}, counts=dict.fromkeys(names, 0),
                      rejected_counts=dict.fromkeys(names, 0))

    def _message_error(self, m, eof_at: dict[TP, int]) -> None:
        """A message that carries an error instead of a record: end of partition, fatal, or transient."""
        err = m.error()
        if err.code() == KafkaError._PARTITION_EOF:
            eof_at[(m.topic(), m.partition())] = m.offset()
        elif err.fatal() or err.code() == KafkaError._AUTO_OFFSET_RESET:
            raise LandingError(f"reading {m.topic()}/{m.partition()} from {self.bootstrap} failed: {err.str()}")
        else:
            log.warning("broker %s: %s", self.bootstrap, err.str())

    def _read_loop(self, consumer: Consumer) -> None:
        """Consume in bulk; per record: skip what is not due, validate, pack a binary COPY row.

        This loop runs once per message (a million times for a million records), so it is written
        for the interpreter: everything it needs is a local, and what depends only on the
        partition (its stream, validator, row prefix, target offset) is looked up once per run of
        messages from the same partition, not once per message. Everything that happens rarely
        (errors, rejects, odd keys) is a call out of the loop.
        """
        positions = self.positions
        follow = self.follow
        targets = self.targets
        never = 1 << 62
        batch_size = self.batch_size
        by_topic = self.by_topic
        prefixes: dict[TP, bytes] = {}
        remaining = {tp for tp in positions if follow or positions[tp] < targets[tp]}
        eof_at: dict[TP, int] = {}
        last_progress = last_refresh = time.monotonic()
        consume = consumer.consume
        no_timestamp = TIMESTAMP_NOT_AVAILABLE
        epoch = POSTGRES_EPOCH_MILLIS
        pack_int8 = pack_int8_then_length
        pack_null = pack_null_then_length
        in_process = self.reader_in_process

        batch = self._new_batch()
        batch_started = time.monotonic()
        while not self.abort.is_set():
            if follow and self.stop_event.is_set():
                break
            if not follow and not remaining:
                break
            messages = consume(CONSUME_CHUNK, timeout=0.2)
            now = time.monotonic()
            size = batch.size
            run_topic, run_partition = None, -1  # the partition of the current run of messages
            for m in messages:
                if m.error() is not None:
                    self._message_error(m, eof_at)
                    continue
                partition = m.partition()
                topic = m.topic()
                if partition != run_partition or topic != run_topic:
                    run_topic, run_partition = topic, partition
                    tp = (topic, partition)
                    target = targets.get(tp, never)
                    stream = by_topic[topic]
                    validate = stream.validate
                    prefix = prefixes.get(tp)
                    if prefix is None:
                        prefix = prefixes[tp] = kafka_row_prefix(topic, partition)
                    name = stream.name
                    add, counts = batch.rows[name].extend, batch.counts
                    starts, nexts = batch.starts, batch.nexts
                offset = m.offset()
                if offset < positions[tp] or offset >= target:
                    continue  # re-delivered, or produced after this batch run started
                if tp not in starts:
                    starts[tp] = positions[tp]
                positions[tp] = nexts[tp] = offset + 1
                value = m.value()
                reason = validate(value)
                if reason is None:
                    key = m.key()
                    if key is None:
                        key, key_length = b"", -1
                    else:
                        key_length = len(key)
                        if not key.isascii() or key.find(b"\x00") != -1:
                            reason = _key_problem(key)
                if reason is None:
                    # the row: its partition's prefix, offset + key length, key, timestamp + payload length, payload
                    ts_type, millis = m.timestamp()
                    add((prefix, pack_int8(8, offset, key_length), key,
                         pack_null(-1, len(value)) if ts_type == no_timestamp
                         else pack_int8(8, (millis - epoch) * 1000, len(value)),
                         value))
                    counts[name] += 1
                else:
                    batch.rejected.append((f"kafka:{name}", f"{topic}/{partition}/{offset}", reason, value))
                    batch.rejected_counts[name] += 1
                size += 1
                if size >= batch_size:
                    batch.size = size
                    self._put(batch.seal(join=in_process))
                    batch = self._new_batch()
                    size = 0
                    batch_started = now
                    add, counts = batch.rows[name].extend, batch.counts
                    starts, nexts = batch.starts, batch.nexts
            batch.size = size
            if messages:
                last_progress = now
            if not follow:
                remaining = {tp for tp in remaining
                             if positions[tp] < targets[tp] and eof_at.get(tp, -1) < targets[tp]}
                if remaining and now - last_progress > STALL_SECONDS:
                    raise LandingError(
                        f"no records arrived from {self.bootstrap} for {STALL_SECONDS:.0f} s while "
                        f"{len(remaining)} partitions still have records due (e.g. {sorted(remaining)[0]}); "
                        f"is the broker healthy? Check `pantao stack status`")
            aged = follow and batch.size and now - batch_started >= FOLLOW_FLUSH_SECONDS
            if aged or (not follow and not remaining and batch.size):
                self._put(batch.seal(join=in_process))
                batch = self._new_batch()
                batch_started = now
            if follow and now - last_refresh >= self.metadata_refresh_seconds:
                last_refresh = now
                self._assign_new_partitions(consumer)
        if batch.size and not self.abort.is_set():
            self._put(batch.seal(join=in_process))

    def _assign_new_partitions(self, consumer: Consumer) -> None:
        """Follow mode: partitions added to a topic since the start are assigned from their stored offset."""
        try:
            with connect(self.database_url, autocommit=True) as conn:
                starts = self._plan(consumer, conn, only_new=True)
        except LandingError as exc:
            if "not reachable" in str(exc):
                log.warning("metadata refresh skipped: %s", exc)
                return
            raise
        if starts:
            log.info("new partitions assigned: %s", ", ".join(f"{t}/{p}@{o}" for (t, p), o in sorted(starts.items())))
            self.positions.update(starts)
            consumer.incremental_assign([TopicPartition(t, p, o) for (t, p), o in starts.items()])

    # -- the main thread: one transaction per batch

    def _fault(self, point: str, batch: _Batch) -> None:
        if self.fault_hook is not None:
            self.fault_hook(point, batch.number)

    def _write(self, conn: psycopg.Connection, batch: _Batch) -> None:
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
                with cur.copy("copy raw.rejected_records (source, source_ref, reason, raw_bytes) from stdin") as copy:
                    for row in batch.rejected:
                        copy.write_row(row)
            self._store_offsets(cur, batch)
            self._fault("after_copy", batch)
        self._fault("after_commit", batch)
        self.stored.update(batch.nexts)
        for s in self.streams:
            stats = self.result.streams[s.name]
            stats.landed += batch.counts[s.name]
            stats.rejected += batch.rejected_counts[s.name]
            if batch.counts[s.name] or batch.rejected_counts[s.name]:
                stats.batches += 1
        self.result.batches += 1
        log.debug("batch %d committed: %s", batch.number,
                  ", ".join(f"{k}={v}" for k, v in batch.counts.items()))

    def _store_offsets(self, cur: psycopg.Cursor, batch: _Batch) -> None:
        updates = [(t, p, batch.starts[(t, p)], n) for (t, p), n in batch.nexts.items() if (t, p) in self.stored]
        inserts = [(t, p, n) for (t, p), n in batch.nexts.items() if (t, p) not in self.stored]
        changed = 0
        if updates:
            t, p, e, n = (list(col) for col in zip(*updates, strict=True))
            cur.execute(
                """update raw.kafka_offsets o set next_offset = u.next_offset, updated_at = now()
                   from unnest(%s::text[], %s::int[], %s::bigint[], %s::bigint[]) as u(topic, partition, expected, next_offset)
                   where o.consumer = %s and o.topic = u.topic and o.partition = u.partition
                     and o.next_offset = u.expected""",
                (t, p, e, n, self.consumer_name))
            changed += cur.rowcount
        if inserts:
            t, p, n = (list(col) for col in zip(*inserts, strict=True))
            cur.execute(
                """insert into raw.kafka_offsets (consumer, topic, partition, next_offset)
                   select %s, * from unnest(%s::text[], %s::int[], %s::bigint[])
                   on conflict (consumer, topic, partition) do nothing""",
                (self.consumer_name, t, p, n))
            changed += cur.rowcount
        if changed != len(updates) + len(inserts):
            raise LandingError(
                f"raw.kafka_offsets changed under this landing (consumer {self.consumer_name}): another "
                f"process is landing the same partitions. Give each worker its own --worker-index "
                f"with the same --worker-count, or a different KAFKA_CONSUMER_NAME")

    # -- the run

    def run(self) -> LandingResult:
        started = time.monotonic()
        eof = not self.follow
        consumer: Consumer | None = Consumer(consumer_config(self.settings, self.bootstrap,
                                                             **{"enable.partition.eof": eof}))
        reader: threading.Thread | None = None
        try:
            with connect(self.database_url, autocommit=True) as conn:
                _check_raw_tables(conn, self.streams)
                starts = self._plan(consumer, conn)
                if not self.follow:
                    starts = {tp: o for tp, o in starts.items() if o < self.targets[tp]}
                self.positions.update(starts)
                log.info("landing %s from %s as worker %d/%d: %d partitions, %s mode",
                         ", ".join(s.name for s in self.streams), self.bootstrap, self.worker_index,
                         self.worker_count, len(starts), "follow" if self.follow else "batch")
                if not starts and not self.follow:
                    return self._finish(started)
                processes = self._reader_processes(starts)
                if processes:
                    self.result.reader_processes = processes
                    consumer.close()
                    consumer = None
                    self._run_reader_processes(conn, starts, processes)
                    return self._finish(started)
                consumer.assign([TopicPartition(t, p, o) for (t, p), o in starts.items()])
                reader = threading.Thread(target=self._read, args=(consumer,), name="kafka-reader", daemon=True)
                reader.start()
                self._drain(conn, self.queue, readers=1)
        finally:
            self.abort.set()
            if reader is not None:
                reader.join(timeout=30)
            if consumer is not None:
                consumer.close()
        return self._finish(started)

    def _drain(self, conn: psycopg.Connection, source, readers: int, processes: Sequence = ()) -> None:
        """Write batches as they come until every reader said it is done."""
        done = 0
        while done < readers:
            waiting = time.perf_counter()
            try:
                item = source.get(timeout=0.5)
            except queue.Empty:
                dead = [p for p in processes if p.exitcode not in (None, 0)]
                if dead:
                    raise LandingError(f"reader process {dead[0].name} died (exit code {dead[0].exitcode}); "
                                       f"nothing it read was committed, a rerun lands it") from None
                continue
            finally:
                self.writer_waited += time.perf_counter() - waiting
            if isinstance(item, _Done):
                done += 1
                self.reader_cpu += item.reader_cpu_seconds
            elif isinstance(item, BaseException):
                raise item
            else:
                self._write(conn, item)

    def _reader_processes(self, starts: dict[TP, int]) -> int:
        """How many reader processes; 0: read in a thread of this process (follow mode always does).

        A reader costs about twice the CPU per record that PostgreSQL's COPY of it costs
        (docs/performance.md). In a thread it also shares this process's GIL with the writer, which
        then waits for it between the slices of every COPY; a reader process leaves the writer a GIL
        of its own, at the price of starting a process and pickling each batch once. So a big
        backlog in batch mode is read by one process per core but one (that core is left to the
        database backend when it is local), at least one, at most one per partition; the one writer
        keeps every commit - rows with their offsets - in this process. Measured on two cores with
        1,000,000 records: one reader process 96-107k rows/s, a reader thread 95-100k, two reader
        processes 89-97k.
        """
        if self.follow:
            return 0
        if self.reader_count is not None:
            return min(self.reader_count, len(starts))
        due = sum(self.targets[tp] - offset for tp, offset in starts.items())
        if due < PROCESS_READERS_FROM:
            return 0
        return max(1, min((os.cpu_count() or 1) - 1, MAX_READER_PROCESSES, len(starts)))

    def _run_reader_processes(self, conn: psycopg.Connection, starts: dict[TP, int], count: int) -> None:
        ctx = multiprocessing.get_context("spawn")  # never fork a process that runs librdkafka threads
        out = ctx.Queue(maxsize=2 * count)
        abort = ctx.Event()
        items = sorted(starts.items())
        processes = []
        for i in range(count):
            group = dict(items[i::count])
            targets = {tp: self.targets[tp] for tp in group}
            processes.append(ctx.Process(
                target=_reader_process, name=f"kafka-reader-{i}", daemon=True,
                args=(self.settings, self.bootstrap, [s.name for s in self.streams], self.batch_size, group,
                      targets, out, abort)))
        log.info("reading with %d processes", count)
        for process in processes:
            process.start()
        try:
            self._drain(conn, out, readers=count, processes=processes)
        finally:
            abort.set()
            for process in processes:
                process.join(timeout=10)
                if process.is_alive():
                    process.terminate()
                    process.join(timeout=5)
            out.cancel_join_thread()
            out.close()

    def _finish(self, started: float) -> LandingResult:
        self.result.seconds = time.monotonic() - started
        self.result.writer_idle_seconds = self.writer_waited
        self.result.reader_blocked_seconds = self.reader_waited
        self.result.reader_cpu_seconds = self.reader_cpu
        if self.result.batches:
            log.info("pipeline: the database writer waited %.1f s for batches, the reader waited %.1f s "
                     "for the writer and used %.1f s of CPU, over %.1f s", self.writer_waited, self.reader_waited,
                     self.reader_cpu, self.result.seconds)
        for name, stats in self.result.streams.items():
            log.info("landed %s: %d records, %d rejected, %d batches", name, stats.landed, stats.rejected,
                     stats.batches)
        return self.result


def _reader_process(settings: Settings, bootstrap: str, stream_names: list[str], batch_size: int,
                    starts: dict[TP, int], targets: dict[TP, int], out, abort) -> None:
    """A reader in its own process (batch mode): consume, validate and encode its partitions."""
    logging.basicConfig(level=logging.WARNING)
    landing = _Landing(settings, "", bootstrap, _streams(settings, stream_names), follow=False, worker_index=0,
                       worker_count=1, stop_event=None, reset_offsets_to=None, batch_size=batch_size,
                       fault_hook=None, metadata_refresh_seconds=METADATA_REFRESH_SECONDS, reader_count=1)
    landing.queue = out
    landing.abort = abort
    landing.reader_in_process = True
    landing.positions.update(starts)
    landing.targets.update(targets)
    consumer = Consumer(consumer_config(settings, bootstrap, **{"enable.partition.eof": True}))
    try:
        consumer.assign([TopicPartition(t, p, o) for (t, p), o in starts.items()])
        landing._read(consumer)
    finally:
        consumer.close()
        if abort.is_set():
            out.cancel_join_thread()


def land_topics(settings: Settings, database_url: str, bootstrap: str,
                streams: Sequence[str] = KAFKA_STREAMS, *, follow: bool = False, worker_index: int = 0,
                worker_count: int = 1, stop_event: threading.Event | None = None,
                reset_offsets_to: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                fault_hook: FaultHook | None = None,
                metadata_refresh_seconds: float = METADATA_REFRESH_SECONDS,
                reader_processes: int | None = None) -> LandingResult:
    """Land the given streams' topics into raw.<stream>, exactly once.

    Batch mode (default) stops at the end offsets seen at start; `follow=True` runs until
    `stop_event` is set. `reset_offsets_to="earliest"` first moves this worker's stored offsets
    to each partition's first available offset (the remedy after a broker lost its data; it is
    logged). `reader_processes` fixes how many processes read in batch mode (0: a thread of this
    process; default: a thread, or one process per core but one when a big backlog is due).
    Raises LandingError with what was found and what to do.
    """
    _check_worker(worker_index, worker_count)
    if reset_offsets_to is not None and reset_offsets_to not in RESET_CHOICES:
        raise LandingError(f"--reset-offsets-to {reset_offsets_to!r} is not supported; use earliest")
    if batch_size < 1:
        raise LandingError(f"batch size must be at least 1, got {batch_size}")
    landing = _Landing(settings, database_url, bootstrap, _streams(settings, streams), follow=follow,
                       worker_index=worker_index, worker_count=worker_count, stop_event=stop_event,
                       reset_offsets_to=reset_offsets_to, batch_size=batch_size, fault_hook=fault_hook,
                       metadata_refresh_seconds=metadata_refresh_seconds, reader_count=reader_processes)
    return landing.run()


def stream_lag(settings: Settings, database_url: str, bootstrap: str,
               streams: Sequence[str] = KAFKA_STREAMS) -> list[PartitionLag]:
    """Per partition of every stream's topic: the stored offset and the broker's end offset.

    For monitoring: lag = high_watermark - (stored_offset or 0). Topics that do not exist yet
    are left out (logged), and before `pantao prepare` every stored offset is None, so an exporter
    keeps working on a fresh system.
    """
    consumer = Consumer(consumer_config(settings, bootstrap))
    try:
        metadata = fetch_metadata(consumer, bootstrap)
    finally:
        consumer.close()
    tps: list[tuple[str, TP]] = []
    for s in _streams(settings, streams):
        try:
            partitions = topic_partitions(metadata, s.topic, bootstrap, s.name)
        except LandingError as exc:
            log.warning("%s", exc)
            continue
        tps.extend((s.name, (s.topic, p)) for p in partitions)
    ends = watermarks(settings, bootstrap, [tp for _, tp in tps])
    with connect(database_url, autocommit=True) as conn:
        prepared = conn.execute("select to_regclass('raw.kafka_offsets')").fetchone()[0] is not None
        stored = _load_offsets(conn, settings.kafka_consumer_name, sorted({tp[0] for _, tp in tps})) if prepared else {}
    return [PartitionLag(name, tp[0], tp[1], stored.get(tp), ends[tp][1]) for name, tp in tps]
