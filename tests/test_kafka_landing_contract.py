"""The contract at the door, through the real landing: a real producer, broker and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import orjson
import psycopg
from confluent_kafka import Producer

from ingestion.kafka import land_topics
from orchestration.lib.metadata import result_metadata
from pantao.kafka_config import KafkaSecurity, client_config
from tests import test_kafka_landing_helpers
from tests.test_contract_casts import staging_casts
from tests.test_kafka_landing_helpers import count, order_event, produce

landing_env = test_kafka_landing_helpers.landing_env

GOOD_STAMP = 1_793_612_096_789  # 2026-11-02T08:54:56.789Z, milliseconds
# A producer with a broken clock: int64 overflow in microseconds, before PostgreSQL's range,
# year 1200 BC, 1970, and 50 years ahead
BROKEN_STAMPS = [10**16, -5 * 10**14, -(10**14), 1, GOOD_STAMP + 50 * 365 * 86_400_000]


def test_a_broken_producer_clock_lands_the_records_with_a_null_timestamp_and_counts_them(landing_env, unique_topics):
    settings, db, bootstrap = landing_env
    topic = unique_topics["orders"]
    stamps = [GOOD_STAMP, *BROKEN_STAMPS, GOOD_STAMP + 1]
    producer = Producer(client_config(KafkaSecurity(), bootstrap))
    for i, stamp in enumerate(stamps):
        producer.produce(topic, value=orjson.dumps(order_event(i)), key=b"k", partition=0, timestamp=stamp)
    assert producer.flush(30) == 0

    result = land_topics(settings, db, bootstrap, streams=["orders"])

    assert (result.landed, result.rejected, result.null_timestamps) == (7, 0, 5)
    assert result_metadata(result.streams["orders"])["null_timestamps"] == 5  # shown on the Dagster asset
    with psycopg.connect(db) as conn:
        rows = conn.execute("select kafka_offset, kafka_timestamp from raw.orders order by kafka_offset").fetchall()
        stored = conn.execute("select next_offset from raw.kafka_offsets where topic = %s", (topic,)).fetchone()
    assert [offset for offset, _ in rows] == list(range(7))
    assert [ts for _, ts in rows] == [dt.datetime.fromtimestamp(GOOD_STAMP / 1000, dt.UTC), *[None] * 5,
                                      dt.datetime.fromtimestamp((GOOD_STAMP + 1) / 1000, dt.UTC)]
    assert stored == (7,)  # the partition moved on
    assert land_topics(settings, db, bootstrap, streams=["orders"]).landed == 0


ISSUE_RECORDS = [
    (order_event(101, restaurant_id=3_000_000_000), "field 'restaurant_id' must be <= 2147483647"),
    (order_event(102, total_amount=1e15), "field 'total_amount' must be <= 999999999999.99"),
    (order_event(103, created_at="2026-W48-5T12:00:00+03:00"), "field 'created_at' is not an ISO 8601 timestamp"),
    (order_event(104, created_at="2026-11-27T12+03:00"), "field 'created_at' is not an ISO 8601 timestamp"),
    (order_event(105, event_at="2026-11-27T12:00:00,5+03:00"), "field 'event_at' is not an ISO 8601 timestamp"),
    (order_event(106, created_at="9999-12-31T00:00:00+03:00"), "more than 48 hours after the landing time"),
    (order_event(107, created_at="1970-01-01T00:00:00Z"), "is before 2000-01-01T00:00:00+00:00"),
]
EDGE_RECORDS = [  # at the bounds, inside: they land, and the staging casts take them
    order_event(201, restaurant_id=2_147_483_647, total_amount=999_999_999_999.99,
                subtotal_amount=-999_999_999_999.99),
    order_event(202, created_at="2000-01-01T00:00:00Z", event_at="2026-11-01T12:34:56.123456789+15:59"),
    order_event(203, event_at="2026-11-01t12:34:56z"),
]


def test_records_the_staging_casts_would_reject_are_quarantined_and_the_rest_cast(landing_env, unique_topics):
    settings, db, bootstrap = landing_env
    values = [orjson.dumps(e) for e, _ in ISSUE_RECORDS] + [orjson.dumps(e) for e in EDGE_RECORDS]
    produce(bootstrap, unique_topics["orders"], values, partitions=1)

    result = land_topics(settings, db, bootstrap, streams=["orders"])

    assert (result.landed, result.rejected) == (len(EDGE_RECORDS), len(ISSUE_RECORDS))
    with psycopg.connect(db) as conn:
        reasons = [r[0] for r in conn.execute("select reason from raw.rejected_records order by id")]
        casts = ", ".join(f"({e})::text" for e in staging_casts()["orders"].values())
        cast_rows = conn.execute(f"select {casts} from (select payload::jsonb as doc from raw.orders) s").fetchall()
    assert len(reasons) == len(ISSUE_RECORDS)
    for reason, (_, expected) in zip(reasons, ISSUE_RECORDS, strict=True):
        assert expected in reason
    assert len(cast_rows) == len(EDGE_RECORDS) == count(db, "select count(*) from raw.orders")
