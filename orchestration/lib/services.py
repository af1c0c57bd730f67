"""The Dagster webserver and daemon as child processes, for `pantao ui` and the tests that use them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from orchestration.lib.instance import REPO_ROOT, WORKSPACE_YAML


class ServiceError(RuntimeError):
    """The webserver or the daemon could not be started."""


def executable(name: str) -> str:
    """A console script installed next to this interpreter (the project's venv), else from PATH."""
    sibling = Path(sys.executable).parent / name
    if sibling.is_file() and os.access(sibling, os.X_OK):
        return str(sibling)
    found = shutil.which(name)
    if not found:
        raise ServiceError(f"{name} is not installed next to {sys.executable} nor on PATH; "
                           "install the project with `pip install -e .`")
    return found


@dataclass
class DagsterServices:
    webserver: subprocess.Popen
    daemon: subprocess.Popen
    url: str

    @property
    def processes(self) -> dict[str, subprocess.Popen]:
        return {"dagster-webserver": self.webserver, "dagster-daemon": self.daemon}

    def exited(self) -> list[str]:
        return [name for name, proc in self.processes.items() if proc.poll() is not None]

    def stop(self, timeout: float = 20.0) -> None:
        """SIGINT first (both shut down cleanly and release their locks), then kill what is left."""
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + timeout
        for proc in self.processes.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_dagster(env: dict[str, str], host: str, port: int, output: IO | None = None) -> DagsterServices:
    """Start `dagster-webserver` and `dagster-daemon run` on the repository's workspace.yaml.

    `env` must hold DAGSTER_HOME (with dagster.yaml) and PANTAO_DAGSTER_PG_URL; both processes load
    the code location from workspace.yaml with the repository as working directory.
    """
    workspace = ["-w", str(WORKSPACE_YAML)]
    kwargs = {"cwd": REPO_ROOT, "env": env, "stdin": subprocess.DEVNULL}
    if output is not None:
        kwargs.update(stdout=output, stderr=subprocess.STDOUT)
    webserver = subprocess.Popen([executable("dagster-webserver"), "-h", host, "-p", str(port), *workspace], **kwargs)
    daemon = subprocess.Popen([executable("dagster-daemon"), "run", *workspace], **kwargs)
    return DagsterServices(webserver, daemon, f"http://{host}:{port}")
