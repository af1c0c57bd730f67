"""`publish_to_kafka`: create the topics and produce the written message files, fast."""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from confluent_kafka import Producer

log = logging.getLogger(__name__)

DEFAULT_TOPICS = {"orders": "orders", "customers": "customers", "feedback": "feedback"}
_PRODUCER_CONFIG = {
    "linger.ms": 50,
    "batch.num.messages": 10000,
    "batch.size": 1_000_000,
    "queue.buffering.max.messages": 500_000,
    "queue.buffering.max.kbytes": 1_048_576,
    "compression.type": "lz4",
    "enable.idempotence": False,
    "acks": "1",
}


def _client(kafka: str | Mapping[str, object]) -> dict[str, object]:
    """A bootstrap address (the embedded broker: PLAINTEXT) or a whole librdkafka client configuration
    (the composition layer builds it from the settings, security included)."""
    return {"bootstrap.servers": kafka} if isinstance(kafka, str) else dict(kafka)


def _where(kafka: str | Mapping[str, object]) -> object:
    return kafka if isinstance(kafka, str) else kafka.get("bootstrap.servers")


def ensure_topics(kafka: str | Mapping[str, object], topics: list[str], partitions: int,
                  timeout: float = 30.0) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    # The Kafka client loads here, not with the package: `pantao simulate --help` needs none of it.
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(_client(kafka))
    try:
        existing = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        admin.poll(0)  # hand librdkafka's errors to the configuration's error_cb: it can tell why
        raise RuntimeError(f"could not list the Kafka topics on {_where(kafka)}: {exc}") from exc
    missing = [t for t in topics if t not in existing]
    if not missing:
        return
    futures = admin.create_topics([NewTopic(t, num_partitions=partitions, replication_factor=1) for t in missing],
                                  operation_timeout=timeout)
    for topic, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise RuntimeError(f"could not create Kafka topic {topic!r} on {_where(kafka)}: {exc}") from exc


def publish_to_kafka(out_dir: Path, kafka: str | Mapping[str, object], topics: dict[str, str] | None = None,
                     partitions: int = 3, timeout: float = 30.0) -> dict[str, int]:
    """Produce every line of `out_dir/kafka/<stream>.jsonl` to its topic, keyed; counts per stream.

    `kafka` is the bootstrap address, or the client configuration to produce with; `timeout`
    bounds the wait for the broker's topic list and topic creation.
    """
    from confluent_kafka import Producer

    topics = dict(DEFAULT_TOPICS if topics is None else topics)
    ensure_topics(kafka, list(topics.values()), partitions, timeout)
    producer = Producer({**_client(kafka), **_PRODUCER_CONFIG})
    errors: list[str] = []

    def on_delivery(err: object, _msg: object) -> None:
        if err is not None:
            errors.append(str(err))

    counts: dict[str, int] = {}
    for stream, topic in topics.items():
        path = Path(out_dir) / "kafka" / f"{stream}.jsonl"
        counts[stream] = _produce_file(producer, topic, path, on_delivery)
    remaining = producer.flush(120)
    if remaining or errors:
        raise RuntimeError(f"Kafka at {_where(kafka)}: {remaining} messages not delivered, "
                           f"{len(errors)} delivery errors (first: {errors[:1]})")
    log.info("published %s to %s", counts, _where(kafka))
    return counts


def _produce_file(producer: Producer, topic: str, path: Path, on_delivery: object) -> int:
    count = 0
    with path.open("rb") as f:
        for line in f:
            message = orjson.loads(line)
            value = (base64.b64decode(message["value_b64"]) if "value_b64" in message
                     else message["value"].encode("utf-8"))
            key = message.get("key")
            while True:
                try:
                    producer.produce(topic, value=value, key=None if key is None else key.encode("utf-8"),
                                     on_delivery=on_delivery)
                    break
                except BufferError:
                    producer.poll(0.05)
            count += 1
            if count % 10000 == 0:
                producer.poll(0)
    return count
