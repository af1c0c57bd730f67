"""Kafka -> PostgreSQL landing, exactly once: rows and the offsets they came from commit together.

How it works
- Partitions are assigned explicitly (no consumer group): worker `i` of `n` owns the partitions
  with `partition % n == i`. Each starts at the offset stored in `raw.kafka_offsets` (`offsets`).
- A reader (`reader`) consumes in bulk, validates each message against the contract
  (`ingestion.contract`) and encodes it as a binary COPY row, filling a batch while the writer
  (`writer`) COPYs the previous one. One batch is one transaction: COPY into each `raw.<stream>`,
  the rejected records, and the new offsets.
- The offset update checks the offset it expects to replace, so two processes landing the
  same partition (a misconfigured worker split) fail loudly instead of landing twice.
- Batch mode drains to the end offsets seen at start and stops (what Dagster runs); follow
  mode keeps reading, picks up new partitions from metadata refreshes and stops cleanly when
  `stop_event` is set, after committing what it has read.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Sequence

import psycopg
from confluent_kafka import Consumer, TopicPartition

from ingestion.contract import EventTimeWindow
from ingestion.kafka.batch import Done, Stream, streams_of
from ingestion.kafka.broker import (
    TP,
    LandingError,
    consumer_config,
    fetch_metadata,
    topic_partitions,
    watermarks,
)
from ingestion.kafka.offsets import load_offsets, plan_partitions
from ingestion.kafka.options import LandingOptions, LandingResult, PartitionLag, StreamStats
from ingestion.kafka.reader import Reader, reader_process
from ingestion.kafka.writer import Writer, database_error
from ingestion.schema import KAFKA_STREAMS
from pantao.db import connect
from pantao.kafka_config import Refusals
from pantao.settings import Settings

log = logging.getLogger(__name__)

PROCESS_READERS_FROM = 100_000  # records due in a batch run before reader processes pay off
MAX_READER_PROCESSES = 4


def _check_raw_tables(conn: psycopg.Connection, streams: Sequence[Stream]) -> None:
    needed = ["raw.kafka_offsets", "raw.rejected_records", *(f"raw.{s.name}" for s in streams)]
    missing = [name for name in needed
               if conn.execute("select to_regclass(%s)", (name,)).fetchone()[0] is None]
    if missing:
        raise LandingError(f"the raw tables {', '.join(missing)} do not exist in the database; "
                           f"run `pantao prepare` first")


class _Landing:
    """One landing run. Not reusable: build one per call of `land_topics`."""

    def __init__(self, settings: Settings, database_url: str, bootstrap: str, stream_names: Sequence[str],
                 options: LandingOptions):
        self.settings = settings
        self.database_url = database_url
        self.bootstrap = bootstrap
        self.options = options
        self.window = EventTimeWindow.from_settings(settings)
        self.streams = streams_of(settings, stream_names, self.window)
        self.topics = {s.topic: s.name for s in self.streams}
        self.result = LandingResult({s.name: StreamStats() for s in self.streams})
        self.writer = Writer(self.streams, settings.kafka_consumer_name, set(), self.result, options.fault_hook)
        self.writer_waited = 0.0
        self.reader_cpu = 0.0
        self.refusals = Refusals(settings.kafka_security, bootstrap)

    def _plan(self, consumer: Consumer, conn: psycopg.Connection, skip: Sequence[TP] = ()) -> tuple[dict, dict]:
        plan = plan_partitions(consumer, conn, self.settings, self.bootstrap, self.topics, self.options, skip,
                               self.refusals)
        self.writer.stored.update(plan.stored)
        return plan.starts, plan.targets

    def run(self) -> LandingResult:
        started = time.monotonic()
        try:
            self._run()
        except psycopg.OperationalError as exc:  # the server went away (AdminShutdown, a crash) or never answered
            raise database_error(exc, self.database_url) from None
        return self._finish(started)

    def _run(self) -> None:
        follow = self.options.follow
        consumer: Consumer | None = Consumer(consumer_config(self.settings, self.bootstrap, self.refusals,
                                                             **{"enable.partition.eof": not follow}))
        thread: threading.Thread | None = None
        abort = threading.Event()
        try:
            with connect(self.database_url, autocommit=True) as conn:
                _check_raw_tables(conn, self.streams)
                starts, targets = self._plan(consumer, conn)
                if not follow:
                    starts = {tp: o for tp, o in starts.items() if o < targets[tp]}
                log.info("landing %s from %s as worker %d/%d: %d partitions, %s mode",
                         ", ".join(s.name for s in self.streams), self.bootstrap, self.options.worker_index,
                         self.options.worker_count, len(starts), "follow" if follow else "batch")
                if not starts and not follow:
                    return
                processes = self._reader_processes(starts, targets)
                if processes:
                    self.result.reader_processes = processes
                    consumer.close()
                    consumer = None
                    self._run_reader_processes(conn, starts, targets, processes)
                    return
                out: queue.Queue = queue.Queue(maxsize=2)
                reader = Reader(self.streams, self.window, self.bootstrap, out, abort,
                                batch_size=self.options.batch_size, follow=follow,
                                stop_event=self.options.stop_event, refresh=self._assign_new_partitions,
                                refresh_seconds=self.options.metadata_refresh_seconds)
                reader.positions.update(starts)
                if not follow:
                    reader.targets.update(targets)
                self.reader = reader
                consumer.assign([TopicPartition(t, p, o) for (t, p), o in starts.items()])
                thread = threading.Thread(target=reader.run, args=(consumer,), name="kafka-reader", daemon=True)
                thread.start()
                self._drain(conn, out, readers=1)
                self.result.reader_blocked_seconds = reader.waited
        finally:
            abort.set()
            if thread is not None:
                thread.join(timeout=30)
            if consumer is not None:
                consumer.close()

    def _assign_new_partitions(self, consumer: Consumer) -> None:
        """Follow mode (in the reader thread): partitions added since the start, from their stored offset."""
        reader = self.reader
        try:
            with connect(self.database_url, autocommit=True) as conn:
                starts, _ = self._plan(consumer, conn, skip=list(reader.positions))
        except LandingError as exc:
            if "not reachable" in str(exc):
                log.warning("metadata refresh skipped: %s", exc)
                return
            raise
        if starts:
            log.info("new partitions assigned: %s", ", ".join(f"{t}/{p}@{o}" for (t, p), o in sorted(starts.items())))
            reader.positions.update(starts)
            consumer.incremental_assign([TopicPartition(t, p, o) for (t, p), o in starts.items()])

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
            if isinstance(item, Done):
                done += 1
                self.reader_cpu += item.reader_cpu_seconds
            elif isinstance(item, BaseException):
                raise item
            else:
                self.writer.write(conn, item)

    def _reader_processes(self, starts: dict[TP, int], targets: dict[TP, int]) -> int:
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
        if self.options.follow:
            return 0
        if self.options.reader_processes is not None:
            return min(self.options.reader_processes, len(starts))
        due = sum(targets[tp] - offset for tp, offset in starts.items())
        if due < PROCESS_READERS_FROM:
            return 0
        return max(1, min((os.cpu_count() or 1) - 1, MAX_READER_PROCESSES, len(starts)))

    def _run_reader_processes(self, conn: psycopg.Connection, starts: dict[TP, int], targets: dict[TP, int],
                              count: int) -> None:
        ctx = multiprocessing.get_context("spawn")  # never fork a process that runs librdkafka threads
        out = ctx.Queue(maxsize=2 * count)
        abort = ctx.Event()
        items = sorted(starts.items())
        processes = []
        for i in range(count):
            group = dict(items[i::count])
            processes.append(ctx.Process(
                target=reader_process, name=f"kafka-reader-{i}", daemon=True,
                args=(self.settings, self.bootstrap, [s.name for s in self.streams], self.options.batch_size, group,
                      {tp: targets[tp] for tp in group}, out, abort, os.getpid())))
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
        self.result.reader_cpu_seconds = self.reader_cpu
        if self.result.batches:
            log.info("pipeline: the database writer waited %.1f s for batches, the reader waited %.1f s "
                     "for the writer and used %.1f s of CPU, over %.1f s", self.writer_waited,
                     self.result.reader_blocked_seconds, self.reader_cpu, self.result.seconds)
        for name, stats in self.result.streams.items():
            log.info("landed %s: %d records, %d rejected, %d batches, %d Kafka timestamps stored as NULL",
                     name, stats.landed, stats.rejected, stats.batches, stats.null_timestamps)
        return self.result


def land_topics(settings: Settings, database_url: str, bootstrap: str, streams: Sequence[str] = KAFKA_STREAMS,
                options: LandingOptions | None = None, **changes: object) -> LandingResult:
    """Land the given streams' topics into raw.<stream>, exactly once.

    `options` (or the same names as keywords: `follow=True`, `batch_size=...`, see LandingOptions)
    say how. Batch mode (default) stops at the end offsets seen at start; follow mode runs until
    `stop_event` is set. Raises LandingError with what was found and what to do.
    """
    options = dataclasses.replace(options or LandingOptions(), **changes)
    options.check()
    return _Landing(settings, database_url, bootstrap, streams, options).run()


def stream_lag(settings: Settings, database_url: str, bootstrap: str,
               streams: Sequence[str] = KAFKA_STREAMS) -> list[PartitionLag]:
    """Per partition of every stream's topic: the stored offset and the broker's end offset.

    For monitoring: lag = high_watermark - (stored_offset or 0). Topics that do not exist yet
    are left out (logged), and before `pantao prepare` every stored offset is None, so an exporter
    keeps working on a fresh system.
    """
    refusals = Refusals(settings.kafka_security, bootstrap)
    consumer = Consumer(consumer_config(settings, bootstrap, refusals))
    try:
        metadata = fetch_metadata(consumer, bootstrap, refusals=refusals)
    finally:
        consumer.close()
    tps: list[tuple[str, TP]] = []
    for s in streams_of(settings, streams):
        try:
            partitions = topic_partitions(metadata, s.topic, bootstrap, s.name)
        except LandingError as exc:
            log.warning("%s", exc)
            continue
        tps.extend((s.name, (s.topic, p)) for p in partitions)
    ends = watermarks(settings, bootstrap, [tp for _, tp in tps])
    with connect(database_url, autocommit=True) as conn:
        prepared = conn.execute("select to_regclass('raw.kafka_offsets')").fetchone()[0] is not None
        stored = load_offsets(conn, settings.kafka_consumer_name, sorted({tp[0] for _, tp in tps})) if prepared else {}
    return [PartitionLag(name, tp[0], tp[1], stored.get(tp), ends[tp][1]) for name, tp in tps]
