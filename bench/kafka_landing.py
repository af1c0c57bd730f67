"""Benchmark: Kafka -> PostgreSQL landing against a plain COPY ceiling and pandas `to_sql`.

    .venv/bin/python -m bench.kafka_landing               # 1,000,000 order events
    .venv/bin/python -m bench.kafka_landing --events 100000   # a quick run

Everything runs in one go on an embedded PostgreSQL and broker started in a temporary folder:
1. order events are generated from the simulator's events (each copy gets its own event_id and
   order_id) and produced to a 3-partition topic (and a quarter of them to a second topic);
2. (a) ceiling: the same rows, pre-encoded in memory, COPYed in batches into the landing's table
   definition (payload `text`), and for comparison into the same table with payload `jsonb`;
3. (b) baseline: `pandas.DataFrame.to_sql` of the same rows (a subset, see --to-sql-rows);
4. (c) the landing itself, in a child process, so its peak RSS is its own; once for the small
   topic and once for the full one, to show that memory stays flat as the input grows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson

log = logging.getLogger("bench.kafka_landing")

TOPIC_FULL = "bench-orders"
TOPIC_QUARTER = "bench-orders-quarter"
PARTITIONS = 3


def order_templates() -> list[tuple[bytes, bytes, bytes]]:
    """(value, event_id, order_id) of one simulated day's valid order events."""
    from simulator import SimConfig, generate, write_outputs

    with tempfile.TemporaryDirectory() as tmp:
        sim = generate(SimConfig(days=1, restaurants=5, seed=7, start=dt.date(2026, 11, 2), malformed_share=0.0,
                                 duplicate_share=0.0))
        write_outputs(sim, Path(tmp))
        lines = (Path(tmp) / "kafka" / "orders.jsonl").read_bytes().splitlines()
    templates = []
    for line in lines:
        value = orjson.loads(line)["value"].encode()
        event = orjson.loads(value)
        templates.append((value, event["event_id"].encode(), event["order_id"].encode()))
    return templates


def generate_events(n: int) -> list[tuple[bytes, bytes]]:
    """n (key, value) pairs: simulator events with fresh ids, so every event is distinct."""
    templates = order_templates()
    events = []
    for i in range(n):
        value, event_id, order_id = templates[i % len(templates)]
        new_order = b"ORD-BENCH-%012d" % i
        new_value = value.replace(event_id, str(uuid.UUID(int=i)).encode()).replace(order_id, new_order)
        events.append((new_order, new_value))
    return events


def produce(bootstrap: str, topic: str, events: list[tuple[bytes, bytes]]) -> float:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})  # keep a reference: the futures need the handle
    for future in admin.create_topics([NewTopic(topic, PARTITIONS, 1)]).values():
        future.result(timeout=30)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "batch.size": 1_000_000,
                         "queue.buffering.max.messages": 500_000})
    started = time.perf_counter()
    for i, (key, value) in enumerate(events):
        while True:
            try:
                producer.produce(topic, value=value, key=key, partition=i % PARTITIONS)
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(300) == 0, "messages left undelivered"
    return time.perf_counter() - started


def copy_rows(events: list[tuple[bytes, bytes]]) -> list[bytes]:
    """The rows the landing would write, as COPY text (same topic/partition/offset layout)."""
    from ingestion.copy_rows import TimestampFormatter, copy_escape

    fmt = TimestampFormatter()
    now_ms = int(time.time() * 1000)
    offsets = [0] * PARTITIONS
    rows = []
    for i, (key, value) in enumerate(events):
        p = i % PARTITIONS
        rows.append(b"%b\t%d\t%d\t%b\t%b\t%b\n" % (TOPIC_FULL.encode(), p, offsets[p], copy_escape(key),
                                                   fmt(now_ms), copy_escape(value)))
        offsets[p] += 1
    return rows


def copy_ceiling(database_url: str, table: str, payload_type: str, rows: list[bytes], batch_size: int) -> float:
    from ingestion.schema import KAFKA_COPY_COLUMNS, kafka_table_ddl
    from pantao.db import connect

    ddl = kafka_table_ddl(table)
    if payload_type != "text":
        ddl = ddl.replace("payload text not null", f"payload {payload_type} not null")
    with connect(database_url, autocommit=True) as conn:
        conn.execute("create schema if not exists bench")
        conn.execute(f"drop table if exists {table}")
        conn.execute(ddl)
        sql = f"copy {table} ({', '.join(KAFKA_COPY_COLUMNS)}) from stdin"
        started = time.perf_counter()
        for i in range(0, len(rows), batch_size):
            with conn.transaction(), conn.cursor().copy(sql) as copy:
                copy.write(b"".join(rows[i:i + batch_size]))
        return time.perf_counter() - started


def to_sql_baseline(database_url: str, events: list[tuple[bytes, bytes]]) -> float:
    """What a typical pipeline does: a DataFrame and `to_sql` through SQLAlchemy (default insert method)."""
    import pandas as pd
    import sqlalchemy

    from ingestion.schema import kafka_table_ddl
    from pantao.db import connect, sqlalchemy_url

    with connect(database_url, autocommit=True) as conn:
        conn.execute("create schema if not exists bench")
        conn.execute("drop table if exists bench.orders_to_sql")
        conn.execute(kafka_table_ddl("bench.orders_to_sql"))
    now = pd.Timestamp.now(tz="UTC")
    frame = pd.DataFrame({
        "kafka_topic": TOPIC_FULL,
        "kafka_partition": [i % PARTITIONS for i in range(len(events))],
        "kafka_offset": [i // PARTITIONS for i in range(len(events))],
        "kafka_key": [k.decode() for k, _ in events],
        "kafka_timestamp": now,
        "payload": [v.decode() for _, v in events],
    })
    engine = sqlalchemy.create_engine(sqlalchemy_url(database_url))
    try:
        started = time.perf_counter()
        frame.to_sql("orders_to_sql", engine, schema="bench", if_exists="append", index=False,
                     chunksize=10_000)
        return time.perf_counter() - started
    finally:
        engine.dispose()


def land_in_child(database_url: str, bootstrap: str, topic: str, batch_size: int, consumer: str) -> dict:
    cfg = {"database_url": database_url, "bootstrap": bootstrap, "topic": topic, "batch_size": batch_size,
           "consumer": consumer}
    out = subprocess.run([sys.executable, "-m", "bench.kafka_landing", "--land-child", json.dumps(cfg)],
                         capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parent.parent)
    if out.returncode != 0:
        raise RuntimeError(f"landing child failed: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it does not inherit the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (this benchmark needs Linux)")


def land_child(cfg: dict) -> None:
    """Runs in the child: land one topic, print seconds and peak RSS as JSON."""
    from ingestion.kafka_landing import land_topics
    from ingestion.schema import ensure_raw_schema
    from pantao.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(topic_orders=cfg["topic"], kafka_consumer_name=cfg["consumer"], data_dir=Path(tmp))
        ensure_raw_schema(settings, cfg["database_url"])
        rss_before = peak_rss_mb()
        result = land_topics(settings, cfg["database_url"], cfg["bootstrap"], streams=["orders"],
                             batch_size=cfg["batch_size"])
    print(json.dumps({"landed": result.landed, "rejected": result.rejected, "seconds": result.seconds,
                      "batches": result.batches, "rss_before_mb": rss_before,
                      "writer_idle_seconds": result.writer_idle_seconds,
                      "reader_blocked_seconds": result.reader_blocked_seconds,
                      "peak_rss_mb": peak_rss_mb(), "reader_processes": result.reader_processes,
                      # reader processes, if any: the largest (an upper bound: Linux carries ru_maxrss
                      # across fork+exec, so it starts at this process's size when it spawned them)
                      "reader_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="order events to land (default 1,000,000)")
    parser.add_argument("--to-sql-rows", type=int, default=100_000,
                        help="rows for the pandas to_sql baseline (it is slow; default 100,000)")
    parser.add_argument("--batch-size", type=int, default=None, help="landing batch size (default: the landing's)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the embedded stack lives (default: a temp dir)")
    parser.add_argument("--land-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.land_child:
        logging.basicConfig(level=logging.WARNING)
        land_child(json.loads(args.land_child))
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from ingestion.kafka_landing import DEFAULT_BATCH_SIZE
    from pantao.stack import EmbeddedKafka, EmbeddedPostgres

    batch_size = args.batch_size or DEFAULT_BATCH_SIZE
    own_workdir = args.workdir is None  # a temp dir of ours is removed afterwards (it holds ~4 GB)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pantao-bench-"))
    pg = EmbeddedPostgres(workdir / "pg")
    kafka = EmbeddedKafka(workdir / "kafka")
    pg.start()
    kafka.start()
    try:
        report = run(pg.dsn(), kafka.bootstrap, args.events, args.to_sql_rows, batch_size)
    finally:
        kafka.stop()
        pg.stop()
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report, indent=2))
    print(summary(report))


def run(database_url: str, bootstrap: str, n: int, to_sql_rows: int, batch_size: int) -> dict:
    quarter = n // 4
    log.info("generating %d order events from the simulator's", n)
    events = generate_events(n)
    mean_bytes = sum(len(v) for _, v in events) / n
    log.info("producing %d + %d events to %s", n, quarter, bootstrap)
    produce_seconds = produce(bootstrap, TOPIC_FULL, events)
    produce(bootstrap, TOPIC_QUARTER, events[:quarter])

    rows = copy_rows(events)
    log.info("(a) COPY ceiling, payload text")
    text_seconds = copy_ceiling(database_url, "bench.orders_copy_text", "text", rows, batch_size)
    log.info("(a') COPY, payload jsonb")
    jsonb_seconds = copy_ceiling(database_url, "bench.orders_copy_jsonb", "jsonb", rows, batch_size)
    del rows

    subset = events[:min(to_sql_rows, n)]
    del events
    log.info("(b) pandas to_sql of %d rows", len(subset))
    to_sql_seconds = to_sql_baseline(database_url, subset)

    log.info("(c) landing %d events from the broker (child process)", quarter)
    small = land_in_child(database_url, bootstrap, TOPIC_QUARTER, batch_size, "bench-quarter")
    log.info("(c) landing %d events from the broker (child process)", n)
    full = land_in_child(database_url, bootstrap, TOPIC_FULL, batch_size, "bench-full")
    assert full["landed"] == n and small["landed"] == quarter, (full, small)

    copy_rate = n / text_seconds
    to_sql_rate = len(subset) / to_sql_seconds
    landing_rate = n / full["seconds"]
    return {
        "events": n, "mean_event_bytes": round(mean_bytes), "batch_size": batch_size, "cpu_count": os.cpu_count(),
        "produce_rows_per_s": round(n / produce_seconds),
        "copy_text_rows_per_s": round(copy_rate), "copy_jsonb_rows_per_s": round(n / jsonb_seconds),
        "to_sql_rows": len(subset), "to_sql_rows_per_s": round(to_sql_rate),
        "landing_rows_per_s": round(landing_rate), "landing_seconds": round(full["seconds"], 2),
        "landing_vs_copy_ceiling": round(landing_rate / copy_rate, 3),
        "landing_vs_to_sql": round(landing_rate / to_sql_rate, 1),
        "landing_small_events": quarter, "landing_small_rows_per_s": round(quarter / small["seconds"]),
        "peak_rss_mb_small": round(small["peak_rss_mb"]), "peak_rss_mb_full": round(full["peak_rss_mb"]),
        "reader_processes": full["reader_processes"],
        "reader_peak_rss_mb_small": round(small["reader_peak_rss_mb"]),
        "reader_peak_rss_mb_full": round(full["reader_peak_rss_mb"]),
        "rss_before_landing_mb": round(full["rss_before_mb"]),
        "landing_writer_idle_seconds": round(full["writer_idle_seconds"], 1),
        "landing_reader_blocked_seconds": round(full["reader_blocked_seconds"], 1),
    }


def summary(r: dict) -> str:
    return "\n".join([
        f"events: {r['events']:,} order events, mean {r['mean_event_bytes']} bytes; batch {r['batch_size']:,}",
        f"(a) COPY ceiling, payload text : {r['copy_text_rows_per_s']:>9,} rows/s",
        f"    COPY, payload jsonb         : {r['copy_jsonb_rows_per_s']:>9,} rows/s",
        f"(b) pandas to_sql ({r['to_sql_rows']:,} rows): {r['to_sql_rows_per_s']:>9,} rows/s",
        f"(c) landing from the broker    : {r['landing_rows_per_s']:>9,} rows/s "
        f"= {r['landing_vs_copy_ceiling']:.0%} of the COPY ceiling, {r['landing_vs_to_sql']}x to_sql",
        f"peak RSS of the landing process: {r['peak_rss_mb_small']} MB for {r['landing_small_events']:,} events, "
        f"{r['peak_rss_mb_full']} MB for {r['events']:,} (after imports: {r['rss_before_landing_mb']} MB)",
        f"reader processes: {r['reader_processes']}, each at most {r['reader_peak_rss_mb_small']} MB / "
        f"{r['reader_peak_rss_mb_full']} MB; the writer waited for batches "
        f"{r['landing_writer_idle_seconds']} s of {r['landing_seconds']} s",
    ])


if __name__ == "__main__":
    main()
