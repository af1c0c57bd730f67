"""Report sections shared by the day, week and month reports, kept free of plotting code.

The satisfaction section counts the rows of marts.ratings (figures["ratings"]: per score, calls and
orders apart) and takes its means from the same KPI row its cards show, so the breakdown, the
count, the mean and the chart's title can never disagree (tests/test_reports_consistency.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.messages import Messages

SUBJECTS = ("call", "order")


def stored_rating_counts(figures: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Ratings per score, calls and orders apart; a version stored before the split has calls only."""
    counts = figures.get("ratings")
    if counts is None:
        counts = {"call": figures.get("call_ratings") or {}, "order": {}}
    return {subject: {str(s): int((counts.get(subject) or {}).get(str(s), 0)) for s in range(1, 6)}
            for subject in SUBJECTS}


def ratings_table(figures: Mapping[str, Any], chain: Mapping[str, Any], msg: Messages) -> dict[str, Any]:
    """Score 5..1 by calls, orders and both; then the count, the mean and the share rated 4–5 of each."""
    counts = stored_rating_counts(figures)
    rows = [[str(s), *(msg.number(counts[subject][str(s)]) for subject in SUBJECTS),
             msg.number(sum(counts[subject][str(s)] for subject in SUBJECTS))] for s in range(5, 0, -1)]
    rows.append([msg.label("ratings_count"), msg.kpi("call_ratings_count", chain.get("call_ratings_count")),
                 msg.kpi("order_ratings_count", chain.get("order_ratings_count")),
                 msg.kpi("ratings_count", chain.get("ratings_count"))])
    rows.append([msg.label("csat_mean"), msg.kpi("call_csat_mean", chain.get("call_csat_mean")),
                 msg.kpi("order_csat_mean", chain.get("order_csat_mean")),
                 msg.kpi("csat_mean", chain.get("csat_mean"))])
    shares = [_share_4_5(counts[subject]) for subject in SUBJECTS]
    rows.append([msg.label("csat_share"), *(msg.kpi("csat_share", share) for share in shares),
                 msg.kpi("csat_share", chain.get("csat_share"))])
    return {"id": "csat", "title": msg.t("csat_section"),
            "header": [msg.t("score"), msg.t("ratings_calls"), msg.t("ratings_orders"), msg.t("ratings_total")],
            "rows": rows}


def _share_4_5(counts: Mapping[str, int]) -> float | None:
    total = sum(counts.values())
    return (counts["4"] + counts["5"]) / total if total else None


def csat_parts(chain: Mapping[str, Any], msg: Messages, key: str = "csat_parts") -> str:
    """«звонки 4,35 (140), заказы 4,46 (172)»: the two kinds of rating apart."""
    return msg.t(key, call_mean=msg.kpi("call_csat_mean", chain.get("call_csat_mean")),
                 call_count=msg.kpi("call_ratings_count", chain.get("call_ratings_count")),
                 order_mean=msg.kpi("order_csat_mean", chain.get("order_csat_mean")),
                 order_count=msg.kpi("order_ratings_count", chain.get("order_ratings_count")))


def top_and_bottom(rows: Sequence[dict[str, Any]], column: str, count: int = 3
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Up to `count` rows with the highest and the lowest `column` (rows without a value left out),
    never the same row in both: with fewer than 2 × count rows each side gets half (the top one more)."""
    ordered = sorted((r for r in rows if r.get(column) is not None), key=lambda r: -float(r[column]))
    size = min(count, (len(ordered) + 1) // 2)
    top = ordered[:size]
    bottom = list(reversed(ordered[len(top):]))[:min(count, len(ordered) // 2)]
    return top, bottom
