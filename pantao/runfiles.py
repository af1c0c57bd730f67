"""Run files: the long-running processes of one data directory, for `pantao stack status | down`.

Each long-running command (`pantao ui`, `pantao bi up`, `pantao ingest kafka --follow`, `pantao
ingest pbx --follow`) writes `<PANTAO_DATA_DIR>/run/<name>.json` once it runs, and removes it when it
stops:

    {"name": "ui", "pid": 4242, "pgid": 4250, "address": "http://127.0.0.1:3000",
     "cmd_hint": "pantao", "started_at": "2026-11-30T16:40:00+00:00"}

- `name`: the file's stem, shown by `stack status`.
- `pid`: the process to stop. It gets SIGTERM and must stop its own children on it.
- `pgid`: the process group holding its helper processes, or null when it has none of its own.
  Whatever of the group is left once `pid` exited gets SIGTERM, then SIGKILL.
- `address`: what to open or connect to ("" when nothing listens).
- `cmd_hint`: a word of `pid`'s command line, checked before trusting the pid (pids are reused).
- `started_at`: ISO 8601 with its UTC offset.

Any program may write one; write a temporary file in the same folder and rename it. A file
whose pid is gone is stale: `stack status` reports it (and exits 1), `stack down` stops what is
left of its group and removes it. A file that cannot be read is reported, never fatal.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil

from pantao.files import private_dir, write_private_text
from pantao.processes import group_members, pid_alive, stop_group, wait_gone

log = logging.getLogger(__name__)

RUN_DIR = "run"
FIELDS = ("name", "pid", "pgid", "address", "cmd_hint", "started_at")


@dataclass
class ServiceStatus:
    """One line of `pantao stack status`: an embedded server or a registered process."""

    name: str
    state: str  # running | stopped | stale | unreadable
    pid: int | None
    address: str
    detail: str = ""


@dataclass
class RunFile:
    name: str
    pid: int
    pgid: int | None
    address: str
    cmd_hint: str
    started_at: str

    def running(self) -> bool:
        return pid_alive(self.pid, self.cmd_hint)

    def group(self) -> list[psutil.Process]:
        """The live processes of its group other than `pid` (none when it has no group of its own)."""
        if not self.pgid or self.pgid == os.getpgrp():
            return []
        return group_members(self.pgid, exclude=(self.pid,))


def run_dir(data_dir: Path) -> Path:
    return data_dir.resolve() / RUN_DIR


def register(data_dir: Path, name: str, *, address: str = "", cmd_hint: str = "pantao",
             pgid: int | None = None, pid: int | None = None) -> RunFile:
    """Write `run/<name>.json` for `pid` (default: this process). Without `pgid`, this process's
    group is recorded only when it leads it: a group it merely belongs to (a shell pipeline, a
    test runner) is not its to stop."""
    pid = pid or os.getpid()
    if pgid is None and pid == os.getpid() and os.getpgrp() == pid:
        pgid = pid
    entry = RunFile(name, pid, pgid, address, cmd_hint, datetime.now(UTC).isoformat(timespec="seconds"))
    folder = private_dir(run_dir(data_dir))
    tmp = folder / f".{name}.{os.getpid()}.tmp"
    write_private_text(tmp, json.dumps(asdict(entry), indent=2) + "\n")
    tmp.replace(folder / f"{name}.json")
    return entry


def unregister(data_dir: Path, entry: RunFile) -> None:
    """Remove `run/<name>.json` if it still describes `entry` (a newer instance may have replaced it)."""
    path = run_dir(data_dir) / f"{entry.name}.json"
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == entry.pid:
            path.unlink()


@contextlib.contextmanager
def registered(data_dir: Path, name: str, **fields: object) -> Iterator[RunFile]:
    """The run file exists while the block runs."""
    entry = register(data_dir, name, **fields)  # type: ignore[arg-type]
    try:
        yield entry
    finally:
        unregister(data_dir, entry)


def read_all(data_dir: Path) -> tuple[list[RunFile], list[tuple[Path, str]]]:
    """Every run file, and every file that could not be read with the reason."""
    entries, broken = [], []
    for path in sorted(run_dir(data_dir).glob("*.json")):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            entries.append(RunFile(str(raw.get("name") or path.stem), int(raw["pid"]),
                                   int(raw["pgid"]) if raw.get("pgid") else None, str(raw.get("address") or ""),
                                   str(raw.get("cmd_hint") or ""), str(raw.get("started_at") or "")))
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            broken.append((path, f"{type(exc).__name__}: {exc}"))
    return entries, broken


def running(data_dir: Path, name: str) -> RunFile | None:
    """The registered process `name` when it is running, else None."""
    entries, _ = read_all(data_dir)
    return next((entry for entry in entries if entry.name == name and entry.running()), None)


def statuses(data_dir: Path) -> list[ServiceStatus]:
    """A `stack status` line per run file: running, stale (its pid is gone) or unreadable."""
    entries, broken = read_all(data_dir)
    rows = []
    for entry in entries:
        group = entry.group()
        members = f"group {entry.pgid}: {_count(group)}" if group else ""
        if entry.running():
            rows.append(ServiceStatus(entry.name, "running", entry.pid, entry.address or "-",
                                      f"{members}, since {entry.started_at}" if members else f"since {entry.started_at}"))
        elif group:
            rows.append(ServiceStatus(entry.name, "stale", entry.pid, entry.address or "-",
                                      f"pid {entry.pid} is gone but {members} still run; `pantao stack down` stops them"))
        else:
            rows.append(ServiceStatus(entry.name, "stale", entry.pid, entry.address or "-",
                                      f"recorded in {RUN_DIR}/{entry.name}.json but the process is gone;"
                                      " `pantao stack down` removes the file"))
    for path, reason in broken:
        rows.append(ServiceStatus(path.stem, "unreadable", None, "-",
                                  f"{path} is not a run file ({reason}); remove it"))
    return rows


def stop_all(data_dir: Path, grace: float = 30.0) -> tuple[list[str], list[str]]:
    """Stop every registered process and remove its file: (what was stopped, notes on stale and
    unreadable files)."""
    entries, broken = read_all(data_dir)
    stopped, notes = [], []
    for entry in entries:
        what = stop(entry, grace)
        if what:
            stopped.append(what)
        else:
            notes.append(f"removed the stale {RUN_DIR}/{entry.name}.json (pid {entry.pid} was gone)")
        (run_dir(data_dir) / f"{entry.name}.json").unlink(missing_ok=True)
    for path, reason in broken:
        notes.append(f"left {path} in place: it is not a run file ({reason}); remove it by hand")
    return stopped, notes


def stop(entry: RunFile, grace: float = 30.0) -> str:
    """SIGTERM to the pid, SIGKILL after `grace`; then whatever of its group outlived it. Describes
    what it stopped, or returns "" when nothing of it was running."""
    running, group = entry.running(), entry.group()
    if running:
        os.kill(entry.pid, signal.SIGTERM)
        if not wait_gone(entry.pid, entry.cmd_hint, grace):
            log.warning("%s (pid %s) did not stop within %.0f s of SIGTERM; killing it", entry.name, entry.pid, grace)
            with contextlib.suppress(ProcessLookupError):
                os.kill(entry.pid, signal.SIGKILL)
            wait_gone(entry.pid, entry.cmd_hint, 5)
    leftovers = entry.group()
    if leftovers:
        stop_group(entry.pgid or 0, signal.SIGTERM, 10.0, exclude=(entry.pid,))
    if not running and not group:
        return ""
    said = f"pid {entry.pid}" if running else f"pid {entry.pid} was gone"
    if group:
        said += f", {_count(group)} in group {entry.pgid}"
    if leftovers:
        said += f", of which {len(leftovers)} outlived it and were stopped"
    return f"{entry.name} ({said})"


def _count(processes: list[psutil.Process]) -> str:
    return f"{len(processes)} process{'es' if len(processes) != 1 else ''}"
