"""The time window of a PBX landing run, in the three forms the sources need.

FreePBX keeps CDR times and the DB queue_log as the PBX's local wall-clock time, the queue_log
file as UTC epoch seconds, and the API filters by local dates; one object converts once.
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
    """Whole UTC seconds of a local wall-clock time, as Asterisk writes them to the queue_log file."""
    return int(value.replace(tzinfo=tz).timestamp() // 1)


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

    def calldate_range(self) -> tuple[str, str] | None:
        """Local 'YYYY-MM-DD HH:MM:SS' bounds for string comparison with Master.csv times."""
        if self.is_open:
            return None
        lo = self.start.strftime("%Y-%m-%d %H:%M:%S") if self.start else "0000"
        hi = self.end.strftime("%Y-%m-%d %H:%M:%S") if self.end else "9999"
        return lo, hi

    def epoch_range(self) -> tuple[int, int] | None:
        if self.is_open:
            return None
        lo = local_to_epoch(self.start, self.tz) if self.start else 0
        hi = local_to_epoch(self.end, self.tz) if self.end else 2**62
        return lo, hi
