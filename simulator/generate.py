"""`generate(config)`: build the whole simulated world, day by day, deterministically for a seed."""

from __future__ import annotations

import datetime as dt
import logging
import random

from simulator.clock import BusinessClock
from simulator.config import SimConfig
from simulator.contact_centre import ContactCentre, UniqueIds
from simulator.customers import CustomerPool
from simulator.feedback import customer_history, make_ratings
from simulator.malformed import make_malformed
from simulator.model import Operator, Order, Restaurant, Simulation
from simulator.orders import BASE_ORDERS_PER_RESTAURANT, OrderFactory, pick_duplicates
from simulator.pbx_profiles import get_profile
from simulator.rand import gc_paused, person_name, stream
from simulator.reference import (
    AWKWARD_OPERATOR_NAMES,
    FEMALE_FIRST,
    MALE_FIRST,
    ORDER_HOURS_WEEKDAY,
    ORDER_HOURS_WEEKEND,
    RESTAURANT_AREAS,
    SURNAMES,
    WEEKDAY_FACTOR,
)

log = logging.getLogger(__name__)

# Offered calls per day relative to the chain's expected non-phone orders, and the split by queue.
CALLS_PER_ORDER = 0.33
QUEUE_SPLIT = {"orders": 0.8, "support": 0.2}


def generate(config: SimConfig) -> Simulation:
    with gc_paused():
        return _generate(config.resolved())


def _generate(config: SimConfig) -> Simulation:
    clock = BusinessClock(config.timezone)
    restaurants = make_restaurants(stream(config.seed, "restaurants"), config.restaurants)
    operators = make_operators(stream(config.seed, "operators"), config.restaurants, config.scale)
    sim = Simulation(config=config, clock=clock, restaurants=restaurants, operators=operators)
    first_day = config.start_date
    first_start = clock.day_start(first_day)
    pool = CustomerPool(stream(config.seed, "customers"), restaurants, first_start, config.days, config.scale)
    sim.customers = pool.customers
    factory = OrderFactory(stream(config.seed, "orders"), pool, restaurants)
    centre = ContactCentre(stream(config.seed, "calls"), operators, [r.line_extension for r in restaurants],
                           UniqueIds(), lambda at: pool.pick_caller(at).phone)
    for offset in range(config.days):
        _simulate_day(sim, factory, centre, first_day + dt.timedelta(days=offset))
    _number_orders(sim)
    end_ms = clock.day_start(first_day + dt.timedelta(days=config.days)) * 1000
    sim.customer_events = customer_history(stream(config.seed, "customer-events"), sim.customers, sim.orders,
                                           first_start * 1000, end_ms, [r.restaurant_id for r in restaurants])
    sim.ratings = make_ratings(stream(config.seed, "ratings"), sim.calls, sim.orders, 0)
    sim.duplicates = pick_duplicates(stream(config.seed, "duplicates"), sim.orders, config.duplicate_share)
    sim.housekeeping = [(first_start + 8 * 3600, "NONE", "NONE", "NONE", "QUEUESTART", "", "", "", "", "")]
    if get_profile(config.pbx_profile).config_reload:  # `core reload` each morning, before the first shift
        sim.housekeeping += [(clock.day_start(first_day + dt.timedelta(days=d)) + 6 * 3600, "NONE", "NONE", "NONE",
                              "CONFIGRELOAD", "", "", "", "", "") for d in range(config.days)]
    sim.malformed = make_malformed(stream(config.seed, "malformed"), sim)
    log.info("simulated %d days: %d orders, %d calls", config.days, len(sim.orders), len(sim.calls))
    return sim


def _simulate_day(sim: Simulation, factory: OrderFactory, centre: ContactCentre, day: dt.date) -> None:
    config = sim.config
    day_start = sim.clock.day_start(day)
    weekend = day.weekday() >= 5
    factor = WEEKDAY_FACTOR[day.weekday()] * config.scale
    hours = ORDER_HOURS_WEEKEND if weekend else ORDER_HOURS_WEEKDAY
    orders: list[Order] = []
    for restaurant in sim.restaurants:
        expected = BASE_ORDERS_PER_RESTAURANT * restaurant.size * factor
        orders.extend(factory.restaurant_day(restaurant, day_start, expected, hours))
    chain_expected = BASE_ORDERS_PER_RESTAURANT * sum(r.size for r in sim.restaurants) * factor
    calls_expected = {q: chain_expected * CALLS_PER_ORDER * share for q, share in QUEUE_SPLIT.items()}
    out = centre.simulate_day(day_start, calls_expected)
    out.calls.sort(key=lambda c: (c.enter, c.linkedid))
    orders.extend(factory.phone_orders(out.calls))
    sim.orders.extend(orders)
    sim.calls.extend(out.calls)
    sim.sessions.extend(out.sessions)
    sim.pauses.extend(out.pauses)
    sim.cdrs.extend(out.cdrs)


def _number_orders(sim: Simulation) -> None:
    """Order ids `ORD-YYYYMMDD-NNNNNN`, numbered per business day in creation order."""
    sim.orders.sort(key=lambda o: o.created_ms)
    counters: dict[str, int] = {}
    for order in sim.orders:
        day = sim.clock.date_str(order.created_ms // 1000)
        counters[day] = counters.get(day, 0) + 1
        order.order_id = f"ORD-{day.replace('-', '')}-{counters[day]:06d}"


def make_restaurants(rng: random.Random, count: int) -> list[Restaurant]:
    """Restaurants of different sizes (mean size 1.0): a couple of flagships, many average, some small."""
    sizes = [rng.lognormvariate(0.0, 0.45) for _ in range(count)]
    mean = sum(sizes) / count
    areas = list(RESTAURANT_AREAS)
    rng.shuffle(areas)
    return [Restaurant(i + 1, f"Пантао {areas[i % len(areas)]}" + ("" if i < len(areas) else f" {i + 1}"),
                       size / mean) for i, size in enumerate(sizes)]


def make_operators(rng: random.Random, restaurants: int, scale: float) -> list[Operator]:
    """10–40 operators with extensions 101…; about a fifth work the `support` queue."""
    count = max(10, min(40, round(restaurants * 2.2 * scale)))
    support = max(2, round(count * 0.2))
    names: list[str] = []
    awkward = list(AWKWARD_OPERATOR_NAMES)
    while len(names) < count:
        if awkward and rng.random() < 0.2:
            names.append(awkward.pop(0))
            continue
        name = person_name(rng, MALE_FIRST, FEMALE_FIRST, SURNAMES)
        if name not in names:
            names.append(name)
    return [Operator(str(101 + i), names[i], "support" if i >= count - support else "orders")
            for i in range(count)]
