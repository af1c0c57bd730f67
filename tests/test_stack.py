"""`pantao stack up | down | status` against real processes in a temporary data directory."""

import json
import os
import subprocess

import psutil
import psycopg
import pytest
from confluent_kafka.admin import AdminClient

from pantao.kafka_config import KafkaSecurity, client_config
from pantao.stack import LocalStack, resolve_endpoints
from tests.conftest import PANTAO_CLI

PANTAO = PANTAO_CLI


def run_cli(args, data_dir, check=True):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env["PANTAO_DATA_DIR"] = str(data_dir)
    result = subprocess.run([*PANTAO, *args], capture_output=True, text=True, env=env, timeout=180, cwd=data_dir.parent)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def stack_dir(tmp_path):
    data_dir = tmp_path / "pantao"
    yield data_dir
    LocalStack(data_dir).down()


def test_up_starts_both_services_and_they_answer(stack_dir):
    out = run_cli(["stack", "up"], stack_dir).stdout
    assert "postgres  running" in out and "kafka     running" in out
    state = json.loads((stack_dir / "stack.json").read_text())
    with psycopg.connect(state["postgres"]["dsn"]) as conn:
        assert conn.execute("select current_database()").fetchone() == ("pantao",)
    metadata = AdminClient(client_config(KafkaSecurity(), state["kafka"]["bootstrap"])).list_topics(timeout=10)
    assert metadata.brokers


def test_up_is_idempotent(stack_dir):
    first = LocalStack(stack_dir).up()
    second = LocalStack(stack_dir).up()
    assert first["postgres"]["pid"] == second["postgres"]["pid"]
    assert first["kafka"]["pid"] == second["kafka"]["pid"]


def test_down_leaves_no_process_behind(stack_dir):
    state = LocalStack(stack_dir).up()
    pids = [state["postgres"]["pid"], state["kafka"]["pid"]]
    out = run_cli(["stack", "down"], stack_dir).stdout
    assert "stopped: kafka, postgres" in out
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    # no postgres child process of that data directory either
    pgdata = str(stack_dir / "postgres")
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] and pgdata in " ".join(p.info["cmdline"])]
    assert leftovers == []
    status = run_cli(["stack", "status"], stack_dir).stdout
    assert "postgres  stopped" in status and "kafka     stopped" in status


def test_status_reports_running_services_with_pids(stack_dir):
    state = LocalStack(stack_dir).up()
    out = run_cli(["stack", "status"], stack_dir).stdout
    assert f"pid {state['postgres']['pid']}" in out
    assert f"pid {state['kafka']['pid']}" in out
    assert state["kafka"]["bootstrap"] in out


def test_the_embedded_broker_listens_on_loopback_only_and_status_says_who_can_read_it(stack_dir):
    state = LocalStack(stack_dir).up(postgres=False)
    listening = {c.laddr.ip for c in psutil.Process(state["kafka"]["pid"]).net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN}
    assert listening == {"127.0.0.1"}
    out = run_cli(["stack", "status"], stack_dir).stdout
    kafka_line = next(line for line in out.splitlines() if line.startswith("kafka"))
    assert "for one person's machine, anyone on this host can read its topics" in kafka_line


def test_crashed_broker_is_reported_stale_and_up_restarts_it(stack_dir):
    stack = LocalStack(stack_dir)
    state = stack.up()
    broker = psutil.Process(state["kafka"]["pid"])
    broker.kill()
    broker.wait(10)
    result = run_cli(["stack", "status"], stack_dir, check=False)
    assert result.returncode == 1
    assert "kafka     stale" in result.stdout
    assert "topics are lost" in result.stdout
    restarted = stack.up()
    assert restarted["kafka"]["pid"] != state["kafka"]["pid"]
    assert restarted["postgres"]["pid"] == state["postgres"]["pid"]


def test_stale_postgres_pid_file_after_a_crash_is_recovered(stack_dir):
    stack = LocalStack(stack_dir)
    state = stack.up(kafka=False)
    psutil.Process(state["postgres"]["pid"]).kill()
    psutil.Process(state["postgres"]["pid"]).wait(10) if psutil.pid_exists(state["postgres"]["pid"]) else None
    assert (stack_dir / "postgres" / "postmaster.pid").exists()
    rows = {row.name: row for row in stack.status()}
    assert rows["postgres"].state == "stale"
    again = stack.up(kafka=False)
    with psycopg.connect(again["postgres"]["dsn"]) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_data_survives_a_restart(stack_dir):
    stack = LocalStack(stack_dir)
    dsn = stack.up(kafka=False)["postgres"]["dsn"]
    with psycopg.connect(dsn) as conn:
        conn.execute("create table kept (x int)")
        conn.execute("insert into kept values (42)")
    stack.down()
    dsn = stack.up(kafka=False)["postgres"]["dsn"]
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select x from kept").fetchone() == (42,)


def test_non_superuser_roles_must_give_their_password(stack_dir):
    dsn = LocalStack(stack_dir).up(kafka=False)["postgres"]["dsn"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create role someone login password 's3cret'")
    port = dsn.split(":")[-1].split("/")[0]
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(f"postgresql://someone@127.0.0.1:{port}/pantao").close()
    with psycopg.connect(f"postgresql://someone:s3cret@127.0.0.1:{port}/pantao") as conn:
        assert conn.execute("select current_user").fetchone() == ("someone",)


def test_configured_endpoints_are_used_without_starting_anything(make_settings, tmp_path):
    settings = make_settings(database_url="postgresql://u@db.example:5432/crm", kafka_bootstrap_servers="k:9092")
    endpoints = resolve_endpoints(settings)
    assert endpoints.database_url == "postgresql://u@db.example:5432/crm"
    assert endpoints.kafka_bootstrap == "k:9092"
    assert not (settings.data_dir / "stack.json").exists()
