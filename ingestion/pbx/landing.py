"""`land_pbx`: land FreePBX CDRs, queue_log events and the operator directory from one source mode.

Which mode reads what:
- files: Master.csv, queue_log and extensions.json under the configured paths;
- db:    `cdr` and `queue_log` from asteriskcdrdb, names from `asterisk.users` (else the file);
- api:   CDRs and extensions from the FreePBX API; queue_log from the file (the API has none).
Each batch lands with its watermark in one PostgreSQL transaction, so a crash neither skips
nor double-counts; re-reading is harmless anyway because the natural keys reject duplicates.
Lines of rotated files that can no longer be read (files.FileGap) are quarantined as a record
naming the file and what to do, everything reachable lands, and the run then fails
(PbxFileGapError) so the loss is seen.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ingestion.pbx import api as api_source
from ingestion.pbx import db as db_source
from ingestion.pbx.batches import Batch
from ingestion.pbx.cdr_csv import parse_master_csv
from ingestion.pbx.files import FileGap, Ledger, read_new_lines, scan
from ingestion.pbx.parsers import Reject, iter_pieces, parse_queue_log
from ingestion.pbx.schema import ensure_pbx_tables
from ingestion.pbx.store import PbxStore
from ingestion.pbx.window import Window
from pantao.db import connect
from pantao.settings import PBX_SOURCES, Settings, SettingsError

log = logging.getLogger(__name__)


@dataclass
class StreamCounts:
    landed: int = 0
    duplicates: int = 0  # rows read again (overlap, re-run) that were already landed
    rejected: int = 0


@dataclass
class PbxLandingResult:
    """What one run did, per stream ('cdr', 'queue_log', 'extensions')."""

    source: str
    streams: dict[str, StreamCounts] = field(default_factory=dict)

    def counts(self, stream: str) -> StreamCounts:
        return self.streams.setdefault(stream, StreamCounts())

    @property
    def landed(self) -> int:
        return sum(c.landed for c in self.streams.values())

    @property
    def rejected(self) -> int:
        return sum(c.rejected for c in self.streams.values())

    def summary(self) -> str:
        parts = [f"{name}: {c.landed} landed, {c.duplicates} already there, {c.rejected} rejected"
                 for name, c in sorted(self.streams.items())]
        return f"PBX ({self.source}) " + "; ".join(parts)

    def __str__(self) -> str:
        return self.summary()


class PbxFileGapError(RuntimeError):
    """Lines of a rotated PBX log could not be read; everything else landed. `result` is the run's."""

    def __init__(self, gaps: list[FileGap], result: PbxLandingResult) -> None:
        self.gaps = gaps
        self.result = result
        super().__init__(f"{len(gaps)} PBX log span(s) could not be read ({result.summary()}):\n- "
                         + "\n- ".join(gap.describe() for gap in gaps))


def _land_batches(conn, store: PbxStore, stream: str, batches: Iterator[Batch],
                  write: Callable[[Iterable], tuple[int, int]], counts: StreamCounts) -> None:
    for batch in batches:
        with conn.transaction():
            read, new = write(batch.rows)  # consumes batch.rows, which may fill batch.rejects
            counts.landed += new
            counts.duplicates += read - new
            counts.rejected += store.write_rejects(stream, batch.rejects)
            if batch.watermark is not None:
                store.set_watermark(stream, batch.watermark)


def _file_batches(path: Path, stored: dict | None, parse: Callable, window: Window, range_kw: str,
                  bounds, gaps: list[FileGap], **parse_kw) -> Iterator[Batch]:
    """Batches of the log at `path` and its rotations; a window re-reads every file and moves no position.

    The gaps found are added to `gaps` and quarantined with the first batch, in its transaction.
    """
    found = scan(path, None if not window.is_open else Ledger.from_json(stored))
    gaps.extend(found.gaps)
    pending = [Reject(gap.source_ref, gap.describe(), b"") for gap in found.gaps]
    for block in read_new_lines(path, None, whole=not window.is_open, found=found):
        rejects: list = pending
        pending = []

        def rows(block=block, rejects=rejects) -> Iterator:
            # Parsed piece by piece while COPY consumes them (see parsers.PARSE_BYTES).
            for first_line, piece in iter_pieces(block.data, block.first_line):
                parsed = parse(piece, name=block.name, first_line=first_line, **{range_kw: bounds}, **parse_kw)
                rejects.extend(parsed.rejects)
                yield from parsed.rows

        yield Batch(rows(), rejects, block.ledger.to_json() if block.ledger else None)


def _read_extensions_file(path: Path) -> list[tuple[str, str | None]] | None:
    if not path.is_file():
        log.info("no operator directory at %s; operator names stay as they are", path)
        return None
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        return [(str(e["extension"]), e.get("name") or None) for e in entries]
    except (ValueError, KeyError, TypeError) as exc:
        raise SettingsError(f"{path} is not an extensions directory "
                            f'([{{"extension": "101", "name": "…"}}, …]): {exc}') from exc


def _land_extensions(conn, store: PbxStore, directory: Iterable[tuple[str, str | None]] | None,
                     result: PbxLandingResult) -> None:
    if directory is None:
        return
    with conn.transaction():
        result.counts("extensions").landed += store.write_extensions(directory)


def _land_queue_log_file(conn, settings: Settings, window: Window, result: PbxLandingResult,
                         gaps: list[FileGap]) -> None:
    store = PbxStore(conn, "file")
    batches = _file_batches(settings.queue_log_path, store.get_watermark("queue_log"), parse_queue_log, window,
                            "epoch_range", window.epoch_range(), gaps)
    _land_batches(conn, store, "queue_log", batches, store.write_queue_log, result.counts("queue_log"))


def _land_files(conn, settings: Settings, window: Window, result: PbxLandingResult, gaps: list[FileGap]) -> None:
    store = PbxStore(conn, "file", settings.cdr_zone)
    batches = _file_batches(settings.cdr_csv_path, store.get_watermark("cdr"), parse_master_csv, window,
                            "calldate_range", window.calldate_range(ZoneInfo(settings.cdr_zone)), gaps,
                            layout=settings.pbx_cdr_csv_layout)
    _land_batches(conn, store, "cdr", batches, store.write_master_csv, result.counts("cdr"))
    _land_queue_log_file(conn, settings, window, result, gaps)
    _land_extensions(conn, store, _read_extensions_file(settings.extensions_path), result)


def _land_db(conn, settings: Settings, window: Window, result: PbxLandingResult, gaps: list[FileGap]) -> None:
    if not settings.pbx_db_url:
        raise SettingsError("PBX_SOURCE=db needs PBX_DB_URL (mysql://user:password@host:3306/asteriskcdrdb)")
    store = PbxStore(conn, "db", settings.cdr_zone)
    pbx = db_source.connect(settings.pbx_db_url, settings.http_timeout_seconds)
    try:
        _land_batches(conn, store, "cdr",
                      db_source.cdr_batches(pbx, window, store.get_watermark("cdr"), ZoneInfo(settings.cdr_zone)),
                      store.write_cdr, result.counts("cdr"))
        _land_batches(conn, store, "queue_log",
                      db_source.queue_log_batches(pbx, window, store.get_watermark("queue_log"),
                                                  settings.queue_log_db_zone),
                      store.write_queue_log, result.counts("queue_log"))
        directory = db_source.read_extensions(pbx)
    finally:
        pbx.close()
    if directory is None:
        directory = _read_extensions_file(settings.extensions_path)
    _land_extensions(conn, store, directory, result)


def _land_api(conn, settings: Settings, window: Window, result: PbxLandingResult, gaps: list[FileGap]) -> None:
    missing = [var for var, value in (("FREEPBX_API_URL", settings.freepbx_api_url),
                                      ("FREEPBX_CLIENT_ID", settings.freepbx_client_id),
                                      ("FREEPBX_CLIENT_SECRET", settings.freepbx_client_secret)) if not value]
    if missing:
        raise SettingsError(f"PBX_SOURCE=api needs {', '.join(missing)}")
    client = api_source.FreePbxApi(settings.freepbx_api_url, settings.freepbx_client_id,
                                   settings.freepbx_client_secret, timeout=settings.http_timeout_seconds)
    store = PbxStore(conn, "api", settings.cdr_zone)
    zone = ZoneInfo(settings.cdr_zone)
    today = datetime.now(zone).date()
    _land_batches(conn, store, "cdr", api_source.cdr_batches(client, window, store.get_watermark("cdr"), today, zone),
                  store.write_cdr, result.counts("cdr"))
    _land_extensions(conn, store, client.extensions(), result)
    _land_queue_log_file(conn, settings, window, result, gaps)


_MODES = {"files": _land_files, "db": _land_db, "api": _land_api}


def land_pbx(settings: Settings, database_url: str, *, source: str | None = None,
             since: datetime | date | str | None = None,
             until: datetime | date | str | None = None) -> PbxLandingResult:
    """Land FreePBX call data from `source` (default settings.pbx_source) into raw.pbx_*.

    Without since/until each stream continues from its stored watermark (byte position for
    files, last time seen minus a 2-hour overlap for db/api). With a window, that window is
    re-read (dates, naive datetimes and ISO strings are BUSINESS_TIMEZONE local time); re-landing adds no
    duplicates. Malformed records go to raw.rejected_records and never stop the run. Lines of rotated
    files that can no longer be read raise PbxFileGapError after everything reachable has landed.
    """
    mode = source or settings.pbx_source
    if mode not in PBX_SOURCES:
        raise SettingsError(f"PBX source {mode!r} is not one of {', '.join(PBX_SOURCES)}")
    window = Window.build(since, until, settings.tz)
    result = PbxLandingResult(source=mode)
    gaps: list[FileGap] = []
    # Autocommit: each batch opens its own transaction, so the commits happen batch by batch.
    with connect(database_url, autocommit=True) as conn:
        with conn.transaction():
            ensure_pbx_tables(conn)
        _MODES[mode](conn, settings, window, result, gaps)
    log.info("%s", result.summary())
    if gaps:
        raise PbxFileGapError(gaps, result)
    return result
