"""The baselines the landing benchmark (bench/kafka_landing.py) measures the landing against:
a plain COPY from memory (the ceiling) and pandas `to_sql` (what a typical pipeline does)."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

TOPIC_FULL = "bench-orders"
PARTITIONS = 3


def _copy_text_escape(value: bytes) -> bytes:
    for raw, escaped in ((b"\\", b"\\\\"), (b"\n", b"\\n"), (b"\r", b"\\r"), (b"\t", b"\\t")):
        if value.find(raw) != -1:
            value = value.replace(raw, escaped)
    return value


def text_rows(events: list[tuple[bytes, bytes]], millis: int) -> list[bytes]:
    """The landing's rows in COPY's text format (same topic/partition/offset layout, escaped)."""
    stamp = dt.datetime.fromtimestamp(millis / 1000, dt.UTC).isoformat(sep=" ", timespec="milliseconds").encode()
    topic = TOPIC_FULL.encode()
    offsets = [0] * PARTITIONS
    rows = []
    for i, (key, value) in enumerate(events):
        p = i % PARTITIONS
        rows.append(b"%b\t%d\t%d\t%b\t%b\t%b\n" % (topic, p, offsets[p], _copy_text_escape(key), stamp,
                                                   _copy_text_escape(value)))
        offsets[p] += 1
    return rows


def binary_rows(events: list[tuple[bytes, bytes]], millis: int) -> list[bytes]:
    """The same rows in COPY's binary format, as the landing encodes them."""
    from ingestion.kafka.copy_rows import kafka_row, kafka_row_prefix

    prefixes = [kafka_row_prefix(TOPIC_FULL, p) for p in range(PARTITIONS)]
    offsets = [0] * PARTITIONS
    rows = []
    for i, (key, value) in enumerate(events):
        p = i % PARTITIONS
        rows.append(kafka_row(prefixes[p], offsets[p], key, millis, value))
        offsets[p] += 1
    return rows


def backend_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of a local PostgreSQL backend, or None when /proc does not show it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def copy_ceiling(database_url: str, table: str, payload_type: str, rows: list[bytes], batch_size: int,
                 binary: bool = False) -> tuple[float, float | None]:
    """Seconds to COPY `rows` from memory in batches (one transaction each), and the backend's CPU seconds."""
    from ingestion.kafka.copy_rows import HEADER, TRAILER
    from ingestion.schema import KAFKA_COPY_COLUMNS, kafka_table_ddl
    from pantao.db import connect

    ddl = kafka_table_ddl(table)
    if payload_type != "text":
        ddl = ddl.replace("payload text not null", f"payload {payload_type} not null")
    with connect(database_url, autocommit=True) as conn:
        conn.execute("create schema if not exists bench")
        conn.execute(f"drop table if exists {table}")
        conn.execute(ddl)
        backend = conn.execute("select pg_backend_pid()").fetchone()[0]
        sql = f"copy {table} ({', '.join(KAFKA_COPY_COLUMNS)}) from stdin" + (" (format binary)" if binary else "")
        cpu_before = backend_cpu_seconds(backend)
        started = time.perf_counter()
        for i in range(0, len(rows), batch_size):
            data = b"".join(rows[i:i + batch_size])
            with conn.transaction(), conn.cursor().copy(sql) as copy:
                copy.write(HEADER + data + TRAILER if binary else data)
        seconds = time.perf_counter() - started
        cpu_after = backend_cpu_seconds(backend)
        server_cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
        return seconds, server_cpu


def to_sql_baseline(database_url: str, events: list[tuple[bytes, bytes]]) -> float:
    """What a typical pipeline does: a DataFrame and `to_sql` through SQLAlchemy + psycopg2.

    The default insert method (method=None: SQLAlchemy's executemany, which SQLAlchemy 2 sends as
    multi-row INSERTs) with chunksize=10,000, into the same table definition.
    """
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
