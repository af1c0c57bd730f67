"""Benchmark: what the conversion, the callback worklist and the staffing advice cost.

For each history length (default 28 and 56 days, demo scale): simulate, publish, land (landed_at
aged as bench/dbt_incremental.py does), run the full `dbt run`, and report from dbt's
run_results.json the build time of the models this work added or changed (int_calls_orders,
int_calls_aggregated_to_hours, calls, operator_daily, hourly_kpis, missed_call_recovery); then time
reading the last day's worklist section and the next day's staffing advice as the report does
(median of 5).

    .venv/bin/python -m bench.recovery_staffing [--days 28 56] [--scale 1.0] [--restaurants 8]

Uses DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS when set, else an embedded stack in a temporary folder.
Prints a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import statistics
import time
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from bench.dbt_incremental import START, drop_history, landed_history
from bench.servers import run_histories
from pantao.dbt_runner import run_dbt
from reports.recovery import recovery_figures
from reports.staffing import Target, staffing_figures
from simulator import SimConfig

log = logging.getLogger("bench.recovery_staffing")
MODELS = ("int_calls_orders", "int_calls_aggregated_to_hours", "calls", "operator_daily", "hourly_kpis",
          "missed_call_recovery")


def _median_seconds(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_history(days: int, scale: float, restaurants: int, admin_url: str, bootstrap: str, work: Path) -> dict:
    config = SimConfig(days=days, restaurants=restaurants, seed=days, scale=scale, start=START, malformed_share=0.0)
    database_url, settings = landed_history(f"bench_rs_{days}", config, admin_url, bootstrap, work,
                                            work / f"history-{days}")
    target = work / f"target-{days}"
    started = time.perf_counter()
    run_dbt(["run"], settings, database_url, target_dir=target)
    result: dict = {"days": days, "full_run_seconds": time.perf_counter() - started}
    timings = {r["unique_id"].rsplit(".", 1)[-1]: r["execution_time"]
               for r in json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]}
    result["models"] = {m: timings.get(m) for m in MODELS}
    last = START + dt.timedelta(days=days - 1)
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        result["calls"] = conn.execute("select count(*) as n from marts.calls").fetchone()["n"]
        result["worklist_rows"] = conn.execute("select count(*) as n from marts.missed_call_recovery").fetchone()["n"]
        result["recovery_read_seconds"] = _median_seconds(lambda: recovery_figures(conn, last))
        result["staffing_read_seconds"] = _median_seconds(
            lambda: staffing_figures(conn, last + dt.timedelta(days=1), Target()))
    drop_history(admin_url, database_url)
    return result


def markdown(results: list[dict], scale: float, restaurants: int) -> str:
    header = "| history | calls | worklist rows | " + " | ".join(f"`{m}`" for m in MODELS) + \
        " | report: worklist section | report: staffing advice |"
    lines = [f"Scale {scale}, {restaurants} restaurants; seconds (dbt's execution_time per model in the full "
             "`dbt run`; the report's reads: median of 5).", "", header,
             "|" + "---|" * (len(MODELS) + 5)]
    for r in results:
        cells = [f"{r['days']} days", str(r["calls"]), str(r["worklist_rows"])]
        cells += ["—" if r["models"][m] is None else f"{r['models'][m]:.2f}" for m in MODELS]
        cells += [f"{r['recovery_read_seconds']:.3f}", f"{r['staffing_read_seconds']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    args, results = run_histories(__doc__.splitlines()[0], [28, 56], bench_history)
    print(markdown(results, args.scale, args.restaurants))


if __name__ == "__main__":
    main()
