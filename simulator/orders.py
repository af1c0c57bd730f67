"""Orders: walk-in, app, web and delivery-partner demand per restaurant, and phone orders taken by
operators during answered calls; then each order's status history (created -> paid -> completed,
some cancelled) and the re-sent duplicates."""

from __future__ import annotations

import bisect
import math
import random
from itertools import accumulate

from simulator.customers import CustomerPool
from simulator.model import Call, Order, Restaurant
from simulator.rand import poisson, uuid4, weighted_picker
from simulator.reference import MENU, SAUCE

NON_PHONE_CHANNELS = ("app", "kiosk", "web", "delivery_partner")
_CHANNEL_WEIGHTS = (36.0, 28.0, 13.0, 23.0)
_ANONYMOUS_SHARE = {"app": 0.0, "kiosk": 0.5, "web": 0.22, "delivery_partner": 0.15, "phone": 0.0}
_LINE_COUNTS = (1, 2, 3, 4, 5)
_LINE_WEIGHTS = (30.0, 30.0, 20.0, 12.0, 8.0)
_MENU_CUM = list(accumulate(item[3] for item in MENU))
PHONE_ORDER_SHARE = 0.72
# Restaurant orders per day at size 1.0 from the non-phone channels.
BASE_ORDERS_PER_RESTAURANT = 200.0


class OrderFactory:
    def __init__(self, rng: random.Random, pool: CustomerPool, restaurants: list[Restaurant]) -> None:
        self.rng = rng
        self.pool = pool
        self.restaurants = restaurants
        self._channel = weighted_picker(rng, NON_PHONE_CHANNELS, _CHANNEL_WEIGHTS)
        self._line_count = weighted_picker(rng, _LINE_COUNTS, _LINE_WEIGHTS)

    def restaurant_day(self, restaurant: Restaurant, day_start: int, expected: float,
                       hours: dict[int, float]) -> list[Order]:
        rng = self.rng
        total = sum(hours.values())
        orders: list[Order] = []
        for hour, share in hours.items():
            for _ in range(poisson(rng, expected * share / total)):
                created_ms = (day_start + hour * 3600) * 1000 + rng.randrange(3_600_000)
                channel = self._channel()
                phone = None
                if rng.random() >= _ANONYMOUS_SHARE[channel]:
                    phone = self.pool.pick_for_restaurant(restaurant.restaurant_id, created_ms // 1000).phone
                orders.append(self._order(restaurant.restaurant_id, channel, phone, created_ms))
        return orders

    def phone_orders(self, calls: list[Call]) -> list[Order]:
        """Orders placed during answered calls of the `orders` queue, by the operator who answered."""
        rng = self.rng
        orders: list[Order] = []
        for call in calls:
            if call.queue != "orders" or not call.answered or call.transfer_target is not None:
                continue
            if rng.random() >= PHONE_ORDER_SHARE:
                continue
            customer = self.pool.by_phone[call.phone]
            created_ms = (call.connect_at * 1000 + round(call.talk * 1000 * rng.uniform(0.55, 0.95)))
            orders.append(self._order(customer.home_restaurant_id, "phone", call.phone, created_ms,
                                      call.linkedid, call.extension))
        return orders

    def _order(self, restaurant_id: int, channel: str, phone: str | None, created_ms: int,
               call_linkedid: str | None = None, operator_extension: str | None = None) -> Order:
        items = self._items(channel)
        order = Order(restaurant_id, channel, phone, items, 0, created_ms, call_linkedid, operator_extension)
        order.discount_kop = self._discount(channel, order.subtotal_kop)
        self._statuses(order)
        return order

    def _items(self, channel: str) -> list[tuple[str, str, int, int]]:
        rng = self.rng
        lines = self._line_count() + (1 if channel == "delivery_partner" else 0)
        chosen: dict[int, int] = {}
        for _ in range(lines):
            idx = min(len(MENU) - 1, bisect.bisect_right(_MENU_CUM, rng.random() * _MENU_CUM[-1]))
            qty = 1 if rng.random() < 0.8 else (2 if rng.random() < 0.75 else 3)
            chosen[idx] = chosen.get(idx, 0) + qty
        items = [(MENU[i][0], MENU[i][1], qty, MENU[i][2] * 100) for i, qty in chosen.items()]
        if rng.random() < 0.2:
            items.append((SAUCE[0], SAUCE[1], 1, SAUCE[2] * 100))
        return items

    def _discount(self, channel: str, subtotal_kop: int) -> int:
        rng = self.rng
        if rng.random() >= (0.3 if channel == "app" else 0.1):
            return 0
        if rng.random() < 0.6:
            percent = rng.choice((5, 10, 15, 20))
            return math.floor(subtotal_kop * percent / 100)
        return min(rng.choice((5000, 10000, 15000)), subtotal_kop // 2)

    def _statuses(self, order: Order) -> None:
        rng = self.rng
        t = order.created_ms
        events = order.events
        events.append(("created", t, uuid4(rng)))
        roll = rng.random()
        if roll < 0.025:
            events.append(("cancelled", t + rng.randint(30_000, 600_000), uuid4(rng)))
            return
        paid = t + (rng.randint(500, 5_000) if order.channel == "delivery_partner" else rng.randint(5_000, 180_000))
        events.append(("paid", paid, uuid4(rng)))
        if roll < 0.037:
            events.append(("cancelled", paid + rng.randint(60_000, 1_200_000), uuid4(rng)))
            return
        cook = rng.randint(1_200_000, 3_600_000) if order.channel == "delivery_partner" else rng.randint(
            240_000, 1_500_000)
        events.append(("completed", paid + cook, uuid4(rng)))


def pick_duplicates(rng: random.Random, orders: list[Order], share: float) -> list[tuple[int, Order, int]]:
    """Events re-sent by the producer (same event_id) a little later: (produce ms, order, event index)."""
    duplicates: list[tuple[int, Order, int]] = []
    if share <= 0:
        return duplicates
    for order in orders:
        for idx, (_, at_ms, _) in enumerate(order.events):
            if rng.random() < share:
                duplicates.append((at_ms + rng.randint(50, 120_000), order, idx))
    return duplicates
