"""Seeded randomness helpers. Every component gets its own stream so one change stays local."""

from __future__ import annotations

import bisect
import gc
import math
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import accumulate
from typing import TypeVar

T = TypeVar("T")


def stream(seed: int, name: str) -> random.Random:
    """A deterministic generator for one component of the run (string seeds hash with SHA-512)."""
    return random.Random(f"{seed}:{name}")


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_BITS = (0x4000 << 64) | (0x8000 << 48)


def uuid4(rng: random.Random) -> str:
    """The same string as `str(uuid.UUID(int=rng.getrandbits(128), version=4))`, three times faster."""
    h = f"{(rng.getrandbits(128) & _VERSION_MASK) | _VERSION_BITS:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def weighted_picker(rng: random.Random, options: tuple[T, ...], weights: tuple[float, ...]) -> Callable[[], T]:
    """A fast repeated `rng.choices(options, weights)[0]` with the cumulative weights built once."""
    cum = list(accumulate(weights))
    total = cum[-1]
    last = len(options) - 1

    def pick() -> T:
        return options[min(last, bisect.bisect_right(cum, rng.random() * total))]

    return pick


def person_name(rng: random.Random, male_first: tuple[str, ...], female_first: tuple[str, ...],
                surnames: tuple[str, ...]) -> str:
    surname = rng.choice(surnames)
    if rng.random() < 0.5:
        return f"{rng.choice(male_first)} {surname}"
    return f"{rng.choice(female_first)} {surname}а"


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of acyclic objects (much faster)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
