"""dbt without its start-up cost, for the test session: a server that has imported dbt forks a
process per invocation (a pytest plugin; `PANTAO_DBT_EXECUTABLE`, pantao/dbt_runner.py).

Every dbt invocation imports dbt, its adapter and their dependencies first: about 1.2 s of CPU
here, before any work, and the suite runs dbt some two hundred times (each test warehouse, each
reporting-layer apply, each Dagster run's dbt step). The server imports them once; each
invocation is a fork of it, so it starts with dbt loaded and with none of an earlier
invocation's state, as a fresh `dbt` process would.

The `dbt` the tests run is a small client (written at session start, standard library only):
it hands the server its arguments, environment, working folder and its own stdin, stdout and
stderr (SCM_RIGHTS), so dbt writes straight to whoever started the client (run_dbt's pipe,
dagster-dbt's JSON log reader), and exits with dbt's code, or dies of dbt's signal. Signals sent
to the client (SIGINT, SIGTERM, SIGHUP, SIGQUIT) are passed on to dbt; if the client dies
(SIGKILL, its process group killed), dbt is killed with it. When the server cannot be reached the
client runs the real dbt in its place (exec), so a broken server costs time, never a result.

One test stays on the real executable: the demo (tests/test_demo.py) runs dbt exactly as a user's
machine does.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from pantao.dbt_runner import DBT_EXECUTABLE_VAR

_HEADER = struct.Struct("!I")

CLIENT = r'''#!{python} -IS
# dbt through the test session's fork server (tests/dbt_forkserver.py); the real dbt when it is down
import json, os, signal, socket, struct, sys
SOCKET, REAL_DBT = {socket!r}, {real!r}
try:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(SOCKET)
except OSError:
    os.execv(REAL_DBT, [REAL_DBT, *sys.argv[1:]])
request = json.dumps({{"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}}).encode()
socket.send_fds(conn, [struct.pack("!I", len(request)) + request], [0, 1, 2])
stream = conn.makefile("r")
pid = int(json.loads(stream.readline())["pid"])
def forward(signum, frame):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(signum, forward)
line = stream.readline()
if not line:
    sys.exit(70)  # the server died: EX_SOFTWARE
status = json.loads(line)
if "signal" in status:
    signal.signal(status["signal"], signal.SIG_DFL)
    os.kill(os.getpid(), status["signal"])
sys.exit(status["exit"])
'''

# What a dbt run imports besides dbt.cli.main: loaded in the server so no invocation pays for them.
PRELOAD = (
    "dbt.cli.main", "dbt.adapters.postgres", "dbt.adapters.postgres.impl", "dbt.parser.manifest",
    "dbt.task.build", "dbt.task.run", "dbt.task.compile", "dbt.task.test", "dbt.task.list", "dbt.task.seed",
    "dbt.task.show", "dbt.task.run_operation", "dbt.contracts.graph.manifest", "psycopg2", "agate",
)


def _recv_request(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _flags, _addr = socket.recv_fds(conn, 1 << 20, 3)
    while len(data) < _HEADER.size:
        data += conn.recv(1 << 20)
    (size,) = _HEADER.unpack_from(data)
    while len(data) < _HEADER.size + size:
        chunk = conn.recv(1 << 20)
        if not chunk:
            raise EOFError("the client went away mid-request")
        data += chunk
    return json.loads(data[_HEADER.size:_HEADER.size + size]), list(fds)


def _run_dbt(request: dict, fds: list[int]) -> None:
    """In the forked dbt process: become the client's dbt, run, exit with dbt's code."""
    os.setpgid(0, 0)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.argv = ["dbt", *request["argv"]]
    code: int | str | None = 0
    try:
        from dbt.cli.main import cli

        cli.main(args=request["argv"], prog_name="dbt")
    except SystemExit as exc:
        code = exc.code
    except BaseException:  # noqa: BLE001 — as an uncaught exception ends a real dbt: traceback, exit 1
        import traceback

        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


def _supervise(conn: socket.socket, request: dict, fds: list[int]) -> None:
    """In the forked supervisor: start dbt, tell the client its pid, report how it ended; kill it
    when the client goes away first."""
    pid = os.fork()
    if pid == 0:
        conn.close()
        _run_dbt(request, fds)
    for fd in fds:
        os.close(fd)
    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    pidfd = os.pidfd_open(pid)
    while True:
        ready, _, _ = select.select([pidfd, conn], [], [])
        if pidfd in ready:
            _, status = os.waitpid(pid, 0)
            if os.WIFSIGNALED(status):
                message = {"signal": os.WTERMSIG(status)}
            else:
                message = {"exit": os.waitstatus_to_exitcode(status)}
            try:
                conn.sendall(json.dumps(message).encode() + b"\n")
            except OSError:
                pass
            os._exit(0)
        if conn in ready and not conn.recv(1):  # EOF: the client died
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            os._exit(0)


def serve(path: str) -> None:
    import importlib

    for module in PRELOAD:
        try:
            importlib.import_module(module)
        except ImportError:  # a later dbt moved it: imported by the invocation instead
            pass
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    print("ready", flush=True)
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        ready, _, _ = select.select([server], [], [], 1.0)
        if not ready:
            continue
        conn, _ = server.accept()
        try:
            request, fds = _recv_request(conn)
        except (OSError, EOFError, ValueError):
            conn.close()
            continue
        if os.fork() == 0:
            server.close()
            try:
                _supervise(conn, request, fds)
            finally:
                os._exit(1)
        for fd in fds:
            os.close(fd)
        conn.close()


class ForkServer:
    """The server process and the client script, for one test session."""

    def __init__(self, folder: Path, real_dbt: str):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.socket = str(folder / "dbt.sock")
        self.client = folder / "bin" / "dbt"
        self.client.parent.mkdir(exist_ok=True)
        self.client.write_text(CLIENT.format(python=sys.executable, socket=self.socket, real=real_dbt),
                               encoding="utf-8")
        self.client.chmod(0o755)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.dbt_forkserver", self.socket],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=Path(__file__).resolve().parent.parent, start_new_session=True, text=True)
        ready = self.process.stdout.readline() if self.process.stdout else ""
        if ready.strip() != "ready":
            self.stop()
            raise RuntimeError("the dbt fork server did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_SERVER: ForkServer | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _SERVER
    if os.environ.get(DBT_EXECUTABLE_VAR) or hasattr(config, "workerinput"):
        return
    import tempfile

    from pantao.dbt_runner import dbt_executable

    folder = Path(tempfile.mkdtemp(prefix="pantao-dbt-forkserver-"))
    _SERVER = ForkServer(folder, dbt_executable())
    os.environ[DBT_EXECUTABLE_VAR] = str(_SERVER.client)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _SERVER
    if _SERVER is not None:
        _SERVER.stop()
        shutil.rmtree(_SERVER.folder, ignore_errors=True)
        os.environ.pop(DBT_EXECUTABLE_VAR, None)
        _SERVER = None


if __name__ == "__main__":
    serve(sys.argv[1])
