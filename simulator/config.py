"""The simulator's knobs. One frozen object, so a run is fully described by it (and its seed)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from simulator.pbx_profiles import get_profile


@dataclass(frozen=True)
class SimConfig:
    days: int = 14
    restaurants: int = 8
    seed: int = 1
    start: dt.date | None = None
    scale: float = 1.0
    timezone: str = "Europe/Moscow"
    malformed_share: float = 0.01
    service_level_seconds: int = 20
    short_abandon_seconds: int = 5
    duplicate_share: float = 0.02
    pbx_profile: str = "newcdr"  # how the PBX writes the contact centre (simulator/pbx_profiles.py)

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days={self.days}: expected at least 1 day")
        if self.restaurants < 1:
            raise ValueError(f"restaurants={self.restaurants}: expected at least 1 restaurant")
        if self.scale <= 0:
            raise ValueError(f"scale={self.scale}: expected a positive number")
        if not 0 <= self.malformed_share < 1:
            raise ValueError(f"malformed_share={self.malformed_share}: expected a share in [0, 1)")
        if not 0 <= self.duplicate_share < 1:
            raise ValueError(f"duplicate_share={self.duplicate_share}: expected a share in [0, 1)")
        ZoneInfo(self.timezone)
        get_profile(self.pbx_profile)

    @property
    def start_date(self) -> dt.date:
        """The first simulated business day; by default the run ends yesterday in the business timezone."""
        if self.start is not None:
            return self.start
        today = dt.datetime.now(ZoneInfo(self.timezone)).date()
        return today - dt.timedelta(days=self.days)

    def resolved(self) -> SimConfig:
        """The same config with `start` pinned, so everything downstream sees one start date."""
        if self.start is not None:
            return self
        return SimConfig(**{**self.__dict__, "start": self.start_date})
