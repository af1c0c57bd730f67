"""Kafka -> PostgreSQL landing against the real broker and a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time

import orjson
import psycopg
import pytest
from confluent_kafka import Producer

from ingestion.kafka import LandingError, land_topics, stream_lag
from ingestion.schema import ensure_raw_schema
from pantao.kafka_config import KafkaSecurity, client_config
from pantao.stack import free_port
from tests import test_kafka_landing_helpers
from tests.test_kafka_landing_helpers import (
    count,
    create_topics,
    customer_event,
    encode,
    feedback_event,
    landed_coordinates,
    order_event,
    produce,
)

landing_env = test_kafka_landing_helpers.landing_env  # the fixture, shared with other landing tests


def test_ensure_raw_schema_is_idempotent_and_creates_contract_tables(make_settings, fresh_database_url):
    settings = make_settings()
    ensure_raw_schema(settings, fresh_database_url)
    ensure_raw_schema(settings, fresh_database_url)
    with psycopg.connect(fresh_database_url) as conn:
        columns = conn.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'orders' order by ordinal_position").fetchall()
        tables = {r[0] for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'")}
    assert columns == [
        ("kafka_topic", "text"), ("kafka_partition", "integer"), ("kafka_offset", "bigint"), ("kafka_key", "text"),
        ("kafka_timestamp", "timestamp with time zone"), ("payload", "text"),
        ("landed_at", "timestamp with time zone"),
    ]
    assert {"orders", "customers", "feedback", "kafka_offsets", "rejected_records"} <= tables


def test_batch_landing_lands_every_record_and_rerun_adds_nothing(landing_env, unique_topics):
    settings, db, bootstrap = landing_env
    orders = [order_event(i) for i in range(600)]
    orders.append(orders[0])  # a Kafka-level duplicate: raw keeps every message, dbt dedupes on event_id
    produce(bootstrap, unique_topics["orders"], encode(orders))
    produce(bootstrap, unique_topics["customers"], encode([customer_event(i) for i in range(50)]))
    produce(bootstrap, unique_topics["feedback"], encode([feedback_event(i) for i in range(30)]))

    result = land_topics(settings, db, bootstrap, batch_size=200)

    assert {name: s.landed for name, s in result.streams.items()} == {"orders": 601, "customers": 50, "feedback": 30}
    assert result.rejected == 0
    assert result.streams["orders"].batches >= 3
    coords = landed_coordinates(db, "orders")
    assert len(coords) == len(set(coords)) == 601
    assert count(db, "select count(*) from raw.orders where payload::jsonb ->> 'event_id' = %s",
                 (orders[0]["event_id"],)) == 2
    with psycopg.connect(db) as conn:
        key, payload, ts = conn.execute(
            "select kafka_key, payload, kafka_timestamp from raw.customers "
            "where kafka_partition = 0 and kafka_offset = 0").fetchone()
    assert key == "k0" and orjson.loads(payload) == customer_event(0) and ts is not None

    again = land_topics(settings, db, bootstrap)
    assert again.landed == 0 and again.rejected == 0
    assert count(db, "select count(*) from raw.orders") == 601


def test_offsets_are_stored_per_partition_and_reported_as_lag(landing_env, unique_topics):
    settings, db, bootstrap = landing_env
    produce(bootstrap, unique_topics["orders"], encode([order_event(i) for i in range(30)]))
    before = {(lag.topic, lag.partition): lag for lag in stream_lag(settings, db, bootstrap)}
    assert before[(unique_topics["orders"], 0)].stored_offset is None
    assert before[(unique_topics["orders"], 0)].high_watermark == 10

    land_topics(settings, db, bootstrap, streams=["orders"])

    lags = [lag for lag in stream_lag(settings, db, bootstrap) if lag.stream == "orders"]
    assert sorted((lag.partition, lag.stored_offset, lag.high_watermark) for lag in lags) == [
        (0, 10, 10), (1, 10, 10), (2, 10, 10)]


BAD_RECORDS = [
    (b'{"schema_version": 1, "event_id": ', "invalid JSON"),
    (orjson.dumps({k: v for k, v in order_event(1).items() if k != "total_amount"}),
     "missing required field 'total_amount'"),
    (orjson.dumps(order_event(2, restaurant_id="3")), "field 'restaurant_id' must be an int, got string"),
    (orjson.dumps(order_event(3, schema_version=2)), "unknown schema_version 2"),
    (orjson.dumps(order_event(4)).replace("Бургер".encode(), b"\xd0\x91\xff\xfe"), "not UTF-8"),
    (None, "empty message"),
]


def test_each_bad_record_kind_is_quarantined_and_good_records_around_it_land(landing_env, unique_topics):
    settings, db, bootstrap = landing_env
    topic = unique_topics["orders"]
    values: list[bytes | None] = []
    for i, (bad, _) in enumerate(BAD_RECORDS):
        values += [orjson.dumps(order_event(100 + i)), bad, orjson.dumps(order_event(200 + i))]
    produce(bootstrap, topic, values, partitions=1)

    result = land_topics(settings, db, bootstrap, streams=["orders"])

    assert result.streams["orders"].landed == 2 * len(BAD_RECORDS)
    assert result.streams["orders"].rejected == len(BAD_RECORDS)
    with psycopg.connect(db) as conn:
        rejected = conn.execute(
            "select source, source_ref, reason, raw_bytes from raw.rejected_records order by id").fetchall()
    assert [r[1] for r in rejected] == [f"{topic}/0/{3 * i + 1}" for i in range(len(BAD_RECORDS))]
    for (source, _, reason, raw), (bad, expected_reason) in zip(rejected, BAD_RECORDS, strict=True):
        assert source == "kafka:orders"
        assert expected_reason in reason
        assert (bytes(raw) if raw is not None else None) == bad
    offsets = [r[2] for r in landed_coordinates(db, "orders")]
    assert offsets == [o for o in range(3 * len(BAD_RECORDS)) if o % 3 != 1]


def test_missing_topic_error_names_the_topic_and_the_broker(landing_env, make_settings, kafka_bootstrap):
    settings, db, bootstrap = landing_env
    settings = settings.with_overrides(topic_feedback="no-such-topic-x1")
    with pytest.raises(LandingError) as info:
        land_topics(settings, db, bootstrap)
    assert "'no-such-topic-x1'" in str(info.value)
    assert bootstrap in str(info.value)
    assert "KAFKA_TOPIC_FEEDBACK" in str(info.value)


def test_unreachable_broker_fails_after_bounded_retries_naming_the_address(make_settings, fresh_database_url):
    settings = make_settings()
    ensure_raw_schema(settings, fresh_database_url)
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(LandingError) as info:
        land_topics(settings, fresh_database_url, address)
    message = str(info.value)
    assert address in message and "not reachable after 3 tries" in message and "pantao stack status" in message


def test_missing_raw_tables_point_to_pantao_prepare(make_settings, unique_topics, kafka_bootstrap,
                                                    fresh_database_url):
    settings = make_settings(topic_orders=unique_topics["orders"])
    create_topics(kafka_bootstrap, [unique_topics["orders"]])
    with pytest.raises(LandingError, match="pantao prepare"):
        land_topics(settings, fresh_database_url, kafka_bootstrap, streams=["orders"])


def test_two_workers_split_partitions_and_land_every_record_exactly_once(landing_env, unique_topics):
    settings, db, bootstrap = landing_env
    produce(bootstrap, unique_topics["orders"], encode([order_event(i) for i in range(900)]))
    results = {}
    errors = []

    def worker(index: int) -> None:
        try:
            results[index] = land_topics(settings, db, bootstrap, streams=["orders"], worker_index=index,
                                         worker_count=2, batch_size=100)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert results[0].landed == 600 and results[1].landed == 300  # partitions {0, 2} and {1}
    coords = landed_coordinates(db, "orders")
    assert len(coords) == len(set(coords)) == 900


def test_reader_processes_land_every_record_exactly_once(landing_env, unique_topics):
    """Big backlogs are read by several processes; one writer still commits rows with their offsets."""
    settings, db, bootstrap = landing_env
    values = encode([order_event(i) for i in range(1200)])
    values[7] = b"not json"
    produce(bootstrap, unique_topics["orders"], values)

    result = land_topics(settings, db, bootstrap, streams=["orders"], batch_size=100, reader_processes=2)

    assert result.streams["orders"].landed == 1199 and result.streams["orders"].rejected == 1
    coords = landed_coordinates(db, "orders")
    assert len(coords) == len(set(coords)) == 1199
    with psycopg.connect(db) as conn:
        stored = dict(conn.execute("select partition, next_offset from raw.kafka_offsets").fetchall())
    assert stored == {0: 400, 1: 400, 2: 400}
    assert land_topics(settings, db, bootstrap, streams=["orders"], reader_processes=2).landed == 0


def test_follow_mode_refreshes_metadata_and_stops_on_the_event_after_committing(landing_env, unique_topics):
    settings, db, bootstrap = landing_env
    stop = threading.Event()
    outcome: dict = {}

    def follow() -> None:
        try:
            outcome["result"] = land_topics(settings, db, bootstrap, streams=["orders", "feedback"], follow=True,
                                            stop_event=stop, metadata_refresh_seconds=0.3)
        except Exception as exc:  # surfaced by the assertion below
            outcome["error"] = exc

    thread = threading.Thread(target=follow)
    thread.start()
    produce(bootstrap, unique_topics["orders"], encode([order_event(i) for i in range(40)]))
    produce(bootstrap, unique_topics["feedback"], encode([feedback_event(i) for i in range(10)]))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and count(db, "select count(*) from raw.orders") < 40:
        time.sleep(0.2)
    time.sleep(1.0)  # several metadata refreshes while records keep being committed
    produce(bootstrap, unique_topics["orders"], encode([order_event(100 + i) for i in range(5)]))
    stop.set()
    thread.join(30)

    assert "error" not in outcome and not thread.is_alive()
    landed = {name: s.landed for name, s in outcome["result"].streams.items()}
    assert landed["feedback"] == 10 and 40 <= landed["orders"] <= 45
    assert count(db, "select count(*) from raw.orders") == landed["orders"]
    again = land_topics(settings, db, bootstrap, streams=["orders"])
    assert landed["orders"] + again.landed == 45


def test_invalid_worker_split_is_refused(landing_env):
    settings, db, bootstrap = landing_env
    with pytest.raises(LandingError, match="worker index 2 of 2"):
        land_topics(settings, db, bootstrap, worker_index=2, worker_count=2)


def test_payloads_keys_and_timestamps_land_byte_for_byte(landing_env, unique_topics):
    """Whitespace, escapes and non-ASCII text reach raw.<stream> exactly as sent; bad keys are quarantined."""
    settings, db, bootstrap = landing_env
    topic = unique_topics["orders"]
    event = order_event(1, customer_phone='quote " backslash \\ tab \t newline \n', operator_extension="доб. 101")
    values = [
        orjson.dumps(event),  # escapes inside strings
        orjson.dumps(order_event(2), option=orjson.OPT_INDENT_2).replace(b"\n  ", b"\r\n\t"),  # CR, LF, tab between tokens
        orjson.dumps(order_event(3)).replace("Бургер".encode(), b"\\u0411\\u0443\\u0440\\u0433\\u0435\\u0440"),
        *(orjson.dumps(order_event(i)) for i in range(4, 8)),
    ]
    keys = [b"k\\1\t\n", "ключ".encode(), None, b"", b"\xff\xfe", b"a\x00b", b"ORD-7"]
    stamp = 1_793_612_096_789  # 2026-11-02T08:54:56.789Z, milliseconds
    producer = Producer(client_config(KafkaSecurity(), bootstrap))
    for i, (key, value) in enumerate(zip(keys, values, strict=True)):
        producer.produce(topic, value=value, key=key, partition=0, timestamp=stamp + i)
    assert producer.flush(30) == 0

    result = land_topics(settings, db, bootstrap, streams=["orders"])

    assert (result.landed, result.rejected) == (5, 2)
    with psycopg.connect(db) as conn:
        rows = conn.execute("select kafka_offset, kafka_key, convert_to(payload, 'UTF8'), kafka_timestamp "
                            "from raw.orders order by kafka_offset").fetchall()
        rejected = conn.execute("select source_ref, reason from raw.rejected_records order by id").fetchall()
    assert [r[0] for r in rows] == [0, 1, 2, 3, 6]
    assert [r[1] for r in rows] == ["k\\1\t\n", "ключ", None, "", "ORD-7"]
    assert [bytes(r[2]) for r in rows] == [values[i] for i in (0, 1, 2, 3, 6)]
    assert [r[3] for r in rows] == [dt.datetime.fromtimestamp((stamp + i) / 1000, dt.UTC) for i in (0, 1, 2, 3, 6)]
    assert rejected == [(f"{topic}/0/4", "message key is not UTF-8"), (f"{topic}/0/5", "message key contains a NUL byte")]
