"""Connections to the analytics PostgreSQL: one place that turns a DSN into a connection.

psycopg is imported where a connection is made, not with this module: the DSN helpers serve
commands (`pantao --help`, `pantao stack status`) that must not pay for loading the driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlparse, urlunparse

if TYPE_CHECKING:
    import psycopg

# Seconds to wait for a server before giving up: an unreachable host fails fast with a clear error.
CONNECT_TIMEOUT_SECONDS = 10


def connect(database_url: str, *, autocommit: bool = False, **kwargs) -> psycopg.Connection:
    """A psycopg 3 connection with an application name (visible in pg_stat_activity) and a connect timeout."""
    import psycopg

    kwargs.setdefault("application_name", "pantao")
    kwargs.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    return psycopg.connect(database_url, autocommit=autocommit, **kwargs)


def sqlalchemy_url(database_url: str) -> str:
    """The same DSN for SQLAlchemy/dagster-postgres, pinned to psycopg2 (SQLAlchemy 2.1 defaults to psycopg 3)."""
    parsed = urlparse(database_url)
    return urlunparse(parsed._replace(scheme="postgresql+psycopg2"))


def libpq_params(database_url: str) -> dict[str, str]:
    """host/port/user/password/dbname of a DSN, decoded (a password may hold `@` or `/`), for tools
    configured by fields: dbt profiles, Grafana."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(database_url)
    return {
        "host": str(params.get("host") or "127.0.0.1"),
        "port": str(params.get("port") or 5432),
        "user": str(params.get("user") or "postgres"),
        "password": str(params.get("password") or ""),
        "dbname": str(params.get("dbname") or "postgres"),
    }


def redact(database_url: str) -> str:
    """The DSN with its password replaced, for printing and logs."""
    parsed = urlparse(database_url)
    if not parsed.password:
        return database_url
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    return urlunparse(parsed._replace(netloc=netloc))


def with_database(database_url: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    return urlunparse(urlparse(database_url)._replace(path=f"/{dbname}"))
