"""A small, hand-checked warehouse for the monitoring tests.

It uses the real schema owners (`ensure_raw_schema`, `ensure_reports_schema`, the access
schema, and the dbt reporting views built over the marts) and the shared hand-made marts (`tests/mini_marts.py`, the
dbt marts' columns and types), and writes a few rows whose metric values are known by
construction. Small on purpose: the
exporter's SQL and the dashboards' SQL are under test here, not the pipeline.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from access.migrate import ensure_access_schema
from ingestion.schema import ensure_raw_schema
from monitoring.readers import normalise_source
from pantao.domain import business_yesterday
from pantao.kafka_config import KafkaSecurity, client_config
from pantao.settings import Settings
from reports.schema import ensure_reports_schema
from tests.mini_marts import DAILY_KPIS, create_mini_marts
from tests.test_access_helpers import MART_GRANTS, apply_reporting_layer

TZ = ZoneInfo("Europe/Moscow")
DAYS = (date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3))
# "now" for the tests: the morning after the last simulated day, 09:00 business time
NOW = datetime(2026, 11, 4, 9, 0, tzinfo=TZ)



@dataclass
class SmallWarehouse:
    """What was written, i.e. what the exporter must report."""

    landed: dict[str, int] = field(default_factory=dict)  # source label -> rows
    lag: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) -> messages
    committed: dict[tuple[str, int], int] = field(default_factory=dict)
    rejected: dict[tuple[str, str], int] = field(default_factory=dict)  # (source, reason label) -> rows
    chain_kpis: dict[str, float] = field(default_factory=dict)  # for the last complete day
    last_complete_day: date = business_yesterday(TZ, NOW)  # what the morning after reports on


def create_topics(bootstrap: str, topics: dict[str, str], partitions: int = 2) -> None:
    admin = AdminClient(client_config(KafkaSecurity(), bootstrap))
    futures = admin.create_topics([NewTopic(t, num_partitions=partitions, replication_factor=1)
                                   for t in topics.values()], operation_timeout=10)
    for future in futures.values():
        future.result(timeout=15)


def publish(bootstrap: str, topic: str, per_partition: dict[int, int]) -> None:
    producer = Producer(client_config(KafkaSecurity(), bootstrap))
    for partition, count in per_partition.items():
        for i in range(count):
            producer.produce(topic, value=json.dumps({"n": i}).encode(), partition=partition)
    assert producer.flush(15) == 0, "broker did not take the test messages"


def _land_rows(conn: psycopg.Connection, stream: str, topic: str, partition: int, count: int) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            f"insert into raw.{stream} (kafka_topic, kafka_partition, kafka_offset, kafka_key, kafka_timestamp,"
            " payload, landed_at) values (%s, %s, %s, null, now(), '{}', %s)",
            [(topic, partition, offset, NOW - timedelta(minutes=5)) for offset in range(count)],
        )


def build_small_warehouse(
    settings: Settings, database_url: str, bootstrap: str | None, topics: dict[str, str] | None = None
) -> SmallWarehouse:
    """Raw, marts, reports and reporting objects with known contents; topics must be fresh."""
    ensure_raw_schema(settings, database_url)
    ensure_reports_schema(settings, database_url)
    truth = SmallWarehouse()
    with psycopg.connect(database_url, autocommit=True) as conn:
        # Kafka: orders has 2 partitions with 7 and 4 messages, of which 5 and 4 are landed.
        if bootstrap and topics:
            create_topics(bootstrap, topics)
            publish(bootstrap, topics["orders"], {0: 7, 1: 4})
            publish(bootstrap, topics["customers"], {0: 3})
            for (stream, partition, landed_count, published) in (
                ("orders", 0, 5, 7), ("orders", 1, 4, 4), ("customers", 0, 1, 3),
            ):
                topic = topics[stream]
                _land_rows(conn, stream, topic, partition, landed_count)
                conn.execute(
                    "insert into raw.kafka_offsets (consumer, topic, partition, next_offset) values (%s, %s, %s, %s)",
                    (settings.kafka_consumer_name, topic, partition, landed_count),
                )
                truth.committed[(topic, partition)] = landed_count
                truth.lag[(topic, partition)] = published - landed_count
            # customers partition 1 was never landed: its lag is everything on it (0 here)
            truth.lag[(topics["customers"], 1)] = 0
            truth.landed = {"kafka:orders": 9, "kafka:customers": 1, "kafka:feedback": 0}
        conn.execute(
            "insert into raw.pbx_extensions (extension, name, source) values ('101', 'Анна', 'file'),"
            " ('102', 'Борис', 'file')"
        )
        truth.landed.update({"pbx_cdr": 0, "pbx_queue_log": 0, "pbx_extensions": 2})
        rejects = [
            ("kafka:orders", "orders/0/3", "invalid JSON: Expecting value: line 1 column 1 (char 0)", "invalid_json"),
            ("kafka:orders", "orders/0/4", "invalid JSON: Unterminated string", "invalid_json"),
            ("kafka:orders", "orders/1/9", "missing required field 'order_id'", "missing_field"),
            ("kafka:feedback", "feedback/0/1", "field 'score' must be from 1 to 5, got 9", "invalid_value"),
            ("kafka:customers", "customers/0/2", "unknown schema_version 7 (this landing reads 1)", "schema_version"),
            ("pbx_queue_log:file", "queue_log:12", "expected epoch|callid|queuename|agent|event|data1..data5,"
             " got 3 field(s)", "parse_error"),
            ("mystery-source", "x", "something odd", "other"),
        ]
        conn.cursor().executemany(
            "insert into raw.rejected_records (source, source_ref, reason, raw_bytes) values (%s, %s, %s, 'x')",
            [r[:3] for r in rejects],
        )
        for source, _, _, label in rejects:
            key = (normalise_source(source), label)
            truth.rejected[key] = truth.rejected.get(key, 0) + 1
        _write_marts(conn, truth)
        _write_reports(conn)
    # the real reporting views (masking, row filters) over these marts, with the grants dbt gives marts
    ensure_access_schema(settings, database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(MART_GRANTS)
    apply_reporting_layer(settings, database_url)
    return truth


def _topic_settings(topics: dict[str, str] | None) -> dict[str, str]:
    return {f"topic_{stream}": topic for stream, topic in (topics or {}).items()}


@pytest.fixture(scope="session")
def _small_warehouse_topics() -> dict[str, str]:
    """The Kafka topics of the small warehouse with a broker (tests read them, never publish to them)."""
    suffix = uuid.uuid4().hex[:8]
    return {name: f"{name}-{suffix}" for name in ("orders", "customers", "feedback")}


@pytest.fixture
def small_warehouse(new_database, make_settings, tmp_path_factory: pytest.TempPathFactory,
                    request: pytest.FixtureRequest) -> Iterator[Callable[..., tuple[Settings, str, SmallWarehouse]]]:
    """`small_warehouse(with_kafka=True)`: (settings, database URL, truth) of a test's own copy of
    `build_small_warehouse`, built once per session and kind (with Kafka topics, or without a
    broker): building it runs dbt for the reporting views, copying the database does not."""
    with ExitStack() as stack:
        def copy_of(with_kafka: bool = True) -> tuple[Settings, str, SmallWarehouse]:
            topics = request.getfixturevalue("_small_warehouse_topics") if with_kafka else None
            bootstrap = request.getfixturevalue("kafka_bootstrap") if with_kafka else None
            def build(url: str) -> SmallWarehouse:
                settings = Settings(data_dir=tmp_path_factory.mktemp("small-warehouse") / "data",
                                    **_topic_settings(topics))  # type: ignore[arg-type]
                return build_small_warehouse(settings, url, bootstrap, topics)

            template, truth = new_database.template("small_kafka" if with_kafka else "small", build)
            url = stack.enter_context(new_database("small", template=template))
            return make_settings(**_topic_settings(topics)), url, copy.deepcopy(truth)

        yield copy_of


def _write_marts(conn: psycopg.Connection, truth: SmallWarehouse) -> None:
    create_mini_marts(conn)
    segments = ("new", "regular", "loyal")
    for n, day in enumerate(DAYS):
        orders = 10 + n
        chain = dict.fromkeys(DAILY_KPIS, 1)
        chain.update(orders_count=orders, revenue_amount=orders * 800.0, average_check_amount=800.0,
                     calls_offered_count=20 + n, missed_call_rate=0.1 + n / 100, asa_seconds=12.5 + n,
                     service_level=0.8, csat_mean=4.25)
        if day == truth.last_complete_day:
            chain["csat_mean"] = None  # a null KPI (no ratings) must leave its gauge absent
            truth.chain_kpis = {k: v for k, v in chain.items() if v is not None}
        conn.execute(
            f"insert into marts.daily_kpis (business_date, {', '.join(DAILY_KPIS)})"
            f" values (%s, {', '.join(['%s'] * len(DAILY_KPIS))})",
            (day, *[chain[c] for c in DAILY_KPIS]),
        )
        for restaurant in (1, 2):
            conn.execute(
                "insert into marts.restaurant_daily_kpis (business_date, restaurant_id, orders_count, revenue_amount,"
                " average_check_amount, unique_customers_count, new_customers_count, repeat_customers_count,"
                " repeat_customer_share) values (%s, %s, 5, 4000, 800, 4, 1, 3, 0.75)",
                (day, restaurant),
            )
        conn.execute(
            "insert into marts.operator_daily (business_date, operator_extension, operator_name, calls_handled_count,"
            " talk_seconds_total, avg_talk_seconds, missed_rings_count, missed_ring_rate, avg_pickup_seconds,"
            " logged_in_seconds, paused_seconds, occupancy, ratings_count, rating_mean, rating_share_4_5,"
            " phone_orders_count) values (%s, '101', 'Анна', 12, 1800, 150, 1, 0.08, 4, 28800, 1800, 0.07, 3, 4.3,"
            " 0.66, 4)",
            (day,),
        )
        for hour in range(9, 23):
            start = datetime.combine(day, datetime.min.time(), TZ) + timedelta(hours=hour)
            conn.execute(
                "insert into marts.hourly_kpis (business_date, hour, hour_start_at, orders_count, revenue_amount,"
                " calls_offered_count, calls_answered_count, calls_unanswered_count, asa_seconds, service_level)"
                " values (%s, %s, %s, 2, 1600, 3, 2, 1, 14.0, 0.66)", (day, hour, start)
            )
            phone = f"+7916000{hour:04d}"
            order_id = f"ORD-{day:%Y%m%d}-{hour:06d}"
            channel = ("phone", "app", "web")[hour % 3]
            conn.execute(
                "insert into marts.orders (order_id, created_at, business_date, status, restaurant_id, channel,"
                " customer_phone, subtotal_amount, discount_amount, total_amount, is_first_order, call_linkedid,"
                " operator_extension) values (%s, %s, %s, %s, %s, %s, %s, 850, 50, 800, %s, %s, %s)",
                (order_id, start + timedelta(minutes=7), day, "cancelled" if hour == 12 else "completed",
                 1 + hour % 2, channel, phone, n == 0, f"{start.timestamp():.0f}.1" if channel == "phone" else None,
                 "101" if channel == "phone" else None),
            )
            outcome = "abandoned" if hour % 4 == 0 else "answered"
            conn.execute(
                "insert into marts.calls (linkedid, queue_name, entered_at, business_date, outcome, wait_seconds,"
                " is_short_abandon, answered_by_extension, pickup_seconds, talk_seconds, transfer_count, caller_phone,"
                " customer_phone, led_to_order, order_id, rating_score)"
                " values (%s, 'orders', %s, %s, %s, 8, false, %s, 3, 120, 0, %s, %s, %s, %s, %s)",
                (f"{start.timestamp():.0f}.1", start, day, outcome, "101" if outcome == "answered" else None, phone,
                 phone, channel == "phone", order_id if channel == "phone" else None, 5 if hour % 2 else None),
            )
    for hour in range(9, 23):
        phone = f"+7916000{hour:04d}"
        first = datetime.combine(DAYS[0], datetime.min.time(), TZ) + timedelta(hours=hour, minutes=7)
        last = datetime.combine(DAYS[-1], datetime.min.time(), TZ) + timedelta(hours=hour, minutes=7)
        conn.execute(
            "insert into marts.customers (customer_phone, customer_name, segment, first_order_at, last_order_at,"
            " lifetime_orders_count, lifetime_revenue_amount, average_check_amount, home_restaurant_id, last_call_at,"
            " last_rating_score) values (%s, %s, %s, %s, %s, 3, 2400, 800, 1, %s, 5)",
            (phone, f"Клиент {hour}", segments[(hour // 3) % 3], first, last, last),
        )


def _write_reports(conn: psycopg.Connection) -> None:
    last = DAYS[-1]
    conn.execute(
        "insert into reports.daily_report (business_date, version, figures, data_freshness, generated_at, lang)"
        " values (%s, 1, '{}', '{}', %s, 'ru')",
        (last, NOW - timedelta(hours=2)),
    )
    rows = [
        (last, "111", "morning_summary", "sent", 1, NOW - timedelta(hours=1)),
        (last, "222", "morning_summary", "sent", 2, NOW - timedelta(minutes=50)),
        (last - timedelta(days=1), "111", "morning_summary", "failed", 3, NOW - timedelta(days=1)),
    ]
    conn.cursor().executemany(
        "insert into reports.deliveries (business_date, chat_id, kind, status, attempts, updated_at)"
        " values (%s, %s, %s, %s, %s, %s)",
        rows,
    )


def run_results(target_dir: Path, generated_at: datetime, statuses: dict[str, str], which: str = "build") -> Path:
    """Write a dbt run_results.json with the given unique_id -> status."""
    target_dir.mkdir(parents=True, exist_ok=True)
    document = {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
                     "generated_at": generated_at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                     "invocation_id": str(uuid.uuid4())},
        "results": [{"unique_id": uid, "status": status, "failures": 1 if status == "fail" else 0}
                    for uid, status in statuses.items()],
        "elapsed_time": 12.3,
        "args": {"which": which},
    }
    path = target_dir / "run_results.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path
