"""Self-healing runs: a `pantao run` killed mid-build, or cut off by PostgreSQL stopping, leaves
a run STARTED with its pantao_dbt pool slot claimed; the next `pantao run` says what it found,
marks that run failed, frees the slot and succeeds, with no hand work.

Everything is real: `pantao run` as a separate process (the run worker), SIGKILL, the embedded
PostgreSQL of this module stopped with `pg_ctl -m immediate`, the Dagster instance in it.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import psycopg
import pytest

from app.prepare import prepare_database
from orchestration.lib.instance import PG_URL_VAR, REPO_ROOT, open_instance
from orchestration.lib.recovery import Worker, parse_worker_tag, worker_is_gone
from pantao.db import sqlalchemy_url
from pantao.local_postgres import EmbeddedPostgres
from pantao.settings import load_settings
from simulator import generate, publish_to_kafka, write_outputs
from tests.conftest import database_factory
from tests.telegram_standin import TelegramStandIn
from tests.test_orchestration_pipeline import SIM, _env

pytestmark = pytest.mark.slow
PANTAO = str(Path(sys.executable).parent / "pantao")


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """A PostgreSQL of this module's own (the tests stop it), a simulated chain published and the
    environment `pantao run` needs."""
    work = tmp_path_factory.mktemp("recovery")
    server = EmbeddedPostgres(work / "pg")
    server.start()
    config = SIM.resolved()
    write_outputs(generate(config), work / "sim")
    telegram = TelegramStandIn().start()
    try:
        with database_factory(server.dsn("postgres"))("recovery") as url:
            env = {**os.environ, **_env(url, kafka_bootstrap, work / "data", work / "sim" / "pbx", telegram)}
            for var in ("PANTAO_DAGSTER_EXECUTOR", "FREEPBX_API_URL", "PBX_DB_URL", "DAGSTER_HOME", PG_URL_VAR):
                env.pop(var, None)
            with pytest.MonkeyPatch.context() as mp:
                for var, value in env.items():
                    mp.setenv(var, value)
                settings = load_settings(dotenv_path=None)
                publish_to_kafka(work / "sim", kafka_bootstrap, settings.topics)
                prepare_database(settings, url)
            day = config.start_date + dt.timedelta(days=config.days - 1)
            yield SimpleNamespace(server=server, url=url, env=env, day=day, home=work / "data" / "dagster_home")
    finally:
        telegram.stop()
        server.stop()


def start_run(stack: SimpleNamespace, log: Path) -> subprocess.Popen:
    """`pantao run` in a process of its own, its output in `log` (a pipe nobody reads would stall it)."""
    with log.open("w") as out:
        return subprocess.Popen([PANTAO, "run", "--date", stack.day.isoformat()], env=stack.env, cwd=REPO_ROOT,
                                stdout=out, stderr=subprocess.STDOUT)


def finish_run(stack: SimpleNamespace) -> subprocess.CompletedProcess:
    return subprocess.run([PANTAO, "run", "--date", stack.day.isoformat()], env=stack.env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=900)


def wait_for_dbt_build(url: str, process: subprocess.Popen, timeout: float = 600) -> None:
    """Until the run is inside its dbt step (the shadow schemas exist, the pool slot is claimed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "pantao run ended before its dbt step"
        with psycopg.connect(url, autocommit=True) as conn:
            if conn.execute("select to_regclass('staging__build.stg_kafka__order_events') is not null").fetchone()[0]:
                return
        time.sleep(0.3)
    raise AssertionError("the run never reached its dbt build")


def runs_and_slots(stack: SimpleNamespace) -> tuple[dict[str, dg.DagsterRunStatus], set[str]]:
    """Every run's status, and the runs holding a pantao_dbt slot, read from the instance."""
    os.environ.update(DAGSTER_HOME=str(stack.home), **{PG_URL_VAR: sqlalchemy_url(stack.url)})
    try:
        with open_instance(stack.home) as instance:
            statuses = {run.run_id: run.status for run in instance.get_runs()}
            info = instance.event_log_storage.get_concurrency_info("pantao_dbt")
            return statuses, {slot.run_id for slot in info.claimed_slots}
    finally:
        for var in ("DAGSTER_HOME", PG_URL_VAR):
            os.environ.pop(var, None)


def assert_recovered(stack: SimpleNamespace, dead_run: str, result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    found = [line for line in result.stdout.splitlines() if line.startswith("found run ")]
    assert len(found) == 1 and dead_run in found[0] and "left STARTED by a process that died" in found[0], \
        result.stdout
    statuses, holders = runs_and_slots(stack)
    assert statuses[dead_run] == dg.DagsterRunStatus.FAILURE
    assert holders == set()
    new_runs = [run_id for run_id, status in statuses.items() if status == dg.DagsterRunStatus.SUCCESS]
    assert new_runs and any(run_id in result.stdout for run_id in new_runs)


def started_run(stack: SimpleNamespace) -> str:
    statuses, holders = runs_and_slots(stack)
    started = [run_id for run_id, status in statuses.items() if status == dg.DagsterRunStatus.STARTED]
    assert len(started) == 1, statuses
    assert holders == set(started), "the dead run still holds the pantao_dbt slot"
    return started[0]


def test_a_killed_run_worker_is_marked_failed_and_the_next_run_succeeds(stack: SimpleNamespace,
                                                                        tmp_path: Path) -> None:
    process = start_run(stack, tmp_path / "run.log")
    wait_for_dbt_build(stack.url, process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    dead_run = started_run(stack)

    assert_recovered(stack, dead_run, finish_run(stack))


def test_postgres_stopped_mid_run_then_the_next_run_succeeds(stack: SimpleNamespace, tmp_path: Path) -> None:
    process = start_run(stack, tmp_path / "run.log")
    wait_for_dbt_build(stack.url, process)
    stack.server._cmd("pg_ctl", ["-D", str(stack.server.pgdata), "-m", "immediate", "-w", "stop"])
    # cut off from its storage, the worker cannot write the run's end: the run stays STARTED whether
    # the worker gives up by itself (dagster-postgres retries each connection for half a minute and
    # more) or dies meanwhile; a few seconds tell it the storage is gone, then it is killed
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)
    stack.server.start()
    dead_run = started_run(stack)

    assert_recovered(stack, dead_run, finish_run(stack))


def test_a_worker_is_gone_when_its_pid_is_free_or_taken_by_another_process() -> None:
    me = Worker(os.uname().nodename, os.getpid(), None)
    import psutil

    started = psutil.Process().create_time()
    assert not worker_is_gone(Worker(me.host, me.pid, started), None)
    assert worker_is_gone(Worker(me.host, me.pid, started - 100), None)  # the pid was reused
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert worker_is_gone(Worker(me.host, child.pid, None), None)
    assert not worker_is_gone(Worker("another-host", child.pid, None), None)  # cannot tell: left to run monitoring
    assert parse_worker_tag(f"{me.host}:{me.pid}:{started}") == Worker(me.host, me.pid, started)
    assert parse_worker_tag("garbage") is None
