"""Operators' figures over any period, re-derived from marts.operator_daily's daily sums, and the
calls customers rated: one place for the weekly and monthly reports and the bot's /mystats and
/myratings.

An operator's KPIs over several days are never averages of their daily averages: talk time,
missed rings, pick-up time, occupancy and ratings are summed and divided again.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from typing import Any

from reports.report import plain_value

# One row per operator over [start, end]; `%(extension)s` null means every operator.
OPERATOR_PERIOD_SQL = """
select
    operator_extension,
    max(operator_name) as operator_name,
    count(*) as days_count,
    sum(calls_handled_count) as calls_handled_count,
    sum(talk_seconds_total) as talk_seconds_total,
    sum(talk_seconds_total)::numeric / nullif(sum(calls_handled_count), 0) as avg_talk_seconds,
    sum(missed_rings_count) as missed_rings_count,
    sum(missed_rings_count)::numeric
        / nullif(sum(missed_rings_count) + sum(calls_handled_count), 0) as missed_ring_rate,
    sum(avg_pickup_seconds * calls_handled_count) / nullif(sum(calls_handled_count)
        filter (where avg_pickup_seconds is not null), 0) as avg_pickup_seconds,
    sum(logged_in_seconds) as logged_in_seconds,
    sum(paused_seconds) as paused_seconds,
    sum(talk_seconds_total)::numeric
        / nullif(sum(logged_in_seconds) - sum(paused_seconds), 0) as occupancy,
    sum(ratings_count) as ratings_count,
    sum(rating_mean * ratings_count) / nullif(sum(ratings_count)
        filter (where rating_mean is not null), 0) as rating_mean,
    sum(rating_share_4_5 * ratings_count) / nullif(sum(ratings_count)
        filter (where rating_share_4_5 is not null), 0) as rating_share_4_5,
    sum(phone_orders_count) as phone_orders_count
from marts.operator_daily
where business_date between %(start)s and %(end)s
  and (%(extension)s::text is null or operator_extension = %(extension)s::text)
group by operator_extension
order by sum(calls_handled_count) desc nulls last, operator_extension
"""

# The calls an operator answered in [start, end] that the caller rated, newest first, with the
# rating's comment (marts.ratings): what reporting.my_interactions shows of rated calls.
RATED_CALLS_SQL = """
select
    c.linkedid, c.entered_at, c.business_date, c.wait_seconds, c.talk_seconds,
    case when c.led_to_order then 'order_placed' when c.is_transferred then 'transferred' else 'answered' end
        as call_result,
    r.score as rating_score, r.comment as rating_comment, r.submitted_at as rated_at
from marts.calls as c
inner join marts.ratings as r on r.rating_id = c.rating_id
where c.answered_by_extension = %(extension)s
  and c.business_date between %(start)s and %(end)s
  and (not %(with_comment)s or r.comment is not null)
order by c.entered_at desc, c.linkedid desc
limit %(limit)s
"""


def _plain(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: plain_value(v) for k, v in row.items()} for row in rows]


def operator_figures(conn, start: dt.date, end: dt.date, extension: str | None = None) -> list[dict[str, Any]]:
    """Each operator's (or one operator's) KPIs over the days from `start` to `end`, busiest first."""
    rows = conn.execute(OPERATOR_PERIOD_SQL, {"start": start, "end": end, "extension": extension}).fetchall()
    return _plain(rows)


def team_medians(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> dict[str, float | None]:
    """The median of each column over the operators who took calls (null values left out)."""
    working = [r for r in rows if (r.get("calls_handled_count") or 0) > 0]
    medians: dict[str, float | None] = {}
    for column in columns:
        values = [float(r[column]) for r in working if r.get(column) is not None]
        medians[column] = statistics.median(values) if values else None
    return medians


def rated_calls(conn, extension: str, start: dt.date, end: dt.date, *, with_comment: bool = False,
                limit: int = 10) -> list[dict[str, Any]]:
    """The operator's rated calls in the period, newest first (only those with a comment if asked)."""
    rows = conn.execute(RATED_CALLS_SQL, {"extension": extension, "start": start, "end": end,
                                          "with_comment": with_comment, "limit": limit}).fetchall()
    return _plain(rows)


def rated_calls_count(conn, extension: str, start: dt.date, end: dt.date) -> int:
    row = conn.execute(
        "select count(*) as n from marts.calls as c inner join marts.ratings as r on r.rating_id = c.rating_id "
        "where c.answered_by_extension = %s and c.business_date between %s and %s", (extension, start, end),
    ).fetchone()
    return int(row["n"] if isinstance(row, dict) else row[0])
