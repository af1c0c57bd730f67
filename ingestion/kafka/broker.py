"""What the landing asks the broker before it reads: is it reachable, which partitions exist,
where does each partition start and end.

Kept apart from the landing loop so that `stream_lag` (monitoring) asks the same questions
the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from pantao.kafka_config import Refusals, client_config
from pantao.settings import Settings

log = logging.getLogger(__name__)
librdkafka_log = logging.getLogger("ingestion.librdkafka")

CONNECT_TRIES = 3
CONNECT_TIMEOUT_SECONDS = 3.0
WATERMARK_TIMEOUT_SECONDS = 10.0

TP = tuple[str, int]  # (topic, partition)


class LandingError(RuntimeError):
    """The landing cannot go on without a person: the message says what was found and what to do."""


def consumer_config(settings: Settings, bootstrap: str, refusals: Refusals | None = None,
                    **overrides: object) -> dict[str, object]:
    """Consumer settings for manual assignment: offsets live in PostgreSQL, never in the group.

    The connection and its security come from `client_config`, as for every Kafka client; `refusals`
    hears librdkafka's errors, to say which setting to check when the broker refuses us.
    """
    tuning: dict[str, object] = {
        "group.id": settings.kafka_consumer_name,  # required by librdkafka; we never join or commit
        "client.id": f"{settings.kafka_consumer_name}-landing",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "error",  # an offset that vanished must surface, never be skipped silently
        "enable.partition.eof": False,
        "queued.max.messages.kbytes": 32768,  # bounds prefetch memory per partition
        # When the prefetch queue is full, librdkafka postpones the next fetch by this much
        # (default 1000 ms), so a reader that drains the queue quickly then finds it empty and
        # waits. Measured on the embedded broker: the reader stalled ~200 ms every ~60,000 records,
        # a third of its run; with 20 ms it never waits, at no measurable CPU cost.
        "fetch.queue.backoff.ms": 20,
        "socket.connection.setup.timeout.ms": 5000,
        "reconnect.backoff.max.ms": 2000,
    }
    return client_config(settings.kafka_security, bootstrap, on_error=refusals, logger=librdkafka_log,
                         **{**tuning, **overrides})


def unreachable_message(bootstrap: str, tries: int, error: object, protocol: str = "PLAINTEXT") -> str:
    listener = (f", and that KAFKA_SECURITY_PROTOCOL={protocol} is what its listener speaks"
                if protocol != "PLAINTEXT" else "")
    return (f"the Kafka broker at {bootstrap} is not reachable after {tries} tries ({error}); "
            f"is it running? Check `pantao stack status`, or KAFKA_BOOTSTRAP_SERVERS if it is external{listener}")


def fetch_metadata(consumer: Consumer, bootstrap: str, *, refusals: Refusals | None = None,
                   tries: int = CONNECT_TRIES, timeout: float = CONNECT_TIMEOUT_SECONDS):
    """Cluster metadata for *all* topics, with bounded retries.

    Asking for all topics (not one by name) matters: some brokers create a topic when a client
    asks for it by name, which would hide a missing-topic mistake. A broker that refused our
    credentials or our TLS stops it at once, with the setting to check (`refusals`): retrying
    cannot help, and the broker may count the failed logins.
    """
    last_error: object = None
    for attempt in range(1, tries + 1):
        if refusals is not None:
            refusals.forget()  # what librdkafka reported before this request is not why it fails
        try:
            return consumer.list_topics(timeout=timeout)
        except KafkaException as exc:
            # Polling serves librdkafka's error callbacks, but a consumer with partitions would also
            # take a message its reader then never sees: only an idle one is polled here.
            idle = consumer if not consumer.assignment() else None
            refused = refusals.explain(idle) if refusals is not None else None
            if refused:
                raise LandingError(refused) from None
            last_error = exc.args[0] if exc.args else exc
            log.warning("broker %s: metadata request %d/%d failed: %s", bootstrap, attempt, tries, last_error)
            if attempt < tries:
                time.sleep(min(0.5 * 2 ** (attempt - 1), 4.0))
    protocol = refusals.security.protocol if refusals is not None else "PLAINTEXT"
    raise LandingError(unreachable_message(bootstrap, tries, last_error, protocol))


def topic_partitions(metadata, topic: str, bootstrap: str, stream: str) -> list[int]:
    """The partition ids of `topic`, or a LandingError that names the topic and the broker."""
    meta = metadata.topics.get(topic)
    if meta is None or (meta.error is not None and meta.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART):
        raise LandingError(
            f"topic {topic!r} (stream {stream}) does not exist on the broker at {bootstrap}; "
            f"create it, or set KAFKA_TOPIC_{stream.upper()} to the right name")
    if meta.error is not None:
        raise LandingError(f"topic {topic!r} on {bootstrap} reports an error: {meta.error}")
    return sorted(meta.partitions)


def worker_partitions(partitions: Iterable[int], worker_index: int, worker_count: int) -> list[int]:
    """The partitions one worker owns: a fixed split, so workers never overlap and need no group."""
    return [p for p in partitions if p % worker_count == worker_index]


def watermarks(settings: Settings, bootstrap: str, tps: list[TP]) -> dict[TP, tuple[int, int]]:
    """(low, high) offsets per partition: the first offset still stored and the offset after the last.

    ListOffsets gives both. Some Kafka-protocol brokers (tansu, our embedded one) answer
    ListOffsets(latest) with the base offset of the last record *batch* plus one, which is short
    of the real end. The high watermark in a fetch response is right on every broker, so when a
    partition is not empty we fetch its last batch once and take the larger of the two answers.
    """
    if not tps:
        return {}
    result: dict[TP, tuple[int, int]] = {}
    consumer = Consumer(consumer_config(settings, bootstrap))
    try:
        for topic, partition in tps:
            try:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                           timeout=WATERMARK_TIMEOUT_SECONDS, cached=False)
            except KafkaException as exc:
                raise LandingError(f"cannot read the offsets of {topic}/{partition} from {bootstrap}: "
                                   f"{exc.args[0] if exc.args else exc}") from None
            result[(topic, partition)] = (low, high)
        probe = [TopicPartition(t, p, high - 1) for (t, p), (low, high) in result.items() if high > low]
        if probe:
            consumer.assign(probe)
            pending = {(tp.topic, tp.partition) for tp in probe}
            deadline = time.monotonic() + WATERMARK_TIMEOUT_SECONDS
            while pending and time.monotonic() < deadline:
                for msg in consumer.consume(1000, timeout=0.2):
                    pending.discard((msg.topic(), msg.partition()))
            for tp in probe:
                key = (tp.topic, tp.partition)
                if key in pending:
                    continue
                _, fetched_high = consumer.get_watermark_offsets(tp, cached=True)
                low, high = result[key]
                if fetched_high > high:
                    log.debug("%s/%s: fetch high watermark %s > ListOffsets %s", *key, fetched_high, high)
                    result[key] = (low, fetched_high)
    finally:
        consumer.close()
    return result
