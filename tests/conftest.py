"""Shared fixtures: a real PostgreSQL server and a real Kafka-protocol broker, started in
temporary folders for the test session (never the developer's ./.pantao/), and stopped after.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest

from pantao.db import scratch_database, with_database
from pantao.settings import Settings
from pantao.stack import EmbeddedKafka, EmbeddedPostgres

REPO_ROOT = Path(__file__).resolve().parent.parent
# The `pantao` console script as users run it. Its command line names `pantao`, which run files
# (pantao/runfiles.py) check before trusting a pid; `python -m app.cli` would not.
PANTAO_CLI = [sys.executable, str(Path(sys.executable).with_name("pantao"))]

# `built_warehouse` and `build_simulated_warehouse`: the whole pipeline on a small simulation;
# `bi_stack`: one Superset server on it for the BI tests; `pg15_server` and `access_server`
# (the access tests on PostgreSQL 18 and 15); `small_warehouse` (the monitoring tests' hand-made one).
pytest_plugins = ["tests.pipeline", "tests.bi_server", "tests.pg15", "tests.monitoring_support", "tests.dbt_forkserver"]


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data") as server:
        yield server


@pytest.fixture(scope="session")
def database_url(pg_server: EmbeddedPostgres) -> str:
    """The session's shared database (superuser DSN). Tests that change schemas use `fresh_database_url`."""
    return pg_server.dsn()


@pytest.fixture(scope="session")
def new_database(pg_server: EmbeddedPostgres) -> Iterator[DatabaseFactory]:
    """The one way tests get a database of their own: `with new_database("t_bot") as url:` is an
    empty database (superuser DSN) named `<prefix>_<random>`, dropped when the block ends;
    `new_database("t", template=new_database.template(key, build)[0])` a copy of a database built once.

    Session-scoped so that module- and session-scoped fixtures can use it too.
    """
    factory = DatabaseFactory(pg_server.dsn("postgres"))
    yield factory
    factory.close()


T = TypeVar("T")


class DatabaseFactory:
    """`new_database` on the server whose superuser DSN is `admin` (tests/pg15.py uses it too).

    `template(key, build)` builds a database once with `build(url)` and keeps it until `close()`;
    copying it (`factory(prefix, template=name)`, CREATE DATABASE ... TEMPLATE) takes a fraction
    of a second where building it runs dbt. A copy holds the template's schemas, rows and object
    grants, not its database-level grants (CONNECT): whoever copies re-applies those.
    """

    def __init__(self, admin: str):
        self.admin = admin
        self._templates: dict[str, tuple[str, Any]] = {}

    def __call__(self, prefix: str = "t", template: str | None = None) -> AbstractContextManager[str]:
        return scratch_database(self.admin, prefix, template)

    def template(self, key: str, build: Callable[[str], T]) -> tuple[str, T]:
        """(name, what `build` returned) of the template `key`, built on first use."""
        if key not in self._templates:
            name = f"tmpl_{key}_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(self.admin, autocommit=True) as conn:
                conn.execute(f'create database "{name}"')
            try:
                built = build(with_database(self.admin, name))
            except BaseException:
                self._drop(name)
                raise
            self._templates[key] = (name, built)
        return self._templates[key]

    def close(self) -> None:
        for name, _ in self._templates.values():
            self._drop(name)
        self._templates.clear()

    def _drop(self, name: str) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def database_factory(admin: str) -> DatabaseFactory:
    """`new_database` on the server whose superuser DSN is `admin`."""
    return DatabaseFactory(admin)


@pytest.fixture
def fresh_database_url(new_database) -> Iterator[str]:
    """An empty database of its own for one test, dropped afterwards."""
    with new_database() as url:
        yield url


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedKafka]:
    with EmbeddedKafka(tmp_path_factory.mktemp("kafka")) as broker:
        yield broker


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: EmbeddedKafka) -> str:
    return kafka_broker.bootstrap


@pytest.fixture
def unique_topics() -> dict[str, str]:
    """Topic names no other test uses, so tests on the shared broker never see each other's messages."""
    suffix = uuid.uuid4().hex[:8]
    return {name: f"{name}-{suffix}" for name in ("orders", "customers", "feedback")}


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a test: data directory in tmp_path, everything else overridable."""

    def factory(**overrides: object) -> Settings:
        overrides.setdefault("data_dir", tmp_path / "data")
        return Settings(**overrides)  # type: ignore[arg-type]

    return factory


def _mariadb_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 3306), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def mariadb_admin_url() -> str:
    """The machine's MariaDB (root, empty password), standing in for the PBX's own database."""
    if os.environ.get("PANTAO_SKIP_MARIADB") or not _mariadb_reachable():
        if os.environ.get("CI") and not os.environ.get("PANTAO_SKIP_MARIADB"):
            pytest.fail("no MariaDB server on 127.0.0.1:3306: CI must run the PBX database tests")
        pytest.skip("no MariaDB server on 127.0.0.1:3306 (CI and the dev machines have one; this machine does not)")
    return "mysql://root@127.0.0.1:3306/"


def pytest_configure(config: pytest.Config) -> None:
    """Each pytest run gets its own temp root, so concurrent runs (several developers, a benchmark
    beside the suite) never prune each other's embedded PostgreSQL data folders.

    A suite started as a background job of a non-interactive shell (`make test &` in a script,
    `nohup … &`) inherits SIGINT and SIGQUIT ignored, and so would every process a test starts:
    the tests of how processes stop would see children that shrug the interrupt off. The suite
    takes them back (SIGHUP stays as nohup left it)."""
    import signal

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGQUIT) is signal.SIG_IGN:
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)
    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        config.option.basetemp = str(Path(tempfile.gettempdir()) / f"pantao-pytest-{os.getpid()}")
        config._pantao_own_basetemp = True  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    if getattr(config, "_pantao_own_basetemp", False) and not os.environ.get("PANTAO_KEEP_TEST_TMP"):
        shutil.rmtree(config.option.basetemp, ignore_errors=True)
