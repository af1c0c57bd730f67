"""Call-to-order conversion from the simulator's own objects: the order each call placed, and the
share of answered calls that placed one and the revenue per answered call (docs/metrics.md)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from simulator.model import Call, Order, Simulation


def call_orders(sim: Simulation) -> dict[str, Order]:
    """Each call's order: the first non-cancelled order (by creation, then id) carrying its linkedid."""
    placed: dict[str, Order] = {}
    for order in sorted(sim.orders, key=lambda o: (o.created_ms, o.order_id)):
        if order.call_linkedid is not None and order.final_status != "cancelled":
            placed.setdefault(order.call_linkedid, order)
    return placed


def conversion_kpis(answered: Iterable[Call], placed: dict[str, Order]) -> dict[str, Any]:
    """Conversion of `answered` calls: how many placed an order, the share, revenue per call (rubles)."""
    calls = list(answered)
    orders = [placed[c.linkedid] for c in calls if c.linkedid in placed]
    revenue = sum(o.total_kop for o in orders) / 100
    return {
        "calls_converted_count": len(orders),
        "call_conversion_rate": None if not calls else len(orders) / len(calls),
        "revenue_per_answered_call": None if not calls else revenue / len(calls),
    }
