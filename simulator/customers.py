"""The customer base: phones, profiles and who orders how often (a few heavy users, many one-offs).

Customers become active over time (new ones join every day). Picking a customer is a weighted
draw over the customers active at that moment: lists are sorted by `active_from`, so the active
ones are a prefix and one cumulative-weight array serves every moment.
"""

from __future__ import annotations

import bisect
import random
from itertools import accumulate

from simulator.model import Customer, Restaurant
from simulator.rand import person_name, weighted_picker
from simulator.reference import FEMALE_FIRST, MALE_FIRST, SURNAMES

_PRE_EXISTING_PER_RESTAURANT = 3000
_NEW_PER_RESTAURANT_DAY = 30
_MAX_WEIGHT = 150.0


class _WeightedPrefix:
    """Customers sorted by `active_from` with cumulative weights, for prefix-limited draws."""

    __slots__ = ("customers", "active_from", "cum")

    def __init__(self, customers: list[Customer], weights: list[float]) -> None:
        self.customers = customers
        self.active_from = [c.active_from for c in customers]
        self.cum = list(accumulate(weights))

    def pick(self, rng: random.Random, at: int) -> Customer | None:
        k = bisect.bisect_right(self.active_from, at)
        if k == 0:
            return None
        x = rng.random() * self.cum[k - 1]
        return self.customers[bisect.bisect_right(self.cum, x, 0, k - 1)]


class CustomerPool:
    def __init__(self, rng: random.Random, restaurants: list[Restaurant], first_day_start: int, days: int,
                 scale: float) -> None:
        self.rng = rng
        self.customers = _make_customers(rng, restaurants, first_day_start, days, scale)
        self.by_phone = {c.phone: c for c in self.customers}
        self._chain = _WeightedPrefix(self.customers, [c.weight for c in self.customers])
        self._callers = _WeightedPrefix(self.customers, [c.weight * c.phone_affinity for c in self.customers])
        self._home: dict[int, _WeightedPrefix] = {}
        for r in restaurants:
            home = [c for c in self.customers if c.home_restaurant_id == r.restaurant_id]
            self._home[r.restaurant_id] = _WeightedPrefix(home, [c.weight for c in home])

    def pick_for_restaurant(self, restaurant_id: int, at: int) -> Customer:
        """A customer ordering at this restaurant: mostly locals, sometimes anyone from the chain."""
        if self.rng.random() < 0.85:
            picked = self._home[restaurant_id].pick(self.rng, at)
            if picked is not None:
                return picked
        return self.pick_any(at)

    def pick_any(self, at: int) -> Customer:
        picked = self._chain.pick(self.rng, at)
        assert picked is not None, "pre-existing customers are active from the start"
        return picked

    def pick_caller(self, at: int) -> Customer:
        picked = self._callers.pick(self.rng, at)
        assert picked is not None, "pre-existing customers are active from the start"
        return picked


def _make_customers(rng: random.Random, restaurants: list[Restaurant], first_day_start: int, days: int,
                    scale: float) -> list[Customer]:
    pick_home = weighted_picker(rng, tuple(r.restaurant_id for r in restaurants), tuple(r.size for r in restaurants))
    n_pre = max(50, round(_PRE_EXISTING_PER_RESTAURANT * len(restaurants) * scale))
    n_new = round(_NEW_PER_RESTAURANT_DAY * len(restaurants) * scale * days)
    phones: set[str] = set()
    customers: list[Customer] = []
    window = days * 86400
    for i in range(n_pre + n_new):
        phone = _new_phone(rng, phones)
        pre = i < n_pre
        active_from = 0 if pre else first_day_start + rng.randrange(window)
        if pre:
            registered_ms = (first_day_start - rng.randrange(86400, 86400 * 900)) * 1000
        elif rng.random() < 0.4:
            registered_ms = active_from * 1000
        else:
            registered_ms = None
        customers.append(Customer(
            phone=phone,
            name=None if rng.random() < 0.12 else person_name(rng, MALE_FIRST, FEMALE_FIRST, SURNAMES),
            email=f"user{rng.randrange(10**7):07d}@example.ru" if rng.random() < 0.45 else None,
            home_restaurant_id=pick_home(),
            marketing_opt_in=rng.random() < 0.55,
            weight=min(_MAX_WEIGHT, rng.paretovariate(1.3)),
            phone_affinity=1.0 if rng.random() < 0.3 else 0.08,
            active_from=active_from,
            registered_ms=registered_ms,
            preregistered=registered_ms is not None,
        ))
    customers.sort(key=lambda c: c.active_from)
    return customers


def _new_phone(rng: random.Random, taken: set[str]) -> str:
    while True:
        phone = f"+79{rng.randrange(10**9):09d}"
        if phone not in taken:
            taken.add(phone)
            return phone
