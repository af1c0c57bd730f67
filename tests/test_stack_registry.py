"""Run files (pantao.runfiles): `pantao stack status` lists the registered processes, `stack down` stops them.

The processes are real: a following landing on the test broker and database (it registers
itself), and plain processes registered in the documented format, as another program (the BI
server) writes it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from pantao import runfiles
from pantao.processes import group_members
from pantao.stack import LocalStack
from tests.conftest import PANTAO_CLI
from tests.monitoring_support import create_topics

PANTAO = PANTAO_CLI


def run_cli(args: list[str], data_dir, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "KAFKA_"))}
    env.update(PANTAO_DATA_DIR=str(data_dir), **(extra_env or {}))
    return subprocess.run([*PANTAO, *args], capture_output=True, text=True, env=env, timeout=180,
                          cwd=data_dir.parent)


def line_of(out: str, name: str) -> str:
    found = [line for line in out.splitlines() if line.split()[:1] == [name]]
    assert len(found) == 1, out
    return found[0]


def wait_until(condition, seconds: float, message) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, message()
        time.sleep(0.1)


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "pantao"
    path.mkdir()
    yield path
    LocalStack(path).down()


def test_stack_down_stops_a_following_landing_which_status_listed(data_dir, fresh_database_url, kafka_bootstrap,
                                                                  unique_topics):
    create_topics(kafka_bootstrap, unique_topics, partitions=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "KAFKA_"))}
    env.update(PANTAO_DATA_DIR=str(data_dir), DATABASE_URL=fresh_database_url, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
               **{f"KAFKA_TOPIC_{stream.upper()}": topic for stream, topic in unique_topics.items()})
    landing = subprocess.Popen([*PANTAO, "ingest", "kafka", "--follow"], env=env, cwd=data_dir.parent,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)  # as from a shell: it leads its own group
    try:
        run_file = data_dir / "run" / "landing.json"
        wait_until(lambda: run_file.exists() or landing.poll() is not None, 120,
                   lambda: "the landing never registered")
        assert landing.poll() is None, landing.stdout.read()
        recorded = json.loads(run_file.read_text())
        assert set(recorded) == set(runfiles.FIELDS)
        assert (recorded["pid"], recorded["pgid"], recorded["address"]) == (landing.pid, landing.pid, kafka_bootstrap)

        status = run_cli(["stack", "status"], data_dir)
        assert status.returncode == 0, status.stdout + status.stderr
        assert line_of(status.stdout, "landing").split()[1:4] == ["running", "pid", str(landing.pid)]

        down = run_cli(["stack", "down"], data_dir)
        assert down.returncode == 0, down.stderr
        assert f"stopped: landing (pid {landing.pid}" in down.stdout
        assert landing.wait(30) == 0  # SIGTERM: it finished its batch and stopped cleanly
        assert "total      landed" in landing.stdout.read()
        assert not run_file.exists()
        assert "landing" not in run_cli(["stack", "status"], data_dir).stdout
    finally:
        if landing.poll() is None:
            landing.kill()
            landing.wait()


def test_a_stale_run_file_is_reported_and_removed_by_down(data_dir):
    gone = subprocess.Popen(["true"])
    gone.wait()
    runfiles.register(data_dir, "bi", pid=gone.pid, cmd_hint="superset", address="http://127.0.0.1:8088")
    status = run_cli(["stack", "status"], data_dir)
    assert status.returncode == 1
    bi = line_of(status.stdout, "bi")
    assert bi.split()[1:4] == ["stale", "pid", str(gone.pid)]
    assert "the process is gone" in bi and "`pantao stack down` removes the file" in bi

    down = run_cli(["stack", "down"], data_dir)
    assert down.returncode == 0, down.stderr
    assert "nothing was running" in down.stdout
    assert f"removed the stale run/bi.json (pid {gone.pid} was gone)" in down.stdout
    assert not (data_dir / "run" / "bi.json").exists()
    assert run_cli(["stack", "status"], data_dir).returncode == 0


def test_processes_that_outlived_a_registered_process_are_reported_and_stopped(data_dir):
    # a server that leads its group and has a helper; SIGKILL of the server leaves the helper behind
    server = subprocess.Popen(["sh", "-c", "sleep 310 & sleep 311"], start_new_session=True)
    try:
        wait_until(lambda: len(group_members(server.pid)) == 3, 10, lambda: group_members(server.pid))
        runfiles.register(data_dir, "bi", pid=server.pid, pgid=server.pid, cmd_hint="sleep 310")
        server.kill()
        server.wait()
        status = run_cli(["stack", "status"], data_dir)
        assert status.returncode == 1
        assert f"pid {server.pid} is gone but group {server.pid}: 2 processes still run" in line_of(status.stdout, "bi")

        down = run_cli(["stack", "down"], data_dir)
        assert f"stopped: bi (pid {server.pid} was gone, 2 processes in group {server.pid}, of which 2 outlived" \
               in down.stdout
        assert group_members(server.pid) == []
    finally:
        for member in group_members(server.pid):
            member.kill()


def test_an_unreadable_run_file_is_shown_and_left_in_place(data_dir):
    (data_dir / "run").mkdir()
    (data_dir / "run" / "bi.json").write_text('{"name": "bi", "pid": ')
    status = run_cli(["stack", "status"], data_dir)
    assert status.returncode == 1
    assert "is not a run file (JSONDecodeError" in line_of(status.stdout, "bi")
    down = run_cli(["stack", "down"], data_dir)
    assert down.returncode == 0
    assert "it is not a run file" in down.stdout and "remove it by hand" in down.stdout
    assert (data_dir / "run" / "bi.json").exists()


def test_a_process_records_its_group_only_when_it_leads_it(data_dir):
    script = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from pantao import runfiles
        print(os.getpid(), runfiles.register(Path({str(data_dir)!r}), "probe").pgid)
    """)
    inside = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert inside.stdout.split()[1] == "None"  # it shares the test runner's group: not its to stop
    leader = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                            start_new_session=True)
    pid, pgid = leader.stdout.split()
    assert pgid == pid


def test_unregister_leaves_a_newer_instances_file_alone(data_dir):
    old = runfiles.register(data_dir, "ui", pid=os.getpid())
    newer = runfiles.register(data_dir, "ui", pid=os.getppid())
    runfiles.unregister(data_dir, old)
    assert json.loads((data_dir / "run" / "ui.json").read_text())["pid"] == newer.pid
    runfiles.unregister(data_dir, newer)
    assert not (data_dir / "run" / "ui.json").exists()
