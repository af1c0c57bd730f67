"""Anomaly flags: which KPIs of a day are out of the ordinary, and which crossed an alert threshold.

Each KPI of the day is compared with the same weekday of the previous 4 weeks (docs/metrics.md,
"Anomaly flags"): from at least 3 of those values, its usual band is the median ± 3 spreads, a
spread being 1.4826 × the median absolute deviation (the standard deviation of normal data), but at
least 10 % of the median and at least the KPI's noise floor by unit (a count: √median, as for a
Poisson count, and ≥ 1; RUB 1; a share half a point; seconds 1; a score 0.05; calls per hour 0.1).
The same weekday, because Fridays and Mondays differ more than two Fridays do; the median and its
deviation, because one odd week among four must not widen the band for the others.
A KPI whose alert rule (meta.kpi.alert, the Prometheus rule's threshold) is crossed is flagged too.

Pure functions over the stored figures: the HTML cards, the Telegram summary and the bot all flag
from the same call, and a stored version always shows the same flags.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pantao.kpis import Kpi

HISTORY_WEEKS = 4
MIN_HISTORY = 3
WIDTH = 3.0
MAD_TO_SIGMA = 1.4826
RELATIVE_FLOOR = 0.1
UNIT_FLOORS = {"rub": 1.0, "share": 0.005, "seconds": 1.0, "score": 0.05, "calls_per_hour": 0.1}
# The values a KPI of this unit can take at all: a band is shown inside them.
UNIT_RANGES = {"share": (0.0, 1.0), "score": (1.0, 5.0)}


@dataclass(frozen=True)
class Band:
    """The usual values of a KPI on this weekday: median, low and high end, from `weeks` weeks."""

    median: float
    low: float
    high: float
    weeks: int


@dataclass(frozen=True)
class Flag:
    """A KPI of the day outside its usual band (`band` set) or past its alert threshold (`threshold` set)."""

    kpi: str
    value: float
    direction: str  # "high" or "low"
    band: Band | None = None
    threshold: float | None = None
    worse: bool | None = None  # by the KPI's higher_is_better; None when neither way is bad news


def history_dates(day: dt.date) -> list[dt.date]:
    """The same weekday of the previous HISTORY_WEEKS weeks, the latest first."""
    return [day - dt.timedelta(weeks=w) for w in range(1, HISTORY_WEEKS + 1)]


def noise_floor(kpi: Kpi, median: float) -> float:
    if kpi.unit == "count":
        return max(1.0, math.sqrt(abs(median)))
    return UNIT_FLOORS[kpi.unit]


def usual_band(kpi: Kpi, history: list[float]) -> Band | None:
    """The band of `history` (the same weekday's values), or None with fewer than MIN_HISTORY of them."""
    if len(history) < MIN_HISTORY:
        return None
    median = statistics.median(history)
    mad = statistics.median(abs(v - median) for v in history)
    spread = max(MAD_TO_SIGMA * mad, RELATIVE_FLOOR * abs(median), noise_floor(kpi, median))
    low, high = median - WIDTH * spread, median + WIDTH * spread
    floor, ceiling = UNIT_RANGES.get(kpi.unit, (0.0, math.inf))  # every KPI is non-negative
    return Band(median, max(low, floor), min(high, ceiling), len(history))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def find_flags(chain: Mapping[str, Any], history: list[Mapping[str, Any] | None],
               kpis: Mapping[str, Kpi]) -> list[Flag]:
    """The flags of a day's `chain` row against `history` (the rows of history_dates, None where the
    marts have no row), in the registry's KPI order."""
    flags = []
    for name, kpi in kpis.items():
        value = _number(chain.get(name))
        if value is None:
            continue
        past = [v for v in (_number((row or {}).get(name)) for row in history) if v is not None]
        band = usual_band(kpi, past)
        outside = band is not None and not band.low <= value <= band.high
        threshold = None
        if kpi.alert_above is not None and value > kpi.alert_above:
            threshold = kpi.alert_above
        elif kpi.alert_below is not None and value < kpi.alert_below:
            threshold = kpi.alert_below
        if not outside and threshold is None:
            continue
        direction = ("high" if value > band.high else "low") if outside else (
            "high" if threshold == kpi.alert_above else "low")
        worse = None if kpi.higher_is_better is None else (direction == "high") != kpi.higher_is_better
        flags.append(Flag(name, value, direction, band if outside else None, threshold, worse))
    return flags


def report_flags(figures: Mapping[str, Any], kpis: Mapping[str, Kpi]) -> list[Flag]:
    """The flags of a stored day report (its `chain` and `history`); none for reports without history."""
    history = figures.get("history")
    if history is None:
        return []
    day = dt.date.fromisoformat(figures["business_date"])
    return find_flags(figures.get("chain") or {}, [history.get(d.isoformat()) for d in history_dates(day)], kpis)
