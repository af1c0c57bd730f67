"""The anomaly flags of docs/metrics.md computed from the truth's own daily figures (the oracle for
reports/anomalies.py, sharing no code with it).

A KPI of a day is compared with the same weekday of the previous 4 weeks: with at least 3 of those
values, its usual band is median ± 3 × spread, the spread being 1.4826 × the median absolute
deviation, but at least 10 % of the median and at least the KPI's own noise floor (a count: the
square root of its median, as for a Poisson count, and at least 1; an amount 1 RUB; a share half a
percentage point; seconds 1; a mean score 0.05; calls per operator-hour 0.1). A value outside the
band is flagged "high" or "low".
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from typing import Any

HISTORY_WEEKS = 4
MIN_HISTORY = 3
WIDTH = 3.0
MAD_TO_SIGMA = 1.4826
RELATIVE_FLOOR = 0.1
SHARES = ("repeat_customer_share", "missed_call_rate", "service_level", "occupancy", "csat_share",
          "call_conversion_rate")
SCORES = ("csat_mean", "call_csat_mean", "order_csat_mean")


def noise_floor(kpi: str, median: float) -> float:
    """The smallest spread this KPI is given, by what it measures."""
    if kpi.endswith("_count"):
        return max(1.0, math.sqrt(abs(median)))
    if kpi in SHARES:
        return 0.005
    if kpi in SCORES:
        return 0.05
    if kpi == "calls_per_operator_hour":
        return 0.1
    return 1.0  # amounts in RUB, seconds


def usual_band(kpi: str, history: list[float]) -> tuple[float, float, float] | None:
    """(median, low, high) of the history, or None when it is shorter than MIN_HISTORY."""
    if len(history) < MIN_HISTORY:
        return None
    median = statistics.median(history)
    mad = statistics.median(abs(v - median) for v in history)
    spread = max(MAD_TO_SIGMA * mad, RELATIVE_FLOOR * abs(median), noise_floor(kpi, median))
    return median, median - WIDTH * spread, median + WIDTH * spread


def flag_anomalies(daily_chain: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """{day: {kpi: {direction, median, low, high, value}}} for every flagged KPI of every day."""
    flags: dict[str, dict[str, dict[str, Any]]] = {}
    for day, figures in daily_chain.items():
        date = dt.date.fromisoformat(day)
        earlier = [daily_chain.get((date - dt.timedelta(weeks=w)).isoformat()) for w in range(1, HISTORY_WEEKS + 1)]
        for kpi, value in figures.items():
            if value is None:
                continue
            history = [float(row[kpi]) for row in earlier if row is not None and row.get(kpi) is not None]
            band = usual_band(kpi, history)
            if band is None:
                continue
            median, low, high = band
            if low <= value <= high:
                continue
            flags.setdefault(day, {})[kpi] = {"direction": "high" if value > high else "low", "value": value,
                                              "median": median, "low": low, "high": high}
    return flags
