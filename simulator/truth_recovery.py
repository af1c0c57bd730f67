"""The missed-call recovery worklist from the simulator's own objects (docs/metrics.md,
"Missed-call recovery"): per business day and caller, the unanswered calls nobody reached back
within the callback window, what the chain knew of the caller, and the expected lost revenue."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from simulator.model import Call, Order, Simulation

CALLBACK_WINDOW_HOURS = 24  # the pipeline's default (CALLBACK_WINDOW_HOURS)
LEARNING_DAYS = 28  # the conversion is learnt from the answered calls of the 28 days up to the day


def phone_key(phone: str) -> str:
    """The last ten digits: one number however the PBX wrote it (+7…, 8…)."""
    return "".join(ch for ch in phone if ch.isdigit())[-10:]


def _local_hour(sim: Simulation, secs: int) -> int:
    return (secs + sim.clock.offset(secs)) % 86400 // 3600


def _contacts(sim: Simulation) -> tuple[dict[str, list[tuple[int, bool]]], dict[str, list[int]]]:
    """Per number: operators' outbound calls (start, answered) and the answered inbound calls' connects."""
    extensions = {op.extension for op in sim.operators}
    outbound: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for cdr in sim.cdrs:
        if cdr.src in extensions and cdr.dcontext == "from-internal":
            outbound[phone_key(cdr.dst)].append((cdr.start, cdr.disposition == "ANSWERED"))
    answered: dict[str, list[int]] = defaultdict(list)
    for call in sim.calls:
        if call.answered:
            answered[phone_key(call.phone)].append(call.connect_at)
    return outbound, answered


def _customers(sim: Simulation) -> tuple[set[str], dict[str, list[Order]]]:
    known = {e.phone for e in sim.customer_events} | {o.phone for o in sim.orders if o.phone is not None}
    kept: dict[str, list[Order]] = defaultdict(list)
    for order in sim.orders:
        if order.phone is not None and order.final_status != "cancelled":
            kept[order.phone].append(order)
    return known, kept


def compute_recovery(sim: Simulation, placed: dict[str, Order],
                     window_hours: int = CALLBACK_WINDOW_HOURS) -> dict[str, dict[str, dict[str, Any]]]:
    """{business date: {caller phone: the worklist row}} (only days with a row)."""
    window = window_hours * 3600
    outbound, answered_at = _contacts(sim)
    known, kept = _customers(sim)

    def ordered_before(phone: str, secs: int) -> bool:
        return any(o.created_ms < secs * 1000 for o in kept.get(phone, ()))

    groups: dict[tuple[str, str], list[tuple[Call, int]]] = defaultdict(list)
    for call in sim.calls:
        if call.answered or not call.phone:
            continue
        key, end = phone_key(call.phone), call.end
        tries = [ok for at, ok in outbound.get(key, ()) if end < at <= end + window]
        reached = any(tries) or any(end < at <= end + window for at in answered_at.get(key, ()))
        if not reached:
            groups[(sim.clock.date_str(call.enter), call.phone)].append((call, len(tries)))

    # the answered calls as the conversion learns from them, summed per business day: per (hour,
    # caller had ordered before) [calls, calls that placed an order]; and [orders placed, their
    # kopecks]. A worklist row reads the LEARNING_DAYS days up to its own (a year of calls is
    # read once, not once per row)
    slots: dict[str, dict[tuple[int, bool], list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    placed_orders: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in sim.calls:
        if not c.answered:
            continue
        day = sim.clock.date_str(c.enter)
        slot = slots[day][(_local_hour(sim, c.enter), ordered_before(c.phone, c.enter))]
        slot[0] += 1
        if c.linkedid in placed:
            slot[1] += 1
            placed_orders[day][0] += 1
            placed_orders[day][1] += placed[c.linkedid].total_kop

    rows: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for (day, phone), tries in sorted(groups.items()):
        calls = sorted((c for c, _ in tries), key=lambda c: c.enter)
        last = calls[-1]
        hour, before = _local_hour(sim, last.enter), ordered_before(phone, last.enter)
        window_days = [(dt.date.fromisoformat(day) - dt.timedelta(days=back)).isoformat()
                       for back in range(LEARNING_DAYS)]
        same_calls = sum(slots[d][(hour, before)][0] for d in window_days if d in slots)
        same_converted = sum(slots[d][(hour, before)][1] for d in window_days if d in slots)
        rate = same_converted / same_calls if same_calls else 0.0
        orders_placed = sum(placed_orders[d][0] for d in window_days if d in placed_orders)
        kopecks_placed = sum(placed_orders[d][1] for d in window_days if d in placed_orders)
        own = kept.get(phone, [])
        own_check = sum(o.total_kop for o in own) / 100 / len(own) if own else None
        check = own_check if own_check is not None else (
            kopecks_placed / 100 / orders_placed if orders_placed else None)
        rows[day][phone] = {
            "is_known_customer": phone in known,
            "had_ordered_before": before,
            "lifetime_orders_count": len(own),
            "average_check_amount": own_check,
            "first_call_at": calls[0].enter,
            "last_call_at": last.enter,
            "last_call_hour": hour,
            "attempts_count": len(calls),
            "wait_seconds_total": sum(c.waittime for c in calls),
            "callback_attempts_count": sum(n for _, n in tries),
            "expected_conversion_rate": rate,
            "expected_check_amount": check,
            "expected_lost_revenue_amount": rate * (check or 0.0),
        }
    return dict(rows)
