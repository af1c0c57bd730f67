"""Connections to the analytics PostgreSQL: one place that turns a DSN into a connection."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse, urlunparse

import psycopg


def connect(database_url: str, *, autocommit: bool = False, **kwargs) -> psycopg.Connection:
    """A psycopg 3 connection with an application name, so sessions are identifiable in pg_stat_activity."""
    kwargs.setdefault("application_name", "pantao")
    return psycopg.connect(database_url, autocommit=autocommit, **kwargs)


def sqlalchemy_url(database_url: str) -> str:
    """The same DSN for SQLAlchemy/dagster-postgres, pinned to psycopg2 (SQLAlchemy 2.1 defaults to psycopg 3)."""
    parsed = urlparse(database_url)
    return urlunparse(parsed._replace(scheme="postgresql+psycopg2"))


def libpq_params(database_url: str) -> dict[str, str]:
    """host/port/user/password/dbname of a DSN, for tools configured by fields (dbt profiles, Grafana)."""
    parsed = urlparse(database_url)
    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    return {
        "host": query.get("host") or parsed.hostname or "127.0.0.1",
        "port": str(parsed.port or query.get("port") or 5432),
        "user": parsed.username or query.get("user") or "postgres",
        "password": parsed.password or query.get("password") or "",
        "dbname": (parsed.path or "/").lstrip("/") or "postgres",
    }


def with_database(database_url: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    return urlunparse(urlparse(database_url)._replace(path=f"/{dbname}"))
