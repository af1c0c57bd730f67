"""`pantao ui` leaves nothing behind: SIGTERM stops every Dagster process it started, and after
SIGKILL of `pantao ui` itself its webserver, daemon, code servers and run workers die too.

"A Dagster process of this UI" is any process whose environment carries this test's
DAGSTER_HOME, whichever process group it ended up in.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from pantao.processes import free_port, group_members
from tests.conftest import PANTAO_CLI

pytestmark = pytest.mark.slow


def dagster_processes(home: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("DAGSTER_HOME") == str(home) and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def describe(processes: list[psutil.Process]) -> str:
    words = []
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            words.append(" ".join(proc.cmdline()[:6]))
    return "; ".join(words)


@dataclass
class RunningUI:
    proc: subprocess.Popen
    data_dir: Path
    home: Path
    pgid: int
    log: Path


@pytest.fixture
def ui(fresh_database_url, kafka_bootstrap, tmp_path):
    """`pantao ui` on the test database and broker, once its code servers are up."""
    data_dir = tmp_path / "pantao"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "KAFKA_", "TELEGRAM_", "PBX_", "DAGSTER_", "PANTAO_DAGSTER"))}
    env.update(DATABASE_URL=fresh_database_url, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
               PANTAO_DATA_DIR=str(data_dir), PANTAO_DAGSTER_EXECUTOR="in_process")
    log = tmp_path / "ui.log"
    with log.open("w") as out:
        proc = subprocess.Popen([*PANTAO_CLI, "ui", "--port", str(free_port())], env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    home = (data_dir / "dagster_home").resolve()
    run_file = data_dir / "run" / "ui.json"
    pgid = None
    try:  # whatever happens while it starts, nothing it started outlives the test
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, f"pantao ui exited with {proc.returncode}: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no code server after 240 s: {log.read_text()[-3000:]}"
            if run_file.exists():
                pgid = json.loads(run_file.read_text())["pgid"]
                if "grpc" in describe(group_members(pgid)):
                    break
            time.sleep(0.5)
        started = describe(dagster_processes(home))
        assert "dagster-webserver" in started and "dagster-daemon" in started and "grpc" in started, started
        yield RunningUI(proc, data_dir, home, pgid, log)
    finally:
        for leftover in [*dagster_processes(home), *group_members(pgid)]:
            with contextlib.suppress(psutil.Error):
                leftover.kill()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_until_gone(ui: RunningUI, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while dagster_processes(ui.home) or group_members(ui.pgid):
        assert time.monotonic() < deadline, (
            f"still running {seconds:.0f} s later: {describe([*dagster_processes(ui.home), *group_members(ui.pgid)])}")
        time.sleep(0.5)


def test_sigterm_stops_every_dagster_process_it_started(ui):
    ui.proc.send_signal(signal.SIGTERM)
    assert ui.proc.wait(60) == 0, ui.log.read_text()[-3000:]
    assert dagster_processes(ui.home) == [], describe(dagster_processes(ui.home))
    assert group_members(ui.pgid) == []
    output = ui.log.read_text()
    assert "SIGTERM received: stopping the webserver, the daemon and the processes they started" in output
    assert not (ui.data_dir / "run" / "ui.json").exists()


def test_sigkill_of_pantao_ui_leaves_no_orphans_and_a_stale_run_file(ui):
    ui.proc.kill()
    ui.proc.wait()
    wait_until_gone(ui, 60)  # the guard interrupts the group, and kills it after its 20 s grace
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "KAFKA_"))}
    status = subprocess.run([*PANTAO_CLI, "stack", "status"], capture_output=True, text=True,
                            env={**env, "PANTAO_DATA_DIR": str(ui.data_dir)}, timeout=60)
    assert status.returncode == 1
    line = next(line for line in status.stdout.splitlines() if line.startswith("ui "))
    assert line.split()[1:4] == ["stale", "pid", str(ui.proc.pid)]
