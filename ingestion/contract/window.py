"""When an event can plausibly have happened: not before a fixed date, not far after landing.

An event time outside the window is a producer's bug (a clock at 1970, a year typed as 9999)
that would otherwise reach the marts: their date spines run to the largest date, so one
`created_at` of 9999-12-31 grows the KPI tables by millions of rows. Such a record is
quarantined with its reason; a Kafka *message* timestamp outside the window is stored as NULL
and counted (the record itself is fine). Settings: LANDING_MIN_EVENT_TIME (default 2000-01-01)
and LANDING_MAX_FUTURE_HOURS (default 48).

The window's end moves with the clock: the landing calls `refresh()` once per chunk it reads.
Checks on the hot path compare integers (milliseconds, day ordinals); the exact comparison of
two aware datetimes, which is slower, only runs for a date within a day of either end.
"""

from __future__ import annotations

import datetime as dt
import time

from ingestion.contract.fields import MAX_UTC_OFFSET

DEFAULT_MIN_EVENT_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
DEFAULT_MAX_FUTURE_HOURS = 48
_EDGE = MAX_UTC_OFFSET + dt.timedelta(minutes=1)  # a local date's instants lie within this of its UTC day


class EventTimeWindow:
    """The plausible range of event times; `refresh()` moves its end to now + max_future."""

    __slots__ = ("earliest", "max_future", "latest", "earliest_ms", "latest_ms", "first_day", "last_day")

    def __init__(self, earliest: dt.datetime = DEFAULT_MIN_EVENT_TIME,
                 max_future: dt.timedelta = dt.timedelta(hours=DEFAULT_MAX_FUTURE_HOURS)):
        if earliest.tzinfo is None:
            raise ValueError(f"the earliest event time {earliest.isoformat()} needs a UTC offset")
        self.earliest = earliest
        self.max_future = max_future
        self.earliest_ms = int(earliest.timestamp() * 1000)
        # A local date d (any offset up to MAX_UTC_OFFSET) is surely inside when d - 16 h >= earliest
        start = earliest.astimezone(dt.UTC) + _EDGE
        self.first_day = start.toordinal() + (start.time() != dt.time(0))
        self.refresh()

    @classmethod
    def from_settings(cls, settings) -> EventTimeWindow:
        return cls(settings.landing_min_event_time, dt.timedelta(hours=settings.landing_max_future_hours))

    def refresh(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self.latest = dt.datetime.fromtimestamp(now, dt.UTC) + self.max_future
        self.latest_ms = int(now * 1000) + int(self.max_future.total_seconds() * 1000)
        # ... and surely inside when d + 1 day + 16 h <= latest
        self.last_day = (self.latest - dt.timedelta(days=1) - _EDGE).toordinal()

    def contains(self, instant: dt.datetime) -> bool:
        """Whether an aware datetime (UTC offset within MAX_UTC_OFFSET) lies in the window."""
        day = instant.toordinal()  # its local date: enough unless it is near an end
        return self.first_day <= day <= self.last_day or self.earliest <= instant <= self.latest

    def problem(self, instant: dt.datetime) -> str | None:
        """Why an event time is implausible, or None."""
        if instant < self.earliest:
            return (f"is before {self.earliest.isoformat()}, the earliest event time the landing accepts "
                    f"(LANDING_MIN_EVENT_TIME)")
        if instant > self.latest:
            hours = self.max_future.total_seconds() / 3600
            return (f"is more than {hours:g} hours after the landing time, the latest event time the "
                    f"landing accepts (LANDING_MAX_FUTURE_HOURS)")
        return None
