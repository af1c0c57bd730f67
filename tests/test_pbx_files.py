"""Files mode against a real PostgreSQL: incremental by byte position, rotation, partial lines."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from ingestion.pbx import PbxFileGapError, ensure_pbx_tables, land_pbx
from ingestion.pbx.formats import event_hash
from pantao.settings import Settings
from tests import pbx_samples


@pytest.fixture
def pbx_files(tmp_path: Path) -> dict[str, Path]:
    return pbx_samples.write_files(tmp_path / "pbx")


@pytest.fixture
def settings(make_settings, pbx_files) -> Settings:
    return make_settings(pbx_cdr_csv=pbx_files["Master.csv"], pbx_queue_log=pbx_files["queue_log"],
                         pbx_extensions_file=pbx_files["extensions.json"])


def _count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"select count(*) from {table}").fetchone()[0]


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def _event_line(epoch: int, event: str = "ABANDON") -> bytes:
    return f"{epoch}|1793600000.{epoch % 1000}|700|NONE|{event}|1|1|5\n".encode()


def test_ensure_pbx_tables_alone_creates_the_contract_columns(fresh_database_url: str) -> None:
    with psycopg.connect(fresh_database_url) as conn:
        ensure_pbx_tables(conn)
        ensure_pbx_tables(conn)  # idempotent
        cols = conn.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'raw' and table_name = 'rejected_records' order by ordinal_position"
        ).fetchall()
        tables = {r[0] for r in conn.execute("select table_name from information_schema.tables"
                                             " where table_schema = 'raw'")}
    assert cols == [("id", "bigint"), ("source", "text"), ("source_ref", "text"), ("reason", "text"),
                    ("raw_bytes", "bytea"), ("rejected_at", "timestamp with time zone")]
    assert {"pbx_cdr", "pbx_queue_log", "pbx_extensions", "pbx_watermarks"} <= tables


def test_files_land_cdrs_queue_log_and_extensions(settings: Settings, fresh_database_url: str) -> None:
    result = land_pbx(settings, fresh_database_url, source="files")
    assert (result.counts("cdr").landed, result.counts("queue_log").landed,
            result.counts("extensions").landed) == (4, 15, 3)
    with psycopg.connect(fresh_database_url) as conn:
        first = conn.execute(
            "select event_at, callid, data1, data2, data3, data4, source from raw.pbx_queue_log"
            " where event = 'CONNECT' order by event_at limit 1").fetchone()
        hashes = {r[0] for r in conn.execute("select event_hash from raw.pbx_queue_log")}
        cdr = conn.execute("select calldate::text, clid, billsec, amaflags, source from raw.pbx_cdr"
                           " where uniqueid = '1793520000.10'").fetchone()
        name = conn.execute("select name from raw.pbx_extensions where extension = '101'").fetchone()[0]
    assert first[0].timestamp() == pbx_samples._epoch("2026-11-01 12:00:15")
    assert first[1:] == ("1793520000.10", "15", "1793520008.11", "4", None, "file")
    assert cdr == ("2026-11-01 12:00:00", '"Иван Петров" <+79161234567>', 80, 3, "file")
    assert name == "Анна Петрова"
    # The hash PostgreSQL computed is sha256 of the canonical line, as docs/contracts.md says.
    assert hashes == {event_hash(e[0], *e[1:5], e[5:]) for e in pbx_samples.queue_events()}


def test_rerun_lands_nothing_new_and_appended_lines_land_once(settings, fresh_database_url, pbx_files) -> None:
    land_pbx(settings, fresh_database_url, source="files")
    again = land_pbx(settings, fresh_database_url, source="files")
    assert again.counts("queue_log").landed == 0 and again.counts("cdr").landed == 0
    assert again.counts("queue_log").duplicates == 0  # nothing re-read: the byte position held

    _append(pbx_files["queue_log"], _event_line(1793600001) + _event_line(1793600002))
    more = land_pbx(settings, fresh_database_url, source="files")
    assert more.counts("queue_log").landed == 2
    assert _count(fresh_database_url, "raw.pbx_queue_log") == 17


def test_window_relanding_adds_no_duplicates(settings, fresh_database_url) -> None:
    land_pbx(settings, fresh_database_url, source="files")
    window = land_pbx(settings, fresh_database_url, source="files",
                      since=datetime(2026, 11, 1, 12), until="2026-11-01T13:00")  # the CLI passes ISO text
    assert window.counts("cdr").landed == 0 and window.counts("cdr").duplicates == 3
    assert window.counts("queue_log").duplicates == 7
    assert _count(fresh_database_url, "raw.pbx_cdr") == 4


def test_half_written_last_line_waits_until_complete(settings, fresh_database_url, pbx_files) -> None:
    land_pbx(settings, fresh_database_url, source="files")
    line = _event_line(1793600003)
    _append(pbx_files["queue_log"], line[:12])
    partial = land_pbx(settings, fresh_database_url, source="files")
    assert partial.counts("queue_log").landed == 0 and partial.counts("queue_log").rejected == 0
    _append(pbx_files["queue_log"], line[12:])
    done = land_pbx(settings, fresh_database_url, source="files")
    assert done.counts("queue_log").landed == 1 and done.counts("queue_log").rejected == 0


def test_rotation_by_rename_reads_the_rest_of_the_old_file_then_the_new_one(
        settings, fresh_database_url, pbx_files) -> None:
    path = pbx_files["queue_log"]
    land_pbx(settings, fresh_database_url, source="files")
    _append(path, _event_line(1793600010))  # written after our run, before logrotate
    _append(path, _event_line(1793600011)[:9])  # and a line cut by the rotation
    os.rename(path, path.with_name("queue_log.1"))
    path.write_bytes(_event_line(1793600020) + _event_line(1793600021))
    result = land_pbx(settings, fresh_database_url, source="files")
    # 1 complete + the cut line (rejected: it is complete by definition in a rotated file) + 2 new
    assert result.counts("queue_log").landed == 3
    assert result.counts("queue_log").rejected == 1
    assert _count(fresh_database_url, "raw.pbx_queue_log") == 18
    _append(path, _event_line(1793600022))
    assert land_pbx(settings, fresh_database_url, source="files").counts("queue_log").landed == 1


def test_copytruncate_rotation_is_detected_by_size_and_fingerprint(
        settings, fresh_database_url, pbx_files) -> None:
    path = pbx_files["queue_log"]
    land_pbx(settings, fresh_database_url, source="files")
    _append(path, _event_line(1793600030))
    shutil.copy(path, path.with_name("queue_log.1"))
    with open(path, "r+b") as f:
        f.truncate(0)
    _append(path, _event_line(1793600040))
    result = land_pbx(settings, fresh_database_url, source="files")
    assert result.counts("queue_log").landed == 2
    assert result.counts("queue_log").duplicates == 0


def test_replaced_file_without_rotated_copy_lands_the_new_file_and_fails_naming_the_gap(
        settings, fresh_database_url, pbx_files) -> None:
    land_pbx(settings, fresh_database_url, source="files")
    path = pbx_files["queue_log"]
    path.unlink()  # whatever the old file got after our run is gone with it
    path.write_bytes(_event_line(1793600050))
    with pytest.raises(PbxFileGapError) as failed:
        land_pbx(settings, fresh_database_url, source="files")
    assert failed.value.result.counts("queue_log").landed == 1
    message = str(failed.value)
    assert "after line 15 (byte " in message and "of queue_log" in message and "pantao ingest pbx" in message
    with psycopg.connect(fresh_database_url) as conn:
        quarantined = conn.execute("select source, source_ref, reason from raw.rejected_records").fetchall()
    assert [(r[0], r[1].split("@")[0]) for r in quarantined] == [("pbx_queue_log:file", "queue_log")]
    assert "can no longer be read" in quarantined[0][2]
    # Reported once: the next run starts from the new file and lands what was appended.
    _append(path, _event_line(1793600051))
    assert land_pbx(settings, fresh_database_url, source="files").counts("queue_log").landed == 1


def test_bad_lines_go_to_rejected_records_with_original_bytes(settings, fresh_database_url, pbx_files) -> None:
    bad_csv = '"","Сергей"\r\n'.encode("cp1251")
    _append(pbx_files["Master.csv"], bad_csv)
    _append(pbx_files["queue_log"], b"not a queue_log line\n" + _event_line(1793600060))
    result = land_pbx(settings, fresh_database_url, source="files")
    assert (result.counts("cdr").rejected, result.counts("queue_log").rejected) == (1, 1)
    assert result.counts("queue_log").landed == 16
    with psycopg.connect(fresh_database_url) as conn:
        rows = conn.execute("select source, source_ref, reason, raw_bytes from raw.rejected_records"
                            " order by source").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("pbx_cdr:file", "Master.csv:5"), ("pbx_queue_log:file", "queue_log:16")]
    assert bytes(rows[0][3]) == bad_csv.rstrip(b"\n")
    assert bytes(rows[1][3]) == b"not a queue_log line"
    assert "expected 16 to 21 Master.csv columns" in rows[0][2] and "got 2" in rows[0][2]


def test_missing_files_land_nothing_and_do_not_fail(make_settings, fresh_database_url, tmp_path) -> None:
    settings = make_settings(data_dir=tmp_path / "empty")
    result = land_pbx(settings, fresh_database_url, source="files")
    assert result.landed == 0 and result.rejected == 0


def test_renamed_operator_is_updated_and_unchanged_ones_are_not_counted(
        settings, fresh_database_url, pbx_files) -> None:
    land_pbx(settings, fresh_database_url, source="files")
    renamed = [dict(e) for e in pbx_samples.EXTENSIONS]
    renamed[0]["name"] = "Анна Петрова-Иванова"
    pbx_files["extensions.json"].write_text(json.dumps(renamed, ensure_ascii=False), encoding="utf-8")
    assert land_pbx(settings, fresh_database_url, source="files").counts("extensions").landed == 1
    with psycopg.connect(fresh_database_url) as conn:
        assert conn.execute("select name from raw.pbx_extensions where extension = '101'").fetchone() == (
            "Анна Петрова-Иванова",)


def test_an_operator_the_directory_drops_keeps_name_and_row_until_listed_again(
        settings, fresh_database_url, pbx_files) -> None:
    land_pbx(settings, fresh_database_url, source="files")
    without_vera = [e for e in pbx_samples.EXTENSIONS if e["extension"] != "103"]
    pbx_files["extensions.json"].write_text(json.dumps(without_vera, ensure_ascii=False), encoding="utf-8")
    assert land_pbx(settings, fresh_database_url, source="files").counts("extensions").landed == 1  # 103 dropped

    def directory() -> list[tuple]:
        with psycopg.connect(fresh_database_url) as conn:
            return conn.execute("select extension, name, removed_at is not null from raw.pbx_extensions"
                                " order by 1").fetchall()

    assert directory() == [("101", "Анна Петрова", False), ("102", "Борис Смирнов", False),
                           ("103", "Вера Козлова", True)]
    pbx_files["extensions.json"].write_text("[]", encoding="utf-8")  # an empty read is a failed read, not a purge
    assert land_pbx(settings, fresh_database_url, source="files").counts("extensions").landed == 0
    pbx_files["extensions.json"].write_text(json.dumps(pbx_samples.EXTENSIONS, ensure_ascii=False), encoding="utf-8")
    land_pbx(settings, fresh_database_url, source="files")
    assert [row[2] for row in directory()] == [False, False, False]
