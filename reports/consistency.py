"""Do a report's sections agree with each other? The checks a reader makes with a calculator.

A report shows the same quantities in several places: the ratings per score and the rating cards,
the hours and the day, the restaurants and the chain, the operators and the answered calls, a
period's days and the period. `inconsistencies` lists every place where two of them differ; the
tests run it on built warehouses and the demo prints its verdict, so a section that counts other
rows than its neighbour (the old report counted call ratings in the breakdown and call and order
ratings in the total) cannot come back unnoticed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.sections import SUBJECTS, stored_rating_counts

TOLERANCE = 1e-6
MONEY_TOLERANCE = 0.005  # amounts are summed from rows rounded to kopecks


def _total(rows: Sequence[Mapping[str, Any]], column: str) -> float:
    return sum(float(r.get(column) or 0) for r in rows)


def _differs(a: Any, b: Any, tolerance: float = TOLERANCE) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    return abs(float(a) - float(b)) > tolerance * max(1.0, abs(float(b)))


def _ratings(figures: Mapping[str, Any], chain: Mapping[str, Any]) -> list[str]:
    counts = stored_rating_counts(figures)
    problems = []
    parts = {"call": ("call_ratings_count", "call_csat_mean"), "order": ("order_ratings_count", "order_csat_mean")}
    every: dict[str, int] = {str(s): sum(counts[subject][str(s)] for subject in SUBJECTS) for s in range(1, 6)}
    for subject, score_counts in (*((s, counts[s]) for s in SUBJECTS), ("all", every)):
        count_column, mean_column = parts.get(subject, ("ratings_count", "csat_mean"))
        n = sum(score_counts.values())
        mean = sum(int(s) * c for s, c in score_counts.items()) / n if n else None
        if n != chain.get(count_column):
            problems.append(f"ratings: the {subject} breakdown adds up to {n}, {count_column} is {chain.get(count_column)}")
        if _differs(mean, chain.get(mean_column)):
            problems.append(f"ratings: the {subject} breakdown's mean is {mean}, {mean_column} is {chain.get(mean_column)}")
    share = (every["4"] + every["5"]) / sum(every.values()) if sum(every.values()) else None
    if _differs(share, chain.get("csat_share")):
        problems.append(f"ratings: the breakdown rates {share} 4–5, csat_share is {chain.get('csat_share')}")
    return problems


def _sums(rows: Sequence[Mapping[str, Any]], chain: Mapping[str, Any], what: str,
          columns: Mapping[str, str]) -> list[str]:
    """Each `columns` (row column -> chain column) summed over `rows` equals the chain's figure."""
    problems = []
    for column, chain_column in columns.items():
        total, expected = _total(rows, column), chain.get(chain_column)
        tolerance = MONEY_TOLERANCE if column.endswith("_amount") else TOLERANCE
        if _differs(total, expected or 0, tolerance):
            problems.append(f"{what}: {column} adds up to {total:g}, the chain's {chain_column} is {expected}")
    return problems


def inconsistencies(figures: Mapping[str, Any]) -> list[str]:
    """Every disagreement between the sections of a stored day, week or month report (empty: none)."""
    chain = figures.get("chain") or {}
    problems = _ratings(figures, chain)
    order_columns = {"orders_count": "orders_count", "cancelled_orders_count": "cancelled_orders_count",
                     "revenue_amount": "revenue_amount"}
    problems += _sums(figures.get("restaurants") or [], chain, "restaurants", order_columns)
    problems += _sums(figures.get("operators") or [], chain, "operators",
                      {"calls_handled_count": "calls_answered_count"})
    if "hourly" in figures:
        problems += _sums(figures["hourly"], chain, "hours",
                          {"orders_count": "orders_count", "revenue_amount": "revenue_amount",
                           "calls_offered_count": "calls_offered_count",
                           "calls_answered_count": "calls_answered_count"})
    if "trend" in figures:
        days = [r for r in figures["trend"]
                if figures["period_start"] <= r["business_date"] <= figures["period_end"]]
        problems += _sums(days, chain, "the period's days", {"orders_count": "orders_count",
                                                              "revenue_amount": "revenue_amount"})
    return problems
