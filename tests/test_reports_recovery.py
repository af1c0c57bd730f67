"""The missed-call recovery section of the day's report, over small hand-made marts: the count, the
expected lost revenue and the top ten, counted here by hand."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from reports.recovery import masked
from reports.schema import ensure_reports_schema
from reports.snapshot import build_daily_report
from reports.summary import morning_summary, to_plain
from tests.reports_marts import DAY, create_small_marts

# twelve callers on DAY, the i-th losing i × 100.50 ₽; one more the day before, which is not DAY's
CALLERS = [(f"+7916000{i:04d}", i * 100.5) for i in range(1, 13)]


@pytest.fixture
def recovery_db(fresh_database_url, make_settings):
    ensure_reports_schema(make_settings(), fresh_database_url)
    create_small_marts(fresh_database_url)
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        for i, (phone, amount) in enumerate(CALLERS, start=1):
            conn.execute(
                "insert into marts.missed_call_recovery (business_date, caller_phone, is_known_customer, "
                "lifetime_orders_count, attempts_count, wait_seconds_total, last_call_at, "
                "expected_lost_revenue_amount) values (%s, %s, %s, %s, %s, %s, %s, %s)",
                (DAY, phone, i % 2 == 0, i // 2, 1 + i % 3, 30 * i,
                 dt.datetime(2026, 11, 2, 9 + i, 5, tzinfo=dt.UTC), amount))
        conn.execute(
            "insert into marts.missed_call_recovery (business_date, caller_phone, attempts_count, last_call_at, "
            "expected_lost_revenue_amount) values (%s, '+79169999999', 1, %s, 99999)",
            (DAY - dt.timedelta(days=1), dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)))
    return fresh_database_url


def test_the_report_counts_the_days_callers_and_their_expected_lost_revenue(recovery_db, make_settings):
    recovery = build_daily_report(make_settings(), recovery_db, DAY).figures["recovery"]
    assert recovery["count"] == 12
    assert recovery["expected_lost_revenue_amount"] == pytest.approx(7839.0)  # 100.5 × (1 + … + 12) = 100.5 × 78
    assert [row["expected_lost_revenue_amount"] for row in recovery["top"]] == [
        1206.0, 1105.5, 1005.0, 904.5, 804.0, 703.5, 603.0, 502.5, 402.0, 301.5]
    assert recovery["top"][0]["caller"] == "*** ***-**-12"
    assert (recovery["top"][0]["attempts_count"], recovery["top"][0]["wait_seconds_total"]) == (1, 360)


def test_the_summary_and_the_page_show_the_section(recovery_db, make_settings):
    report = build_daily_report(make_settings(), recovery_db, DAY)
    text = to_plain(morning_summary(report))
    assert text.splitlines()[-1] == "Не перезвонили: 12 клиентов, ожидаемая потеря выручки 7\u202f839\u00a0₽"
    html = report.html_path.read_text(encoding="utf-8")
    assert "Кому перезвонить: первые 10 по ожидаемой потере выручки" in html
    assert "*** ***-**-12" in html and "*** ***-**-02" not in html  # the 2nd caller is not in the top ten
    assert "+7916" not in html  # no full number in a file people forward


def test_a_report_in_english_says_it_in_english(recovery_db, make_settings):
    text = to_plain(morning_summary(build_daily_report(make_settings(report_lang="en"), recovery_db, DAY)))
    assert text.splitlines()[-1] == "Not called back: 12 callers, expected lost revenue ₽7,839"


def test_a_number_is_masked_to_its_last_two_digits():
    assert masked("8 (916) 123-45-67") == "*** ***-**-67"
    assert masked(None) is None


def test_the_report_advises_the_next_days_operators_and_marks_the_short_hour(recovery_db, make_settings):
    # the Tuesday before the report's next day (2026-11-03): at 10:00 200 calls answered in 180 s each
    # (the textbook's 10 erlangs: 14 operators for 80 % within 20 s) with 12 operators logged in;
    # at 11:00 no calls and 2 operators
    tuesday = dt.date(2026, 10, 27)
    with psycopg.connect(recovery_db, autocommit=True) as conn:
        for hour, offered, logged_in in ((10, 200, 12), (11, 0, 2)):
            conn.execute(
                "insert into marts.hourly_kpis (business_date, hour, calls_offered_count, calls_answered_count, "
                "avg_talk_seconds, operators_logged_in_count) values (%s, %s, %s, %s, %s, %s)",
                (tuesday, hour, offered, offered, 180.0 if offered else None, logged_in))
    report = build_daily_report(make_settings(), recovery_db, DAY)
    staffing = report.figures["staffing"]
    assert (staffing["date"], staffing["target"], staffing["seconds"]) == ("2026-11-03", 0.8, 20)
    assert [(h["hour"], h["forecast_calls"], h["operators_needed"], h["logged_in_last_week"], h["is_short"])
            for h in staffing["hours"]] == [(10, 200.0, 14, 12, True), (11, 0.0, 0, 2, False)]
    text = to_plain(morning_summary(report))
    assert "Операторы на 03.11: не хватает в 10 ч" in text
    html = report.html_path.read_text(encoding="utf-8")
    assert "Сколько операторов нужно на 03.11.2026 (вт)" in html
    assert '<tr class="short"><td>10:00</td>' in html and "не хватает 2" in html
