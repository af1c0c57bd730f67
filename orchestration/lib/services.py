"""The Dagster webserver and daemon as child processes, for `pantao ui` and the tests that use them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from orchestration.lib.instance import REPO_ROOT, WORKSPACE_YAML
from pantao.processes import ProcessGroup


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
    """The webserver and the daemon in one process group (pantao.processes.ProcessGroup): their code
    servers and run workers live there too, and all of them die with the process that started them."""

    group: ProcessGroup
    webserver: subprocess.Popen
    daemon: subprocess.Popen
    url: str

    @property
    def processes(self) -> dict[str, subprocess.Popen]:
        return {"dagster-webserver": self.webserver, "dagster-daemon": self.daemon}

    def exited(self) -> list[str]:
        return [name for name, proc in self.processes.items() if proc.poll() is not None]

    def stop(self) -> list[str]:
        """SIGINT to the whole group (the webserver, the daemon, their code servers and run workers
        shut down cleanly and release their locks), SIGKILL for what is left after the grace period.
        Returns the processes it found."""
        return self.group.stop()


def start_dagster(env: dict[str, str], host: str, port: int, output: IO | None = None,
                  grace_seconds: float = 20.0) -> DagsterServices:
    """Start `dagster-webserver` and `dagster-daemon run` on the repository's workspace.yaml.

    `env` must hold DAGSTER_HOME (with dagster.yaml) and PANTAO_DAGSTER_PG_URL; both processes load
    the code location from workspace.yaml with the repository as working directory.
    """
    workspace = ["-w", str(WORKSPACE_YAML)]
    kwargs = {"cwd": REPO_ROOT, "env": env, "stdin": subprocess.DEVNULL}
    if output is not None:
        kwargs.update(stdout=output, stderr=subprocess.STDOUT)
    group = ProcessGroup(grace_seconds)
    webserver = group.start([executable("dagster-webserver"), "-h", host, "-p", str(port), *workspace], **kwargs)
    daemon = group.start([executable("dagster-daemon"), "run", *workspace], **kwargs)
    return DagsterServices(group, webserver, daemon, f"http://{host}:{port}")
