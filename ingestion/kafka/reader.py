"""The reader: consume in bulk, validate each message and encode it as a binary COPY row.

It fills a batch while the writer COPYs the previous one (a queue of two batches keeps memory
flat), in a thread of the landing process or, for a big backlog in batch mode, in processes of
its own (`reader_process`), which die with the landing even when it is killed with SIGKILL.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaError, TopicPartition

from ingestion.contract import EventTimeWindow
from ingestion.kafka.batch import Batch, Done, Stream, key_problem, streams_of
from ingestion.kafka.broker import TP, LandingError, consumer_config
from ingestion.kafka.copy_rows import (
    POSTGRES_EPOCH_MILLIS,
    kafka_row_prefix,
    pack_int8_then_length,
    pack_null_then_length,
)
from pantao.processes import exit_with_parent, parent_gone
from pantao.settings import Settings

log = logging.getLogger(__name__)

CONSUME_CHUNK = 10_000
FOLLOW_FLUSH_SECONDS = 1.0  # follow mode commits what it has at least this often
STALL_SECONDS = 60.0  # batch mode: no progress for this long while records are due -> error
NEVER = 1 << 62


class Reader:
    """Reads its assigned partitions from `positions` (next offset) up to `targets` (batch mode)
    or until `stop_event` (follow mode), and puts batches, then a `Done` or the exception that
    ended it, into `out`."""

    def __init__(self, streams: Sequence[Stream], window: EventTimeWindow, bootstrap: str, out, abort, *,
                 batch_size: int, follow: bool = False, stop_event: threading.Event | None = None,
                 refresh: Callable[[Consumer], None] | None = None, refresh_seconds: float = 10.0,
                 parent_pid: int | None = None):
        self.streams = list(streams)
        self.by_topic = {s.topic: s for s in self.streams}
        self.window = window
        self.bootstrap = bootstrap
        self.out = out
        self.abort = abort
        self.batch_size = batch_size
        self.follow = follow
        self.stop_event = stop_event or threading.Event()
        self.refresh = refresh  # follow mode: assign partitions that appeared since the start
        self.refresh_seconds = refresh_seconds
        self.parent_pid = parent_pid  # set in a reader process: stop when the landing is gone
        self.positions: dict[TP, int] = {}  # next offset to read
        self.targets: dict[TP, int] = {}  # batch mode: stop here
        self.waited = 0.0  # seconds spent waiting for the writer

    def run(self, consumer: Consumer) -> None:
        cpu_started = time.thread_time()
        try:
            self._loop(consumer)
            self._put(Done(time.thread_time() - cpu_started))
        except BaseException as exc:  # handed to the writer, which raises it
            if self.parent_pid is not None and not isinstance(exc, LandingError):
                exc = LandingError(f"a reader process failed: {type(exc).__name__}: {exc}")  # picklable
            self._put(exc)

    def _put(self, item: object) -> None:
        started = time.perf_counter()
        while not self.abort.is_set():
            try:
                self.out.put(item, timeout=0.5)
                break
            except queue.Full:
                if self.parent_pid is not None and parent_gone(self.parent_pid):
                    os._exit(1)  # the landing is gone: nobody will ever read this queue
        self.waited += time.perf_counter() - started

    def _message_error(self, m, eof_at: dict[TP, int]) -> None:
        """A message that carries an error instead of a record: end of partition, fatal, or transient."""
        err = m.error()
        if err.code() == KafkaError._PARTITION_EOF:
            eof_at[(m.topic(), m.partition())] = m.offset()
        elif err.fatal() or err.code() == KafkaError._AUTO_OFFSET_RESET:
            raise LandingError(f"reading {m.topic()}/{m.partition()} from {self.bootstrap} failed: {err.str()}")
        else:
            log.warning("broker %s: %s", self.bootstrap, err.str())

    def _loop(self, consumer: Consumer) -> None:
        """Consume in bulk; per record: skip what is not due, validate, pack a binary COPY row.

        This loop runs once per message (a million times for a million records), so it is written
        for the interpreter: everything it needs is a local, and what depends only on the
        partition (its stream, validator, row prefix, target offset) is looked up once per run of
        messages from the same partition, not once per message. Everything that happens rarely
        (errors, rejects, odd keys, implausible timestamps) is a call out of the loop or a branch
        it seldom takes.
        """
        positions, targets, follow = self.positions, self.targets, self.follow
        batch_size, by_topic, window = self.batch_size, self.by_topic, self.window
        names = [s.name for s in self.streams]
        prefixes: dict[TP, bytes] = {}
        remaining = {tp for tp in positions if follow or positions[tp] < targets[tp]}
        eof_at: dict[TP, int] = {}
        last_progress = last_refresh = time.monotonic()
        consume = consumer.consume
        no_timestamp = TIMESTAMP_NOT_AVAILABLE
        epoch = POSTGRES_EPOCH_MILLIS
        pack_int8 = pack_int8_then_length
        pack_null = pack_null_then_length
        join = self.parent_pid is not None  # a process pickles its batches: join them first
        parent_pid = self.parent_pid
        only_topic = next(iter(by_topic)) if len(by_topic) == 1 else None  # then m.topic() need not be asked

        batch = Batch.empty(names)
        batch_started = time.monotonic()
        while not self.abort.is_set():
            if follow and self.stop_event.is_set():
                break
            if not follow and not remaining:
                break
            if parent_pid is not None and parent_gone(parent_pid):
                os._exit(1)  # the landing is gone (the fallback where PR_SET_PDEATHSIG is missing)
            messages = consume(CONSUME_CHUNK, timeout=0.2)
            now = time.monotonic()
            window.refresh()  # the window's end moves with the clock
            earliest_ms, latest_ms = window.earliest_ms, window.latest_ms
            size = batch.size
            run_topic, run_partition = None, -1  # the partition of the current run of messages
            for m in messages:
                if m.error() is not None:
                    self._message_error(m, eof_at)
                    continue
                partition = m.partition()
                topic = only_topic or m.topic()
                if partition != run_partition or topic != run_topic:
                    run_topic, run_partition = topic, partition
                    tp = (topic, partition)
                    target = targets.get(tp, NEVER)
                    stream = by_topic[topic]
                    validate = stream.validate
                    prefix = prefixes.get(tp)
                    if prefix is None:
                        prefix = prefixes[tp] = kafka_row_prefix(topic, partition)
                    name = stream.name
                    add, counts = batch.rows[name].extend, batch.counts
                    starts, nexts = batch.starts, batch.nexts
                    position, started = positions[tp], tp in starts  # positions[tp] and its local copy move together
                offset = m.offset()
                if offset < position or offset >= target:
                    continue  # re-delivered, or produced after this batch run started
                if not started:
                    starts[tp], started = position, True
                position = positions[tp] = nexts[tp] = offset + 1
                value = m.value()
                reason = validate(value)
                if reason is None:
                    key = m.key()
                    if key is None:
                        key, key_length = b"", -1
                    else:
                        key_length = len(key)
                        if not key.isascii() or key.find(b"\x00") != -1:
                            reason = key_problem(key)
                if reason is None:
                    # the row: its partition's prefix, offset + key length, key, timestamp + payload length, payload
                    ts_type, millis = m.timestamp()
                    if ts_type != no_timestamp and earliest_ms <= millis <= latest_ms:
                        stamp = pack_int8(8, (millis - epoch) * 1000, len(value))
                    else:  # none, or a producer's clock far off: NULL, never a row COPY cannot take
                        stamp = pack_null(-1, len(value))
                        if ts_type != no_timestamp:
                            batch.null_timestamps[name] += 1
                    add((prefix, pack_int8(8, offset, key_length), key, stamp, value))
                    counts[name] += 1
                else:
                    batch.rejected.append((f"kafka:{name}", f"{topic}/{partition}/{offset}", reason, value))
                    batch.rejected_counts[name] += 1
                size += 1
                if size >= batch_size:
                    batch.size = size
                    self._put(batch.seal(join=join))
                    batch = Batch.empty(names)
                    size = 0
                    batch_started = now
                    add, counts = batch.rows[name].extend, batch.counts
                    starts, nexts, started = batch.starts, batch.nexts, False
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
                self._put(batch.seal(join=join))
                batch = Batch.empty(names)
                batch_started = now
            if follow and self.refresh is not None and now - last_refresh >= self.refresh_seconds:
                last_refresh = now
                self.refresh(consumer)
        if batch.size and not self.abort.is_set():
            self._put(batch.seal(join=join))


def reader_process(settings: Settings, bootstrap: str, stream_names: list[str], batch_size: int,
                   starts: dict[TP, int], targets: dict[TP, int], out, abort, parent_pid: int) -> None:
    """A reader in its own process (batch mode): consume, validate and encode its partitions.

    It dies with the landing: the kernel stops it when the landing dies (Linux), and it checks
    the landing's pid while it reads and waits (everywhere).
    """
    exit_with_parent(parent_pid)
    logging.basicConfig(level=logging.WARNING)
    window = EventTimeWindow.from_settings(settings)
    reader = Reader(streams_of(settings, stream_names, window), window, bootstrap, out, abort,
                    batch_size=batch_size, parent_pid=parent_pid)
    reader.positions.update(starts)
    reader.targets.update(targets)
    consumer = Consumer(consumer_config(settings, bootstrap, **{"enable.partition.eof": True}))
    try:
        consumer.assign([TopicPartition(t, p, o) for (t, p), o in starts.items()])
        reader.run(consumer)
    finally:
        consumer.close()
        if abort.is_set():
            out.cancel_join_thread()
