"""Benchmark: how soon a line appended to the queue_log shows on the live board, and what following costs.

    .venv/bin/python -m bench.live_board_latency [--lines 20] [--idle-seconds 20]

For each poll interval (0.1 s, 0.5 s the default, 2 s) it starts `pantao ingest pbx --follow` on a
fresh database (DATABASE_URL's server when set, else an embedded PostgreSQL) and a queue_log with a
morning's events, then appends ENTERQUEUE lines one at a time and times each from the append to the
first scrape of the follower's /metrics that counts it (scraped every 10 ms). It also measures the
follower's CPU while nothing happens. The baseline, in the same run: what seeing a line took before
there was a follower — one batch `pantao ingest pbx` (a new process landing what is new), the
least a cron job must pay per look before the numbers reach PostgreSQL.
Prints a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import psutil

from pantao.db import scratch_database
from pantao.stack import EmbeddedPostgres, free_port

PANTAO = [sys.executable, str(Path(sys.executable).with_name("pantao"))]
INTERVALS = (0.1, 0.5, 2.0)


@contextmanager
def server():
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    with tempfile.TemporaryDirectory(prefix="pantao-live-bench-pg-") as tmp:
        with EmbeddedPostgres(Path(tmp) / "data") as pg:
            yield pg.dsn()


def waiting(port: int) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return None
    for row in text.splitlines():
        if row.startswith('pantao_live_calls_waiting{queue="700"}'):
            return float(row.split()[-1])
    return None


def wait_for(check, seconds: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        if check():
            return time.perf_counter() - started
        time.sleep(0.01)
    raise SystemExit(f"not seen within {seconds} s")


def environment(database_url: str, work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "KAFKA_", "PBX_"))}
    env.update(DATABASE_URL=database_url, PANTAO_DATA_DIR=str(work / "data"), PBX_QUEUE_LOG=str(work / "queue_log"),
               PBX_CDR_CSV=str(work / "Master.csv"), PBX_EXTENSIONS_FILE=str(work / "extensions.json"))
    now = int(time.time())
    (work / "queue_log").write_text(f"{now - 600}|NONE|700|PJSIP/101|ADDMEMBER|\n", encoding="utf-8")
    return env


def append_call(work: Path, i: int) -> None:
    now = int(time.time())
    with open(work / "queue_log", "a", encoding="utf-8") as f:
        f.write(f"{now}|{now}.{i}|700|NONE|ENTERQUEUE||+7916000{i:04d}|{i}\n")


def follow(database_url: str, interval: float, lines: int, idle_seconds: float) -> tuple[list[float], float]:
    with tempfile.TemporaryDirectory(prefix="pantao-live-bench-") as tmp:
        work, port = Path(tmp), free_port()
        env = environment(database_url, work)
        process = subprocess.Popen([*PANTAO, "ingest", "pbx", "--follow", "--poll-interval", str(interval),
                                    "--metrics-port", str(port)], env=env, cwd=work, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: waiting(port) is not None or process.poll() is not None, 120)
            follower = psutil.Process(process.pid)
            before = follower.cpu_times()
            time.sleep(idle_seconds)
            after = follower.cpu_times()
            idle_cpu = (after.user + after.system - before.user - before.system) / idle_seconds
            latencies = []
            for i in range(lines):
                append_call(work, i)
                latencies.append(wait_for(lambda i=i: waiting(port) == i + 1, 30))
                time.sleep(interval * 0.37)  # land the next append at another phase of the poll
            return latencies, idle_cpu
        finally:
            process.terminate()
            process.wait(30)


def batch(database_url: str, runs: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="pantao-live-bench-") as tmp:
        work = Path(tmp)
        env = environment(database_url, work)
        times = []
        for i in range(runs):
            append_call(work, i)
            started = time.perf_counter()
            subprocess.run([*PANTAO, "ingest", "pbx"], env=env, cwd=work, check=True, capture_output=True)
            times.append(time.perf_counter() - started)
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20, help="appended lines per poll interval (default 20)")
    parser.add_argument("--idle-seconds", type=float, default=20, help="how long to measure idle CPU (default 20)")
    options = parser.parse_args()
    rows = []
    with server() as url:
        for interval in INTERVALS:
            with scratch_database(url, "live_bench") as database:
                latencies, cpu = follow(database, interval, options.lines, options.idle_seconds)
            rows.append((f"`--follow --poll-interval {interval}`", latencies, f"{cpu * 100:.1f} %"))
        with scratch_database(url, "live_bench") as database:
            rows.append(("baseline: one batch `pantao ingest pbx` per look", batch(database, 5), "—"))
    print("| how | median s | max s | runs | idle CPU of the follower |")
    print("|---|---|---|---|---|")
    for name, times, cpu in rows:
        print(f"| {name} | {statistics.median(times):.2f} | {max(times):.2f} | {len(times)} | {cpu} |")


if __name__ == "__main__":
    main()
