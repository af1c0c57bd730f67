"""Fast conversions between UTC epoch seconds and business-timezone dates and strings.

Millions of timestamps are formatted per run, so offsets are cached per UTC hour and dates per day
instead of building a `datetime` for every value.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_MIXED = -(10**9)  # marks an hour that contains an offset change


class BusinessClock:
    __slots__ = ("tz", "_offsets", "_dates", "_suffixes")

    def __init__(self, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)
        self._offsets: dict[int, int] = {}
        self._dates: dict[int, str] = {}
        self._suffixes: dict[int, str] = {}

    def offset(self, secs: int) -> int:
        """UTC offset in seconds at the instant `secs` (cached per UTC hour without a transition)."""
        hour = secs // 3600
        cached = self._offsets.get(hour)
        if cached is None:
            first, last = self._exact_offset(hour * 3600), self._exact_offset(hour * 3600 + 3599)
            cached = self._offsets[hour] = first if first == last else _MIXED
        return self._exact_offset(secs) if cached == _MIXED else cached

    def _exact_offset(self, secs: int) -> int:
        return int(dt.datetime.fromtimestamp(secs, self.tz).utcoffset().total_seconds())  # type: ignore[union-attr]

    def day_start(self, day: dt.date) -> int:
        """Epoch seconds of local midnight starting `day`."""
        return int(dt.datetime.combine(day, dt.time(0), tzinfo=self.tz).timestamp())

    def day_number(self, secs: int) -> int:
        return (secs + self.offset(secs)) // 86400

    def date_of(self, secs: int) -> dt.date:
        return dt.date.fromordinal(self.day_number(secs) + _EPOCH_ORDINAL)

    def date_str(self, secs: int) -> str:
        """Business date of the instant as YYYY-MM-DD."""
        return self._day_str(self.day_number(secs))

    def _day_str(self, day_num: int) -> str:
        text = self._dates.get(day_num)
        if text is None:
            text = dt.date.fromordinal(day_num + _EPOCH_ORDINAL).isoformat()
            self._dates[day_num] = text
        return text

    def local(self, secs: int) -> str:
        """Local wall time `YYYY-MM-DD HH:MM:SS` without offset, as the PBX writes it."""
        local = secs + self.offset(secs)
        day_num, sod = divmod(local, 86400)
        hh, rest = divmod(sod, 3600)
        mm, ss = divmod(rest, 60)
        return f"{self._day_str(day_num)} {hh:02d}:{mm:02d}:{ss:02d}"

    def iso_ms(self, ms: int) -> str:
        """ISO 8601 with milliseconds and the business UTC offset, e.g. `2026-11-01T12:34:56.789+03:00`."""
        secs = ms // 1000
        off = self.offset(secs)
        local = secs + off
        sod = local % 86400
        day = self._dates.get(local // 86400) or self._day_str(local // 86400)
        return (f"{day}T{sod // 3600:02d}:{sod // 60 % 60:02d}:{sod % 60:02d}.{ms % 1000:03d}"
                f"{self._suffix(off)}")

    def _suffix(self, off: int) -> str:
        text = self._suffixes.get(off)
        if text is None:
            hours, minutes = divmod(abs(off) // 60, 60)
            text = self._suffixes[off] = f"{'+' if off >= 0 else '-'}{hours:02d}:{minutes:02d}"
        return text
