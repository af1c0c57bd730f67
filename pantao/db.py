"""Connections to the analytics PostgreSQL: one place that turns a DSN into a connection.

psycopg is imported where a connection is made, not with this module: the DSN helpers serve
commands (`pantao --help`, `pantao stack status`) that must not pay for loading the driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

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
    configured by fields: dbt profiles, Grafana. A password kept in the DSN's `passfile` (the
    embedded server's) is read from that file, as libpq would."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(database_url)
    fields = {
        "host": str(params.get("host") or "127.0.0.1"),
        "port": str(params.get("port") or 5432),
        "user": str(params.get("user") or "postgres"),
        "password": str(params.get("password") or ""),
        "dbname": str(params.get("dbname") or "postgres"),
    }
    if not fields["password"] and params.get("passfile"):
        fields["password"] = passfile_password(Path(str(params["passfile"])), fields)
    return fields


def _pgpass_fields(line: str) -> list[str]:
    """One pgpass line split on unescaped colons, with `\\:` and `\\\\` unescaped."""
    fields, current, chars = [], [], iter(line)
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char == ":" and len(fields) < 4:
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    return [*fields, "".join(current)]


def passfile_password(path: Path, fields: dict[str, str]) -> str:
    """The password a pgpass file holds for host/port/dbname/user (`*` matches anything); '' if none."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    wanted = (fields["host"], fields["port"], fields["dbname"], fields["user"])
    for line in lines:
        parts = _pgpass_fields(line)
        if line.startswith("#") or len(parts) != 5:
            continue
        if all(pattern in ("*", value) for pattern, value in zip(parts[:4], wanted, strict=True)):
            return parts[4]
    return ""


def redact(database_url: str) -> str:
    """The DSN with its password replaced (in the user part or a `password=` parameter), for printing and logs."""
    parsed = urlparse(database_url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
        parsed = parsed._replace(netloc=netloc)
    query = [(k, "***" if k == "password" else v) for k, v in parse_qsl(parsed.query, keep_blank_values=True)]
    if any(k == "password" for k, _ in query):
        parsed = parsed._replace(query=urlencode(query, safe="/*"))
    return urlunparse(parsed)


def with_database(database_url: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    return urlunparse(urlparse(database_url)._replace(path=f"/{dbname}"))


@contextmanager
def scratch_database(admin_url: str, prefix: str, template: str | None = None) -> Iterator[str]:
    """A new database `<prefix>_<random>` on the server of `admin_url` (a superuser DSN), empty or
    a copy of the database `template`, yielded as a DSN and dropped, whoever is still connected,
    when the block ends.

    For tests and benchmarks, which each need a database of their own on a shared server. A copy
    holds the template's schemas, rows and object grants; not its database-level grants or settings.
    """
    import uuid

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with connect(admin_url, autocommit=True) as conn:
        if template is None:
            conn.execute(f'create database "{name}"')
        else:
            # a database is copied only while nobody is connected to it
            conn.execute("select pg_terminate_backend(pid) from pg_stat_activity "
                         "where datname = %s and pid <> pg_backend_pid()", (template,))
            conn.execute(f'create database "{name}" template "{template}"')
    try:
        yield with_database(admin_url, name)
    finally:
        with connect(admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
