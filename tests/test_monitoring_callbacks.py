"""The exporter's callback gauges over a real PostgreSQL with a hand-made worklist: today's open
callers and how long the oldest has waited, counted here by hand."""

from __future__ import annotations

from datetime import datetime

import psycopg

from reports.schema import ensure_reports_schema
from tests import monitoring_support as support
from tests.mini_marts import create_mini_marts
from tests.test_monitoring_exporter import one, registry_for, scrape

TODAY = support.NOW.date()  # 2026-11-04, the clock at 09:00 business time


def test_open_callbacks_count_todays_unmarked_callers_and_the_oldest_waits_since_its_last_try(
        make_settings, fresh_database_url, tmp_path):
    settings = make_settings()
    ensure_reports_schema(settings, fresh_database_url)
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        create_mini_marts(conn)
        rows = [  # (day, phone, last try): three of today, one of yesterday (not today's worklist)
            (TODAY, "+79160000001", datetime(2026, 11, 4, 8, 15, tzinfo=support.TZ)),  # 45 min before 09:00
            (TODAY, "+79160000002", datetime(2026, 11, 4, 7, 0, tzinfo=support.TZ)),  # 2 h, but called back
            (TODAY, "+79160000003", datetime(2026, 11, 4, 8, 50, tzinfo=support.TZ)),  # 10 min
            (datetime(2026, 11, 3).date(), "+79160000004", datetime(2026, 11, 3, 20, 0, tzinfo=support.TZ)),
        ]
        for day, phone, last in rows:
            conn.execute("insert into marts.missed_call_recovery (business_date, caller_phone, last_call_at, "
                         "attempts_count, expected_lost_revenue_amount) values (%s, %s, %s, 1, 100)",
                         (day, phone, last))
        conn.execute("insert into reports.callback_marks (business_date, caller_phone) values (%s, '+79160000002')",
                     (TODAY,))
    samples = scrape(registry_for(settings, fresh_database_url, None, tmp_path))
    assert one(samples, "pantao_callbacks_open") == 2
    assert one(samples, "pantao_callbacks_oldest_open_age_seconds") == 45 * 60


def test_before_the_worklist_exists_the_gauges_are_absent(make_settings, fresh_database_url, tmp_path):
    samples = scrape(registry_for(make_settings(), fresh_database_url, None, tmp_path))
    assert "pantao_callbacks_open" not in samples
    assert {labels: v for labels, v in samples["pantao_scrape_error"].items() if v} == {}
