"""Every benchmark in bench/ in turn, each at its quick size, stopping at the first that fails.

    .venv/bin/python -m bench.run_all            # what `make bench` runs (tens of minutes on 2 cores)
    .venv/bin/python -m bench.run_all --list     # the commands, without running them

Each benchmark prints its own table; docs/performance.md holds the full-size figures with the
commands that produced them (bench.chain_scale rewrites its own section there).
"""

from __future__ import annotations

import argparse
import subprocess
import sys

# module, arguments: the quick size of each (docs/performance.md gives the full-size commands)
BENCHMARKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bench.kafka_landing", ("--events", "100000", "--rounds", "1")),
    ("bench.pbx_parsing", ("--lines", "200000")),
    ("bench.dbt_incremental", ("--days", "30", "90")),
    ("bench.anomaly_flags", ("--seeds", "1")),
    ("bench.live_board_latency", ("--idle-seconds", "10")),
    ("bench.cli_startup", ("--baseline", "HEAD", "--runs", "5")),
    ("bench.chain_scale", ("--quick",)),
    ("bench.source_triggers", ()),
)


def commands() -> list[list[str]]:
    return [[sys.executable, "-m", module, *args] for module, args in BENCHMARKS]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print the commands only")
    args = parser.parse_args()
    for command in commands():
        print("$ " + " ".join(command[1:]), flush=True)
        if not args.list and subprocess.run(command).returncode != 0:
            print(f"{command[2]} failed; the benchmarks after it did not run", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
