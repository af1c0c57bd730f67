"""Offsets in `raw.kafka_offsets`: where each partition starts, and the conditional update that
commits a batch's new offsets in the batch's own transaction.

The landing never resets an offset by itself: a silent reset would either skip records or land
them twice. A stored offset the broker no longer has stops the run with what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import psycopg
from confluent_kafka import Consumer

from ingestion.kafka.broker import (
    TP,
    LandingError,
    fetch_metadata,
    topic_partitions,
    watermarks,
    worker_partitions,
)
from ingestion.kafka.options import LandingOptions
from pantao.kafka_config import Refusals
from pantao.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """Where to start each partition (`starts`), where batch mode stops (`targets`), and which
    partitions already have a row in raw.kafka_offsets (`stored`: updated, not inserted)."""

    starts: dict[TP, int] = field(default_factory=dict)
    targets: dict[TP, int] = field(default_factory=dict)
    stored: set[TP] = field(default_factory=set)


def load_offsets(conn: psycopg.Connection, consumer_name: str, topics: Sequence[str]) -> dict[TP, int]:
    rows = conn.execute(
        "select topic, partition, next_offset from raw.kafka_offsets where consumer = %s and topic = any(%s)",
        (consumer_name, list(topics)),
    ).fetchall()
    return {(t, p): n for t, p, n in rows}


def plan_partitions(consumer: Consumer, conn: psycopg.Connection, settings: Settings, bootstrap: str,
                    topics: Mapping[str, str], options: LandingOptions, skip: Iterable[TP] = (),
                    refusals: Refusals | None = None) -> Plan:
    """The start offsets of this worker's partitions of `topics` (topic -> stream), except `skip`;
    `refusals` is the consumer's error callback (`consumer_config`), to explain a refused connection."""
    metadata = fetch_metadata(consumer, bootstrap, refusals=refusals)
    skip = set(skip)
    tps: list[TP] = []
    for topic, stream in topics.items():
        partitions = topic_partitions(metadata, topic, bootstrap, stream)
        tps += [(topic, p) for p in worker_partitions(partitions, options.worker_index, options.worker_count)
                if (topic, p) not in skip]
    plan = Plan()
    if not tps:
        return plan
    consumer_name = settings.kafka_consumer_name
    stored = load_offsets(conn, consumer_name, list(topics))
    ends = watermarks(settings, bootstrap, tps)
    for tp in tps:
        low, high = ends[tp]
        offset = stored.get(tp)
        if options.reset_offsets_to == "earliest" and offset is not None and offset != low:
            log.warning("resetting the stored offset of %s/%s for consumer %s from %s to the earliest "
                        "offset %s (--reset-offsets-to earliest)", *tp, consumer_name, offset, low)
            conn.execute("update raw.kafka_offsets set next_offset = %s, updated_at = now() "
                         "where consumer = %s and topic = %s and partition = %s", (low, consumer_name, *tp))
            offset = low
        if offset is None:
            offset = low
        elif offset > high:
            raise LandingError(
                f"the stored offset {offset} of topic {tp[0]!r} partition {tp[1]} (consumer "
                f"{consumer_name}) is past the broker's end offset {high} at {bootstrap}: "
                f"the broker has lost records it once had (restarted with empty storage, or the topic "
                f"was re-created). Nothing was skipped. To land the topic again from its start, run "
                f"`pantao ingest kafka --reset-offsets-to earliest`")
        elif offset < low:
            raise LandingError(
                f"the stored offset {offset} of topic {tp[0]!r} partition {tp[1]} (consumer "
                f"{consumer_name}) is before the broker's first offset {low} at {bootstrap}: "
                f"records {offset}..{low - 1} were deleted (retention) before they were landed. "
                f"To accept the gap and go on from the earliest record, run "
                f"`pantao ingest kafka --reset-offsets-to earliest`")
        plan.starts[tp] = offset
        plan.targets[tp] = high
        if tp in stored:
            plan.stored.add(tp)
    return plan


def store_offsets(cur: psycopg.Cursor, consumer_name: str, starts: Mapping[TP, int], nexts: Mapping[TP, int],
                  stored: set[TP]) -> None:
    """Move each partition from the offset this batch started at to its next one, in the batch's
    transaction; fail if another process moved any of them meanwhile."""
    updates = [(t, p, starts[(t, p)], n) for (t, p), n in nexts.items() if (t, p) in stored]
    inserts = [(t, p, n) for (t, p), n in nexts.items() if (t, p) not in stored]
    changed = 0
    if updates:
        t, p, e, n = (list(col) for col in zip(*updates, strict=True))
        cur.execute(
            """update raw.kafka_offsets o set next_offset = u.next_offset, updated_at = now()
               from unnest(%s::text[], %s::int[], %s::bigint[], %s::bigint[]) as u(topic, partition, expected, next_offset)
               where o.consumer = %s and o.topic = u.topic and o.partition = u.partition
                 and o.next_offset = u.expected""",
            (t, p, e, n, consumer_name))
        changed += cur.rowcount
    if inserts:
        t, p, n = (list(col) for col in zip(*inserts, strict=True))
        cur.execute(
            """insert into raw.kafka_offsets (consumer, topic, partition, next_offset)
               select %s, * from unnest(%s::text[], %s::int[], %s::bigint[])
               on conflict (consumer, topic, partition) do nothing""",
            (consumer_name, t, p, n))
        changed += cur.rowcount
    if changed != len(updates) + len(inserts):
        raise LandingError(
            f"raw.kafka_offsets changed under this landing (consumer {consumer_name}): another "
            f"process is landing the same partitions. Give each worker its own --worker-index "
            f"with the same --worker-count, or a different KAFKA_CONSUMER_NAME")
