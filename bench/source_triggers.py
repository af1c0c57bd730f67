"""Benchmark: what the change-noting triggers on the dbt sources cost the writes that land data.

    .venv/bin/python -m bench.source_triggers

pantao/build_inputs.py puts triggers on every dbt source table so the hourly run can tell that
nothing landed. This measures each kind of trigger on the write it watches, against the same
table without it, in the same run (alternating, best of 3):

- a Kafka table (`raw.orders`' shape): COPY of 200,000 one-kilobyte messages — a trigger per statement;
- a PBX table (`raw.pbx_queue_log`'s shape): `insert … select … on conflict do nothing` of 500,000
  lines — a trigger per statement with a transition table of the inserted rows;
- the operator directory (`raw.pbx_extensions`' shape): 2,000 upserts, one statement each — a
  trigger per row written.

Uses DATABASE_URL when set, else an embedded PostgreSQL (bench/servers.py).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg

from bench.servers import bench_servers
from pantao import build_inputs
from pantao.db import with_database

ROUNDS = 3
KAFKA_ROWS, PBX_ROWS, DIRECTORY_ROWS = 200_000, 500_000, 2_000
PAYLOAD = "x" * 1000


def _kafka(conn: psycopg.Connection, table: str) -> None:
    with conn.cursor() as cur, cur.copy(f"copy {table} (kafka_offset, payload) from stdin") as copy:
        for offset in range(KAFKA_ROWS):
            copy.write_row((offset, PAYLOAD))


def _pbx(conn: psycopg.Connection, table: str) -> None:
    conn.execute(f"insert into {table} (event_hash, line) select md5(g::text), 'ENTERQUEUE|' || g"
                 f" from generate_series(1, {PBX_ROWS}) g on conflict do nothing")


def _directory(conn: psycopg.Connection, table: str) -> None:
    for extension in range(DIRECTORY_ROWS):
        conn.execute(f"insert into {table} (extension, name) values (%s, %s) on conflict (extension)"
                     f" do update set name = excluded.name where {table}.name is distinct from excluded.name",
                     (str(extension), f"operator {extension}"))


# kind: (the table's columns, the source whose triggers it gets, one write)
CASES: dict[str, tuple[str, str, Callable[[psycopg.Connection, str], None]]] = {
    f"Kafka: COPY {KAFKA_ROWS:,} messages": (
        "kafka_offset bigint, payload text, landed_at timestamptz default now()", "raw.orders", _kafka),
    f"PBX: insert … select of {PBX_ROWS:,} lines": (
        "event_hash text primary key, line text, landed_at timestamptz default now()", "raw.pbx_queue_log", _pbx),
    f"directory: {DIRECTORY_ROWS:,} upserts": (
        "extension text primary key, name text, landed_at timestamptz default now()", "raw.pbx_extensions", _directory),
}


def measure(admin_url: str) -> dict[str, dict[str, float]]:
    name = f"bench_triggers_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = with_database(admin_url, name)
    best: dict[str, dict[str, float]] = {}
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("create schema raw")
            conn.execute(build_inputs.TRACKING_DDL)
            for i, (kind, (columns, source, write)) in enumerate(CASES.items()):
                plain, tracked = f"raw.plain_{i}", f"raw.tracked_{i}"
                for table in (plain, tracked):
                    conn.execute(f"create table {table} ({columns})")
                for trigger, definition in build_inputs.triggers_of(source).items():
                    conn.execute(f"create trigger {trigger} {definition.format(t=tracked)}")
                for _ in range(ROUNDS):
                    for label, table in (("without", plain), ("with", tracked)):
                        conn.execute(f"truncate {table}")
                        started = time.perf_counter()
                        with conn.transaction():
                            write(conn, table)
                        took = time.perf_counter() - started
                        best.setdefault(kind, {})[label] = min(best.get(kind, {}).get(label, took), took)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
    return best


def markdown(best: dict[str, dict[str, float]]) -> str:
    lines = ["| write (best of 3, s) | without the trigger | with it | cost |", "|---|---:|---:|---:|"]
    for kind, times in best.items():
        lines.append(f"| {kind} | {times['without']:.3f} | {times['with']:.3f} |"
                     f" {times['with'] / times['without'] - 1:+.1%} |")
    return "\n".join(lines)


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-triggers-") as tmp, bench_servers(Path(tmp)) as (admin_url, _):
        print(markdown(measure(admin_url)))


if __name__ == "__main__":
    main()
