"""Turn the result objects our modules return into Dagster metadata shown on each materialization."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MAX_DEPTH = 3


def _items(value: Any) -> Mapping[str, Any] | None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.repr}
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return None


def result_metadata(result: Any, prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """The scalar fields of a result, nested dataclasses and dicts flattened to dotted names.

    Operators see on each materialization the numbers the CLI prints (rows landed, rejects,
    seconds) without the orchestration depending on each result's exact shape.
    """
    items = _items(result)
    if items is None or depth > MAX_DEPTH:
        return {}
    out: dict[str, Any] = {}
    for name, value in items.items():
        key = f"{prefix}{name}"
        if isinstance(value, bool | int | float | str):
            out[key] = round(value, 3) if isinstance(value, float) else value
        elif isinstance(value, Path):
            out[key] = str(value)
        elif isinstance(value, dt.date | dt.datetime):
            out[key] = value.isoformat()
        else:
            out.update(result_metadata(value, prefix=f"{key}.", depth=depth + 1))
    return out
