"""PBX database mode: read-only SQL on FreePBX's MariaDB `asteriskcdrdb` (`cdr`, `queue_log`).

Incremental by a time watermark (the greatest `calldate` / `time` landed, in the PBX's clock),
re-reading an overlap window before it because rows arrive late; the natural keys make re-reads
harmless. The overlap (2 h) also covers the hour a local clock repeats when DST ends. Rows are
streamed with a server-side cursor so memory stays flat for a year of history.

Queue events come from whichever realtime queue_log table the PBX has: FreePBX's `queue_log`,
or `queuelog`; with data1..data5 columns (Asterisk's adaptive realtime, which leaves the rest of
a longer event in data5, as the file landing does) or one `data` column holding `a|b|c`.
Following the table (`pantao ingest pbx --follow`, ingestion/pbx/follow.py) reads it by its
auto-increment id instead, which costs one indexed query per poll rather than two hours of rows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import unquote, urlparse
from zoneinfo import ZoneInfo

import pymysql
import pymysql.cursors

from ingestion.pbx.batches import Batch
from ingestion.pbx.formats import CDR_COLUMNS, queue_log_row
from ingestion.pbx.parsers import Reject
from ingestion.pbx.window import OVERLAP, Window, local_to_epoch

QUEUE_LOG_TABLES = ("queue_log", "queuelog")

log = logging.getLogger(__name__)

BATCH_ROWS = 20_000
_QL_COLUMNS = ("id", "time", "callid", "queuename", "agent", "event", "data1", "data2", "data3", "data4", "data5")
_QL_DATA_COLUMNS = ("id", "time", "callid", "queuename", "agent", "event", "data")


class PbxDatabaseError(RuntimeError):
    """The PBX database could not be reached or read; the message names the server and what to check."""


def _params(url: str) -> dict:
    parsed = urlparse(url)
    return {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 3306,
        "user": unquote(parsed.username or "root"),
        "password": unquote(parsed.password or ""),
        "database": (parsed.path or "/").lstrip("/") or "asteriskcdrdb",
    }


def _redacted(url: str) -> str:
    p = _params(url)
    return f"mysql://{p['user']}@{p['host']}:{p['port']}/{p['database']}"


def connect(url: str, timeout: float) -> pymysql.connections.Connection:
    """A read-only session on the PBX database (we must never write to the phone system)."""
    try:
        conn = pymysql.connect(**_params(url), charset="utf8mb4", connect_timeout=timeout,
                               read_timeout=max(60.0, timeout * 6), autocommit=True)
    except pymysql.err.OperationalError as exc:
        raise PbxDatabaseError(
            f"cannot connect to the PBX database {_redacted(url)}: {exc.args[-1]}; "
            "check PBX_DB_URL and that the user may read asteriskcdrdb"
        ) from exc
    with conn.cursor() as cur:
        cur.execute("set session transaction read only")
    return conn


def _stream(conn, sql: str, args: tuple) -> Iterator[list[tuple]]:
    with conn.cursor(pymysql.cursors.SSCursor) as cur:
        cur.execute(sql, args)
        while True:
            rows = cur.fetchmany(BATCH_ROWS)
            if not rows:
                return
            yield rows


def _where(column: str, start: datetime | None, end: datetime | None) -> tuple[str, tuple]:
    clauses, args = [], []
    if start is not None:
        clauses.append(f"`{column}` >= %s")
        args.append(start)
    if end is not None:
        clauses.append(f"`{column}` < %s")
        args.append(end)
    return (" where " + " and ".join(clauses)) if clauses else "", tuple(args)


def _range(window: Window, stored: dict | None, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """[start, end) to read, in the PBX clock `zone`: the window, or the watermark minus the overlap."""
    start, end = window.bounds_in(zone)
    if window.start is None and stored is not None:
        start = datetime.fromisoformat(stored["max_time"]) - OVERLAP
    return start, end


def _reject(stream: str, key: str, reason: str, row: tuple, columns: tuple[str, ...]) -> Reject:
    payload = json.dumps(dict(zip(columns, row, strict=False)), default=str, ensure_ascii=False)
    return Reject(f"{stream}:{key}", reason, payload.encode("utf-8"))


def cdr_batches(conn, window: Window, stored: dict | None, zone: ZoneInfo) -> Iterator[Batch]:
    """CDR rows from `cdr` since the watermark (minus the overlap) or inside the window; `zone` is
    the clock of `calldate`."""
    start, end = _range(window, stored, zone)
    where, args = _where("calldate", start, end)
    cols = ", ".join(f"`{c}`" for c in CDR_COLUMNS)
    max_seen = datetime.fromisoformat(stored["max_time"]) if stored else None
    log.info("PBX db: reading cdr from %s", start or "the beginning")
    for chunk in _stream(conn, f"select {cols} from cdr{where} order by calldate", args):
        rows, rejects = [], []
        for raw in chunk:
            calldate = raw[0]
            if not isinstance(calldate, datetime) or not raw[14]:
                key = f"{raw[14] or '?'}/{raw[25]}"
                reason = "calldate is not a valid datetime" if not isinstance(calldate, datetime) else "empty uniqueid"
                rejects.append(_reject("cdr", key, reason, raw, CDR_COLUMNS))
                continue
            rows.append((calldate.replace(microsecond=0), *raw[1:]))
            if max_seen is None or calldate > max_seen:
                max_seen = calldate
        yield Batch(rows, rejects, _watermark(max_seen))


def _as_datetime(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str | bytes):  # some installs declare `time` as char(26)
        try:
            return datetime.fromisoformat(value.decode() if isinstance(value, bytes) else value)
        except ValueError:
            return None
    return None


def queue_log_table(conn) -> tuple[str, tuple[str, ...]]:
    """The realtime queue_log table of this database and the columns to read from it."""
    with conn.cursor() as cur:
        cur.execute("select table_name, column_name from information_schema.columns"
                    " where table_schema = database() and table_name in %s", (QUEUE_LOG_TABLES,))
        columns: dict[str, set[str]] = {}
        for table, column in cur.fetchall():
            columns.setdefault(table, set()).add(column.lower())
    for table in QUEUE_LOG_TABLES:
        found = columns.get(table)
        if found is None:
            continue
        if {"data1", "data5"} <= found:
            return table, _QL_COLUMNS
        if "data" in found:
            return table, _QL_DATA_COLUMNS
        raise PbxDatabaseError(f"table {table} in the PBX database has neither data1..data5 nor data columns "
                               f"({', '.join(sorted(found))}); it is not an Asterisk realtime queue_log")
    raise PbxDatabaseError("the PBX database has no queue_log (or queuelog) table: enable FreePBX's queue logging "
                           "to the database, or land queue events from the file (PBX_QUEUE_LOG)")


def _queue_log_rows(chunk: list[tuple], columns: tuple[str, ...], zone: ZoneInfo,
                    max_seen: datetime | None) -> tuple[list, list[Reject], datetime | None]:
    """queue_log table rows -> COPY rows (`time` in `zone` -> UTC epoch), rejects, and the newest time."""
    one_data_column = columns == _QL_DATA_COLUMNS
    rows, rejects = [], []
    for raw in chunk:
        at = _as_datetime(raw[1])
        if at is None:
            rejects.append(_reject("queue_log", str(raw[0]), f"time {raw[1]!r} is not a datetime", raw, columns))
            continue
        if not raw[5]:
            rejects.append(_reject("queue_log", str(raw[0]), "empty event name", raw, columns))
            continue
        data = (raw[6] or "").split("|") if one_data_column else [d or "" for d in raw[6:11]]
        rows.append(queue_log_row(local_to_epoch(at, zone), raw[2] or "", raw[3] or "", raw[4] or "",
                                  raw[5], data))
        if max_seen is None or at > max_seen:
            max_seen = at
    return rows, rejects, max_seen


def _watermark(max_seen: datetime | None) -> dict | None:
    return {"max_time": max_seen.isoformat()} if max_seen else None


def queue_log_batches(conn, window: Window, stored: dict | None, zone: ZoneInfo) -> Iterator[Batch]:
    """queue_log events since the watermark (minus the overlap), `time` (a wall-clock time in
    `zone`) converted to UTC epoch seconds as the file has them."""
    table, columns = queue_log_table(conn)
    start, end = _range(window, stored, zone)
    where, args = _where("time", start, end)
    cols = ", ".join(f"`{c}`" for c in columns)
    max_seen = datetime.fromisoformat(stored["max_time"]) if stored else None
    log.info("PBX db: reading %s from %s", table, start or "the beginning")
    for chunk in _stream(conn, f"select {cols} from `{table}`{where} order by `time`, id", args):
        rows, rejects, max_seen = _queue_log_rows(chunk, columns, zone, max_seen)
        yield Batch(rows, rejects, _watermark(max_seen))


def last_queue_log_id(conn, table: str) -> int:
    """The greatest id of the queue_log table (0 when empty): where following it starts."""
    with conn.cursor() as cur:
        cur.execute(f"select coalesce(max(id), 0) from `{table}`")
        return int(cur.fetchone()[0])


def queue_log_after_id(conn, table: str, columns: tuple[str, ...], after_id: int, stored: dict | None,
                       zone: ZoneInfo) -> tuple[Batch, int]:
    """The next rows (at most BATCH_ROWS) with an id above `after_id`, for following the table as
    the PBX inserts into it, and the last id read. The batch carries the same time watermark as
    `queue_log_batches`, never moved back."""
    cols = ", ".join(f"`{c}`" for c in columns)
    with conn.cursor() as cur:
        cur.execute(f"select {cols} from `{table}` where id > %s order by id limit %s", (after_id, BATCH_ROWS))
        chunk = list(cur.fetchall())
    max_seen = datetime.fromisoformat(stored["max_time"]) if stored else None
    rows, rejects, max_seen = _queue_log_rows(chunk, columns, zone, max_seen)
    return Batch(rows, rejects, _watermark(max_seen)), max((int(raw[0]) for raw in chunk), default=after_id)


def read_extensions(conn) -> list[tuple[str, str | None]] | None:
    """Operator names from FreePBX's `asterisk.users`, or None when that table is not readable."""
    try:
        with conn.cursor() as cur:
            cur.execute("select extension, name from asterisk.users")
            return [(str(ext), name or None) for ext, name in cur.fetchall()]
    except pymysql.err.MySQLError as exc:
        log.info("PBX db: no readable asterisk.users table (%s); operator names come from the "
                 "extensions file if there is one", exc.args[-1] if exc.args else exc)
        return None
