"""The staffing advice from a few hand-made hours (reports/staffing.py `advise`, no database)."""

from __future__ import annotations

import datetime as dt

from reports.staffing import Target, advise

DAY = dt.date(2026, 11, 9)  # a Monday


def hour(offered: int, answered: int, talk: float | None, logged_in: int) -> dict:
    return {"calls_offered_count": offered, "calls_answered_count": answered, "avg_talk_seconds": talk,
            "operators_logged_in_count": logged_in}


def test_the_forecast_is_the_mean_of_the_four_same_weekdays_and_the_need_comes_from_erlang_c():
    # 10:00 on the four Mondays before: 180, 220, 200, 200 calls (mean 200), all answered in 180 s;
    # 200 calls an hour of 180 s are the textbook's 10 erlangs: 14 operators for 80 % within 20 s
    calls = {1: 180, 2: 220, 3: 200, 4: 200}
    history = {DAY - dt.timedelta(weeks=w): {10: hour(n, n, 180.0, 12)} for w, n in calls.items()}
    [advice] = advise(history, DAY, Target(0.8, 20))
    assert (advice.hour, advice.forecast_calls, advice.aht_seconds) == (10, 200.0, 180.0)
    assert advice.operators_needed == 14 and advice.logged_in_last_week == 12 and advice.is_short
    assert round(advice.service_level, 3) == 0.888


def test_an_hour_covered_last_week_is_not_short():
    history = {DAY - dt.timedelta(weeks=w): {10: hour(200, 200, 180.0, 14)} for w in (1, 2, 3, 4)}
    [advice] = advise(history, DAY, Target(0.8, 20))
    assert advice.operators_needed == 14 and not advice.is_short


def test_an_hour_without_answered_calls_takes_the_days_handle_time():
    # 09:00 had 2 calls, none answered; the days' answered calls took 240 s on average
    history = {DAY - dt.timedelta(weeks=1): {9: hour(2, 0, None, 1), 10: hour(10, 10, 240.0, 3)}}
    advice = {a.hour: a for a in advise(history, DAY, Target())}
    assert advice[9].aht_seconds == 240.0 and advice[9].forecast_calls == 2.0


def test_quiet_hours_and_no_history_give_no_advice():
    history = {DAY - dt.timedelta(weeks=1): {3: hour(0, 0, None, 0)}}
    assert advise(history, DAY, Target()) == []
    assert advise({}, DAY, Target()) == []
