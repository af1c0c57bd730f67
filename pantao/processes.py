"""Small helpers for the embedded services' processes: free ports, waiting, liveness by pid."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import psutil


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


def wait_for_port(port: int, seconds: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if proc is not None and proc.poll() is not None:
            raise StackError(f"process exited with code {proc.returncode} before listening on port {port}")
        time.sleep(0.05)
    raise StackError(f"nothing listens on 127.0.0.1:{port} after {seconds:.0f} s")


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
            try:
                os.waitpid(pid, os.WNOHANG)  # reap it when it is our child
            except ChildProcessError:
                pass
            return True
        time.sleep(0.05)
    return False
