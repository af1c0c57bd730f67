"""CSV export of the reporting views, streamed with COPY so memory stays flat for any row count.

COPY cannot take bind parameters, so every value is validated against a strict rule first and
then rendered as a quoted literal by psycopg (never by string formatting); the view, its columns,
date filter, sort order and filter columns come from the reporting views' yml (access.catalog,
read from the dbt manifest). The export logs in as the requesting user, so the same row filters
apply as in their BI tool.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from access.catalog import ReportingView, daily_extract_views, view_by_name, view_names
from access.users import RESTAURANT_RE, AccessError, validate_username
from pantao.db import connect
from pantao.domain import CHANNELS, GROUP_ROLES, SEGMENTS
from pantao.files import open_private, private_dir
from pantao.settings import Settings

log = logging.getLogger(__name__)

DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass(frozen=True)
class ExportRequest:
    view: str
    date_from: date
    date_to: date
    segment: str | None = None
    restaurant: int | None = None
    channel: str | None = None


@dataclass(frozen=True)
class ExportResult:
    rows: int
    bytes_written: int


def parse_date(value: str | date, option: str) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not DATE_RE.fullmatch(value):
        raise AccessError(f"{option} {value!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-01")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise AccessError(f"{option} {value!r} is not a valid calendar date ({exc})") from exc


def validate_request(
    view: str,
    date_from: str | date,
    date_to: str | date,
    *,
    segment: str | None = None,
    restaurant: str | int | None = None,
    channel: str | None = None,
) -> ExportRequest:
    """Check every argument against its rule and the view's filters; the error says which one and why."""
    names = view_names()
    if view not in names:
        raise AccessError(f"unknown view {view!r}: export one of {', '.join(names)}")
    spec = view_by_name(view)
    start, end = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    if start > end:
        raise AccessError(f"--from {start} is after --to {end}")
    if segment is not None and segment not in SEGMENTS:
        raise AccessError(f"--segment {segment!r} is not a segment: use one of {', '.join(SEGMENTS)}")
    restaurant_id = None
    if restaurant is not None:
        if not RESTAURANT_RE.fullmatch(str(restaurant)):
            raise AccessError(f"--restaurant {restaurant!r} is not a restaurant id: use a positive integer, e.g. 3")
        restaurant_id = int(restaurant)
    if channel is not None and channel not in CHANNELS:
        raise AccessError(f"--channel {channel!r} is not a channel: use one of {', '.join(CHANNELS)}")
    for option, value in (("segment", segment), ("restaurant", restaurant_id), ("channel", channel)):
        if value is not None and option not in spec.filters:
            usable = ", ".join(f"--{f}" for f in spec.filters) or "no filters besides the dates"
            raise AccessError(f"--{option} does not apply to {view}: it accepts {usable}")
    return ExportRequest(view, start, end, segment, restaurant_id, channel)


def _period_filter(spec: ReportingView, start: date, end: date) -> sql.Composable:
    if spec.date_column is None:
        # a row spanning [first, last] (customers: their ordering span) is exported when it overlaps the period
        first, last = spec.period
        return sql.SQL("{first} <= {end} and {last} >= {start}").format(
            first=sql.Identifier(first), last=sql.Identifier(last), start=sql.Literal(start), end=sql.Literal(end))
    return sql.SQL("{col} between {start} and {end}").format(
        col=sql.Identifier(spec.date_column), start=sql.Literal(start), end=sql.Literal(end))


def build_export_query(request: ExportRequest) -> sql.Composed:
    """The COPY statement for a validated request: identifiers from the allow-list, values as literals."""
    spec = view_by_name(request.view)
    conditions: list[sql.Composable] = [_period_filter(spec, request.date_from, request.date_to)]
    for option, value in (("segment", request.segment), ("restaurant", request.restaurant),
                          ("channel", request.channel)):
        if value is not None:
            conditions.append(sql.SQL("{} = {}").format(sql.Identifier(spec.filters[option]), sql.Literal(value)))
    return sql.SQL(
        "copy (select {columns} from {view} where {where} order by {order}) "
        "to stdout with (format csv, header true, encoding 'UTF8')"
    ).format(
        columns=sql.SQL(", ").join(sql.Identifier(c) for c in spec.column_names),
        view=sql.Identifier("reporting", spec.name),
        where=sql.SQL(" and ").join(conditions),
        order=sql.SQL(", ").join(sql.Identifier(c) for c in spec.order_by),
    )


@dataclass(frozen=True)
class LoginInfo:
    """Who a DSN logs in as, and which group roles decide the rows that login sees."""

    username: str
    is_superuser: bool
    groups: tuple[str, ...]

    def describe(self) -> str:
        if self.is_superuser:
            return f"login {self.username!r} (a superuser: the row filters treat it as crm_admin, so every row)"
        if not self.groups:
            return f"login {self.username!r} (in none of {', '.join(GROUP_ROLES)}: the reporting views refuse it)"
        return f"login {self.username!r} (role {', '.join(self.groups)}: that role's row filters apply)"


def describe_login(database_url: str) -> LoginInfo:
    """Which role a DSN runs as: an export without --as-user uses the pipeline's login, and says so."""
    try:
        with connect(database_url, autocommit=True, application_name="pantao-export") as conn:
            row = conn.execute(
                "select r.rolname::text, r.rolsuper, array(select g.rolname::text from pg_auth_members m "
                "join pg_roles g on g.oid = m.roleid where m.member = r.oid and g.rolname = any(%s) order by 1) "
                "from pg_roles r where r.rolname = current_user",
                (list(GROUP_ROLES),),
            ).fetchone()
    except psycopg.OperationalError as exc:
        raise AccessError(f"cannot log in to export: {str(exc).strip()}") from exc
    return LoginInfo(username=row[0], is_superuser=row[1], groups=tuple(row[2]))


def user_dsn(database_url: str, username: str, password: str) -> str:
    """The same server and database, logged in as another user (so their row filters apply)."""
    validate_username(username)
    return make_conninfo(database_url, user=username, password=password)


def stream_copy(conn: psycopg.Connection, statement: sql.Composed, out: BinaryIO) -> ExportResult:
    """Write COPY's output chunk by chunk: memory holds one network chunk, never the result."""
    written = 0
    with conn.cursor() as cur:
        with cur.copy(statement) as copy:
            for chunk in copy:
                out.write(chunk)
                written += len(chunk)
        rows = cur.rowcount
    return ExportResult(rows=max(rows, 0), bytes_written=written)


def export_view(database_url: str, request: ExportRequest, out: BinaryIO) -> ExportResult:
    statement = build_export_query(request)
    try:
        with connect(database_url, application_name="pantao-export") as conn:
            conn.read_only = True
            result = stream_copy(conn, statement, out)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise AccessError(
            f"{exc.diag.message_primary}: this login may not read reporting.{request.view}; "
            "ask an administrator for a role (`pantao users set-role`)") from exc
    except psycopg.OperationalError as exc:
        raise AccessError(f"cannot log in to export: {str(exc).strip()}") from exc
    except psycopg.errors.UndefinedTable as exc:
        raise AccessError(
            f"reporting.{request.view} does not exist: run `pantao prepare` and a dbt build "
            "(`pantao run` or `pantao dbt build`) first") from exc
    log.info("exported %d rows of reporting.%s (%s..%s)", result.rows, request.view, request.date_from, request.date_to)
    return result


def export_to_file(database_url: str, request: ExportRequest, path: Path) -> ExportResult:
    """Export into `path` atomically: a partial file never appears under the final name.

    The file is its owner's only (0600, new folders 0700): it holds what its login may see.
    """
    private_dir(path.parent)
    partial = path.with_name(path.name + ".partial")
    try:
        with open_private(partial, "wb") as out:
            result = export_view(database_url, request, out)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return result


def export_daily_extracts(settings: Settings, database_url: str, business_date: date | str,
                          out_dir: Path, views: Iterable[str] | None = None) -> list[Path]:
    """One CSV per dated reporting view with that business day's rows: `<out_dir>/<date>/<view>.csv`.

    For people who want files rather than a SQL client. Runs as the pipeline's login, so files
    hold every row, pseudonymised as the reporting views are. Re-running replaces the day's files.
    """
    day = parse_date(business_date, "business_date")
    paths = []
    for view in daily_extract_views() if views is None else views:
        request = validate_request(view, day, day)
        path = Path(out_dir) / day.isoformat() / f"{view}.csv"
        result = export_to_file(database_url, request, path)
        log.info("daily extract %s: %d rows", path, result.rows)
        paths.append(path)
    return paths
