"""What the last dbt invocation did, from the `run_results.json` dbt writes into its target folder.

dbt rewrites that file on every invocation, so it is the cheapest reliable record of the last
build and its test outcome without depending on how the build was started (Dagster, `pantao
dbt`, or by hand).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})


class DbtResultsError(ValueError):
    """run_results.json exists but cannot be read; the message names the file."""


@dataclass(frozen=True)
class DbtRun:
    generated_at: float  # unix seconds
    command: str  # build, run, test, ...
    nodes: Counter  # (resource_type, status) -> count
    test_failures: int

    @property
    def success(self) -> bool:
        return not any(status in FAILED_STATUSES for _, status in self.nodes)


def default_target_dir() -> Path:
    """dbt_project/target of this checkout (pantao.dbt_runner's project when it is installed)."""
    try:
        from pantao.dbt_runner import DBT_PROJECT_DIR
    except ImportError:
        return Path(__file__).resolve().parent.parent / "dbt_project" / "target"
    return Path(DBT_PROJECT_DIR) / "target"


def read_last_run(target_dir: Path) -> DbtRun | None:
    """The last invocation's summary, or None when dbt has not run here yet."""
    path = target_dir / "run_results.json"
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        generated = datetime.fromisoformat(document["metadata"]["generated_at"].replace("Z", "+00:00"))
        results = document["results"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DbtResultsError(f"{path} is not a dbt run_results.json ({exc}); re-run `pantao dbt build`") from exc
    nodes: Counter = Counter()
    failures = 0
    for result in results:
        resource_type = str(result.get("unique_id", "unknown.")).split(".", 1)[0]
        status = str(result.get("status", "unknown")).lower()
        nodes[(resource_type, status)] += 1
        if resource_type in ("test", "unit_test") and status in FAILED_STATUSES:
            failures += 1
    command = str((document.get("args") or {}).get("which", "unknown"))
    return DbtRun(generated.timestamp(), command, nodes, failures)
