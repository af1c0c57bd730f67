"""Weeks, months, ratings apart and anomaly flags against the simulator's truth, on `long_warehouse`
(five weeks and a Monday whose contact centre had one operator per queue: a known anomaly)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from pantao.kpis import load_kpis
from reports.anomalies import report_flags
from reports.snapshot import collect_figures
from tests.test_marts_oracle import DAILY_KPIS, same

pytestmark = pytest.mark.slow
RESTAURANT_KPIS = DAILY_KPIS[:8]


def fetch(database_url: str, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def test_the_simulation_covers_five_weeks_all_of_october_and_plants_one_anomaly(long_warehouse):
    truth = long_warehouse.truth
    assert sorted(truth["periods"]["week"]) == ["2026-09-28", "2026-10-05", "2026-10-12", "2026-10-19",
                                                "2026-10-26", "2026-11-02"]
    assert truth["periods"]["month"]["2026-10-01"]["days_count"] == 31
    assert truth["planted_anomaly"]["day"] == "2026-11-02"


@pytest.mark.parametrize("kind", ["week", "month"])
def test_period_kpis_equal_the_truth_for_the_chain(long_warehouse, kind):
    truth = long_warehouse.truth["periods"][kind]
    rows = {r["period_start"].isoformat(): r for r in fetch(
        long_warehouse.database_url, "select * from marts.period_kpis where period_kind = %s", (kind,))}
    assert set(rows) == set(truth)
    problems = []
    for start, expected in truth.items():
        row = rows[start]
        if (row["period_end"].isoformat(), row["days_count"]) != (expected["end"], expected["days_count"]):
            problems.append(f"{start}: ends {row['period_end']} with {row['days_count']} days, truth {expected['end']}")
        problems += [f"{start} {kpi}: truth {expected['chain'][kpi]!r}, mart {row[kpi]!r}"
                     for kpi in DAILY_KPIS if not same(expected["chain"][kpi], row[kpi])]
    assert not problems, "\n".join(problems[:25])


@pytest.mark.parametrize("kind", ["week", "month"])
def test_restaurant_period_kpis_equal_the_truth(long_warehouse, kind):
    truth = long_warehouse.truth["periods"][kind]
    rows = {(r["period_start"].isoformat(), str(r["restaurant_id"])): r for r in fetch(
        long_warehouse.database_url, "select * from marts.restaurant_period_kpis where period_kind = %s", (kind,))}
    expected = {(start, rid): kpis for start, period in truth.items() for rid, kpis in period["restaurants"].items()}
    assert set(rows) == set(expected)
    problems = [f"{key} {kpi}: truth {kpis[kpi]!r}, mart {rows[key][kpi]!r}"
                for key, kpis in expected.items() for kpi in RESTAURANT_KPIS if not same(kpis[kpi], rows[key][kpi])]
    assert not problems, "\n".join(problems[:25])


def test_a_week_is_not_the_sum_of_its_days_for_customers(long_warehouse):
    """Customers who ordered on several days of the week count once: the period mart is not a sum."""
    url = long_warehouse.database_url
    week = fetch(url, "select unique_customers_count from marts.period_kpis "
                      "where period_kind = 'week' and period_start = '2026-10-05'")[0]["unique_customers_count"]
    days = fetch(url, "select sum(unique_customers_count) as n from marts.daily_kpis "
                      "where business_date between '2026-10-05' and '2026-10-11'")[0]["n"]
    assert 0 < week < days


def test_daily_ratings_apart_and_by_score_equal_the_truth(long_warehouse):
    truth = long_warehouse.truth["daily"]
    with psycopg.connect(long_warehouse.database_url, row_factory=dict_row) as conn:
        for day in ("2026-10-07", "2026-11-02"):
            figures = collect_figures(conn, dt.date.fromisoformat(day))
            assert figures["ratings"] == truth[day]["ratings"], day
            for kpi in ("ratings_count", "call_ratings_count", "call_csat_mean", "order_ratings_count",
                        "order_csat_mean", "csat_mean"):
                assert same(truth[day]["chain"][kpi], figures["chain"][kpi]), (day, kpi)


def test_anomaly_flags_equal_the_truth_on_every_day_with_three_weeks_of_history(long_warehouse):
    truth = long_warehouse.truth
    kpis = load_kpis()
    days = sorted(truth["daily"])[21:]  # from the fourth Monday on, at least three same weekdays before
    checked = 0
    with psycopg.connect(long_warehouse.database_url, row_factory=dict_row) as conn:
        for day in days:
            flags = report_flags(collect_figures(conn, dt.date.fromisoformat(day)), kpis)
            usual = {f.kpi: f.direction for f in flags if f.band is not None}
            expected = {kpi: flag["direction"] for kpi, flag in truth["anomalies"].get(day, {}).items()}
            assert usual == expected, day
            for flag in flags:
                if flag.band is not None:
                    band = truth["anomalies"][day][flag.kpi]
                    assert flag.band.median == pytest.approx(band["median"], rel=1e-6, abs=1e-6)
            checked += 1
    assert checked == 15


def test_the_planted_anomaly_is_flagged_and_the_alert_threshold_flags_too(long_warehouse):
    planted = long_warehouse.truth["planted_anomaly"]
    with psycopg.connect(long_warehouse.database_url, row_factory=dict_row) as conn:
        figures = collect_figures(conn, dt.date.fromisoformat(planted["day"]))
    flags = {f.kpi: f for f in report_flags(figures, load_kpis())}
    for kpi, direction in planted["kpis"].items():
        assert flags[kpi].direction == direction and flags[kpi].band is not None, kpi
    missed = flags["missed_call_rate"]
    assert missed.value > 0.15 and missed.threshold == 0.15 and missed.worse is True
