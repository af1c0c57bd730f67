"""The running totals behind pantao_records_landed/rejected: exact, monotonic, and cheap per scrape.

Every assertion compares the exported counter with what is actually in the table (or was),
across several scrapes so the watermark really settles in between.
"""

from __future__ import annotations

import statistics
import time

import psycopg
import pytest

from ingestion.schema import ensure_raw_schema
from monitoring.exporter import collect
from monitoring.readers import REJECTED_TALLY
from monitoring.tally import Tracked, ensure_ops_tables, tally
from tests import monitoring_support as support
from tests.test_monitoring_exporter import one, scrape


def rejected_total(samples: dict) -> dict[tuple[str, str], float]:
    return {(dict(k)["source"], dict(k)["reason"]): v for k, v in samples["pantao_records_rejected_total"].items()}


def settled_through(url: str, table: str) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("select settled_through from ops.metrics_tally_state where relation = %s",
                           (table,)).fetchone()
    return row[0] if row else None


def add_rejects(url: str, count: int, source: str = "kafka:orders", reason: str = "invalid JSON: x") -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into raw.rejected_records (source, source_ref, reason)"
                     " select %s, 'ref', %s from generate_series(1, %s)", (source, reason, count))


def add_orders(url: str, count: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into raw.orders (kafka_topic, kafka_partition, kafka_offset, payload)"
                     " select 't', 0, i, '{}' from generate_series(1, %s) i", (count,))


@pytest.fixture
def small(small_warehouse, tmp_path):
    settings, url, truth = small_warehouse(with_kafka=False)
    registry = collect(settings, url, None, clock=lambda: support.NOW.timestamp(), dbt_target_dir=tmp_path / "target")
    return url, truth, registry


def test_each_scrape_adds_exactly_the_rows_landed_since_the_last(small):
    url, truth, registry = small
    expected_rejected = dict(truth.rejected)
    expected_orders = truth.landed.get("kafka:orders", 0)
    for round_number in range(6):  # enough scrapes for the watermark to settle twice
        samples = scrape(registry)
        assert one(samples, "pantao_scrape_error", source="rejected") == 0
        assert rejected_total(samples) == expected_rejected, round_number
        assert one(samples, "pantao_records_landed_total", source="kafka:orders") == expected_orders
        added = round_number + 1
        add_rejects(url, added)
        add_orders(url, 2 * added)
        key = ("kafka:orders", "invalid_json")
        expected_rejected[key] = expected_rejected.get(key, 0) + added
        expected_orders += 2 * added
    assert settled_through(url, "raw.rejected_records") is not None, "the watermark never moved"
    assert settled_through(url, "raw.orders") is not None
    with psycopg.connect(url) as conn:  # the counters agree with count(*) at the end
        assert conn.execute("select count(*) from raw.rejected_records").fetchone()[0] == sum(
            rejected_total(scrape(registry)).values())


def test_rows_deleted_after_counting_stay_counted(small):
    url, truth, registry = small
    for _ in range(4):
        before = scrape(registry)
    assert settled_through(url, "raw.rejected_records") is not None
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("delete from raw.rejected_records")
    after = scrape(registry)
    assert rejected_total(after) == rejected_total(before) == truth.rejected


def test_a_batch_committing_below_the_watermark_is_still_counted(small):
    """A landing transaction takes its ids before it commits; rows that commit after later,
    higher ids were counted must still be counted once."""
    url, truth, registry = small
    slow = psycopg.connect(url)
    try:
        slow.execute("insert into raw.rejected_records (source, source_ref, reason)"
                     " values ('kafka:feedback', 'slow', 'missing required field')")
        for _ in range(5):  # newer rows commit and several settle cycles pass over the open batch
            add_rejects(url, 3)
            samples = scrape(registry)
        slow.commit()
    finally:
        slow.close()
    for _ in range(4):
        samples = scrape(registry)
    expected = dict(truth.rejected)
    expected[("kafka:orders", "invalid_json")] += 15
    expected[("kafka:feedback", "missing_field")] = expected.get(("kafka:feedback", "missing_field"), 0) + 1
    assert rejected_total(samples) == expected
    assert settled_through(url, "raw.rejected_records") is not None


def test_a_restarted_exporter_continues_from_the_tally(small, make_settings, tmp_path):
    url, truth, registry = small
    for _ in range(4):
        scrape(registry)
    add_rejects(url, 7)
    restarted = collect(make_settings(), url, None, clock=lambda: support.NOW.timestamp(),
                        dbt_target_dir=tmp_path / "target")
    expected = dict(truth.rejected)
    expected[("kafka:orders", "invalid_json")] += 7
    assert rejected_total(scrape(restarted)) == expected


def test_a_large_rejected_table_is_tallied_once_and_then_only_its_new_rows(make_settings, fresh_database_url, tmp_path):
    url = fresh_database_url
    settings = make_settings()
    ensure_raw_schema(settings, url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into raw.rejected_records (source, source_ref, reason)"
            " select case when i % 3 = 0 then 'kafka:orders' else 'pbx_cdr:file' end, 'ref',"
            " case when i % 2 = 0 then 'invalid JSON: Expecting value' else 'missing required field id' end"
            " from generate_series(1, 300000) i"
        )
        conn.execute("vacuum analyze raw.rejected_records")
    # a timeout no busy machine reaches: the first scrape counts the table whole, as `--once` needs
    # (the fallback to steps when that does not fit is test_a_tail_too_large_..._is_tallied_in_steps)
    registry = collect(settings, url, None, dbt_target_dir=tmp_path / "target", statement_timeout_ms=60_000)

    samples = scrape(registry)
    assert one(samples, "pantao_scrape_error", source="rejected") == 0
    catch_up = [one(samples, "pantao_scrape_duration_seconds", source="rejected")]
    assert sum(rejected_total(samples).values()) == 300_000

    steady, steady_rejected = [], []
    for _ in range(5):
        started = time.perf_counter()
        samples = scrape(registry)
        steady.append(time.perf_counter() - started)
        steady_rejected.append(one(samples, "pantao_scrape_duration_seconds", source="rejected"))
    add_rejects(url, 10, source="pbx_cdr:file", reason="expected 17 field(s), got 3")
    samples = scrape(registry)
    assert rejected_total(samples)[("pbx_cdr", "parse_error")] == 10
    assert sum(rejected_total(samples).values()) == 300_010
    print(f"\n300k rejected rows: first scrape {[round(s, 3) for s in catch_up]} s,"
          f" steady: whole scrape median {statistics.median(steady) * 1000:.0f} ms,"
          f" rejected {statistics.median(steady_rejected) * 1000:.1f} ms")
    assert REJECTED_TALLY.column == "id"  # the primary key index is what keeps this cheap


def test_the_first_scrape_reports_a_table_larger_than_the_tail_limit(make_settings, fresh_database_url, tmp_path,
                                                                     monkeypatch, caplog):
    """`pantao metrics --once` is a first scrape: a table past TAIL_LIMIT rows must still be in it."""
    monkeypatch.setattr("monitoring.tally.TAIL_LIMIT", 1000)
    url = fresh_database_url
    settings = make_settings()
    ensure_raw_schema(settings, url)
    add_orders(url, 3000)
    add_rejects(url, 2500)
    registry = collect(settings, url, None, dbt_target_dir=tmp_path / "target")
    with caplog.at_level("INFO", logger="monitoring"):
        for expected_orders in range(3000, 3005):  # the first scrape, and on as the watermark settles
            samples = scrape(registry)
            assert one(samples, "pantao_records_landed_total", source="kafka:orders") == expected_orders
            assert rejected_total(samples) == {("kafka:orders", "invalid_json"): 2500}
            add_orders(url, 1)
    assert settled_through(url, "raw.orders") is not None
    assert settled_through(url, "raw.rejected_records") is not None
    assert "None" not in caplog.text


def test_a_tail_too_large_for_the_statement_timeout_is_tallied_in_steps(make_settings, fresh_database_url,
                                                                        monkeypatch, caplog):
    """Counting the whole tail is tried once; on a statement timeout the table is settled in steps
    (each well within the timeout) and reported exactly once it has caught up."""
    monkeypatch.setattr("monitoring.tally.TAIL_LIMIT", 50)
    url = fresh_database_url
    ensure_raw_schema(make_settings(), url)
    add_rejects(url, 400)
    tracked = Tracked("raw.rejected_records", "id", "20")
    slowly = ["source || pg_sleep(0.002)::text"]  # 2 ms a row: 400 rows take 0.8 s, a step of 20 takes 40 ms
    slow: set[str] = set()
    with psycopg.connect(url, autocommit=True, options="-c statement_timeout=300") as conn, \
            caplog.at_level("INFO", logger="monitoring"):
        ensure_ops_tables(conn)
        results = [tally(conn, tracked, slowly, {}, lambda row: (row[0], ""), slow) for _ in range(40)]
    assert results[0] is None and "raw.rejected_records" not in slow  # caught up by the end
    assert "takes longer than the statement timeout" in caplog.text
    first_complete = next(i for i, found in enumerate(results) if found is not None)
    assert first_complete >= (400 - 50) // 20, "it did not settle in steps"
    assert all(found is not None and found.counts == {("kafka:orders", ""): 400} for found in results[first_complete:])
    assert "None" not in caplog.text
