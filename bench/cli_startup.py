"""Benchmark: how long `pantao --help` and `pantao stack status` take to start, against a baseline.

    .venv/bin/python -m bench.cli_startup --baseline b3bb912 [--runs 15]

The command line moved from a lazy string registry (pantao/cli.py, "module:attr" entries loaded
on demand) to plain imports (app/cli.py). This times both in one run, alternating, on the same
interpreter: `--baseline` (a git revision; b3bb912 is the last with the lazy registry) is exported with `git archive` into a
temporary folder and run from there; the current tree is run from the repository. The floor is
an interpreter that only imports click. Each command runs in a fresh process with
PANTAO_DATA_DIR in a temporary folder (status reads a state file there; nothing is started).
Prints a Markdown table for docs/performance.md (median and best wall-clock milliseconds).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
COMMANDS = (("--help",), ("stack", "status"))


def export_tree(revision: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", revision], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def entry_point(tree: Path) -> str:
    """The module holding `main` in that tree: app.cli now, pantao.cli before the move."""
    return "app.cli" if (tree / "app" / "cli.py").is_file() else "pantao.cli"


def time_once(code: str, tree: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=tree, env={**env, "PYTHONPATH": str(tree)},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True,
                        help="git revision to compare with, e.g. b3bb912 (the last with pantao/cli.py)")
    parser.add_argument("--runs", type=int, default=15, help="runs of each command and tree (default: 15)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pantao-cli-bench-") as tmp:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "KAFKA_"))}
        env["PANTAO_DATA_DIR"] = str(Path(tmp) / "data")
        baseline = export_tree(options.baseline, Path(tmp) / "baseline")
        trees = {f"baseline ({options.baseline}, {entry_point(baseline)})": baseline,
                 f"this tree ({entry_point(REPO_ROOT)})": REPO_ROOT}
        samples: dict[tuple[str, str], list[float]] = {}
        floor = "import click"
        for _ in range(options.runs):  # alternate, so a busy moment on a shared machine hits both
            samples.setdefault(("floor: python -c 'import click'", ""), []).append(time_once(floor, REPO_ROOT, env))
            for label, tree in trees.items():
                for args in COMMANDS:
                    code = (f"import sys; sys.argv = ['pantao', *{list(args)!r}]; "
                            f"from {entry_point(tree)} import main; main()")
                    samples.setdefault((label, " ".join(args)), []).append(time_once(code, tree, env))
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {options.runs} runs each\n")
    print("| tree | command | median ms | best ms |\n|---|---|---:|---:|")
    for (label, command), values in samples.items():
        print(f"| {label} | {command or '-'} | {statistics.median(values):.0f} | {min(values):.0f} |")


if __name__ == "__main__":
    main()
