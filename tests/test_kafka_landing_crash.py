"""Exactly-once under crashes, broker data loss and shutdown: real subprocesses, broker and database.

The crash runner is a separate Python process that lands with a fault hook which calls
`os._exit` at a named point of a chosen batch, so the process dies with its transaction open
(or just committed), exactly as a kill would leave it. Then a normal run finishes the job.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import orjson
import psycopg
import pytest

from ingestion.kafka import LandingError, land_topics
from ingestion.schema import ensure_raw_schema
from pantao.stack import EmbeddedKafka
from tests.conftest import PANTAO_CLI
from tests.test_kafka_landing_helpers import (
    count,
    create_topics,
    encode,
    landed_coordinates,
    order_event,
    produce,
)

CRASH_EXIT_CODE = 17
BATCH = 150

RUNNER = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from ingestion.kafka import land_topics
    from pantao.settings import Settings

    cfg = json.loads(sys.argv[1])
    point, _, number = os.environ.get("PANTAO_TEST_CRASH_AT", "").partition(":")

    def crash(at, batch_number):
        if at == point and batch_number == int(number):
            os._exit(int(os.environ["PANTAO_TEST_CRASH_EXIT"]))

    settings = Settings(topic_orders=cfg["topic"], data_dir=Path(cfg["data_dir"]))
    result = land_topics(settings, cfg["db"], cfg["bootstrap"], streams=["orders"], batch_size=cfg["batch"],
                         fault_hook=crash if point else None)
    print(result.landed, result.rejected)
""")


def run_landing(cfg: dict, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PANTAO_TEST_CRASH_AT": crash_at or "", "PANTAO_TEST_CRASH_EXIT": str(CRASH_EXIT_CODE)}
    return subprocess.run([sys.executable, "-c", RUNNER, json.dumps(cfg)], env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize(("point", "committed_batches"), [
    ("before_copy", 2), ("after_copy", 2), ("after_commit", 3),
])
def test_crash_at_any_point_neither_loses_nor_duplicates(point, committed_batches, make_settings, unique_topics,
                                                         kafka_bootstrap, fresh_database_url, tmp_path):
    topic = unique_topics["orders"]
    create_topics(kafka_bootstrap, [topic])
    values = encode([order_event(i) for i in range(1000)])
    for i in (5, 400, 777):
        values[i] = b"{broken json " + str(i).encode()
    produce(kafka_bootstrap, topic, values)
    ensure_raw_schema(make_settings(), fresh_database_url)
    cfg = {"topic": topic, "db": fresh_database_url, "bootstrap": kafka_bootstrap, "batch": BATCH,
           "data_dir": str(tmp_path / "data")}

    crashed = run_landing(cfg, crash_at=f"{point}:3")
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr[-2000:]
    done_before_crash = (count(fresh_database_url, "select count(*) from raw.orders")
                         + count(fresh_database_url, "select count(*) from raw.rejected_records"))
    assert done_before_crash == committed_batches * BATCH

    finished = run_landing(cfg)
    assert finished.returncode == 0, finished.stderr[-2000:]

    coords = landed_coordinates(fresh_database_url, "orders")
    assert len(coords) == len(set(coords)) == 997
    with psycopg.connect(fresh_database_url) as conn:
        refs = [r[0] for r in conn.execute("select source_ref from raw.rejected_records")]
        stored = dict(conn.execute("select partition, next_offset from raw.kafka_offsets where topic = %s",
                                   (topic,)).fetchall())
    assert sorted(refs) == sorted(f"{topic}/{i % 3}/{i // 3}" for i in (5, 400, 777))
    landed = {(p, o) for _, p, o in coords} | {(int(r.split("/")[1]), int(r.split("/")[2])) for r in refs}
    assert landed == {(i % 3, i // 3) for i in range(1000)}
    assert stored == {0: 334, 1: 333, 2: 333}


@pytest.fixture
def own_broker(tmp_path):
    """A broker of this test's own, so it can be restarted (memory storage: a restart empties it)."""
    with EmbeddedKafka(tmp_path / "kafka") as broker:
        yield broker


def test_broker_that_lost_its_data_is_reported_and_reset_offsets_recovers(own_broker, make_settings,
                                                                         fresh_database_url, caplog):
    settings = make_settings(topic_orders="orders-restart")
    ensure_raw_schema(settings, fresh_database_url)
    create_topics(own_broker.bootstrap, ["orders-restart"], partitions=1)
    produce(own_broker.bootstrap, "orders-restart", encode([order_event(i) for i in range(20)]), partitions=1)
    assert land_topics(settings, fresh_database_url, own_broker.bootstrap, streams=["orders"]).landed == 20

    port = own_broker.port
    own_broker.stop()
    restarted = EmbeddedKafka(own_broker.workdir, port=port)
    restarted.start()
    own_broker._pid = restarted.pid()  # so the fixture stops the new process
    create_topics(restarted.bootstrap, ["orders-restart"], partitions=1)
    produce(restarted.bootstrap, "orders-restart", encode([order_event(100 + i) for i in range(5)]), partitions=1)

    with pytest.raises(LandingError) as info:
        land_topics(settings, fresh_database_url, restarted.bootstrap, streams=["orders"])
    message = str(info.value)
    for part in ("stored offset 20", "'orders-restart' partition 0", "end offset 5", restarted.bootstrap,
                 "--reset-offsets-to earliest"):
        assert part in message
    assert count(fresh_database_url, "select count(*) from raw.orders") == 20  # nothing skipped, nothing added

    with caplog.at_level(logging.WARNING, logger="ingestion.kafka"):
        result = land_topics(settings, fresh_database_url, restarted.bootstrap, streams=["orders"],
                             reset_offsets_to="earliest")
    assert result.landed == 5
    assert any("from 20 to the earliest offset 0" in r.getMessage() for r in caplog.records)


def test_follow_mode_lands_as_records_arrive_and_stops_cleanly_on_sigterm(make_settings, unique_topics,
                                                                         kafka_bootstrap, fresh_database_url,
                                                                         tmp_path):
    topic = unique_topics["orders"]
    create_topics(kafka_bootstrap, [topic])
    env = {**os.environ, "DATABASE_URL": fresh_database_url, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
           "KAFKA_TOPIC_ORDERS": topic, "PANTAO_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([*PANTAO_CLI, "ingest", "kafka", "--follow", "--stream", "orders"],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        produce(kafka_bootstrap, topic, encode([order_event(i) for i in range(100)]))
        _wait_for_rows(fresh_database_url, 100, proc)
        produce(kafka_bootstrap, topic, [orjson.dumps(order_event(100 + i)) for i in range(50)])
        _wait_for_rows(fresh_database_url, 150, proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert "SIGTERM received" in err
    assert "orders     landed       150" in out
    coords = landed_coordinates(fresh_database_url, "orders")
    assert len(coords) == len(set(coords)) == 150


def _wait_for_rows(database_url: str, expected: int, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    landed = -1
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the follow process exited early: {proc.stderr.read()[-2000:]}"
        try:
            landed = count(database_url, "select count(*) from raw.orders")
        except psycopg.errors.UndefinedTable:
            landed = -1
        if landed >= expected:
            return
        time.sleep(0.2)
    raise AssertionError(f"only {landed} of {expected} records landed within {seconds} s")
