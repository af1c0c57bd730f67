"""The landing's processes and connections when things die: reader processes die with a landing
killed by SIGKILL, and a database that stops mid-landing ends the run with one clear line, after
which a rerun lands the rest exactly once. Real subprocesses, broker and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from ingestion.kafka import LandingError, land_topics
from ingestion.schema import ensure_raw_schema
from pantao.stack import EmbeddedPostgres, free_port
from tests import test_kafka_landing_helpers as helpers
from tests.conftest import PANTAO_CLI

# A landing whose writer hangs before its first COPY, so its reader processes fill their queue and wait.
STUCK_RUNNER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from ingestion.kafka import land_topics
    from pantao.settings import Settings

    cfg = json.loads(sys.argv[1])

    def hang(point, batch_number):
        if point == "before_copy":
            print("stuck", flush=True)
            time.sleep(600)

    settings = Settings(topic_orders=cfg["topic"], data_dir=Path(cfg["data_dir"]))
    land_topics(settings, cfg["db"], cfg["bootstrap"], streams=["orders"], batch_size=50, reader_processes=2,
                fault_hook=hang)
""")


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE  # a zombie holds no memory and runs nothing
    except psutil.NoSuchProcess:
        return False


def test_reader_processes_die_when_the_landing_is_killed(make_settings, unique_topics, kafka_bootstrap,
                                                         fresh_database_url, tmp_path):
    topic = unique_topics["orders"]
    helpers.create_topics(kafka_bootstrap, [topic])
    helpers.produce(kafka_bootstrap, topic, helpers.encode([helpers.order_event(i) for i in range(3000)]))
    ensure_raw_schema(make_settings(), fresh_database_url)
    cfg = {"topic": topic, "db": fresh_database_url, "bootstrap": kafka_bootstrap, "data_dir": str(tmp_path / "d")}
    landing = subprocess.Popen([sys.executable, "-c", STUCK_RUNNER, json.dumps(cfg)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    children: list[psutil.Process] = []
    try:
        assert landing.stdout.readline().strip() == "stuck", landing.stderr.read()[-2000:]
        children = psutil.Process(landing.pid).children(recursive=True)
        readers = [c for c in children if "spawn_main" in " ".join(c.cmdline())]
        assert len(readers) == 2  # the two reader processes, each waiting for the writer

        os.kill(landing.pid, signal.SIGKILL)
        landing.wait(10)
        deadline = time.monotonic() + 5
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [c.pid for c in children if _alive(c)] == []
    finally:
        if landing.poll() is None:
            landing.kill()
        for child in children:  # never leave a reader behind, even when the test fails
            if _alive(child):
                child.kill()
    assert helpers.count(fresh_database_url, "select count(*) from raw.orders") == 0  # nothing half-landed


@pytest.fixture
def own_postgres(tmp_path):
    """A PostgreSQL of this test's own, so it can be stopped mid-landing and started again."""
    with EmbeddedPostgres(tmp_path / "pg") as server:
        yield server


def test_a_database_stopped_mid_landing_ends_in_one_line_and_a_rerun_lands_the_rest(
        own_postgres, make_settings, unique_topics, kafka_bootstrap):
    settings = make_settings(topic_orders=unique_topics["orders"])
    database_url = own_postgres.dsn()
    ensure_raw_schema(settings, database_url)
    helpers.create_topics(kafka_bootstrap, [unique_topics["orders"]])
    helpers.produce(kafka_bootstrap, unique_topics["orders"], helpers.encode([helpers.order_event(i) for i in range(600)]))

    def stop_postgres(point: str, batch_number: int) -> None:
        if point == "before_copy" and batch_number == 3:
            own_postgres.stop()  # fast shutdown: our open transaction gets AdminShutdown

    with pytest.raises(LandingError) as info:
        land_topics(settings, database_url, kafka_bootstrap, streams=["orders"], batch_size=100,
                    fault_hook=stop_postgres)
    message = str(info.value)
    assert "\n" not in message
    assert f"the database pantao at 127.0.0.1:{own_postgres.port} failed" in message
    assert "a rerun continues from the stored offsets" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no chained traceback

    own_postgres.start()
    assert helpers.count(database_url, "select count(*) from raw.orders") == 200  # the two committed batches
    rerun = land_topics(settings, database_url, kafka_bootstrap, streams=["orders"], batch_size=100)
    assert rerun.landed == 400
    coords = helpers.landed_coordinates(database_url, "orders")
    assert len(coords) == len(set(coords)) == 600


def test_pantao_ingest_prints_one_line_when_the_database_is_down(unique_topics, kafka_bootstrap, tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/pantao",
           "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "KAFKA_TOPIC_ORDERS": unique_topics["orders"],
           "PANTAO_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([*PANTAO_CLI, "ingest", "kafka", "--stream", "orders"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and f"the database pantao at 127.0.0.1:{port} failed" in lines[0]
    assert "rerun continues from the stored offsets" in lines[0]
