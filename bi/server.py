"""The Superset web server as a background process: start, stop (with every worker), status.

The process is recorded in `<data_dir>/run/bi.json` in the format every pantao background service
uses ({"name", "pid", "pgid", "address", "cmd_hint", "started_at"}), so `pantao stack status`
and `stack down` can list and stop it too. It runs in a session of its own; stopping signals the
whole process group, so gunicorn's workers never outlive their master.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bi import environment
from bi.config import BiConfig
from pantao.stack import pid_alive, port_open

log = logging.getLogger(__name__)

NAME = "bi"
CMD_HINT = "superset.app:create_app()"
START_TIMEOUT_SECONDS = 180
# Enough for a few people on two cores; each worker holds Superset in memory (~300 MB).
WORKERS = 1
THREADS = 8


class BiServerError(RuntimeError):
    """The BI server could not be started or stopped; the message says what to look at."""


@dataclass(frozen=True)
class ServerStatus:
    state: str  # running | stopped | stale
    pid: int | None
    address: str
    detail: str = ""


def run_file(config: BiConfig) -> Path:
    return config.run_dir / f"{NAME}.json"


def _record(config: BiConfig) -> dict | None:
    try:
        return json.loads(run_file(config).read_text())
    except (OSError, ValueError):
        return None


def _healthy(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"{address}/health", timeout=2) as response:  # noqa: S310 (our loopback URL)
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def status(config: BiConfig) -> ServerStatus:
    record = _record(config)
    if record is None:
        return ServerStatus("stopped", None, config.address)
    if pid_alive(record.get("pid"), CMD_HINT):
        healthy = _healthy(record["address"])
        return ServerStatus("running", record["pid"], record["address"], "" if healthy else "not answering /health yet")
    return ServerStatus("stale", record.get("pid"), record.get("address", config.address),
                        "recorded as running but the process is gone; `pantao bi up` restarts it")


def command(config: BiConfig) -> list[str]:
    return [str(environment.executable("gunicorn")), "--bind", f"127.0.0.1:{config.port}",
            "--workers", str(WORKERS), "--worker-class", "gthread", "--threads", str(THREADS),
            "--timeout", "120", "--limit-request-line", "0", "--limit-request-field_size", "0",
            "--access-logfile", "-", "--name", "pantao-bi", CMD_HINT]


def start(config: BiConfig) -> ServerStatus:
    """Start the server unless it runs already (idempotent); returns once it answers /health."""
    current = status(config)
    if current.state == "running":
        return current
    if port_open(config.port):
        raise BiServerError(f"port {config.port} is taken by another program; set BI_PORT to a free port")
    config.log_dir.mkdir(parents=True, exist_ok=True)
    config.run_dir.mkdir(parents=True, exist_ok=True)
    with config.log_file.open("ab") as out:
        proc = subprocess.Popen(command(config), env=config.process_env(), cwd=config.home, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    record = {"name": NAME, "pid": proc.pid, "pgid": os.getpgid(proc.pid), "address": config.address,
              "cmd_hint": CMD_HINT, "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    tmp = run_file(config).with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(run_file(config))
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            run_file(config).unlink(missing_ok=True)
            raise BiServerError(f"the BI server exited with code {proc.returncode} while starting; "
                                f"see {config.log_file}")
        if _healthy(config.address):
            log.info("Superset serves %s (pid %s)", config.address, proc.pid)
            return status(config)
        time.sleep(0.5)
    stop(config)
    raise BiServerError(f"the BI server did not answer {config.address}/health in {START_TIMEOUT_SECONDS} s; "
                        f"see {config.log_file}")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)  # when we started it in this process, do not leave a zombie
    except ChildProcessError:
        pass


def stop(config: BiConfig, grace_seconds: float = 20) -> bool:
    """Stop the server and every process of its group; True if something was running."""
    record = _record(config)
    if record is None:
        return False
    pid, pgid = record.get("pid"), record.get("pgid")
    running = pid_alive(pid, CMD_HINT)
    if running and pgid:
        os.killpg(pgid, signal.SIGTERM)  # gunicorn's master stops its workers gracefully
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline and _group_alive(pgid):
            _reap(pid)
            time.sleep(0.1)
        if _group_alive(pgid):
            log.warning("BI server group %s did not stop in %.0f s; killing it", pgid, grace_seconds)
            os.killpg(pgid, signal.SIGKILL)
        _reap(pid)
    run_file(config).unlink(missing_ok=True)
    return running
