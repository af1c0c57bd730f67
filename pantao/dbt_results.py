"""What dbt invocations did, read from the `run_results.json` files dbt writes: the one parser.

dbt rewrites that file on every invocation, so it is the cheapest reliable record of a build
and its tests, whoever started it. `pantao dbt`, the tests and hand runs write
`dbt_project/target/run_results.json`; dagster-dbt gives every invocation its own folder,
`dbt_project/target/<op>-<run>-<id>/`. The runner (pantao.dbt_runner) reads it to name what
failed, the exporter (monitoring.exporter) to publish the last build's outcome.

The rule for a node's status, the same for both:
- `error` (a model, seed, snapshot or test that could not run), `fail` (a test whose query
  returned rows) and `runtime error` (dbt before 1.0) are failures;
- `skipped` is not a failure of its own: dbt skips what depends on a failed node (and, with
  --fail-fast, everything after it). The run has failed already; skipped nodes are counted to
  show how far the failure reached, never reported as more failures;
- `success`, `pass` and `warn` (a test at severity warn) are not failures.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
SKIPPED = "skipped"
TEST_TYPES = frozenset({"test", "unit_test"})


class DbtResultsError(ValueError):
    """run_results.json exists but cannot be read; the message names the file."""


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    status: str
    message: str

    @property
    def resource_type(self) -> str:
        return self.unique_id.split(".", 1)[0]

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


@dataclass(frozen=True)
class DbtRun:
    generated_at: float  # unix seconds
    command: str  # build, run, test, ...
    results: tuple[NodeResult, ...]

    @property
    def nodes(self) -> Counter:
        """(resource_type, status) -> count."""
        return Counter((result.resource_type, result.status) for result in self.results)

    @property
    def failed(self) -> list[NodeResult]:
        return [result for result in self.results if result.failed]

    @property
    def skipped(self) -> list[NodeResult]:
        return [result for result in self.results if result.status == SKIPPED]

    @property
    def test_failures(self) -> int:
        return sum(1 for result in self.failed if result.resource_type in TEST_TYPES)

    @property
    def success(self) -> bool:
        return not self.failed


def read_run(path: Path) -> DbtRun:
    """The summary of one run_results.json."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        generated = datetime.fromisoformat(document["metadata"]["generated_at"].replace("Z", "+00:00"))
        results = tuple(
            NodeResult(str(r.get("unique_id") or "unknown."), str(r.get("status") or "unknown").lower(),
                       (r.get("message") or "").strip())
            for r in document["results"]
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DbtResultsError(f"{path} is not a dbt run_results.json ({exc}); re-run `pantao dbt build`") from exc
    command = str((document.get("args") or {}).get("which", "unknown"))
    return DbtRun(generated.timestamp(), command, results)


def run_results_paths(target_dir: Path) -> list[Path]:
    """target/run_results.json and every per-invocation target/*/run_results.json that exist."""
    paths = [target_dir / "run_results.json", *sorted(target_dir.glob("*/run_results.json"))]
    return [path for path in paths if path.is_file()]


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
    """When the newest `dbt build`/`dbt run` without a failure finished (unix seconds)."""
    return max((run.generated_at for run in runs if run.success and run.command in ("build", "run")), default=None)

