"""What the last dbt invocations did, from the `run_results.json` files dbt writes.

dbt rewrites that file on every invocation, so it is the cheapest reliable record of a build
and its test outcome without depending on how the build was started. Where it lands depends on
who ran dbt: `pantao dbt` and hand runs write `dbt_project/target/run_results.json`, while
dagster-dbt gives every invocation its own folder, `dbt_project/target/<op>-<run>-<id>/`
(orchestration/defs/marts/assets.py runs `dbt.cli(["build", ...])` without a target path).
Both are read; the newest `generated_at` is "the last invocation".
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


def run_results_paths(target_dir: Path) -> list[Path]:
    """target/run_results.json and every per-invocation target/*/run_results.json that exist."""
    paths = [target_dir / "run_results.json", *sorted(target_dir.glob("*/run_results.json"))]
    return [path for path in paths if path.is_file()]


def read_run(path: Path) -> DbtRun:
    """The summary of one run_results.json."""
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


class RunResults:
    """Every run_results.json under a target folder, each parsed once per version of the file.

    Dagster leaves one folder per invocation behind, so the folder count grows; a file is
    re-read only when its size or modification time changes, which keeps a scrape to a
    directory listing and a few `stat` calls.
    """

    def __init__(self, target_dir: Path) -> None:
        self.target_dir = target_dir
        self._parsed: dict[Path, tuple[tuple[int, int], DbtRun]] = {}

    def runs(self) -> list[DbtRun]:
        found: dict[Path, tuple[tuple[int, int], DbtRun]] = {}
        for path in run_results_paths(self.target_dir):
            stat = path.stat()
            version = (stat.st_mtime_ns, stat.st_size)
            cached = self._parsed.get(path)
            found[path] = cached if cached and cached[0] == version else (version, read_run(path))
        self._parsed = found
        return [run for _, run in found.values()]


def last_run(runs: list[DbtRun]) -> DbtRun | None:
    """The invocation that finished last."""
    return max(runs, key=lambda run: run.generated_at, default=None)


def last_successful_build(runs: list[DbtRun]) -> float | None:
    """When the newest `dbt build`/`dbt run` without errors or failures finished (unix seconds)."""
    return max((run.generated_at for run in runs if run.success and run.command in ("build", "run")), default=None)


def read_last_run(target_dir: Path) -> DbtRun | None:
    """The last invocation's summary, or None when dbt has not run here yet."""
    return last_run([read_run(path) for path in run_results_paths(target_dir)])
