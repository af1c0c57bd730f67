"""`pantao ingest pbx --follow`: land queue_log events as the PBX writes them and keep the live board.

At start the follower lands everything new from its source, as `pantao ingest pbx` does (CDRs,
queue_log, the directory), then rebuilds the board (ingestion/pbx/live.py) from the last 24 hours
of raw.pbx_queue_log, so a restart forgets no one who is logged in or waiting. Then, until stopped,
once per poll interval:
- files, and api (whose queue_log is the file): when the log, a file of it still being written or
  its folder changed (a stat of each, not a scan of every rotation), the new lines of the live
  file and its rotations are read with the ledger batch mode keeps (files.py), each block landed
  with its ledger in one transaction, then applied to the board;
- db: the rows of the PBX's queue_log table with an id above the last one read are landed with
  batch mode's time watermark, then applied.
Rows land with `insert … on conflict do nothing` like every landing, so a batch run beside the
follower (Dagster's every 15 minutes) lands nothing twice. Errors while following (PostgreSQL or
the PBX database gone, a file unreadable) are logged and retried with a growing pause; the board
keeps serving, and `pantao_live_last_poll_timestamp_seconds` shows it is no longer current.
Bad lines are quarantined as in batch mode; lines lost with a deleted rotation are quarantined
and logged, and following goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pymysql

from ingestion.pbx import db as db_source
from ingestion.pbx.files import Ledger, read_new_lines, scan
from ingestion.pbx.landing import PbxFileGapError, PbxLandingResult, StreamCounts, land_pbx
from ingestion.pbx.live import DEFAULT_SAME_SECOND_ORDER, SAME_SECOND_ORDER, Directory, LiveBoard
from ingestion.pbx.parsers import Reject, parse_queue_log
from ingestion.pbx.store import PbxStore
from pantao.db import connect
from pantao.settings import PBX_SOURCES, Settings, SettingsError

log = logging.getLogger(__name__)

REBUILD_SECONDS = 24 * 3600  # a shift that started yesterday evening is still on the board
DIRECTORY_REFRESH_SECONDS = 60.0
FULL_SCAN_SECONDS = 30.0  # list and match every rotation at least this often, changed or not
MAX_BACKOFF_SECONDS = 60.0
RECOVERABLE = (psycopg.Error, pymysql.err.MySQLError, db_source.PbxDatabaseError, OSError)

_ORDER_SQL = ("case event " + " ".join(f"when '{event}' then {rank}" for event, rank in SAME_SECOND_ORDER.items())
              + f" else {DEFAULT_SAME_SECOND_ORDER} end")
# ctid last: rows of one COPY are stored in file order, the best guess left for two events of one
# member in one second (a pause toggled within the second).
REBUILD_SQL = ("select extract(epoch from event_at)::bigint, callid, queuename, agent, event, coalesce(data1, ''),"
               " coalesce(data2, ''), coalesce(data3, ''), coalesce(data4, ''), coalesce(data5, ''), event_hash"
               f" from raw.pbx_queue_log where event_at >= to_timestamp(%s) order by event_at, {_ORDER_SQL}, ctid")


@dataclass
class FollowResult:
    """What one follow run did: the catch-up at start, then the queue_log lines landed while following."""

    source: str
    catch_up: PbxLandingResult | None = None
    queue_log: StreamCounts = field(default_factory=StreamCounts)
    polls: int = 0
    errors: int = 0

    def summary(self) -> str:
        q = self.queue_log
        start = self.catch_up.summary() if self.catch_up else f"PBX ({self.source}) nothing landed at start"
        return (f"{start}\nfollowing: queue_log {q.landed} landed, {q.duplicates} already there, {q.rejected} rejected"
                f" in {self.polls} polls ({self.errors} failed and retried)")


def load_directory(conn: psycopg.Connection) -> Directory:
    """The directory as raw.pbx_extensions holds it, people no longer listed included (as the marts)."""
    return Directory.from_entries(conn.execute("select extension, name from raw.pbx_extensions").fetchall())


def rebuild_board(conn: psycopg.Connection, board: LiveBoard, since_epoch: float) -> int:
    """Apply the landed events since `since_epoch` to `board`, oldest first; returns how many."""
    rows = conn.execute(REBUILD_SQL, (since_epoch,)).fetchall()
    return board.apply([row[:10] for row in rows], [row[10] for row in rows])


class _FileWatch:
    """Whether the log may have new lines, from a stat of its folder (a rename or a new file changes
    it), the live file and every file the ledger may still read — cheap enough for every poll."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple | None = None
        self._scanned_at = float("-inf")

    def signature(self, ledger: Ledger | None) -> tuple:
        files = [self.path.parent, self.path]
        if ledger is not None:
            files += [self.path.parent / state.name for state in ledger.files if not state.closed]
        found = []
        for path in files:
            try:
                st = path.stat()
                found.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except OSError:
                found.append(None)
        return tuple(found)

    def due(self, signature: tuple, now: float) -> bool:
        return signature != self._seen or now - self._scanned_at >= FULL_SCAN_SECONDS

    def read(self, signature: tuple, now: float) -> None:
        self._seen, self._scanned_at = signature, now


class PbxFollower:
    """Follows one PBX source into raw.pbx_queue_log and `board` until `stop` is set."""

    def __init__(self, settings: Settings, database_url: str, board: LiveBoard, *, source: str | None = None,
                 poll_seconds: float = 0.5, stop: threading.Event | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.database_url = database_url
        self.board = board
        self.mode = source or settings.pbx_source
        if self.mode not in PBX_SOURCES:
            raise SettingsError(f"PBX source {self.mode!r} is not one of {', '.join(PBX_SOURCES)}")
        self.poll_seconds = poll_seconds
        self.stop = stop or threading.Event()
        self.clock = clock
        self.result = FollowResult(self.mode)
        self._conn: psycopg.Connection | None = None
        self._pbx = None  # the PBX database connection (db mode)
        self._ledger: Ledger | None = None  # files: where reading stopped
        self._watch = _FileWatch(settings.queue_log_path)
        self._table: tuple[str, tuple[str, ...]] | None = None  # db: the queue_log table and its columns
        self._last_id = 0
        self._watermark: dict | None = None  # db: the time watermark batch mode keeps
        self._directory_at = float("-inf")

    def run(self) -> FollowResult:
        self._start()
        backoff = self.poll_seconds
        while not self.stop.is_set():
            try:
                self._refresh_directory()
                self._poll()
                self.result.polls += 1
                self.board.mark_polled(self.clock())
                backoff = self.poll_seconds
            except RECOVERABLE as exc:
                self.result.errors += 1
                backoff = min(max(backoff * 2, 1.0), MAX_BACKOFF_SECONDS)
                log.warning("following the PBX %s failed (%s); retrying in %.0f s — the live board is not current"
                            " meanwhile", self.mode, exc, backoff)
                self._close()
            self.board.tick(self.clock())
            self.stop.wait(backoff)
        self._close()
        return self.result

    # --- start -------------------------------------------------------------------------------

    def _start(self) -> None:
        if self.mode == "db":
            if not self.settings.pbx_db_url:
                raise SettingsError("PBX_SOURCE=db needs PBX_DB_URL (mysql://user:password@host:3306/asteriskcdrdb)")
            # Taken before the catch-up: rows inserted meanwhile are read again by id, and skipped.
            pbx = self._pbx_connection()
            self._last_id = db_source.last_queue_log_id(pbx, self._table[0])
        try:
            self.result.catch_up = land_pbx(self.settings, self.database_url, source=self.mode)
        except PbxFileGapError as exc:  # quarantined with what to do; following goes on
            self.result.catch_up = exc.result
            log.error("%s", exc)
        conn = self._connection()
        store = PbxStore(conn, "db" if self.mode == "db" else "file")
        if self.mode == "db":
            self._watermark = store.get_watermark("queue_log")
        else:
            self._ledger = Ledger.from_json(store.get_watermark("queue_log"))
        self._refresh_directory()
        since = self.clock() - REBUILD_SECONDS
        applied = rebuild_board(conn, self.board, since)
        self.board.tick(self.clock())
        self.board.mark_polled(self.clock())
        log.info("live board rebuilt from %d queue_log events of the last %d hours; following the PBX %s",
                 applied, REBUILD_SECONDS // 3600, self.mode)

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.database_url, autocommit=True, application_name="pantao-pbx-follow")
        return self._conn

    def _pbx_connection(self):
        if self._pbx is None or not self._pbx.open:
            self._pbx = db_source.connect(self.settings.pbx_db_url, self.settings.http_timeout_seconds)
            self._table = db_source.queue_log_table(self._pbx)
        return self._pbx

    def _close(self) -> None:
        for name in ("_conn", "_pbx"):
            handle = getattr(self, name)
            if handle is not None:
                try:
                    handle.close()
                except Exception as exc:  # closing a broken connection must not stop the loop
                    log.debug("closing %s: %s", name, exc)
                setattr(self, name, None)

    def _refresh_directory(self) -> None:
        now = self.clock()
        if now - self._directory_at >= DIRECTORY_REFRESH_SECONDS:
            self.board.set_directory(load_directory(self._connection()))
            self._directory_at = now

    # --- one poll ----------------------------------------------------------------------------

    def _poll(self) -> None:
        if self.mode == "db":
            self._poll_db()
        else:
            self._poll_file()

    def _land(self, store: PbxStore, rows: list, rejects: list[Reject], watermark: dict | None) -> None:
        """One batch and its position in one transaction, then onto the board (only once committed)."""
        counts = self.result.queue_log
        with store.conn.transaction():
            read, new = store.write_queue_log(rows)
            counts.landed += new
            counts.duplicates += read - new
            counts.rejected += store.write_rejects("queue_log", rejects)
            if watermark is not None:
                store.set_watermark("queue_log", watermark)
        self.board.apply(rows)

    def _poll_file(self) -> None:
        path = self.settings.queue_log_path
        signature, now = self._watch.signature(self._ledger), self.clock()
        if not self._watch.due(signature, now):
            return
        found = scan(path, self._ledger)
        pending = [Reject(gap.source_ref, gap.describe(), b"") for gap in found.gaps]
        for gap in found.gaps:
            log.error("while following: %s", gap.describe())
        store = PbxStore(self._connection(), "file")
        for block in read_new_lines(path, None, found=found):
            parsed = parse_queue_log(block.data, name=block.name, first_line=block.first_line)
            self._land(store, parsed.rows, pending + parsed.rejects, block.ledger.to_json() if block.ledger else None)
            pending = []
            self._ledger = block.ledger
        self._watch.read(signature, now)

    def _poll_db(self) -> None:
        pbx = self._pbx_connection()
        table, columns = self._table
        store = PbxStore(self._connection(), "db")
        while not self.stop.is_set():
            batch, last_id = db_source.queue_log_after_id(pbx, table, columns, self._last_id, self._watermark,
                                                          self.settings.queue_log_db_zone)
            if last_id == self._last_id:
                return
            self._land(store, batch.rows, batch.rejects, batch.watermark)
            self._last_id, self._watermark = last_id, batch.watermark or self._watermark
