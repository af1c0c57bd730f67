"""`pantao ingest pbx --follow` against a real PostgreSQL: lines appended to a queue_log (or rows
inserted into the PBX's MariaDB table) while it follows land once and move the live board; a restart
rebuilds the board from what landed; the command serves the gauges, registers itself and stops.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from app.cli import cli
from ingestion.pbx.follow import PbxFollower
from ingestion.pbx.live import LiveBoard
from monitoring.catalog import LIVE_METRICS
from pantao.stack import free_port
from tests import pbx_samples
from tests.conftest import PANTAO_CLI
from tests.test_pbx_db import pbx_connect, pbx_db_url  # noqa: F401  (fixture)

FOLLOW_BOUND_SECONDS = 2.0  # the bound: the board follows an appended line within 2 s


def line(epoch: int, callid: str, queue: str, agent: str, event: str, *data: str) -> str:
    return "|".join((str(epoch), callid, queue, agent, event, *data)) + "\n"


def morning(at: int) -> str:
    """Two members of queue 700 logged in ten minutes ago, 102 (a dynamic agent) is on a call."""
    return "".join((
        line(at - 600, "NONE", "700", "PJSIP/101", "ADDMEMBER", ""),
        line(at - 600, "NONE", "700", "Local/102@from-queue/n", "ADDMEMBER", ""),
        line(at - 300, "NONE", "700", "PJSIP/101", "PAUSE", "Обед"),
        line(at - 100, f"{at - 100}.1", "700", "NONE", "ENTERQUEUE", "", "+79161234567", "1"),
        line(at - 90, f"{at - 100}.1", "700", "Анна Петрова", "CONNECT", "10", f"{at - 95}.2", "4"),
    ))


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def eventually(check: Callable[[], object], seconds: float, what: str) -> float:
    """Poll `check` until it is truthy; returns how long it took, fails after `seconds`."""
    started = time.monotonic()
    last = None
    while time.monotonic() - started < seconds:
        try:
            last = check()
        except (OSError, AssertionError) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{what} not seen within {seconds} s; last: {last!r}")


def landed(url: str, sql: str = "select count(*), count(distinct event_hash) from raw.pbx_queue_log") -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()


@pytest.fixture
def morning_at() -> int:
    """When the test's morning is: now, so its events are inside the board's 15-minute window."""
    return int(time.time())


@pytest.fixture
def pbx_dir(tmp_path: Path, morning_at: int) -> Path:
    folder = tmp_path / "pbx"
    folder.mkdir()
    (folder / "extensions.json").write_text(json.dumps([{"extension": "101", "name": "Иван Сидоров"},
                                                        {"extension": "102", "name": "Анна Петрова"}],
                                                       ensure_ascii=False), encoding="utf-8")
    (folder / "queue_log").write_text(morning(morning_at), encoding="utf-8")
    return folder


@contextmanager
def following(settings, url: str, **options) -> Iterator[tuple[LiveBoard, PbxFollower]]:
    board = LiveBoard()
    follower = PbxFollower(settings, url, board, poll_seconds=0.1, **options)
    thread = threading.Thread(target=follower.run, name="follower")
    thread.start()
    try:
        eventually(lambda: board.snapshot(time.time()).last_poll_at, 60, "the follower's start")
        yield board, follower
    finally:
        follower.stop.set()
        thread.join(30)
        assert not thread.is_alive(), "the follower did not stop"


def operators(board: LiveBoard) -> dict[str, int]:
    return board.snapshot(time.time()).operators


def test_appended_lines_land_once_and_move_the_board_through_a_rotation(make_settings, fresh_database_url,
                                                                       pbx_dir, morning_at):
    log = pbx_dir / "queue_log"
    settings = make_settings(pbx_queue_log=log, pbx_cdr_csv=pbx_dir / "Master.csv",
                             pbx_extensions_file=pbx_dir / "extensions.json")
    with following(settings, fresh_database_url, source="files") as (board, follower):
        # the start landed the morning and built the board from it: 102's CONNECT names the same person
        assert operators(board) == {"logged_in": 2, "on_call": 1, "paused": 1, "available": 0}
        now = int(time.time())
        append(log, line(now, f"{now}.7", "700", "NONE", "ENTERQUEUE", "", "+79031112233", "1"))
        eventually(lambda: board.snapshot(time.time()).waiting == {"700": 1}, FOLLOW_BOUND_SECONDS, "the caller")

        # logrotate renames the file; Asterisk writes on into the renamed one, then reopens its log
        os.rename(log, pbx_dir / "queue_log.1")
        append(pbx_dir / "queue_log.1", line(now + 1, f"{morning_at - 100}.1", "700", "Анна Петрова", "COMPLETEAGENT",
                                             "10", "91", "1"))
        append(log, line(now + 2, f"{now}.7", "700", "PJSIP/101", "CONNECT", "2", f"{now}.8", "1")
               + line(now + 2, "NONE", "700", "PJSIP/101", "UNPAUSE", "Обед"))
        eventually(lambda: operators(board) == {"logged_in": 2, "on_call": 1, "paused": 0, "available": 1},
                   FOLLOW_BOUND_SECONDS, "101 on the new call and 102 free")
        assert board.snapshot(time.time()).waiting == {"700": 0}
        append(log, "this is not a queue_log line\n")
        eventually(lambda: follower.result.queue_log.rejected == 1, FOLLOW_BOUND_SECONDS, "the bad line")
    assert follower.result.queue_log.landed == 4 and follower.result.errors == 0
    assert landed(fresh_database_url) == (9, 9)
    rejected = landed(fresh_database_url, "select source, source_ref, reason from raw.rejected_records")
    assert rejected[:2] == ("pbx_queue_log:file", "queue_log:3") and "field(s)" in rejected[2]
    snap = board.snapshot(time.time())
    assert snap.recent[("700", "answered")] == 2


def test_a_restart_rebuilds_the_board_from_what_landed(make_settings, fresh_database_url, pbx_dir):
    settings = make_settings(pbx_queue_log=pbx_dir / "queue_log", pbx_cdr_csv=pbx_dir / "Master.csv",
                             pbx_extensions_file=pbx_dir / "extensions.json")
    with following(settings, fresh_database_url) as (first, _):
        now = int(time.time())
        append(pbx_dir / "queue_log", line(now, f"{now}.7", "700", "NONE", "ENTERQUEUE", "", "+79031112233", "1"))
        eventually(lambda: first.snapshot(time.time()).waiting == {"700": 1}, FOLLOW_BOUND_SECONDS, "the caller")
    before = first.snapshot(now + 5)
    # nothing is new in the file (its ledger says so): the new board can only come from raw.pbx_queue_log
    with following(settings, fresh_database_url) as (second, follower):
        after = second.snapshot(now + 5)
    assert (after.waiting, after.longest_wait_seconds, after.operators, after.recent, after.last_event_at) == (
        before.waiting, before.longest_wait_seconds, before.operators, before.recent, before.last_event_at)
    assert after.operators == {"logged_in": 2, "on_call": 1, "paused": 1, "available": 0}
    assert follower.result.queue_log.landed == 0 and follower.result.catch_up.landed == 0


def test_a_lost_database_connection_is_retried_and_nothing_is_lost(make_settings, fresh_database_url, pbx_dir):
    settings = make_settings(pbx_queue_log=pbx_dir / "queue_log", pbx_cdr_csv=pbx_dir / "Master.csv",
                             pbx_extensions_file=pbx_dir / "extensions.json")
    with following(settings, fresh_database_url) as (board, follower):
        with psycopg.connect(fresh_database_url, autocommit=True) as admin:
            killed = admin.execute("select count(pg_terminate_backend(pid)) from pg_stat_activity"
                                   " where application_name = 'pantao-pbx-follow' and datname = current_database()"
                                   ).fetchone()[0]
        assert killed == 1
        now = int(time.time())
        append(pbx_dir / "queue_log", line(now, f"{now}.7", "700", "NONE", "ENTERQUEUE", "", "+79031112233", "1"))
        eventually(lambda: board.snapshot(time.time()).waiting == {"700": 1}, 10, "the caller, after a reconnect")
    assert follower.result.errors == 1 and follower.result.queue_log.landed == 1
    assert landed(fresh_database_url) == (6, 6)


@pytest.mark.mariadb
def test_db_mode_follows_the_pbx_table_by_id(make_settings, fresh_database_url, pbx_db_url, pbx_dir,  # noqa: F811
                                             morning_at):
    conn = pbx_connect(pbx_db_url)
    events = [tuple(part if i else int(part) for i, part in enumerate(text.rstrip("\n").split("|")))
              for text in morning(morning_at).splitlines(keepends=True)]
    pbx_samples.insert_queue_log(conn, pbx_samples.queue_log_db_rows([e + ("",) * (10 - len(e)) for e in events]))
    settings = make_settings(pbx_source="db", pbx_db_url=pbx_db_url, pbx_extensions_file=pbx_dir / "extensions.json")
    try:
        with following(settings, fresh_database_url) as (board, follower):
            assert operators(board) == {"logged_in": 2, "on_call": 1, "paused": 1, "available": 0}
            now = int(time.time())
            rows = [(now, f"{now}.7", "700", "NONE", "ENTERQUEUE", "", "+79031112233", "1", "", ""),
                    (now, f"{now}.8", "700", "NONE", "ENTERQUEUE", "", "+79265554433", "2", "", "")]
            pbx_samples.insert_queue_log(conn, pbx_samples.queue_log_db_rows(rows))
            eventually(lambda: board.snapshot(time.time()).waiting == {"700": 2}, FOLLOW_BOUND_SECONDS, "callers")
            pbx_samples.insert_queue_log(conn, pbx_samples.queue_log_db_rows(
                [(now + 1, f"{now}.8", "700", "NONE", "ABANDON", "2", "2", "1", "", "")]))
            eventually(lambda: board.snapshot(time.time()).recent[("700", "abandoned")] == 1, FOLLOW_BOUND_SECONDS,
                       "the abandoned call")
    finally:
        conn.close()
    assert follower.result.queue_log.landed == 3
    assert landed(fresh_database_url) == (8, 8)
    stored = landed(fresh_database_url, "select position from raw.pbx_watermarks where source = 'db'"
                                        " and stream = 'queue_log'")
    # batch mode's watermark moved on with the rows: the PBX's local time of the newest
    max_time = datetime.fromisoformat(json.loads(stored[0])["max_time"]).replace(tzinfo=pbx_samples.TZ)
    assert max_time.timestamp() == now + 1


# --- the command ------------------------------------------------------------------------------

def scrape(port: int) -> dict[str, dict[tuple, float]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
        text = response.read().decode("utf-8")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def gauge(port: int, name: str, **labels: str) -> float | None:
    return scrape(port).get(name, {}).get(tuple(sorted(labels.items())))


def test_a_taken_metrics_port_stops_the_command_with_what_to_do(fresh_database_url, pbx_dir, tmp_path,
                                                                monkeypatch):
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("PANTAO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PBX_QUEUE_LOG", str(pbx_dir / "queue_log"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["ingest", "pbx", "--follow", "--metrics-port", str(port)])
    assert result.exit_code == 1
    assert f"the live board cannot listen on 127.0.0.1:{port}" in result.output
    assert "choose another --metrics-port or stop what uses it" in result.output
    assert not (tmp_path / "data" / "run" / "pbx-landing.json").exists()


def test_the_command_serves_the_board_registers_itself_and_stops_with_the_stack(fresh_database_url, pbx_dir,
                                                                               tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "KAFKA_", "PBX_"))}
    env.update(DATABASE_URL=fresh_database_url, PANTAO_DATA_DIR=str(data_dir), PBX_SOURCE="files",
               PBX_QUEUE_LOG=str(pbx_dir / "queue_log"), PBX_CDR_CSV=str(pbx_dir / "Master.csv"),
               PBX_EXTENSIONS_FILE=str(pbx_dir / "extensions.json"))
    process = subprocess.Popen([*PANTAO_CLI, "ingest", "pbx", "--follow", "--metrics-port", str(port)], env=env,
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        run_file = data_dir / "run" / "pbx-landing.json"
        eventually(lambda: run_file.exists() or process.poll() is not None, 120, "the run file")
        assert process.poll() is None, process.stderr.read()
        assert json.loads(run_file.read_text())["address"] == f"http://127.0.0.1:{port}/metrics"
        eventually(lambda: gauge(port, "pantao_live_operators", state="logged_in") == 2, 60, "the rebuilt board")
        served = {family.name for family in text_string_to_metric_families(
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode())}
        assert served == {spec.name for spec in LIVE_METRICS}
        assert gauge(port, "pantao_live_operators", state="paused") == 1
        assert gauge(port, "pantao_live_calls_waiting", queue="700") == 0

        now = int(time.time())
        append(pbx_dir / "queue_log", line(now, f"{now}.7", "700", "NONE", "ENTERQUEUE", "", "+79031112233", "1"))
        eventually(lambda: gauge(port, "pantao_live_calls_waiting", queue="700") == 1, FOLLOW_BOUND_SECONDS,
                   "pantao_live_calls_waiting{queue=700} 1")
        assert 0 <= gauge(port, "pantao_live_longest_wait_seconds", queue="700") < 30
        append(pbx_dir / "queue_log", line(now + 1, f"{now}.7", "700", "NONE", "ABANDON", "1", "1", "1"))
        eventually(lambda: gauge(port, "pantao_live_calls_last_15m", queue="700", outcome="abandoned") == 1,
                   FOLLOW_BOUND_SECONDS, "pantao_live_calls_last_15m{outcome=abandoned} 1")
        assert gauge(port, "pantao_live_calls_waiting", queue="700") == 0
        assert gauge(port, "pantao_live_last_event_age_seconds") < 30

        env_stack = {k: v for k, v in env.items() if k != "DATABASE_URL"}
        status = subprocess.run([*PANTAO_CLI, "stack", "status"], env=env_stack, cwd=tmp_path, capture_output=True,
                                text=True, timeout=60)
        listed = [row for row in status.stdout.splitlines() if row.split()[:1] == ["pbx-landing"]]
        assert len(listed) == 1 and listed[0].split()[1:4] == ["running", "pid", str(process.pid)], status.stdout
        down = subprocess.run([*PANTAO_CLI, "stack", "down"], env=env_stack, cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)
        assert f"stopped: pbx-landing (pid {process.pid}" in down.stdout, down.stdout + down.stderr
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, err[-2000:]
    assert "SIGTERM received" in err
    assert "following: queue_log 2 landed" in out
    assert not run_file.exists()
    assert landed(fresh_database_url) == (7, 7)
