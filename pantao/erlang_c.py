"""Erlang C: how many operators a queue needs for a service level (docs/metrics.md, "Staffing advice").

The M/M/N queue: calls arrive at random (Poisson) at `calls_per_hour`, each takes on average
`aht_seconds` of an operator, N operators answer, callers wait in one queue and never give up.
The offered traffic A = calls_per_hour × aht_seconds / 3600 erlangs. Pure functions, no I/O:
tests/test_erlang_c.py checks them against textbook values.

    >>> round(wait_probability(11, 10.0), 4)  # 100 calls per half hour of 180 s: 10 erlangs
    0.6821
    >>> operators_needed(200, 180, 0.8, 20)
    14
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_OPERATORS = 10_000  # far beyond any contact centre this chain will run; stops a runaway search


def traffic_erlangs(calls_per_hour: float, aht_seconds: float) -> float:
    """Offered traffic in erlangs: the operator-hours the calls of one hour take."""
    if calls_per_hour < 0 or aht_seconds < 0:
        raise ValueError(f"calls_per_hour={calls_per_hour}, aht_seconds={aht_seconds}: expected non-negative values")
    return calls_per_hour * aht_seconds / 3600


def wait_probability(operators: int, traffic: float) -> float:
    """Erlang C: the probability that a call waits (1 when the operators cannot keep up, N ≤ A).

    Computed through Erlang B's recursion, B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1)), then
    C = N·B / (N − A·(1 − B)): no factorials, so no overflow at hundreds of operators."""
    if operators < 0 or traffic < 0:
        raise ValueError(f"operators={operators}, traffic={traffic}: expected non-negative values")
    if traffic == 0:
        return 0.0
    if operators <= traffic:
        return 1.0
    blocking = 1.0
    for n in range(1, operators + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return operators * blocking / (operators - traffic * (1 - blocking))


def service_level(operators: int, traffic: float, aht_seconds: float, target_seconds: float) -> float:
    """Share of calls answered within `target_seconds`: 1 − C·e^(−(N − A)·t / AHT)."""
    if traffic == 0:
        return 1.0
    if operators <= traffic:
        return 0.0
    waits = wait_probability(operators, traffic)
    return 1 - waits * math.exp(-(operators - traffic) * target_seconds / aht_seconds)


def average_speed_of_answer(operators: int, traffic: float, aht_seconds: float) -> float:
    """Expected ASA over all calls, seconds: C·AHT / (N − A) (infinite when N ≤ A)."""
    if traffic == 0:
        return 0.0
    if operators <= traffic:
        return math.inf
    return wait_probability(operators, traffic) * aht_seconds / (operators - traffic)


def operators_needed(calls_per_hour: float, aht_seconds: float, target: float, target_seconds: float) -> int:
    """The fewest operators whose service level reaches `target` (0..1) within `target_seconds`."""
    if not 0 < target < 1:
        raise ValueError(f"target={target}: expected a share between 0 and 1, e.g. 0.8")
    traffic = traffic_erlangs(calls_per_hour, aht_seconds)
    if traffic == 0:
        return 0
    operators = math.floor(traffic) + 1
    while service_level(operators, traffic, aht_seconds, target_seconds) < target:
        operators += 1
        if operators > MAX_OPERATORS:
            raise ValueError(f"{calls_per_hour} calls per hour of {aht_seconds} s need more than {MAX_OPERATORS} "
                             "operators; check the forecast")
    return operators


@dataclass(frozen=True)
class Staffing:
    operators: int
    service_level: float
    asa_seconds: float


def staffing(calls_per_hour: float, aht_seconds: float, target: float, target_seconds: float) -> Staffing:
    """The operators needed, and the service level and ASA they give."""
    needed = operators_needed(calls_per_hour, aht_seconds, target, target_seconds)
    traffic = traffic_erlangs(calls_per_hour, aht_seconds)
    return Staffing(needed, service_level(needed, traffic, aht_seconds, target_seconds),
                    average_speed_of_answer(needed, traffic, aht_seconds))
