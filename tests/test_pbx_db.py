"""PBX database mode against the MariaDB on this machine, with FreePBX's real table definitions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg
import pymysql
import pytest

from ingestion.pbx import land_pbx
from ingestion.pbx.db import PbxDatabaseError
from tests import pbx_samples

pytestmark = pytest.mark.mariadb


@pytest.fixture
def pbx_db_url(mariadb_admin_url: str) -> Iterator[str]:
    """A throwaway `asteriskcdrdb_test_<random>` with empty FreePBX `cdr` and `queue_log` tables."""
    name = f"asteriskcdrdb_test_{uuid.uuid4().hex[:10]}"
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", charset="utf8mb4")
    with admin.cursor() as cur:
        cur.execute(f"create database `{name}` character set utf8mb4")
        cur.execute(f"use `{name}`")
        cur.execute(pbx_samples.FREEPBX_CDR_DDL)
        cur.execute(pbx_samples.FREEPBX_QUEUE_LOG_DDL)
    try:
        yield f"mysql://root@127.0.0.1:3306/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"drop database if exists `{name}`")
        admin.close()


def pbx_connect(url: str) -> pymysql.connections.Connection:
    return pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", charset="utf8mb4",
                           database=url.rsplit("/", 1)[1])


@pytest.fixture
def loaded_db(pbx_db_url: str) -> str:
    conn = pbx_connect(pbx_db_url)
    pbx_samples.insert_cdrs(conn, pbx_samples.cdrs())
    pbx_samples.insert_queue_log(conn, pbx_samples.queue_log_db_rows(pbx_samples.queue_events()))
    conn.close()
    return pbx_db_url


def _rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_db_mode_lands_cdrs_and_queue_log(make_settings, fresh_database_url, loaded_db, tmp_path) -> None:
    files = pbx_samples.write_files(tmp_path / "pbx")
    settings = make_settings(pbx_source="db", pbx_db_url=loaded_db, pbx_extensions_file=files["extensions.json"])
    result = land_pbx(settings, fresh_database_url)
    assert (result.counts("cdr").landed, result.counts("queue_log").landed) == (4, 15)
    # No asterisk.users in this MariaDB: the names come from the extensions file instead.
    assert result.counts("extensions").landed == 3
    cdr = _rows(fresh_database_url, "select calldate::text, did, cnum, source from raw.pbx_cdr"
                                    " where uniqueid = '1793520000.10'")
    assert cdr == [("2026-11-01 12:00:00", "74950000000", "+79161234567", "db")]


def landed_from_files(new_database, settings, files: dict, sql: str) -> list[tuple]:
    """Land `files` (queue_log, Master.csv) in a database of their own and return `sql`'s rows there."""
    with new_database() as file_url:
        land_pbx(settings.with_overrides(pbx_queue_log=files["queue_log"], pbx_cdr_csv=files["Master.csv"]),
                 file_url, source="files")
        return _rows(file_url, sql)


def test_db_queue_log_local_time_hashes_like_the_file_line(
        make_settings, fresh_database_url, loaded_db, tmp_path, new_database) -> None:
    files = pbx_samples.write_files(tmp_path / "pbx")
    land_pbx(make_settings(pbx_db_url=loaded_db), fresh_database_url, source="db")
    sql = "select event_hash, event_at, data1, data4 from raw.pbx_queue_log order by 1"
    assert _rows(fresh_database_url, sql) == landed_from_files(new_database, make_settings(), files, sql)


def test_db_rerun_is_idempotent_and_late_rows_inside_the_overlap_land(
        make_settings, fresh_database_url, loaded_db) -> None:
    settings = make_settings(pbx_db_url=loaded_db)
    land_pbx(settings, fresh_database_url, source="db")
    again = land_pbx(settings, fresh_database_url, source="db")
    assert again.counts("cdr").landed == 0 and again.counts("queue_log").landed == 0
    # The re-read covers only the 2 hours before each watermark (cdr 18:05, queue_log 21:00).
    assert again.counts("cdr").duplicates == 1 and again.counts("queue_log").duplicates == 2

    late = dict(pbx_samples.cdrs()[3], calldate="2026-11-01 17:30:00", uniqueid="1793543400.40",
                linkedid="1793543400.40")
    conn = pbx_connect(loaded_db)
    pbx_samples.insert_cdrs(conn, [late])
    conn.close()
    result = land_pbx(settings, fresh_database_url, source="db")
    assert result.counts("cdr").landed == 1
    assert _rows(fresh_database_url, "select count(*) from raw.pbx_cdr") == [(5,)]


def test_db_window_relands_only_that_window(make_settings, fresh_database_url, loaded_db) -> None:
    settings = make_settings(pbx_db_url=loaded_db)
    result = land_pbx(settings, fresh_database_url, source="db",
                      since=datetime(2026, 11, 1, 12), until=datetime(2026, 11, 1, 13))
    assert result.counts("cdr").landed == 3
    assert result.counts("queue_log").landed == 7


def test_db_rows_with_broken_values_are_rejected_not_fatal(make_settings, fresh_database_url, pbx_db_url) -> None:
    conn = pbx_connect(pbx_db_url)
    bad = dict(pbx_samples.cdrs()[0], uniqueid="", linkedid="")
    pbx_samples.insert_cdrs(conn, [bad, *pbx_samples.cdrs()[1:]])
    rows = pbx_samples.queue_log_db_rows(pbx_samples.queue_events()[:3])
    rows[1]["event"] = ""
    pbx_samples.insert_queue_log(conn, rows)
    conn.close()
    result = land_pbx(make_settings(pbx_db_url=pbx_db_url), fresh_database_url, source="db")
    assert (result.counts("cdr").landed, result.counts("cdr").rejected) == (3, 1)
    assert (result.counts("queue_log").landed, result.counts("queue_log").rejected) == (2, 1)
    refs = _rows(fresh_database_url, "select source, source_ref, reason from raw.rejected_records order by 1")
    assert refs == [("pbx_cdr:db", "cdr:?/0", "empty uniqueid"), ("pbx_queue_log:db", "queue_log:2", "empty event name")]


def test_unreachable_pbx_database_names_the_server(make_settings, fresh_database_url) -> None:
    settings = make_settings(pbx_db_url="mysql://pbxreader:pw@127.0.0.1:1/asteriskcdrdb", http_timeout_seconds=1.0)
    with pytest.raises(PbxDatabaseError, match=r"mysql://pbxreader@127\.0\.0\.1:1/asteriskcdrdb") as err:
        land_pbx(settings, fresh_database_url, source="db")
    assert "pw" not in str(err.value)


# Asterisk's realtime queue_log with one `data` column (the `queuelog` table, data1..5 joined by |).
QUEUELOG_DATA_DDL = (pbx_samples.SAMPLES / "queuelog_asterisk_data.ddl").read_text(encoding="utf-8")


def _execute(url: str, *statements: tuple[str, list[tuple]]) -> None:
    conn = pbx_connect(url)
    try:
        with conn.cursor() as cur:
            for sql, rows in statements:
                if rows:
                    cur.executemany(sql, rows)
                else:
                    cur.execute(sql)
        conn.commit()
    finally:
        conn.close()


def test_db_queuelog_table_with_one_data_column_lands_like_the_file(
        make_settings, fresh_database_url, pbx_db_url, tmp_path, new_database) -> None:
    """Asterisk's non-adaptive realtime queue_log: one `data` column `a|b|c`, `time` as text, here in
    the PBX's Berlin clock; the events must hash exactly as the same lines read from the file."""
    from tests.pbx_variants import FREEPBX17

    berlin = "Europe/Berlin"
    rows = []
    for line in FREEPBX17.queue_log:
        epoch, callid, queue, agent, event, *data = line.split("|")
        local = datetime.fromtimestamp(int(epoch), ZoneInfo(berlin)).strftime("%Y-%m-%d %H:%M:%S.000000")
        rows.append((local, callid, queue, agent, event, "|".join(data)))
    _execute(pbx_db_url, ("drop table queue_log", []), (QUEUELOG_DATA_DDL, []),
             ("insert into queuelog (time, callid, queuename, agent, event, data) values (%s, %s, %s, %s, %s, %s)",
              rows))
    result = land_pbx(make_settings(pbx_db_url=pbx_db_url, pbx_timezone=berlin), fresh_database_url, source="db")
    assert result.counts("queue_log").landed == 11  # every line of the FreePBX 17 day
    sql = "select event_hash, event_at, data5 from raw.pbx_queue_log order by 1"
    from_db = _rows(fresh_database_url, sql)
    assert from_db == landed_from_files(new_database, make_settings(), FREEPBX17.write(tmp_path / "files", []), sql)
    assert ("75|1",) in {(r[2],) for r in from_db}  # ATTENDEDTRANSFER LINK: talk|origposition in data5


def test_db_local_times_convert_across_the_pbx_clocks_dst_changes(make_settings, fresh_database_url,
                                                                   pbx_db_url) -> None:
    """The PBX clock (Europe/Berlin) differs from the business one (Moscow, no DST): the second after
    01:59:59 CET on 2026-03-29 is 03:00:00 CEST; 02:30 on 2026-10-25 happens twice and is read as
    the first (summer time) occurrence."""
    rows = [("2026-03-29 01:59:59.000000", "c1", "700", "NONE", "ENTERQUEUE", "", "+7916", "1", "", ""),
            ("2026-03-29 03:00:00.000000", "c1", "700", "NONE", "ABANDON", "1", "1", "1", "", ""),
            ("2026-10-25 02:30:00.000000", "c2", "700", "NONE", "ENTERQUEUE", "", "+7916", "1", "", "")]
    _execute(pbx_db_url, ("insert into queue_log (time, callid, queuename, agent, event, data1, data2, data3,"
                          " data4, data5) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows))
    land_pbx(make_settings(pbx_db_url=pbx_db_url, pbx_timezone="Europe/Berlin"), fresh_database_url, source="db")
    epochs = _rows(fresh_database_url, "select callid, event, extract(epoch from event_at)::bigint"
                                       " from raw.pbx_queue_log order by 3")
    # 2026-03-29 00:59:59 UTC, 01:00:00 UTC (one second later); 2026-10-25 00:30:00 UTC
    assert epochs == [("c1", "ENTERQUEUE", 1774745999), ("c1", "ABANDON", 1774746000),
                      ("c2", "ENTERQUEUE", 1792888200)]


def test_db_queue_log_in_utc_and_cdrs_in_utc(make_settings, fresh_database_url, pbx_db_url) -> None:
    """queue_log_realtime_use_gmt=yes and usegmtime=yes: both tables hold UTC, whatever the PBX zone."""
    _execute(pbx_db_url, ("insert into queue_log (time, callid, queuename, agent, event, data1) values"
                          " (%s, %s, %s, %s, %s, %s)", [("2026-11-04 07:00:00.000000", "c1", "700", "NONE",
                                                         "ENTERQUEUE", "")]))
    pbx_samples.insert_cdrs(pbx_connect(pbx_db_url), [dict(pbx_samples.cdrs()[0], calldate="2026-11-04 07:00:00")])
    settings = make_settings(pbx_db_url=pbx_db_url, pbx_timezone="Europe/Berlin", pbx_queue_log_times="utc",
                             pbx_cdr_times="utc")
    land_pbx(settings, fresh_database_url, source="db")
    assert _rows(fresh_database_url, "select extract(epoch from event_at)::bigint from raw.pbx_queue_log") == [
        (1793775600,)]  # 2026-11-04 07:00:00 UTC
    assert _rows(fresh_database_url, "select calldate::text, calldate_zone from raw.pbx_cdr") == [
        ("2026-11-04 07:00:00", "UTC")]


def test_db_without_a_queue_log_table_fails_naming_what_to_do(make_settings, fresh_database_url,
                                                               pbx_db_url) -> None:
    _execute(pbx_db_url, ("drop table queue_log", []))
    with pytest.raises(PbxDatabaseError, match="no queue_log \\(or queuelog\\) table"):
        land_pbx(make_settings(pbx_db_url=pbx_db_url), fresh_database_url, source="db")
