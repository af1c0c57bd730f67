"""The machine's PostgreSQL 15 for the access tests, beside the embedded 18 (a pytest plugin).

User administration and the access matrix must work from PostgreSQL 14 up, and chains commonly
run 14 or 15, whose CREATEROLE and role grants differ from 16's. So the access tests take the
`access_server` fixture, which runs them once on each server.

The older server is not ours: `PANTAO_TEST_PG15_URL` (default: the superuser `postgres` on
127.0.0.1:5432, as on this machine and in CI). Tests create their own databases there with unique
names and drop them (`access_new_database`, the `new_database` of conftest on this server); login
roles get unique names and are dropped; the project's fixed group and
service roles (crm_*) stay, because roles are cluster-wide and a concurrent run may be using them.
That server's own pg_hba.conf may trust every local login (this machine's does): then a wrong
password cannot fail there, and `checks_passwords` says so to the few tests about passwords.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest

from pantao.db import redact, with_database
from tests.conftest import DatabaseFactory, database_factory

PG15_URL_VAR = "PANTAO_TEST_PG15_URL"
DEFAULT_PG15_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class SystemPostgres:
    """A running PostgreSQL we did not start; `dsn(database)` as EmbeddedPostgres offers it."""

    def __init__(self, url: str, version: int, checks_passwords: bool):
        self.url = url
        self.version = version
        self.checks_passwords = checks_passwords

    def dsn(self, database: str = "postgres") -> str:
        return with_database(self.url, database)


def _trusts_logins(url: str) -> bool:
    """True when the server lets its superuser in with a wrong password (a `trust` line)."""
    try:
        psycopg.connect(url, password="certainly-not-the-password", connect_timeout=5).close()
        return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def pg15_server() -> Iterator[SystemPostgres]:
    url = os.environ.get(PG15_URL_VAR, DEFAULT_PG15_URL)
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            version = conn.info.server_version
            is_super = conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()[0]
    except psycopg.OperationalError as exc:
        message = (f"no PostgreSQL 14/15 at {redact(url)} for the access tests on older servers: "
                   f"{str(exc).strip()}; install one (Debian: postgresql) or set {PG15_URL_VAR}")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    if not 140000 <= version < 160000 or not is_super:
        pytest.fail(f"{PG15_URL_VAR}={redact(url)} is PostgreSQL {version // 10000}"
                    f"{'' if is_super else ' without a superuser login'}: point it at a 14 or 15 server's superuser")
    yield SystemPostgres(url, version, checks_passwords=not _trusts_logins(url))


@pytest.fixture(scope="session", params=["pg18", "pg15"])
def access_server(request: pytest.FixtureRequest):
    """The embedded PostgreSQL 18 (`pg_server`) and the machine's 15 (`pg15_server`), in turn."""
    return request.getfixturevalue("pg15_server" if request.param == "pg15" else "pg_server")


@pytest.fixture(scope="session")
def access_new_database(access_server) -> Iterator[DatabaseFactory]:
    """`new_database` on `access_server`: databases of their own on 18, then on 15."""
    factory = database_factory(access_server.dsn("postgres"))
    yield factory
    factory.close()


def checks_passwords(server) -> bool:
    """False on a server that trusts local logins, where a wrong password cannot be refused."""
    return getattr(server, "checks_passwords", True)
