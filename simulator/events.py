"""Kafka event documents (docs/contracts.md §1) built from the simulated objects."""

from __future__ import annotations

from typing import Any

import orjson

from simulator.clock import BusinessClock
from simulator.model import CustomerEvent, Order, Rating

SCHEMA_VERSION = 1


def _money(kop: int) -> float:
    return kop / 100


def _order_head(order: Order, index: int, clock: BusinessClock) -> dict[str, Any]:
    status, at_ms, event_id = order.events[index]
    return {
        "schema_version": SCHEMA_VERSION,
        "event_id": event_id,
        "event_type": f"order_{status}",
        "event_at": clock.iso_ms(at_ms),
        "order_id": order.order_id,
        "status": status,
    }


def order_snapshot(order: Order, clock: BusinessClock) -> dict[str, Any]:
    """The part of an order event that is the same for every status event of the order."""
    return {
        "created_at": clock.iso_ms(order.created_ms),
        "restaurant_id": order.restaurant_id,
        "channel": order.channel,
        "customer_phone": order.phone,
        "items": [{"sku": sku, "name": name, "qty": qty, "unit_price": _money(price)}
                  for sku, name, qty, price in order.items],
        "subtotal_amount": _money(order.subtotal_kop),
        "discount_amount": _money(order.discount_kop),
        "total_amount": _money(order.total_kop),
        "currency": "RUB",
        "call_linkedid": order.call_linkedid,
        "operator_extension": order.operator_extension,
    }


def order_event(order: Order, index: int, clock: BusinessClock) -> dict[str, Any]:
    return _order_head(order, index, clock) | order_snapshot(order, clock)


def order_event_json(order: Order, index: int, clock: BusinessClock, snapshot_json: bytes) -> bytes:
    """`orjson.dumps(order_event(...))` without re-serialising the snapshot for every status event."""
    return orjson.dumps(_order_head(order, index, clock))[:-1] + b"," + snapshot_json[1:]


def customer_event(event: CustomerEvent, clock: BusinessClock) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "event_at": clock.iso_ms(event.at_ms),
        "customer_phone": event.phone,
        "name": event.name,
        "email": event.email,
        "home_restaurant_id": event.home_restaurant_id,
        "marketing_opt_in": event.marketing_opt_in,
        "registered_at": clock.iso_ms(event.registered_ms),
    }


def rating_event(rating: Rating, clock: BusinessClock) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "event_id": rating.event_id,
        "event_type": "rating_submitted",
        "event_at": clock.iso_ms(rating.submitted_ms),
        "rating_id": rating.rating_id,
        "subject_type": rating.subject_type,
        "call_linkedid": rating.call_linkedid,
        "order_id": rating.order_id,
        "operator_extension": rating.operator_extension,
        "customer_phone": rating.phone,
        "score": rating.score,
        "comment": rating.comment,
    }


REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "orders": ("order_id", "status", "created_at", "restaurant_id", "channel", "customer_phone", "items",
               "subtotal_amount", "discount_amount", "total_amount", "currency", "call_linkedid",
               "operator_extension"),
    "customers": ("customer_phone", "name", "registered_at"),
    "feedback": ("rating_id", "subject_type", "call_linkedid", "order_id", "operator_extension",
                 "customer_phone", "score"),
}
COMMON_FIELDS = ("schema_version", "event_id", "event_type", "event_at")
