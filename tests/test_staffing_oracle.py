"""Staffing advice against the simulator: five weeks and a day whose last Monday (2026-11-02) was
worked by one operator per queue on the first shift only (LONG_SIM's planted understaffing).

The hourly inputs (calls, talk, operators logged in) must equal the simulator's truth; the advice for
the next Monday must forecast the mean of the four Mondays before it, take its need from Erlang C
(pantao/erlang_c.py, checked against textbook values in tests/test_erlang_c.py), and flag as short
the hours that Monday left uncovered. reporting.staffing_advice, the analysts' view of the advice the
daily reports stored, must show the same figures.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row

from pantao.erlang_c import staffing
from reports.snapshot import build_daily_report
from reports.staffing import Target, staffing_figures
from tests.test_marts_oracle import fetch, same

NEXT_MONDAY = dt.date(2026, 11, 9)
MONDAYS = ("2026-11-02", "2026-10-26", "2026-10-19", "2026-10-12")
# The view's columns -> the keys of the advice counted from the truth below.
VIEW_KEYS = {"forecast_calls_offered": "forecast_calls", "aht_seconds": "aht_seconds",
             "operators_needed_count": "operators_needed", "expected_service_level": "service_level",
             "expected_asa_seconds": "asa_seconds", "operators_logged_in_last_week_count": "logged_in_last_week",
             "is_short_of_staff": "is_short"}


def test_the_hourly_calls_talk_and_operators_logged_in_equal_the_truth(long_warehouse):
    rows = fetch(long_warehouse.database_url, "select * from marts.hourly_kpis")
    truth = long_warehouse.truth["hourly"]
    assert {r["business_date"].isoformat() for r in rows} == set(truth)
    problems = []
    for row in rows:
        expected = truth[row["business_date"].isoformat()][str(row["hour"])]
        talk = float(row["avg_talk_seconds"] or 0) * row["calls_answered_count"]
        actual = {"calls_offered_count": row["calls_offered_count"], "calls_answered_count": row["calls_answered_count"],
                  "talk_seconds_total": talk, "operators_logged_in_count": row["operators_logged_in_count"]}
        problems += [f"{row['business_date']} {row['hour']:02d}h {k}: truth {v}, mart {actual[k]}"
                     for k, v in expected.items() if not same(v, actual[k])]
    assert not problems, "\n".join(problems[:25])
    assert any(h["operators_logged_in_count"] > 0 for h in truth["2026-11-02"].values())


def _expected_advice(truth: dict, target: Target, day: dt.date = NEXT_MONDAY) -> dict[int, dict]:
    """The advice for `day` (whose four weeks before are all simulated), counted from the truth:
    forecast, AHT, need (with the service level and ASA it gives), the operators of a week before."""
    weeks = [(day - dt.timedelta(weeks=w)).isoformat() for w in range(1, 5)]
    hours = {h: [truth["hourly"][d][str(h)] for d in weeks] for h in range(24)}
    all_rows = [row for rows in hours.values() for row in rows]
    whole_aht = sum(r["talk_seconds_total"] for r in all_rows) / sum(r["calls_answered_count"] for r in all_rows)
    expected = {}
    for h, rows in hours.items():
        forecast = sum(r["calls_offered_count"] for r in rows) / 4
        logged_in = truth["hourly"][weeks[0]][str(h)]["operators_logged_in_count"]
        if forecast == 0 and logged_in == 0:
            continue
        answered = sum(r["calls_answered_count"] for r in rows)
        aht = sum(r["talk_seconds_total"] for r in rows) / answered if answered else whole_aht
        plan = staffing(forecast, aht, target.share, target.seconds)
        expected[h] = {"forecast_calls": forecast, "aht_seconds": aht, "operators_needed": plan.operators,
                       "service_level": plan.service_level, "asa_seconds": plan.asa_seconds,
                       "logged_in_last_week": logged_in, "is_short": logged_in < plan.operators}
    return expected


def test_the_advice_for_the_next_monday_flags_the_hours_the_understaffed_monday_left_uncovered(long_warehouse):
    target = Target(share=0.8, seconds=20)
    with psycopg.connect(long_warehouse.database_url, row_factory=dict_row) as conn:
        advice = staffing_figures(conn, NEXT_MONDAY, target)
    expected = _expected_advice(long_warehouse.truth, target)
    actual = {h["hour"]: h for h in advice["hours"]}
    assert sorted(actual) == sorted(expected)
    for hour, figures in expected.items():
        for key, value in figures.items():
            assert same(value, actual[hour][key]), (hour, key, value, actual[hour][key])
    short = {h for h, figures in expected.items() if figures["is_short"]}
    uncovered = {h for h, figures in expected.items()
                 if figures["logged_in_last_week"] == 0 and figures["forecast_calls"] > 0}
    assert uncovered and uncovered <= short  # the evening the one early shift did not cover
    assert all(actual[h]["service_level"] >= 0.8 and actual[h]["asa_seconds"] is not None for h in actual)


def test_a_day_without_four_weeks_before_it_is_forecast_from_the_weeks_there_are(long_warehouse):
    # 2026-10-12 has two Mondays before it in the data (09-28, 10-05): the mean of those two
    with psycopg.connect(long_warehouse.database_url, row_factory=dict_row) as conn:
        advice = staffing_figures(conn, dt.date(2026, 10, 12), Target())
    truth = long_warehouse.truth["hourly"]
    for hour in advice["hours"]:
        offered = [truth[day][str(hour["hour"])]["calls_offered_count"] for day in ("2026-09-28", "2026-10-05")]
        assert same(sum(offered) / 2, hour["forecast_calls"]), hour
    assert advice["hours"]


def _plain(value: Any) -> Any:
    """A numeric of the view as the float the report stored (jsonb keeps a float's shortest repr)."""
    return float(value) if isinstance(value, Decimal) else value


def _view_rows(database_url: str, day: dt.date) -> dict[int, dict]:
    rows = fetch(database_url, "select * from reporting.staffing_advice where advised_date = %s", (day,))
    return {r["hour"]: r for r in rows}


def _mismatches(expected: dict[int, dict], rows: dict[int, dict]) -> list[str]:
    problems = [f"hours: truth {sorted(expected)}, view {sorted(rows)}"] if sorted(expected) != sorted(rows) else []
    for hour, figures in expected.items():
        for column, key in VIEW_KEYS.items():
            if hour in rows and not same(figures[key], rows[hour][column]):
                problems.append(f"{hour:02d}h {column}: truth {figures[key]}, view {rows[hour][column]}")
    return problems


def test_the_staffing_view_shows_the_advice_the_daily_report_stored_and_it_equals_the_truth(long_warehouse, tmp_path):
    # The report of the simulation's last day (Monday 11-02) advises Tuesday 11-03 from the four
    # Tuesdays before it and the operators of Tuesday 10-27.
    settings = long_warehouse.settings.with_overrides(data_dir=tmp_path)
    report = build_daily_report(settings, long_warehouse.database_url, dt.date(2026, 11, 2))
    try:
        rows = _view_rows(long_warehouse.database_url, dt.date(2026, 11, 3))
        target = Target(settings.service_level_target, settings.service_level_seconds)
        problems = _mismatches(_expected_advice(long_warehouse.truth, target, dt.date(2026, 11, 3)), rows)
        assert not problems, "\n".join(problems[:25])
        assert rows, "the report advised no hour"
        # what the report stored, figure for figure: one computation behind both
        stored = {h["hour"]: h for h in report.figures["staffing"]["hours"]}
        assert sorted(stored) == sorted(rows)
        for hour, row in rows.items():
            assert {column: _plain(row[column]) for column in VIEW_KEYS} == {
                column: stored[hour][key] for column, key in VIEW_KEYS.items()}, hour
            assert (row["business_date"], row["report_version"]) == (dt.date(2026, 11, 2), report.version)
            assert (_plain(row["target_service_level"]), row["target_answer_seconds"]) == (target.share, target.seconds)
    finally:
        with psycopg.connect(long_warehouse.database_url, autocommit=True) as conn:
            conn.execute("delete from reports.daily_report where business_date = %s and version = %s",
                         (report.business_date, report.version))


def test_the_staffing_view_flags_the_hours_short_of_staff_from_the_latest_report_of_the_day(long_warehouse):
    # The report of Sunday 11-08 (not simulated, so stored here as the snapshot stores it) advises
    # the Monday after the understaffed one; a second version replaces the first.
    target = Target(share=0.8, seconds=20)
    sunday = NEXT_MONDAY - dt.timedelta(days=1)
    with psycopg.connect(long_warehouse.database_url, row_factory=dict_row, autocommit=True) as conn:
        advice = staffing_figures(conn, NEXT_MONDAY, target)
        stale = {**advice, "hours": [{**h, "operators_needed": 99, "is_short": True} for h in advice["hours"]]}
        for version, figures in ((1, stale), (2, advice)):
            conn.execute("insert into reports.daily_report (business_date, version, figures, data_freshness, lang) "
                         "values (%s, %s, %s, '{}', 'ru')", (sunday, version, json.dumps({"staffing": figures})))
        try:
            rows = _view_rows(long_warehouse.database_url, NEXT_MONDAY)
        finally:
            conn.execute("delete from reports.daily_report where business_date = %s", (sunday,))
    expected = _expected_advice(long_warehouse.truth, target)
    problems = _mismatches(expected, rows)
    assert not problems, "\n".join(problems[:25])
    assert {r["report_version"] for r in rows.values()} == {2}
    short = {h for h, row in rows.items() if row["is_short_of_staff"]}
    assert short and short == {h for h, figures in expected.items() if figures["is_short"]}
    for hour in short:  # counted by hand from the truth: needed minus last Monday's operators
        assert rows[hour]["operators_short_count"] == (
            expected[hour]["operators_needed"] - expected[hour]["logged_in_last_week"])
