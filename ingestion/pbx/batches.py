"""What every PBX source yields: a batch of rows, its rejects, and the watermark it reaches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ingestion.pbx.parsers import Reject


@dataclass
class Batch:
    rows: Iterable  # a list, or a generator that COPY consumes (and that may add to rejects)
    rejects: list[Reject] = field(default_factory=list)
    watermark: dict | None = None  # stored with the rows, in the same transaction
