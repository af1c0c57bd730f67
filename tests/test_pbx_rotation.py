"""Rotated PBX logs against a real PostgreSQL: numbered and dateext names, .gz, create and
copytruncate, several rotations between two runs, partial last lines; every line exactly once,
and lines that can no longer be read fail the run naming the file.

Each test writes distinct numbered lines and rotates the files the way logrotate does (the
helpers below do what its `create`, `copytruncate`, `compress`/`delaycompress` and `dateext`
options do); the expected counts are the numbers of lines written, counted in the test.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import psycopg
import pytest

from ingestion.pbx import PbxFileGapError, land_pbx
from pantao.settings import Settings


def line(n: int) -> bytes:
    """A distinct queue_log line: event n happens at epoch 1793600000 + n."""
    return f"{1793600000 + n}|1793600000.{n}|700|NONE|ABANDON|1|1|{n % 60}\n".encode()


def lines(first: int, last: int) -> bytes:
    return b"".join(line(n) for n in range(first, last + 1))


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def rotate_create(path: Path, rotated_name: str) -> Path:
    """logrotate `create`: rename the live file, start an empty one (Asterisk reopens later)."""
    rotated = path.with_name(rotated_name)
    os.rename(path, rotated)
    path.write_bytes(b"")
    return rotated


def compress(path: Path) -> Path:
    """logrotate `compress`: gzip the rotated file and delete the original."""
    target = path.with_name(path.name + ".gz")
    with open(path, "rb") as src, gzip.open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    path.unlink()
    return target


def rotate_numbered(path: Path, keep: int = 5) -> None:
    """logrotate with `create`, `compress`, `delaycompress`: .N(.gz) → .N+1, live → .1, .2 compressed."""
    for n in range(keep, 0, -1):
        for suffix in ("", ".gz"):
            old = path.with_name(f"{path.name}.{n}{suffix}")
            if old.exists():
                if n == keep:
                    old.unlink()
                else:
                    os.rename(old, path.with_name(f"{path.name}.{n + 1}{suffix}"))
    rotate_create(path, f"{path.name}.1")
    second = path.with_name(f"{path.name}.2")
    if second.exists():
        compress(second)


def copytruncate(path: Path, copy_name: str) -> Path:
    """logrotate `copytruncate`: copy the live file aside, then truncate it in place (same inode)."""
    copy = path.with_name(copy_name)
    shutil.copyfile(path, copy)
    with open(path, "r+b") as f:
        f.truncate(0)
    return copy


@pytest.fixture
def queue_log(tmp_path: Path) -> Path:
    pbx = tmp_path / "pbx"
    pbx.mkdir()
    path = pbx / "queue_log"
    path.write_bytes(lines(1, 10))
    return path


@pytest.fixture
def settings(make_settings, queue_log: Path) -> Settings:
    missing = queue_log.parent / "none"
    return make_settings(pbx_queue_log=queue_log, pbx_cdr_csv=missing / "Master.csv",
                         pbx_extensions_file=missing / "extensions.json")


def landed_epochs(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select extract(epoch from event_at)::bigint from raw.pbx_queue_log order by 1").fetchall()
    return [r[0] - 1793600000 for r in rows]


def run(settings: Settings, url: str):
    return land_pbx(settings, url, source="files").counts("queue_log")


def assert_run_lands(settings: Settings, url: str, *, new: int, through: int) -> None:
    """The next run lands `new` lines and doubles none; lines 1..`through` are each landed once."""
    counts = run(settings, url)
    assert (counts.landed, counts.duplicates, counts.rejected) == (new, 0, 0)
    assert landed_epochs(url) == list(range(1, through + 1))


def test_two_numbered_rotations_with_delayed_gzip_between_runs_lose_and_double_nothing(
        settings, fresh_database_url, queue_log) -> None:
    assert run(settings, fresh_database_url).landed == 10
    append(queue_log, lines(11, 20))  # after our run, before the first rotation
    rotate_numbered(queue_log)  # queue_log.1 = lines 1-20
    append(queue_log, lines(21, 35))
    rotate_numbered(queue_log)  # queue_log.2.gz = 1-20, queue_log.1 = 21-35
    append(queue_log, lines(36, 40))
    assert sorted(p.name for p in queue_log.parent.iterdir()) == ["queue_log", "queue_log.1", "queue_log.2.gz"]
    assert_run_lands(settings, fresh_database_url, new=30, through=40)  # 11..40, nothing read twice
    again = run(settings, fresh_database_url)
    assert (again.landed, again.duplicates) == (0, 0)


@pytest.mark.parametrize(("rotate", "names"), [
    pytest.param(rotate_create, ("queue_log-20261129", "queue_log-20261130"), id="dateext-create"),
    pytest.param(copytruncate, ("queue_log.2", "queue_log.1"), id="copytruncate"),
])
def test_two_rotations_between_runs_the_second_compressed_lose_and_double_nothing(
        settings, fresh_database_url, queue_log, rotate, names) -> None:
    run(settings, fresh_database_url)
    append(queue_log, lines(11, 30))
    rotate(queue_log, names[0])
    append(queue_log, lines(31, 80))
    compress(rotate(queue_log, names[1]))
    append(queue_log, lines(81, 85))
    assert_run_lands(settings, fresh_database_url, new=75, through=85)  # 11..85


def test_lines_asterisk_writes_to_the_renamed_file_before_it_reopens_land_later(
        settings, fresh_database_url, queue_log) -> None:
    run(settings, fresh_database_url)
    rotated = rotate_create(queue_log, "queue_log.1")
    append(rotated, lines(11, 12) + line(13)[:7])  # still writing to the renamed file, mid-line
    first = run(settings, fresh_database_url)
    assert (first.landed, first.rejected) == (2, 0)  # the cut line waits: the new file is still empty
    append(rotated, line(13)[7:] + lines(14, 15))
    append(queue_log, lines(16, 17))  # Asterisk reopened its log
    second = run(settings, fresh_database_url)
    assert (second.landed, second.duplicates, second.rejected) == (5, 0, 0)
    assert landed_epochs(fresh_database_url) == list(range(1, 18))


def test_a_rotated_file_cut_mid_line_is_complete_once_the_new_file_has_content(
        settings, fresh_database_url, queue_log) -> None:
    run(settings, fresh_database_url)
    append(queue_log, line(11)[:9])  # the last line was cut when the PBX stopped
    rotate_create(queue_log, "queue_log.1")
    append(queue_log, lines(12, 13))
    counts = run(settings, fresh_database_url)
    assert (counts.landed, counts.rejected) == (2, 1)  # the fragment is quarantined, not waited for forever


def test_first_run_lands_the_rotated_history_too(settings, fresh_database_url, queue_log) -> None:
    rotate_numbered(queue_log)
    queue_log.write_bytes(lines(11, 15))
    rotate_numbered(queue_log)
    queue_log.write_bytes(lines(16, 18))
    counts = run(settings, fresh_database_url)
    assert (counts.landed, counts.duplicates) == (18, 0)


def test_rotated_away_lines_fail_the_run_and_land_once_the_file_is_put_back(
        settings, fresh_database_url, queue_log, tmp_path) -> None:
    run(settings, fresh_database_url)
    append(queue_log, lines(11, 20))
    rotated = rotate_create(queue_log, "queue_log.1")
    backup = tmp_path / "backup-queue_log.1"
    shutil.copyfile(rotated, backup)
    rotated.unlink()  # rotated out (rotate count reached) before this run
    append(queue_log, lines(21, 25))
    with pytest.raises(PbxFileGapError) as failed:
        run(settings, fresh_database_url)
    assert failed.value.result.counts("queue_log").landed == 5
    (gap,) = failed.value.gaps
    assert (gap.state.name, gap.state.line) == ("queue_log", 11)
    assert "after line 10" in str(failed.value) and "put it beside queue_log" in str(failed.value)
    assert landed_epochs(fresh_database_url) == list(range(1, 11)) + list(range(21, 26))

    shutil.copyfile(backup, queue_log.with_name("queue_log-restored.1"))  # any rotated name
    shutil.move(queue_log.with_name("queue_log-restored.1"), queue_log.with_name("queue_log.1"))
    restored = run(settings, fresh_database_url)
    assert (restored.landed, restored.duplicates) == (10, 10)  # 11..20 new; 1..10 skipped by their keys
    assert landed_epochs(fresh_database_url) == list(range(1, 26))


def test_truncated_in_place_without_a_copy_is_a_gap(settings, fresh_database_url, queue_log) -> None:
    run(settings, fresh_database_url)
    append(queue_log, lines(11, 12))
    with open(queue_log, "r+b") as f:
        f.truncate(0)
    append(queue_log, lines(13, 13))
    with pytest.raises(PbxFileGapError):
        run(settings, fresh_database_url)
    assert landed_epochs(fresh_database_url) == list(range(1, 11)) + [13]


def test_master_csv_rotations_are_followed_the_same_way(make_settings, fresh_database_url, tmp_path) -> None:
    pbx = tmp_path / "pbx"
    pbx.mkdir()
    path = pbx / "Master.csv"

    def cdr(n: int) -> bytes:  # 16-column cdr_csv lines (Asterisk's defaults), distinct channels
        return (f'"","+7916{n:07d}","700","ext-queues","x","SIP/trunk-{n:08x}","","Queue","700",'
                f'"2026-11-30 10:{n // 60:02d}:{n % 60:02d}","","2026-11-30 10:{n // 60:02d}:{n % 60:02d}",'
                f'"5","0","NO ANSWER","DOCUMENTATION"\n').encode()

    path.write_bytes(b"".join(cdr(n) for n in range(1, 6)))
    settings = make_settings(pbx_cdr_csv=path, pbx_queue_log=pbx / "none", pbx_extensions_file=pbx / "none.json")
    assert land_pbx(settings, fresh_database_url, source="files").counts("cdr").landed == 5
    append(path, b"".join(cdr(n) for n in range(6, 9)))
    compress(rotate_create(path, "Master.csv-20261130"))
    append(path, cdr(9))
    counts = land_pbx(settings, fresh_database_url, source="files").counts("cdr")
    assert (counts.landed, counts.duplicates) == (4, 0)
    with psycopg.connect(fresh_database_url) as conn:
        assert conn.execute("select count(*), count(distinct cdr_key) from raw.pbx_cdr").fetchone() == (9, 9)


def test_a_gzip_still_being_written_is_finished_on_a_later_run(settings, fresh_database_url, queue_log) -> None:
    run(settings, fresh_database_url)
    append(queue_log, lines(11, 400))
    rotated = rotate_create(queue_log, "queue_log.1")
    append(queue_log, lines(401, 402))
    whole = gzip.compress(rotated.read_bytes())
    rotated.unlink()
    partial = queue_log.with_name("queue_log.1.gz")
    partial.write_bytes(whole[: len(whole) // 2])  # logrotate's gzip is halfway through
    first = run(settings, fresh_database_url)
    assert first.rejected == 0 and 2 <= first.landed < 392  # what was readable, and the live file
    partial.write_bytes(whole)
    run(settings, fresh_database_url)
    assert landed_epochs(fresh_database_url) == list(range(1, 403))
