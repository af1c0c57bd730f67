"""Helpers shared by the Kafka landing tests (no tests here): topics, valid events, producing, reading raw tables,
and the `landing_env` fixture (import it into a test module to use it)."""

from __future__ import annotations

import uuid

import orjson
import psycopg
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from ingestion.schema import ensure_raw_schema
from pantao.kafka_config import KafkaSecurity, client_config


def create_topics(bootstrap: str, topics: list[str], partitions: int = 3) -> None:
    admin = AdminClient(client_config(KafkaSecurity(), bootstrap))
    for future in admin.create_topics([NewTopic(t, partitions, 1) for t in topics]).values():
        future.result(timeout=15)


def order_event(i: int, **overrides: object) -> dict:
    event = {
        "schema_version": 1, "event_id": str(uuid.UUID(int=i + 1)), "event_type": "order_created",
        "event_at": "2026-11-01T12:34:56.789+03:00", "order_id": f"ORD-20261101-{i:06d}", "status": "created",
        "created_at": "2026-11-01T12:34:56.789+03:00", "restaurant_id": 1 + i % 5, "channel": "phone",
        "customer_phone": "+79161234567",
        "items": [{"sku": "BRG-1", "name": "Бургер", "qty": 2, "unit_price": 299.5}],
        "subtotal_amount": 599.0, "discount_amount": 0, "total_amount": 599.0, "currency": "RUB",
        "call_linkedid": "1730453696.101", "operator_extension": "101",
    }
    event.update(overrides)
    return event


def customer_event(i: int, **overrides: object) -> dict:
    event = {
        "schema_version": 1, "event_id": str(uuid.UUID(int=10**9 + i)), "event_type": "customer_created",
        "event_at": "2026-11-01T10:00:00+03:00", "customer_phone": f"+7916{i:07d}", "name": "Иван",
        "email": None, "home_restaurant_id": 2, "marketing_opt_in": True,
        "registered_at": "2026-11-01T10:00:00+03:00",
    }
    event.update(overrides)
    return event


def feedback_event(i: int, **overrides: object) -> dict:
    event = {
        "schema_version": 1, "event_id": str(uuid.UUID(int=2 * 10**9 + i)), "event_type": "rating_submitted",
        "event_at": "2026-11-01T13:00:00Z", "rating_id": f"R-{i}", "subject_type": "call",
        "call_linkedid": "1730453696.101", "order_id": None, "operator_extension": "101",
        "customer_phone": "+79161234567", "score": 1 + i % 5, "comment": None,
    }
    event.update(overrides)
    return event


def produce(bootstrap: str, topic: str, values: list[bytes | None], keys: list[bytes | None] | None = None,
            partitions: int = 3) -> None:
    """Produce values round-robin over the partitions (deterministic, so tests know where each went)."""
    producer = Producer(client_config(KafkaSecurity(), bootstrap, **{"linger.ms": 5}))
    for i, value in enumerate(values):
        key = keys[i] if keys is not None else f"k{i}".encode()
        producer.produce(topic, value=value, key=key, partition=i % partitions)
        if i % 10_000 == 0:
            producer.poll(0)
    left = producer.flush(30)
    assert left == 0, f"{left} messages were not delivered to {topic}"


def encode(events: list[dict]) -> list[bytes]:
    return [orjson.dumps(e) for e in events]


def landed_coordinates(database_url: str, stream: str) -> list[tuple[str, int, int]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            f"select kafka_topic, kafka_partition, kafka_offset from raw.{stream} order by 1, 2, 3").fetchall()


def count(database_url: str, sql: str, params: tuple = ()) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql, params).fetchone()[0]


@pytest.fixture
def landing_env(make_settings, unique_topics, kafka_bootstrap, fresh_database_url):
    """Settings on fresh topics (3 partitions each) and a fresh database with the raw schema."""
    settings = make_settings(topic_orders=unique_topics["orders"], topic_customers=unique_topics["customers"],
                             topic_feedback=unique_topics["feedback"])
    create_topics(kafka_bootstrap, list(unique_topics.values()))
    ensure_raw_schema(settings, fresh_database_url)
    return settings, fresh_database_url, kafka_bootstrap
