"""Attacks from a second, unprivileged OS user on the same host, against the embedded stack.

Issue #17 found that any local user could log in to the embedded PostgreSQL as `postgres`
(trusted on 127.0.0.1), read `marts.customers` and the customer-key salt, run programs with
`COPY ... TO PROGRAM`, and read the files under `.pantao/`. Here a real second user
(`pantao_intruder`, created when missing) tries each of those with `psql` and `python3`, against
a stack started by the real `pantao stack up` in a checkout others may enter (0755).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from access.migrate import ensure_access_schema
from pantao.local_postgres import EmbeddedPostgres, _grant_to_pg_user, _pg_bin, _private_socket_dir
from pantao.processes import StackError
from pantao.settings import Settings
from pantao.stack import LocalStack
from tests.conftest import PANTAO_CLI
from tests.private_files import exposed

INTRUDER = "pantao_intruder"
PHONE = "+79161234567"
needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="creates a second OS user and runs commands as them (useradd, runuser): needs root")


def run_pantao(args: list[str], data_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "KAFKA_", "PG"))}
    env["PANTAO_DATA_DIR"] = str(data_dir)
    result = subprocess.run([*PANTAO_CLI, *args], capture_output=True, text=True, env=env,
                            cwd=data_dir.parent, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def as_intruder(program: str, *args: str) -> subprocess.CompletedProcess:
    """Run `psql` (the embedded server's own client) or the system's `python3` (isolated) as the
    second OS user, with a clean environment (no PG* variables of ours)."""
    python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or os.path.realpath(sys.executable)
    executable = {"psql": str(_pg_bin() / "psql"), "python3": python}[program]
    isolated = ["-I"] if program == "python3" else []
    return subprocess.run(["runuser", "-u", INTRUDER, "--", "env", "-i", "PATH=/usr/bin:/bin", "HOME=/nonexistent",
                           executable, *isolated, *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def intruder() -> str:
    try:
        pwd.getpwnam(INTRUDER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", INTRUDER],
                       check=True, capture_output=True)
    return INTRUDER


@pytest.fixture(scope="module")
def stack(intruder) -> Iterator[dict]:
    """`pantao stack up` and `pantao simulate` in a checkout other users may enter, plus a customer."""
    checkout = Path(tempfile.mkdtemp(prefix="pantao-attack-"))
    checkout.chmod(0o755)
    data_dir = checkout / ".pantao"
    try:
        run_pantao(["stack", "up"], data_dir)
        run_pantao(["simulate", "--days", "1", "--restaurants", "1", "--scale", "0.05", "--seed", "3"], data_dir)
        state = json.loads((data_dir / "stack.json").read_text())
        dsn = state["postgres"]["dsn"]
        ensure_access_schema(Settings(data_dir=data_dir), dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("create schema if not exists marts")
            conn.execute("create table marts.customers (customer_phone text, customer_name text)")
            conn.execute("insert into marts.customers values (%s, 'Иван Петров')", (PHONE,))
        yield {"data_dir": data_dir, "dsn": dsn, "port": state["postgres"]["port"],
               "socket_dir": state["postgres"]["socket_dir"]}
    finally:
        LocalStack(data_dir).down()
        shutil.rmtree(checkout, ignore_errors=True)


ATTACKS = {
    "customers": "select customer_phone from marts.customers",
    "salt": "select encode(secret, 'hex') from access.install_secret",
    "program": "copy (select 1) to program 'id'",
}


@needs_root
@pytest.mark.parametrize("attack", list(ATTACKS))
@pytest.mark.parametrize("as_role", ["postgres", "crm_reporting_owner"])
def test_another_os_user_cannot_log_in_over_tcp(stack, attack, as_role):
    result = as_intruder("psql", "-w", "-h", "127.0.0.1", "-p", str(stack["port"]), "-U", as_role, "-d", "pantao",
                         "-Atc", ATTACKS[attack])
    assert result.returncode != 0 and result.stdout == ""
    assert "no password supplied" in result.stderr or "password authentication failed" in result.stderr, result.stderr


@needs_root
def test_another_os_user_cannot_borrow_the_superusers_password_file(stack):
    passfile = stack["data_dir"] / "postgres" / "pantao_superuser.pgpass"
    assert passfile.is_file()
    result = as_intruder("psql", "-w", f"{stack['dsn'].split('?')[0]}?passfile={passfile}", "-Atc", ATTACKS["customers"])
    assert result.returncode != 0 and PHONE not in result.stdout
    assert "no password supplied" in result.stderr, result.stderr


@needs_root
def test_the_owner_reads_what_the_intruder_could_not(stack):
    """The control: the targets exist, and the project's own DSN (password from the data folder) works."""
    with psycopg.connect(stack["dsn"]) as conn:
        assert conn.execute(ATTACKS["customers"]).fetchone() == (PHONE,)
        assert len(conn.execute(ATTACKS["salt"]).fetchone()[0]) == 64


@needs_root
def test_another_os_user_cannot_reach_the_socket(stack):
    result = as_intruder("psql", "-w", "-h", stack["socket_dir"], "-p", str(stack["port"]), "-U", "postgres",
                         "-d", "pantao", "-Atc", "select 1")
    assert result.returncode != 0
    assert "Permission denied" in result.stderr, result.stderr


READ_EVERYTHING = """
import os, sys
opened = []
for path in sys.argv[1:]:
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").close()
        opened.append(path)
    except OSError:
        pass
print("\\n".join(opened))
"""


@needs_root
def test_another_os_user_can_open_no_file_or_folder_under_the_data_dir(stack):
    data_dir = stack["data_dir"]
    paths = [str(data_dir), *(str(p) for p in data_dir.rglob("*"))]
    assert any(p.endswith("truth.json") for p in paths) and any(p.endswith("stack.json") for p in paths)
    result = as_intruder("python3", "-c", READ_EVERYTHING, *paths)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


@needs_root
def test_nothing_under_the_data_dir_is_group_or_world_accessible(stack):
    assert exposed(stack["data_dir"]) == []


@needs_root
def test_stack_up_status_and_state_file_never_show_the_superuser_password(stack):
    password = (stack["data_dir"] / "postgres" / "pantao_superuser.pgpass").read_text().strip().split(":")[-1]
    assert len(password) >= 24
    shown = [run_pantao(["stack", command], stack["data_dir"]) for command in ("up", "status")]
    for result in shown:
        assert "postgres" in result.stdout and password not in result.stdout + result.stderr
    assert password not in (stack["data_dir"] / "stack.json").read_text()


@needs_root
def test_a_socket_folder_someone_else_made_first_is_refused(intruder, tmp_path):
    planted = Path(tempfile.mkdtemp(prefix="pantao-pg-planted-"))
    try:
        shutil.chown(planted, intruder)
        with pytest.raises(StackError, match="someone else made it"):
            _private_socket_dir(planted, tmp_path / "pgdata")
    finally:
        shutil.rmtree(planted)


LEGACY_HBA = """\
local   all   postgres                  trust
host    all   postgres   127.0.0.1/32   trust
host    all   all        127.0.0.1/32   scram-sha-256
"""


def test_a_data_folder_from_an_older_pantao_gets_a_superuser_password(tmp_path):
    """Before issue #17 the superuser was trusted from this machine; starting such a folder closes that.
    Its path is too long for a socket, so the socket's folder is the private one under /tmp."""
    server = EmbeddedPostgres(tmp_path / ("old-checkout-with-a-long-name-" * 3) / "postgres")
    server.pgdata.mkdir(parents=True, mode=0o700)
    _grant_to_pg_user(server.pgdata)
    server._cmd("initdb", ["-D", str(server.pgdata), "-U", "postgres", "--auth=trust"], timeout=180)
    hba = server.pgdata / "pg_hba.conf"
    hba.write_text(LEGACY_HBA)
    try:
        server.start()
        assert server.password_file.is_file() and stat.S_IMODE(server.password_file.stat().st_mode) == 0o600
        assert "trust" not in hba.read_text()
        with pytest.raises(psycopg.OperationalError, match="no password supplied"):
            psycopg.connect(f"postgresql://postgres@127.0.0.1:{server.port}/pantao").close()
        with psycopg.connect(server.dsn()) as conn:
            assert conn.execute("select rolpassword like 'SCRAM-SHA-256$%' from pg_authid "
                                "where rolname = 'postgres'").fetchone() == (True,)
        socket_dir = Path(server.info().socket_dir)
        assert socket_dir.parent == Path(tempfile.gettempdir()) and stat.S_IMODE(socket_dir.stat().st_mode) == 0o700
        assert socket_dir.stat().st_uid == server.pgdata.stat().st_uid  # the server's own user
    finally:
        server.stop()
        if Path(server.info().socket_dir) != server.pgdata:
            shutil.rmtree(server.info().socket_dir, ignore_errors=True)


def test_a_refused_or_failing_verifier_never_reaches_the_server_log(pg_server, fresh_database_url, tmp_path):
    """The verifier travels as a bind parameter and no error quotes the statement that carries it."""
    ensure_access_schema(Settings(data_dir=tmp_path), fresh_database_url)
    marker = uuid.uuid4().hex  # this test's own: other tests may log their own literals
    fake, probe = f"SCRAM-SHA-256$notaverifier{marker}", f"log_probe_{marker[:12]}"
    with psycopg.connect(fresh_database_url) as conn:
        verifier = conn.pgconn.encrypt_password(b"a-long-test-password", probe.encode(), b"scram-sha-256").decode()
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("select access.add_user('fake_probe', 'crm_analyst', %s)", (fake,))
        conn.rollback()
        conn.execute("alter role crm_user_admin nocreaterole")  # CREATE ROLE fails inside add_user
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select access.add_user(%s, 'crm_analyst', %s)", (probe, verifier))
        conn.rollback()
    log = pg_server.log_file.read_text(errors="replace")
    assert f"could not create login {probe}" in log  # the failure was logged ...
    assert marker not in log and verifier.split("$")[2].split(":")[0] not in log  # ... without the secret
