"""Reporting periods: a business day, a week (Monday to Sunday) and a calendar month.

One definition for everything that reports over a period (the report snapshots and their
partitions, the schedules, the bot, the CLI); the marts group the same weeks and months in SQL
(`dbt_project/macros/periods.sql`, checked against this module by the period oracle test).
A period is compared with the one before it: a day with the same weekday a week earlier, a week
with the week before, a month with the month before.

    >>> period_of("week", dt.date(2026, 11, 4))
    Period(kind='week', start=datetime.date(2026, 11, 2), end=datetime.date(2026, 11, 8))
    >>> period_of("month", dt.date(2026, 11, 4)).previous().start
    datetime.date(2026, 10, 1)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

PERIOD_KINDS: tuple[str, ...] = ("day", "week", "month")


@dataclass(frozen=True)
class Period:
    kind: str  # day | week | month
    start: dt.date
    end: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]

    def previous(self) -> Period:
        """What this period is compared with: the same weekday last week, the week or the month before."""
        if self.kind == "day":
            return period_of("day", self.start - dt.timedelta(days=7))
        return period_of(self.kind, self.start - dt.timedelta(days=1))

    def shifted(self, count: int) -> Period:
        """The period `count` periods before (negative: after) this one, of the same kind."""
        period = self
        for _ in range(abs(count)):
            period = (period_of(self.kind, period.start - dt.timedelta(days=1)) if count > 0
                      else period_of(self.kind, period.end + dt.timedelta(days=1)))
        return period


def period_of(kind: str, day: dt.date) -> Period:
    """The day itself, its week (Monday to Sunday) or its calendar month."""
    if kind == "day":
        return Period("day", day, day)
    if kind == "week":
        start = day - dt.timedelta(days=day.weekday())
        return Period("week", start, start + dt.timedelta(days=6))
    if kind == "month":
        start = day.replace(day=1)
        following = (start + dt.timedelta(days=32)).replace(day=1)
        return Period("month", start, following - dt.timedelta(days=1))
    raise ValueError(f"period kind {kind!r} is not one of {', '.join(PERIOD_KINDS)}")


def last_complete(kind: str, today: dt.date) -> Period:
    """The latest period that ended before `today`: yesterday, last week, last month."""
    return period_of(kind, today - dt.timedelta(days=1) if kind == "day" else period_of(kind, today).start
                     - dt.timedelta(days=1))
