"""Staffing advice for a day, hour by hour (docs/metrics.md, "Staffing advice"): the calls to expect
(the mean of the same weekday over the four weeks before), their handle time, the operators Erlang C
says reach the service-level target, the ASA they give, and the operators who were logged in at that
hour on the same weekday last week; an hour with fewer than needed is short.

Read from marts.hourly_kpis; the queueing maths is pantao/erlang_c.py. `advise` is pure (tested
without a database), `staffing_figures` reads the marts and returns what the reports store.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pantao.erlang_c import staffing

WEEKS = 4  # the forecast is the mean of the same weekday over this many weeks before the day


@dataclass(frozen=True)
class Target:
    share: float = 0.8  # SERVICE_LEVEL_TARGET
    seconds: int = 20  # SERVICE_LEVEL_SECONDS


DEFAULT_TARGET = Target()


@dataclass(frozen=True)
class HourAdvice:
    hour: int
    forecast_calls: float
    aht_seconds: float | None
    operators_needed: int | None
    service_level: float | None
    asa_seconds: float | None
    logged_in_last_week: int | None
    is_short: bool


def history_days(day: dt.date) -> list[dt.date]:
    """The same weekday in each of the WEEKS weeks before `day`, the latest first."""
    return [day - dt.timedelta(weeks=w) for w in range(1, WEEKS + 1)]


def _aht(rows: list[Mapping[str, Any]]) -> float | None:
    answered = sum(int(r["calls_answered_count"] or 0) for r in rows)
    talk = sum(float(r["avg_talk_seconds"] or 0) * int(r["calls_answered_count"] or 0) for r in rows)
    return talk / answered if answered else None


def advise(history: Mapping[dt.date, Mapping[int, Mapping[str, Any]]], day: dt.date, target: Target
           ) -> list[HourAdvice]:
    """The advice for `day` from `history`: {date: {hour: marts.hourly_kpis row}}; the weeks missing
    from it (before the data starts) are left out of the mean. Hours with neither calls expected nor
    anyone logged in last week are left out; no history at all: no advice."""
    known = [d for d in history_days(day) if d in history]
    if not known:
        return []
    whole_days = _aht([row for d in known for row in history[d].values()])
    last_week = history.get(day - dt.timedelta(weeks=1))
    advice = []
    for hour in range(24):
        rows = [history[d][hour] for d in known if hour in history[d]]
        forecast = sum(int(r["calls_offered_count"] or 0) for r in rows) / len(known)
        logged_in = None if last_week is None or hour not in last_week else int(
            last_week[hour]["operators_logged_in_count"] or 0)
        if forecast == 0 and not logged_in:
            continue
        aht = _aht(rows) or whole_days
        if aht is None:
            advice.append(HourAdvice(hour, forecast, None, None, None, None, logged_in, False))
            continue
        plan = staffing(forecast, aht, target.share, target.seconds)
        asa = None if math.isinf(plan.asa_seconds) else plan.asa_seconds
        advice.append(HourAdvice(hour, forecast, aht, plan.operators, plan.service_level, asa, logged_in,
                                 logged_in is not None and logged_in < plan.operators))
    return advice


def read_history(conn, day: dt.date) -> dict[dt.date, dict[int, dict[str, Any]]]:
    """marts.hourly_kpis of the days `advise` needs: the WEEKS same weekdays before `day`."""
    rows = conn.execute(
        "select business_date, hour, calls_offered_count, calls_answered_count, avg_talk_seconds, "
        "operators_logged_in_count from marts.hourly_kpis where business_date = any(%s)",
        (history_days(day),)).fetchall()
    history: dict[dt.date, dict[int, dict[str, Any]]] = {}
    for row in rows:
        history.setdefault(row["business_date"], {})[int(row["hour"])] = row
    return history


def staffing_figures(conn, day: dt.date, target: Target) -> dict[str, Any]:
    """What a report stores: the day advised, the target, and the advice per hour (JSON-ready)."""
    return {"date": day.isoformat(), "target": target.share, "seconds": target.seconds,
            "hours": [asdict(h) for h in advise(read_history(conn, day), day, target)]}


# -- what the report shows -------------------------------------------------------------------
def staffing_table(figures: Mapping[str, Any], msg: Any) -> dict[str, Any] | None:
    """Per hour: calls expected, handle time, operators needed, the level and ASA they give, last
    week's operators; a short hour is marked (a red row, and «не хватает N» in words)."""
    staffing_ = figures.get("staffing")
    if staffing_ is None:
        return None
    rows, classes = [], []
    for h in staffing_["hours"]:
        short = h["is_short"]
        rows.append([f"{h['hour']:02d}:00", msg.number(h["forecast_calls"], 1), msg.seconds(h["aht_seconds"]),
                     msg.number(h["operators_needed"]), msg.percent(h["service_level"]),
                     msg.seconds(h["asa_seconds"]), msg.number(h["logged_in_last_week"]),
                     msg.t("staffing_short", count=h["operators_needed"] - h["logged_in_last_week"]) if short else ""])
        classes.append("short" if short else "")
    day = dt.date.fromisoformat(staffing_["date"])
    return {"id": "staffing", "title": msg.t("staffing_section", date=msg.date(day), weekday=msg.weekday(day)),
            "header": [msg.t(k) for k in ("hour", "staffing_forecast", "staffing_aht", "staffing_needed",
                                          "staffing_level", "staffing_asa", "staffing_last_week", "staffing_gap")],
            "rows": rows, "row_classes": classes,
            "note": msg.t("staffing_note", share=msg.percent(staffing_["target"], 0), seconds=staffing_["seconds"])}


def staffing_line(figures: Mapping[str, Any], msg: Any) -> str | None:
    """«Операторы на 03.11: не хватает в 18, 19, 20 ч» or «хватает во все часы»; None without the section."""
    staffing_ = figures.get("staffing")
    if staffing_ is None or not staffing_["hours"]:
        return None
    day = dt.date.fromisoformat(staffing_["date"])
    short = [f"{h['hour']:02d}" for h in staffing_["hours"] if h["is_short"]]
    text = msg.t("staffing_short_hours", hours=", ".join(short)) if short else msg.t("staffing_enough")
    return f"{msg.t('staffing', date=msg.short_date(day))}: {text}"
