"""Processes: is it alive, stop it, and child processes that never outlive their parent.

`ProcessGroup` starts a command's helper processes (the Dagster webserver and daemon behind
`pantao ui`) in one new process group owned by the parent:

- whatever they start in turn (code servers, run workers) stays in that group, so one signal to
  the group reaches every one of them;
- the group is not the terminal's foreground group: Ctrl-C reaches only the parent, which stops
  the group in order (SIGINT first, which Dagster's processes answer by shutting down cleanly,
  then SIGKILL for what is left after a grace period);
- a guard process leads the group and holds a pipe from the parent. When the pipe closes without
  the parent having said "done" (the parent died, even by SIGKILL) the guard stops the group the
  same way. The direct children also get PR_SET_PDEATHSIG (SIGTERM), should the guard be killed.

Run as `python -m pantao.processes guard SECONDS`, this module is that guard.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time

import psutil

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StackError(RuntimeError):
    """The local stack could not be started or is in a state that needs a person."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int | None, cmd_hint: str) -> bool:
    """True when `pid` runs and its command line mentions `cmd_hint` (guards against pid reuse)."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return cmd_hint in " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def wait_gone(pid: int, cmd_hint: str, seconds: float) -> bool:
    """Wait for a process we may not be the parent of (so no waitpid): poll until it is gone or a zombie."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not pid_alive(pid, cmd_hint):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap it when it is our child
            return True
        time.sleep(0.05)
    return False


def group_members(pgid: int | None, exclude: tuple[int, ...] = ()) -> list[psutil.Process]:
    """The live (not zombie) processes of process group `pgid`, except the pids in `exclude`."""
    if not pgid or pgid <= 1:
        return []
    members = []
    for proc in psutil.process_iter():
        if proc.pid in exclude:
            continue
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc)
        except (ProcessLookupError, psutil.NoSuchProcess, PermissionError):
            continue
    return members


def stop_group(pgid: int, first: signal.Signals = signal.SIGTERM, grace: float = 20.0,
               exclude: tuple[int, ...] = ()) -> list[str]:
    """Send `first` to every member of group `pgid` (never our own group), wait up to `grace`
    seconds for them to exit, then SIGKILL the rest. Returns the names of the processes it found."""
    if pgid == os.getpgrp() and os.getpid() not in exclude:
        raise ValueError(f"refusing to stop process group {pgid}: it is the caller's own group")
    members = group_members(pgid, exclude)
    names = [_name(proc) for proc in members]
    for proc in members:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(first)
    deadline = time.monotonic() + grace
    while members and time.monotonic() < deadline:
        time.sleep(0.1)
        members = group_members(pgid, exclude)  # also catches a process started meanwhile
    for _ in range(3):  # what is started while we kill is killed on the next pass
        if not members:
            break
        log.warning("process group %s: %d process(es) still running after %.0f s, killing them: %s",
                    pgid, len(members), grace, ", ".join(_name(proc) for proc in members))
        for proc in members:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(members, timeout=5)
        members = group_members(pgid, exclude)
    return names


def _name(proc: psutil.Process) -> str:
    try:
        words = proc.cmdline()
        script = next((os.path.basename(w) for w in words[1:] if not w.startswith("-")), "") if words else ""
        base = os.path.basename(words[0]) if words else proc.name()
        return f"{base} {script}".strip() if base.startswith("python") else base
    except psutil.Error:
        return str(proc.pid)


def die_with_parent() -> None:
    """preexec_fn: this child gets SIGTERM when the thread that started it dies (Linux; elsewhere nothing)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


def exit_with_parent(parent_pid: int) -> None:
    """The same from inside a child that was not started by Popen (a multiprocessing "spawn"
    process, such as the Kafka landing's readers): ask for SIGTERM when the parent dies, and exit at
    once if it died before the request could be made. Its loops check `parent_gone` as the fallback."""
    die_with_parent()
    if parent_gone(parent_pid):
        os._exit(1)  # nobody is left to read what this process would make


def parent_gone(parent_pid: int) -> bool:
    """True when the process that started this one has ended (this one was re-parented)."""
    return os.getppid() != parent_pid


class ProcessGroup:
    """Children in one new process group that a guard stops when this process dies (see the module doc)."""

    def __init__(self, grace_seconds: float = 20.0):
        self.grace_seconds = grace_seconds
        self._guard: subprocess.Popen | None = None
        self._children: list[subprocess.Popen] = []

    @property
    def pgid(self) -> int | None:
        return self._guard.pid if self._guard is not None else None

    def start(self, cmd: list[str], **popen_kwargs: object) -> subprocess.Popen:
        """Popen `cmd` in the group (started on first use); call from the main thread (PDEATHSIG is per thread)."""
        if self._guard is None:
            self._guard = subprocess.Popen(
                [sys.executable, "-m", "pantao.processes", "guard", str(self.grace_seconds)],
                stdin=subprocess.PIPE, process_group=0,
            )
        proc = subprocess.Popen(cmd, process_group=self.pgid, preexec_fn=die_with_parent, **popen_kwargs)
        self._children.append(proc)
        return proc

    def members(self) -> list[psutil.Process]:
        """Every live process of the group but the guard: the children and whatever they started."""
        return group_members(self.pgid, exclude=(self.pgid or 0,))

    def stop(self) -> list[str]:
        """SIGINT to the whole group, SIGKILL after the grace period; then release the guard.
        Returns the names of the processes it found; a second call finds nothing to do."""
        if self._guard is None or self._guard.returncode is not None:
            return []
        names = stop_group(self._guard.pid, signal.SIGINT, self.grace_seconds, exclude=(self._guard.pid,))
        for proc in self._children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)  # reap them: they have exited, or were killed above
        if self._guard.stdin is not None and not self._guard.stdin.closed:
            with contextlib.suppress(OSError):  # the guard may be gone already (killed by someone)
                self._guard.stdin.write(b"done\n")
                self._guard.stdin.close()
        try:
            self._guard.wait(10)
        except subprocess.TimeoutExpired:
            self._guard.kill()
            self._guard.wait()
        return names


def _guard(grace: float) -> None:
    # The group's stop signals are meant for the servers; the guard answers only its pipe.
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    said = sys.stdin.buffer.read()  # returns when the parent closes the pipe, or dies
    if said.strip() == b"done":
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.warning("the process that started process group %s is gone; stopping the group", os.getpgrp())
    stop_group(os.getpgrp(), signal.SIGINT, grace, exclude=(os.getpid(),))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "guard":
        _guard(float(sys.argv[2]))
    else:
        sys.exit("usage: python -m pantao.processes guard SECONDS (started by pantao.processes.ProcessGroup)")


class Served:
    """Mixed into a server class that has start() and stop(): `with server:` starts it for the block
    and stops it after."""

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
