"""Anomaly flags (reports/anomalies.py): the band of a KPI on its weekday, the alert thresholds, and the
flags in the morning summary and on the HTML cards, in both languages."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest

from pantao.kpis import load_kpis
from reports.anomalies import find_flags, history_dates, usual_band
from reports.messages import Messages
from reports.schema import ensure_reports_schema
from reports.snapshot import build_daily_report
from reports.summary import morning_summary, to_plain
from tests.mini_marts import CHAIN
from tests.reports_marts import UNUSUAL_FRIDAY, create_small_marts, insert_unusual_friday

KPIS = load_kpis()


def test_the_history_is_the_same_weekday_of_the_four_weeks_before():
    assert history_dates(dt.date(2026, 11, 20)) == [dt.date(2026, 11, 13), dt.date(2026, 11, 6),
                                                    dt.date(2026, 10, 30), dt.date(2026, 10, 23)]


def test_the_band_is_the_median_plus_minus_three_robust_spreads():
    band = usual_band(KPIS["missed_call_rate"], [0.11, 0.12, 0.13, 0.14])
    # median 0.125; deviations 0.015, 0.005, 0.005, 0.015 -> MAD 0.01 -> spread 0.014826 (> 10 % of the median)
    assert band.median == pytest.approx(0.125)
    assert (band.low, band.high) == (pytest.approx(0.125 - 3 * 0.014826), pytest.approx(0.125 + 3 * 0.014826))
    assert band.weeks == 4


def test_the_spread_has_floors_a_relative_one_and_a_counts_poisson_one():
    same = usual_band(KPIS["revenue_amount"], [100_000.0] * 4)  # no deviation at all: 10 % of the median
    assert (same.low, same.high) == (pytest.approx(70_000), pytest.approx(130_000))
    counts = usual_band(KPIS["calls_unanswered_count"], [4.0, 4.0, 4.0])  # √4 = 2 beats 10 % of 4
    assert (counts.low, counts.high) == (0, pytest.approx(10))  # and a count cannot go below 0
    assert usual_band(KPIS["missed_call_rate"], [0.1, 0.2]) is None  # fewer than 3 weeks: no band


def test_a_value_outside_the_band_is_flagged_high_or_low_and_judged_by_the_registry():
    history = [{"missed_call_rate": r, "orders_count": 1000} for r in (0.11, 0.12, 0.13, 0.14)]
    flags = {f.kpi: f for f in find_flags({"missed_call_rate": 0.20, "orders_count": 600}, history, KPIS)}
    assert set(flags) == {"missed_call_rate", "orders_count"}
    assert (flags["missed_call_rate"].direction, flags["missed_call_rate"].worse) == ("high", True)
    assert (flags["orders_count"].direction, flags["orders_count"].worse) == ("low", True)
    assert flags["missed_call_rate"].threshold == 0.15  # the alert rule's threshold is crossed too
    calm = find_flags({"missed_call_rate": 0.13, "orders_count": 1010}, history, KPIS)
    assert calm == []


def test_the_alert_threshold_flags_even_without_history():
    flags = find_flags({"missed_call_rate": 0.161, "asa_seconds": 75}, [None, None, None, None], KPIS)
    assert [(f.kpi, f.band, f.threshold) for f in flags] == [("missed_call_rate", None, 0.15), ("asa_seconds", None, 60)]
    msg = Messages("ru")
    assert msg.flag(flags[0], dt.date(2026, 11, 20)) == "Доля пропущенных 16,1\u00a0% — выше порога оповещения 15,0\u00a0%"


def test_the_flag_reads_as_the_issue_asks():
    history = [{"missed_call_rate": r} for r in (0.11, 0.12, 0.13, 0.14)]
    flag = find_flags({"missed_call_rate": 0.175}, history, KPIS)[0]  # inside 15 % alert? no: above it too
    friday = dt.date(2026, 11, 20)
    assert Messages("ru").flag(flag, friday) == (
        "Доля пропущенных 17,5\u00a0% — выше обычного для пятницы (8,1–16,9\u00a0%) и порога оповещения 15,0\u00a0%")
    assert Messages("en").flag(flag, friday) == (
        "Missed call rate 17.5% — above usual for a Friday (8.1–16.9%) and the alert threshold 15.0%")
    only_band = find_flags({"orders_count": 600}, [{"orders_count": 1000}] * 4, KPIS)[0]
    assert Messages("ru").flag(only_band, friday) == "Заказы 600 — ниже обычного для пятницы: 700–1\u202f300"


class _Cards(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.flagged: list[str] = []
        self.flags: list[str] = []
        self._in_flags = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and "flagged" in (attrs.get("class") or "").split():
            self.flagged.append(attrs["data-kpi"])
        self._in_flags = tag == "li" and "data-kpi" in attrs

    def handle_data(self, data):
        if self._in_flags and data.strip():
            self.flags.append(data.strip())
            self._in_flags = False


@pytest.fixture
def friday_db(fresh_database_url, make_settings):
    ensure_reports_schema(make_settings(), fresh_database_url)
    create_small_marts(fresh_database_url)
    insert_unusual_friday(fresh_database_url)
    return fresh_database_url


@pytest.mark.parametrize(("lang", "line"), [
    ("ru", "⚠ Доля пропущенных 20,0\u00a0% — выше обычного для пятницы (8,1–16,9\u00a0%) и порога оповещения 15,0\u00a0%"),
    ("en", "⚠ Missed call rate 20.0% — above usual for a Friday (8.1–16.9%) and the alert threshold 15.0%"),
])
def test_the_morning_summary_opens_with_the_flags(friday_db, make_settings, lang, line):
    report = build_daily_report(make_settings(report_lang=lang), friday_db, UNUSUAL_FRIDAY)
    text = to_plain(morning_summary(report)).splitlines()
    assert text[2] == line and text[3] == ""  # after the title and a blank line; one flag only
    assert report.chain["calls_unanswered_count"] == CHAIN["calls_unanswered_count"]


def test_the_html_flags_the_card_and_lists_the_flag_on_top(friday_db, make_settings):
    report = build_daily_report(make_settings(), friday_db, UNUSUAL_FRIDAY)
    page = _Cards()
    page.feed(report.html_path.read_text(encoding="utf-8"))
    assert page.flagged == ["missed_call_rate"]
    assert page.flags == ["⚠ Доля пропущенных 20,0\u00a0% — выше обычного для пятницы (8,1–16,9\u00a0%) и порога "
                          "оповещения 15,0\u00a0%"]
    html = report.html_path.read_text(encoding="utf-8")
    assert "⚠ обычно для пятницы: 8,1–16,9\u00a0%; порог оповещения 15,0\u00a0%" in html
