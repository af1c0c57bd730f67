"""`compute_truth(sim)`: the KPIs of docs/metrics.md computed from the simulator's own objects.

This is the oracle for the pipeline's marts, so it deliberately shares no code with them: it reads
the Python objects, never the written files or any SQL.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from simulator.anomalies import flag_anomalies
from simulator.model import Call, Order, Rating, Simulation
from simulator.pbx_profiles import get_profile
from simulator.truth_conversion import call_orders, conversion_kpis
from simulator.truth_recovery import compute_recovery
from simulator.truth_staffing import compute_hourly

DAILY_KPIS = ("orders_count", "cancelled_orders_count", "revenue_amount", "average_check_amount",
              "unique_customers_count", "new_customers_count", "repeat_customers_count", "repeat_customer_share",
              "calls_offered_count", "calls_answered_count", "calls_unanswered_count", "missed_call_rate",
              "short_abandon_count", "asa_seconds", "service_level", "avg_talk_seconds", "occupancy",
              "calls_per_operator_hour", "calls_converted_count", "call_conversion_rate", "revenue_per_answered_call",
              "ratings_count", "csat_mean", "csat_share", "call_ratings_count",
              "call_csat_mean", "order_ratings_count", "order_csat_mean")
PERIOD_KINDS = ("week", "month")
OPERATOR_KPIS = ("calls_handled_count", "talk_seconds_total", "avg_talk_seconds", "missed_rings_count",
                 "missed_ring_rate", "avg_pickup_seconds", "logged_in_seconds", "paused_seconds", "occupancy",
                 "ratings_count", "rating_mean", "rating_share_4_5", "phone_orders_count",
                 "calls_converted_count", "call_conversion_rate", "revenue_per_answered_call")


def ratio(numerator: float, denominator: float) -> float | None:
    """A ratio or average; null when the denominator is zero."""
    return None if denominator == 0 else numerator / denominator


def compute_truth(sim: Simulation) -> dict[str, Any]:
    config = sim.config
    days = [(config.start_date + dt.timedelta(days=i)).isoformat() for i in range(config.days)]
    clock = sim.clock
    orders_by_day: dict[str, list[Order]] = defaultdict(list)
    for order in sim.orders:
        orders_by_day[clock.date_str(order.created_ms // 1000)].append(order)
    calls_by_day: dict[str, list[Call]] = defaultdict(list)
    for call in sim.calls:
        calls_by_day[clock.date_str(call.enter)].append(call)
    ratings_by_day: dict[str, list[Rating]] = defaultdict(list)
    for rating in sim.ratings:
        ratings_by_day[clock.date_str(rating.interaction_at)].append(rating)
    first_day = _first_order_days(sim)
    placed = call_orders(sim)
    operators = _operator_daily(sim, calls_by_day, ratings_by_day, orders_by_day, placed)
    daily: dict[str, Any] = {}
    for day in days:
        daily[day] = _figures(sim, [day], orders_by_day, calls_by_day, ratings_by_day, operators, first_day, placed)
    anomalies = flag_anomalies({day: figures["chain"] for day, figures in daily.items()})
    planted = config.understaffed_date
    return {
        "params": {"seed": config.seed, "days": config.days, "restaurants": config.restaurants,
                   "start": config.start_date.isoformat(), "timezone": config.timezone,
                   "service_level_seconds": config.service_level_seconds,
                   "short_abandon_seconds": config.short_abandon_seconds, "scale": config.scale,
                   "malformed_share": config.malformed_share, "duplicate_share": config.duplicate_share,
                   "pbx_profile": config.pbx_profile},
        "daily": daily,
        "operator_daily": {day: {ext: {k: row[k] for k in OPERATOR_KPIS} for ext, row in sorted(operators[day].items())}
                           for day in days if day in operators},
        "periods": _periods(sim, days, orders_by_day, calls_by_day, ratings_by_day, operators, first_day, placed),
        "anomalies": anomalies,
        "planted_anomaly": None if planted is None else {
            "day": planted.isoformat(), "kind": "understaffed",
            # what a third of the usual staff does to the contact centre's figures
            "kpis": {"missed_call_rate": "high", "calls_unanswered_count": "high", "service_level": "low"},
        },
        "missed_call_recovery": compute_recovery(sim, placed),
        "hourly": compute_hourly(sim, days),
        "counts": compute_counts(sim),
    }


def _figures(sim: Simulation, days: list[str], orders_by_day: dict[str, list[Order]],
             calls_by_day: dict[str, list[Call]], ratings_by_day: dict[str, list[Rating]],
             operators: dict[str, dict[str, dict[str, Any]]], first_day: dict[str, str],
             placed: dict[str, Order]) -> dict[str, Any]:
    """The chain's and each restaurant's KPIs over `days` (one day, or a period's days), and the
    count of ratings per score, calls and orders apart."""
    config = sim.config
    first, last = days[0], days[-1]
    orders = [o for day in days for o in orders_by_day[day]]
    calls = [c for day in days for c in calls_by_day[day]]
    ratings = [r for day in days for r in ratings_by_day[day]]
    seconds = [row for day in days for row in operators.get(day, {}).values()]
    chain = {**_order_kpis(orders, first_day, first, last),
             **_call_kpis(calls, seconds, config.service_level_seconds, config.short_abandon_seconds),
             **conversion_kpis([c for c in calls if c.answered], placed),
             **_rating_kpis(ratings)}
    restaurants = {}
    for r in sim.restaurants:
        rest_orders = [o for o in orders if o.restaurant_id == r.restaurant_id]
        restaurants[str(r.restaurant_id)] = {k: None for k in DAILY_KPIS} | _order_kpis(rest_orders, first_day,
                                                                                        first, last)
    by_score = {subject: {str(score): sum(1 for r in ratings if r.subject_type == subject and r.score == score)
                          for score in range(1, 6)} for subject in ("call", "order")}
    return {"chain": {k: chain[k] for k in DAILY_KPIS}, "restaurants": restaurants, "ratings": by_score}


def period_of(kind: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The week (Monday to Sunday) or calendar month holding `day`: (first day, last day)."""
    if kind == "week":
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=6)
    start = day.replace(day=1)
    following = (start + dt.timedelta(days=32)).replace(day=1)
    return start, following - dt.timedelta(days=1)


def _periods(sim: Simulation, days: list[str], *facts: Any) -> dict[str, dict[str, Any]]:
    """Every week and month holding a simulated day: its KPIs over its simulated days."""
    periods: dict[str, dict[str, Any]] = {kind: {} for kind in PERIOD_KINDS}
    for kind in PERIOD_KINDS:
        grouped: dict[tuple[dt.date, dt.date], list[str]] = defaultdict(list)
        for day in days:
            grouped[period_of(kind, dt.date.fromisoformat(day))].append(day)
        for (start, end), period_days in sorted(grouped.items()):
            figures = _figures(sim, period_days, *facts)
            periods[kind][start.isoformat()] = {"end": end.isoformat(), "days_count": len(period_days),
                                                 "chain": figures["chain"], "restaurants": figures["restaurants"]}
    return periods


def _first_order_days(sim: Simulation) -> dict[str, str]:
    """Each customer's first business day with a non-cancelled order (within the data)."""
    first: dict[str, str] = {}
    for order in sim.orders:
        if order.phone is None or order.final_status == "cancelled":
            continue
        day = sim.clock.date_str(order.created_ms // 1000)
        if order.phone not in first or day < first[order.phone]:
            first[order.phone] = day
    return first


def _order_kpis(orders: list[Order], first_day: dict[str, str], first: str, last: str) -> dict[str, Any]:
    """Order and customer KPIs of orders created from day `first` to day `last`."""
    kept = [o for o in orders if o.final_status != "cancelled"]
    revenue_kop = sum(o.total_kop for o in kept)
    phones = {o.phone for o in kept if o.phone is not None}
    new = sum(1 for p in phones if first <= first_day[p] <= last)
    return {
        "orders_count": len(kept),
        "cancelled_orders_count": len(orders) - len(kept),
        "revenue_amount": revenue_kop / 100,
        "average_check_amount": ratio(revenue_kop / 100, len(kept)),
        "unique_customers_count": len(phones),
        "new_customers_count": new,
        "repeat_customers_count": len(phones) - new,
        "repeat_customer_share": ratio(len(phones) - new, len(phones)),
    }


def _call_kpis(calls: list[Call], operator_rows: list[dict[str, Any]], service_level_seconds: int,
               short_abandon_seconds: int) -> dict[str, Any]:
    answered = [c for c in calls if c.answered]
    short = sum(1 for c in calls if c.outcome == "ABANDON" and c.waittime < short_abandon_seconds)
    within = sum(1 for c in answered if c.holdtime <= service_level_seconds)
    talk = sum(c.talk for c in answered)
    logged = sum(row["logged_in_seconds"] for row in operator_rows)
    available = logged - sum(row["paused_seconds"] for row in operator_rows)
    return {
        "calls_offered_count": len(calls),
        "calls_answered_count": len(answered),
        "calls_unanswered_count": len(calls) - len(answered),
        "missed_call_rate": ratio(len(calls) - len(answered), len(calls)),
        "short_abandon_count": short,
        "asa_seconds": ratio(sum(c.holdtime for c in answered), len(answered)),
        "service_level": ratio(within, len(calls) - short),
        "avg_talk_seconds": ratio(talk, len(answered)),
        "occupancy": ratio(talk, available),
        "calls_per_operator_hour": ratio(len(answered), logged / 3600),
    }


def _rating_kpis(ratings: list[Rating]) -> dict[str, Any]:
    calls = [r.score for r in ratings if r.subject_type == "call"]
    orders = [r.score for r in ratings if r.subject_type == "order"]
    return {
        "ratings_count": len(ratings),
        "csat_mean": ratio(sum(r.score for r in ratings), len(ratings)),
        "csat_share": ratio(sum(1 for r in ratings if r.score >= 4), len(ratings)),
        "call_ratings_count": len(calls),
        "call_csat_mean": ratio(sum(calls), len(calls)),
        "order_ratings_count": len(orders),
        "order_csat_mean": ratio(sum(orders), len(orders)),
    }


def _empty_operator_row() -> dict[str, Any]:
    return {"calls_handled_count": 0, "talk_seconds_total": 0, "missed_rings_count": 0, "pickup_total": 0,
            "handled": [],
            "logged_in_seconds": 0, "paused_seconds": 0, "scores": [], "phone_orders_count": 0}


def _operator_daily(sim: Simulation, calls_by_day: dict[str, list[Call]],
                    ratings_by_day: dict[str, list[Rating]],
                    orders_by_day: dict[str, list[Order]],
                    placed: dict[str, Order]) -> dict[str, dict[str, dict[str, Any]]]:
    clock = sim.clock
    rows: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)

    def row(day: str, ext: str) -> dict[str, Any]:
        found = rows[day].get(ext)
        if found is None:
            found = rows[day][ext] = _empty_operator_row()
        return found

    for session in sim.sessions:
        row(clock.date_str(session.start), session.extension)["logged_in_seconds"] += session.end - session.start
    for pause in sim.pauses:
        row(clock.date_str(pause.start), pause.extension)["paused_seconds"] += pause.end - pause.start
    for day, calls in calls_by_day.items():
        for call in calls:
            for ring in call.rings:
                if ring.event == "RINGNOANSWER":
                    row(day, ring.extension)["missed_rings_count"] += 1
            if call.extension is not None:
                r = row(day, call.extension)
                r["calls_handled_count"] += 1
                r["talk_seconds_total"] += call.talk
                r["pickup_total"] += call.ringtime
                r["handled"].append(call)
    for day, ratings in ratings_by_day.items():
        for rating in ratings:
            if rating.subject_type == "call" and rating.operator_extension is not None:
                row(day, rating.operator_extension)["scores"].append(rating.score)
    for day, orders in orders_by_day.items():
        for order in orders:
            if order.operator_extension is not None and order.final_status != "cancelled":
                row(day, order.operator_extension)["phone_orders_count"] += 1
    for day_rows in rows.values():
        for r in day_rows.values():
            _finish_operator_row(r)
            r.update(conversion_kpis(r.pop("handled"), placed))
    return rows


def _finish_operator_row(r: dict[str, Any]) -> None:
    handled, missed, scores = r["calls_handled_count"], r["missed_rings_count"], r.pop("scores")
    r["avg_talk_seconds"] = ratio(r["talk_seconds_total"], handled)
    r["missed_ring_rate"] = ratio(missed, missed + handled)
    r["avg_pickup_seconds"] = ratio(r.pop("pickup_total"), handled)
    r["occupancy"] = ratio(r["talk_seconds_total"], r["logged_in_seconds"] - r["paused_seconds"])
    r["ratings_count"] = len(scores)
    r["rating_mean"] = ratio(sum(scores), len(scores))
    r["rating_share_4_5"] = ratio(sum(1 for s in scores if s >= 4), len(scores))


def compute_counts(sim: Simulation) -> dict[str, Any]:
    """Volumes of every output, so landing tests can check nothing was lost or double-counted."""
    malformed: dict[str, int] = {s: 0 for s in ("kafka:orders", "kafka:customers", "kafka:feedback",
                                                "pbx_cdr:file", "pbx_queue_log:file")}
    for record in sim.malformed:
        malformed[record.source] += 1
    unique = {"orders": sum(len(o.events) for o in sim.orders), "customers": len(sim.customer_events),
              "feedback": len(sim.ratings)}
    duplicates = {"orders": len(sim.duplicates), "customers": 0, "feedback": 0}
    profile = get_profile(sim.config.pbx_profile)
    lines_per_pause = 4 if profile.pause_all else 2  # PAUSEALL and UNPAUSEALL besides PAUSE and UNPAUSE
    queue_log_lines = (len(sim.housekeeping) + 2 * len(sim.sessions) + lines_per_pause * len(sim.pauses)
                       + sum(1 + profile.did_lines + (2 if c.answered else 1)
                             + sum(1 for r in c.rings if r.event == "RINGNOANSWER" or profile.ring_canceled)
                             for c in sim.calls))
    return {
        "valid_messages": {t: unique[t] + duplicates[t] for t in unique},
        "unique_events": unique,
        "duplicates": duplicates,
        "malformed": malformed,
        "messages_total": {t: unique[t] + duplicates[t] + malformed[f"kafka:{t}"] for t in unique},
        "orders": len(sim.orders),
        "calls": len(sim.calls),
        "cdr_rows": len(sim.cdrs),
        "queue_log_lines": queue_log_lines,
        "customers": len({e.phone for e in sim.customer_events}),
        "ratings": len(sim.ratings),
        "operators": len(sim.operators),
    }
