"""Writing PBX rows into PostgreSQL: COPY into a temp table, then `insert … on conflict do nothing`.

COPY is the fast path into PostgreSQL, but it cannot skip rows that already exist; going
through a temp table gives COPY speed and idempotence (natural keys decide what is new), and
the count of skipped rows tells a re-run from a first run. Callers wrap each batch and its
watermark in one transaction, so a crash never records a position past rows that did not land.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import psycopg

from ingestion.pbx.formats import (
    AMAFLAGS,
    CDR_COLUMNS,
    EVENT_HASH_SQL,
    MASTER_CSV_COLUMNS,
    QUEUE_LOG_COLUMNS,
    cdr_key_sql,
)
from ingestion.pbx.parsers import Reject

_CDR_COLS = ", ".join(CDR_COLUMNS)
# Master.csv rows arrive as text in file order; the casts and the amaflags word → number
# mapping happen here, in C, instead of per field in Python. Columns the file lacks stay NULL.
_CSV_COLS = ", ".join(f'"{c}"' for c in MASTER_CSV_COLUMNS)
_AMA_CASE = ("case upper(amaflags) " + " ".join(f"when '{k}' then {v}" for k, v in AMAFLAGS.items())
             + " else amaflags::int end")
_CSV_TARGET = ("calldate, clid, src, dst, dcontext, channel, dstchannel, lastapp, lastdata, duration, billsec,"
               " disposition, amaflags, accountcode, uniqueid, userfield, linkedid, peeraccount, sequence, cdr_key")
_CSV_SELECT = ("start::timestamp, clid, src, dst, dcontext, channel, dstchannel, lastapp, lastdata, duration::int,"
               f" billsec::int, disposition, {_AMA_CASE}, accountcode, uniqueid, userfield, linkedid, peeraccount,"
               f" sequence::int, {cdr_key_sql(MASTER_CSV_COLUMNS)}")
_QL_COLS = ", ".join(QUEUE_LOG_COLUMNS)
# From the COPY temp table (the canonical line's fields) to raw.pbx_queue_log.
_QL_TARGET = "event_hash, event_at, callid, queuename, agent, event, data1, data2, data3, data4, data5"
_QL_SELECT = (f"{EVENT_HASH_SQL}, to_timestamp(epoch), callid, queuename, agent, event,"
              " nullif(data1, ''), nullif(data2, ''), nullif(data3, ''), nullif(data4, ''), nullif(data5, '')")


class PbxStore:
    """The raw PBX tables seen through one connection (not autocommit; callers own transactions)."""

    def __init__(self, conn: psycopg.Connection, mode: str, cdr_zone: str | None = None) -> None:
        self.conn = conn
        self.mode = mode  # 'file' | 'db' | 'api': the `source` column and the rejects' suffix
        self.cdr_zone = cdr_zone  # the zone CDR times are written in: raw.pbx_cdr.calldate_zone
        self._temp_ready = False

    def _ensure_temp(self) -> None:
        if self._temp_ready:
            return
        cols = ", ".join(
            f"{c} {'int' if c in ('duration', 'billsec', 'amaflags', 'sequence') else 'timestamp' if c == 'calldate' else 'text'}"
            for c in CDR_COLUMNS
        )
        self.conn.execute(f"create temp table if not exists pbx_cdr_in ({cols})")
        self.conn.execute("create temp table if not exists pbx_master_csv_in ("
                          + ", ".join(f'"{c}" text' for c in MASTER_CSV_COLUMNS) + ")")
        self.conn.execute(
            "create temp table if not exists pbx_queue_log_in (epoch bigint, callid text,"
            " queuename text, agent text, event text, data1 text, data2 text, data3 text, data4 text,"
            " data5 text)"
        )
        self._temp_ready = True

    def _copy(self, table: str, cols: str, rows: Iterable) -> int:
        """COPY rows (any iterable, consumed as it is produced) into a temp table; returns the count."""
        self.conn.execute(f"truncate {table}")
        count = 0
        with self.conn.cursor() as cur, cur.copy(f"copy {table} ({cols}) from stdin") as copy:
            write = copy.write_row
            for row in rows:
                write(row)
                count += 1
        return count

    def _land(self, temp: str, columns: str, rows: Iterable, insert_sql: str,
              params: tuple = ()) -> tuple[int, int]:
        """COPY rows into a temp table, then move the new ones into the raw table (natural keys skip the
        rest); returns (rows read, rows new)."""
        self._ensure_temp()
        read = self._copy(temp, columns, rows)
        if not read:
            return 0, 0
        cur = self.conn.execute(insert_sql, (*params, self.mode))
        return read, cur.rowcount

    def write_cdr(self, rows: Iterable[tuple]) -> tuple[int, int]:
        """Land CDR tuples (formats.CDR_COLUMNS order); returns (rows read, rows new)."""
        return self._land("pbx_cdr_in", _CDR_COLS, rows,
                          f"insert into raw.pbx_cdr ({_CDR_COLS}, cdr_key, calldate_zone, source)"
                          f" select {_CDR_COLS}, {cdr_key_sql(CDR_COLUMNS)}, %s, %s from pbx_cdr_in"
                          " on conflict (cdr_key) do nothing", (self.cdr_zone,))

    def write_master_csv(self, rows: Iterable[list]) -> tuple[int, int]:
        """Land checked Master.csv rows (21 positions, file order, None where the layout has no such
        column); returns (rows read, rows new)."""
        return self._land("pbx_master_csv_in", _CSV_COLS, rows,
                          f"insert into raw.pbx_cdr ({_CSV_TARGET}, calldate_zone, source) select {_CSV_SELECT}, %s, %s"
                          " from pbx_master_csv_in on conflict (cdr_key) do nothing", (self.cdr_zone,))

    def write_queue_log(self, rows: Iterable[list]) -> tuple[int, int]:
        """Land queue_log rows (formats.QUEUE_LOG_COLUMNS order); returns (rows read, rows new)."""
        return self._land("pbx_queue_log_in", _QL_COLS, rows,
                          f"insert into raw.pbx_queue_log ({_QL_TARGET}, source) select {_QL_SELECT}, %s"
                          " from pbx_queue_log_in on conflict (event_hash) do nothing")

    def write_rejects(self, stream: str, rejects: Iterable[Reject]) -> int:
        """Quarantine unparseable records as `pbx_<stream>:<mode>` with their reason and bytes."""
        source = f"pbx_{stream}:{self.mode}"
        rows = [(source, r.source_ref, r.reason, r.raw_bytes) for r in rejects]
        if rows:
            with self.conn.cursor() as cur:
                cur.executemany(
                    "insert into raw.rejected_records (source, source_ref, reason, raw_bytes)"
                    " values (%s, %s, %s, %s)",
                    rows,
                )
        return len(rows)

    def write_extensions(self, directory: Iterable[tuple[str, str | None]]) -> int:
        """Upsert the operator directory (a full read of it); returns how many extensions were new,
        renamed, listed again or no longer listed.

        An extension the directory no longer lists keeps its row and name with `removed_at` set, so
        the calls and days of a person who left keep their name. An empty read changes nothing: a
        directory with nobody in it is a failed read, not a chain without operators.
        """
        rows = list(directory)
        if not rows:
            return 0
        changed = 0
        with self.conn.cursor() as cur:
            for extension, name in rows:
                cur.execute(
                    "insert into raw.pbx_extensions (extension, name, source) values (%s, %s, %s)"
                    " on conflict (extension) do update set name = excluded.name,"
                    " source = excluded.source, landed_at = now(), removed_at = null"
                    " where raw.pbx_extensions.name is distinct from excluded.name"
                    " or raw.pbx_extensions.removed_at is not null",
                    (extension, name, self.mode),
                )
                changed += cur.rowcount
            cur.execute("update raw.pbx_extensions set removed_at = now()"
                        " where removed_at is null and extension <> all(%s)", ([e for e, _ in rows],))
            changed += cur.rowcount
        return changed

    def get_watermark(self, stream: str) -> dict | None:
        row = self.conn.execute(
            "select position from raw.pbx_watermarks where source = %s and stream = %s",
            (self.mode, stream),
        ).fetchone()
        return json.loads(row[0]) if row else None

    def set_watermark(self, stream: str, position: dict) -> None:
        self.conn.execute(
            "insert into raw.pbx_watermarks (source, stream, position, updated_at)"
            " values (%s, %s, %s, now())"
            " on conflict (source, stream) do update set position = excluded.position,"
            " updated_at = excluded.updated_at",
            (self.mode, stream, json.dumps(position, sort_keys=True)),
        )
