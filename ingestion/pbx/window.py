"""The time window of a PBX landing run, in the forms the sources need.

A window is given in business time (BUSINESS_TIMEZONE). The PBX writes CDR times and the
database queue_log `time` as wall-clock times of its own clock (PBX_TIMEZONE, or UTC with
usegmtime / queue_log_realtime_use_gmt), the queue_log file as UTC epoch seconds, and the API
filters by the PBX's local dates; the conversions go through instants, so they hold across DST
changes in either zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Rows can reach the PBX database late (long calls get their CDR at hang-up); each incremental
# run re-reads this much before its watermark. The natural keys make the overlap harmless.
OVERLAP = timedelta(hours=2)


def to_local_naive(value: datetime | date | str, tz: ZoneInfo) -> datetime:
    """A date means its local midnight; a naive datetime is already local; aware ones convert.

    ISO strings (what `pantao ingest pbx --since 2026-11-01` passes) are accepted too.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO date or datetime, e.g. 2026-11-01 or 2026-11-01T08:00") from None
    if not isinstance(value, datetime):
        return datetime.combine(value, time())
    if value.tzinfo is None:
        return value
    return value.astimezone(tz).replace(tzinfo=None)


def local_to_epoch(value: datetime, tz: ZoneInfo) -> int:
    """Whole UTC seconds of a local wall-clock time in `tz`, as Asterisk writes them to the queue_log file.

    zoneinfo applies the offset in force at that wall-clock time. A time repeated when DST ends
    is taken as its first occurrence (fold=0), a time skipped when DST starts as if the clock had
    not moved yet: the PBX never writes the latter, and the former only in that one hour a year.
    """
    return int(value.replace(tzinfo=tz).timestamp() // 1)


def in_zone(value: datetime, from_tz: ZoneInfo, to_tz: ZoneInfo) -> datetime:
    """A naive wall-clock time in `from_tz` as the naive wall-clock time of the same instant in `to_tz`."""
    return value.replace(tzinfo=from_tz).astimezone(to_tz).replace(tzinfo=None)


@dataclass(frozen=True)
class Window:
    """[start, end) in local wall-clock time; either end may be open."""

    start: datetime | None
    end: datetime | None
    tz: ZoneInfo

    @classmethod
    def build(cls, since: datetime | date | str | None, until: datetime | date | str | None,
              tz: ZoneInfo) -> Window:
        start = to_local_naive(since, tz) if since is not None else None
        end = to_local_naive(until, tz) if until is not None else None
        if start is not None and end is not None and end <= start:
            raise ValueError(f"until ({end}) must be after since ({start})")
        return cls(start, end, tz)

    @property
    def is_open(self) -> bool:
        return self.start is None and self.end is None

    def bounds_in(self, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        """[start, end) as naive wall-clock times of `zone` (the PBX's clock)."""
        return (in_zone(self.start, self.tz, zone) if self.start else None,
                in_zone(self.end, self.tz, zone) if self.end else None)

    def calldate_range(self, zone: ZoneInfo) -> tuple[str, str] | None:
        """'YYYY-MM-DD HH:MM:SS' bounds in `zone` for string comparison with Master.csv times."""
        if self.is_open:
            return None
        start, end = self.bounds_in(zone)
        lo = start.strftime("%Y-%m-%d %H:%M:%S") if start else "0000"
        hi = end.strftime("%Y-%m-%d %H:%M:%S") if end else "9999"
        return lo, hi

    def epoch_range(self) -> tuple[int, int] | None:
        if self.is_open:
            return None
        lo = local_to_epoch(self.start, self.tz) if self.start else 0
        hi = local_to_epoch(self.end, self.tz) if self.end else 2**62
        return lo, hi
