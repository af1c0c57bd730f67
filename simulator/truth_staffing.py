"""Per business day and local hour, from the simulator's own objects: the calls offered and answered,
their talk time, and the operators logged in at some moment of the hour — what the staffing advice
(Erlang C, docs/metrics.md) forecasts from and compares with."""

from __future__ import annotations

import datetime as dt
from typing import Any

from simulator.model import Simulation


def compute_hourly(sim: Simulation, days: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """{business date: {hour (str): {calls_offered_count, calls_answered_count, talk_seconds_total,
    operators_logged_in_count}}} for every simulated day and all 24 hours."""
    tz = sim.clock.tz
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for day in days:
        date = dt.date.fromisoformat(day)
        starts = [int(dt.datetime.combine(date, dt.time(h), tzinfo=tz).timestamp()) for h in range(24)]
        rows[day] = {str(h): {"calls_offered_count": 0, "calls_answered_count": 0, "talk_seconds_total": 0,
                              "operators_logged_in_count": len({s.extension for s in sim.sessions
                                                                 if s.start < start + 3600 and s.end > start})}
                     for h, start in enumerate(starts)}
    for call in sim.calls:
        day = sim.clock.date_str(call.enter)
        if day not in rows:
            continue
        hour = (call.enter + sim.clock.offset(call.enter)) % 86400 // 3600
        row = rows[day][str(hour)]
        row["calls_offered_count"] += 1
        if call.answered:
            row["calls_answered_count"] += 1
            row["talk_seconds_total"] += call.talk
    return rows
