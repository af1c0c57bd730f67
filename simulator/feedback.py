"""Post-interaction ratings, and the `customers` topic history (registrations, first orders, updates)."""

from __future__ import annotations

import random

from simulator.model import Call, Customer, CustomerEvent, Order, Rating
from simulator.rand import uuid4
from simulator.reference import COMMENTS_HIGH, COMMENTS_LOW, COMMENTS_MID

CALL_RATING_SHARE = 0.22
ORDER_RATING_SHARE = 0.1
_SCORES = (1, 2, 3, 4, 5)
_SCORE_WEIGHTS = (5.0, 6.0, 12.0, 30.0, 47.0)
_SCORE_WEIGHTS_LONG_WAIT = (14.0, 14.0, 22.0, 28.0, 22.0)


def make_ratings(rng: random.Random, calls: list[Call], orders: list[Order], start_number: int) -> list[Rating]:
    ratings: list[Rating] = []
    number = start_number
    for call in calls:
        if not call.answered or rng.random() >= CALL_RATING_SHARE:
            continue
        number += 1
        score = _score(rng, long_wait=call.holdtime > 60)
        ratings.append(Rating(f"RTG-{number:08d}", uuid4(rng), "call", call.linkedid, None, call.extension,
                              call.phone, score, _comment(rng, score),
                              (call.end + rng.randint(20, 600)) * 1000 + rng.randrange(1000), call.enter))
    for order in orders:
        if order.phone is None or order.final_status != "completed" or rng.random() >= ORDER_RATING_SHARE:
            continue
        number += 1
        score = _score(rng, long_wait=False)
        ratings.append(Rating(f"RTG-{number:08d}", uuid4(rng), "order", None, order.order_id, None, order.phone,
                              score, _comment(rng, score), order.events[-1][1] + rng.randint(600_000, 72_000_000),
                              order.created_ms // 1000))
    return ratings


def _score(rng: random.Random, long_wait: bool) -> int:
    return rng.choices(_SCORES, weights=_SCORE_WEIGHTS_LONG_WAIT if long_wait else _SCORE_WEIGHTS)[0]


def _comment(rng: random.Random, score: int) -> str | None:
    if rng.random() >= 0.3:
        return None
    return rng.choice(COMMENTS_LOW if score <= 2 else COMMENTS_MID if score == 3 else COMMENTS_HIGH)


def customer_history(rng: random.Random, customers: list[Customer], orders: list[Order], first_ms: int,
                     end_ms: int, restaurant_ids: list[int]) -> list[CustomerEvent]:
    """customer_created at registration or first order, and occasional profile updates afterwards."""
    first_order: dict[str, int] = {}
    for order in orders:
        if order.phone is not None and order.created_ms < first_order.get(order.phone, end_ms + 1):
            first_order[order.phone] = order.created_ms
    events: list[CustomerEvent] = []
    for customer in customers:
        ordered_at = first_order.get(customer.phone)
        if customer.registered_ms is not None and (ordered_at is not None or customer.registered_ms >= first_ms):
            created_at = customer.registered_ms
        elif ordered_at is not None:
            created_at = ordered_at - rng.randint(200, 3000)
        else:
            continue
        events.append(CustomerEvent("customer_created", created_at, uuid4(rng), customer, created_at))
        if rng.random() < 0.06:
            updated_at = max(created_at, first_ms) + rng.randrange(max(1, end_ms - max(created_at, first_ms)))
            _change_profile(rng, customer, restaurant_ids)
            events.append(CustomerEvent("customer_updated", updated_at, uuid4(rng), customer, created_at))
    return events


def _change_profile(rng: random.Random, customer: Customer, restaurant_ids: list[int]) -> None:
    roll = rng.random()
    if roll < 0.4:
        customer.email = f"user{rng.randrange(10**7):07d}@example.ru"
    elif roll < 0.7:
        customer.marketing_opt_in = not customer.marketing_opt_in
    else:
        customer.home_restaurant_id = rng.choice(restaurant_ids)
