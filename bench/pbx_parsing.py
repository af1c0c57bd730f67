"""Benchmark: our queue_log and Master.csv parsers against typical baselines, in one run.

    .venv/bin/python bench/pbx_parsing.py [--lines 1000000] [--baseline b3bb912]

Generates N queue_log lines and N Master.csv rows in FreePBX's real formats (a mix of event
kinds, Cyrillic caller names, ~1 in 1000 lines malformed), Master.csv in several cdr_csv layouts
(21 columns with newcdrcolumns, 18 and 16 columns, and a file mixing 16/18/21 line by line), then
times, on the same files:
- ours: ingestion.pbx.parsers / cdr_csv exactly as the files landing runs them: 4 MiB reads,
  parsed in 64 KiB pieces (parsers.PARSE_BYTES) into checked COPY-ready rows (PostgreSQL then
  derives the queue_log event_hash/event_at and casts the CDR fields in the INSERT … SELECT);
- the baseline: the same parsers at git revision --baseline (before per-line layout detection;
  it reads only 21-column Master.csv), loaded from git so both run side by side in one process;
- naive: csv.DictReader + per-line dict + type conversion (+ the same hash for queue_log);
- pandas.read_csv of the same file (no validation, no hash);
- the floor: decoding and splitting alone, what any parser written in Python pays.
Prints a Markdown table for docs/performance.md, with the rows each parser kept. Target: ours ≥
200,000 lines/s.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib.util
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingestion.pbx.cdr_csv import parse_master_csv  # noqa: E402
from ingestion.pbx.files import DEFAULT_CHUNK_BYTES  # noqa: E402
from ingestion.pbx.formats import MASTER_CSV_COLUMNS  # noqa: E402
from ingestion.pbx.parsers import iter_pieces, parse_queue_log  # noqa: E402

QL_COLUMNS = ["epoch", "callid", "queuename", "agent", "event", "data1", "data2", "data3", "data4", "data5"]
NAMES = ["Иван Петров", "Ольга", "Сергей", "Anna", "Мария Кузнецова", ""]


def write_queue_log(path: Path, n: int, rng: random.Random) -> None:
    epoch = 1793520000
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for i in range(n):
            epoch += rng.randint(0, 3)
            cid = f"{epoch}.{i}"
            agent = f"PJSIP/{101 + i % 20}"
            k = i % 6
            if i % 1000 == 999:
                line = f"{epoch}|{cid}|orders|broken line without enough fields"
            elif k == 0:
                line = f"{epoch}|{cid}|orders|NONE|ENTERQUEUE||+7916{i % 10000000:07d}|1||"
            elif k == 1:
                line = f"{epoch}|{cid}|orders|{agent}|RINGNOANSWER|{rng.randint(1000, 15000)}||||"
            elif k == 2:
                line = f"{epoch}|{cid}|orders|{agent}|CONNECT|{rng.randint(0, 60)}|{cid}1|{rng.randint(1, 9)}||"
            elif k == 3:
                line = f"{epoch}|{cid}|orders|{agent}|COMPLETECALLER|12|{rng.randint(20, 400)}|1||"
            elif k == 4:
                line = f"{epoch}|{cid}|orders|NONE|ABANDON|1|1|{rng.randint(1, 90)}||"
            else:
                line = f"{epoch}|NONE|orders|{agent}|PAUSE|Обед||||"
            f.write(line + "\n")


# cdr_csv layout -> positions of the 21 fields it writes (16 base, then uniqueid, userfield,
# peeraccount, linkedid, sequence as cdr.conf enables them)
LAYOUTS = {"21": tuple(range(21)), "18": tuple(range(18)), "16": tuple(range(16))}
MIXED = ("16", "18", "21")


def write_master_csv(path: Path, n: int, rng: random.Random, layout: str = "21") -> None:
    base = datetime(2026, 11, 1, 8).timestamp()
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\n")
        for i in range(n):
            keep = LAYOUTS[MIXED[i % 3] if layout == "mixed" else layout]
            if i % 1000 == 999:
                f.write('"","broken","row"\n')
                continue
            start = base + i * 2
            dur = rng.randint(5, 600)
            answered = i % 4 != 0
            billsec = max(0, dur - rng.randint(3, 30)) if answered else 0
            fmt = "%Y-%m-%d %H:%M:%S"
            phone = f"+7916{i % 10000000:07d}"
            row = ["", phone, "400", "ext-queues", f'"{NAMES[i % len(NAMES)]}" <{phone}>',
                   f"PJSIP/trunk-{i:08x}", f"PJSIP/{101 + i % 20}-{i:08x}" if answered else "", "Queue",
                   "400,t,,,300,,,,,", time.strftime(fmt, time.localtime(start)),
                   time.strftime(fmt, time.localtime(start + dur - billsec)) if answered else "",
                   time.strftime(fmt, time.localtime(start + dur)), str(dur), str(billsec),
                   "ANSWERED" if answered else "NO ANSWER", "DOCUMENTATION", f"{int(start)}.{i}", "", "",
                   f"{int(start)}.{i}", str(i % 2)]
            w.writerow([row[k] for k in keep])


def baseline_parsers(revision: str):
    """ingestion/pbx/parsers.py as it was at `revision`, imported beside today's."""
    root = Path(__file__).resolve().parent.parent
    source = subprocess.run(["git", "show", f"{revision}:ingestion/pbx/parsers.py"], cwd=root, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "baseline_parsers.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("baseline_parsers", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_parsers"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def kept(parse: Callable, path: Path) -> int:
    """Rows a parser keeps (valid rows it would land) in the file."""
    with open(path, "rb") as f:
        data = f.read()
    data = data[: data.rfind(b"\n") + 1]
    return sum(len(parse(piece, first_line=first).rows) for first, piece in iter_pieces(data))


def ours(parse: Callable, path: Path) -> int:
    rows = 0
    with open(path, "rb") as f:
        carry = b""
        while True:
            buf = f.read(DEFAULT_CHUNK_BYTES)
            if not buf:
                break
            buf = carry + buf
            cut = buf.rfind(b"\n") + 1
            for first_line, piece in iter_pieces(buf[:cut]):
                parsed = parse(piece, first_line=first_line)
                rows += len(parsed.rows) + len(parsed.rejects)
            carry = buf[cut:]
    return rows


def naive_queue_log(path: Path) -> int:
    rows = 0
    with open(path, encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f, fieldnames=QL_COLUMNS, delimiter="|", quoting=csv.QUOTE_NONE):
            try:
                rec["event_at"] = datetime.fromtimestamp(int(rec["epoch"]))
            except (TypeError, ValueError):
                continue
            canonical = "|".join(rec.get(c) or "" for c in QL_COLUMNS)
            rec["event_hash"] = hashlib.sha256(canonical.encode()).hexdigest()
            rows += 1
    return rows


def naive_master_csv(path: Path) -> int:
    rows = 0
    with open(path, encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f, fieldnames=list(MASTER_CSV_COLUMNS)):
            try:
                rec["calldate"] = datetime.strptime(rec["start"], "%Y-%m-%d %H:%M:%S")
                for col in ("duration", "billsec", "sequence"):
                    rec[col] = int(rec[col])
            except (TypeError, ValueError):
                continue
            rows += 1
    return rows


def floor_queue_log(path: Path) -> int:
    """Only decode and split each line: no checks, no rows kept. What any Python parser pays."""
    rows = 0
    with open(path, "rb") as f:
        for line in f.read().decode("utf-8").split("\n"):
            line.split("|")
            rows += 1
    return rows


def floor_master_csv(path: Path) -> int:
    """Only decode and run the csv module's C reader: no checks, no conversion, no rows kept."""
    rows = 0
    with open(path, "rb") as f:
        for _row in csv.reader(f.read().decode("utf-8").split("\n")):
            rows += 1
    return rows


def pandas_queue_log(path: Path) -> int:
    df = pd.read_csv(path, sep="|", header=None, names=QL_COLUMNS, dtype=str, keep_default_na=False,
                     quoting=csv.QUOTE_NONE, on_bad_lines="skip")
    return len(df)


def pandas_master_csv(path: Path) -> int:
    df = pd.read_csv(path, header=None, names=list(MASTER_CSV_COLUMNS), dtype=str, keep_default_na=False,
                     on_bad_lines="skip")
    return len(df)


def timed(fn: Callable[[Path], int], path: Path, n: int) -> tuple[float, float]:
    """(lines per wall-clock second, lines per CPU second), best of two runs.

    Both are reported because the benchmark machine is shared: wall time includes waiting for
    a core, CPU time is what the parser itself costs.
    """
    best_wall = best_cpu = float("inf")
    for _ in range(2):  # the first run also warms the page cache
        w0, c0 = time.perf_counter(), time.process_time()
        fn(path)
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return n / best_wall, n / best_cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--baseline", default="b3bb912", help="git revision of the parsers to compare with")
    args = ap.parse_args()
    n = args.lines
    old = baseline_parsers(args.baseline)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        ql = Path(tmp) / "queue_log"
        write_queue_log(ql, n, rng)
        csvs = {layout: Path(tmp) / f"Master-{layout}.csv" for layout in ("21", "18", "16", "mixed")}
        for layout, path in csvs.items():
            write_master_csv(path, n, random.Random(7), layout)
        sizes = {"queue_log": os.path.getsize(ql) / 2**20, "Master.csv": os.path.getsize(csvs["21"]) / 2**20}
        results = {
            "queue_log": [("ours (ingestion.pbx.parsers)", ql, parse_queue_log),
                          (f"baseline ({args.baseline})", ql, old.parse_queue_log),
                          ("csv.DictReader + dict + hash", ql, naive_queue_log),
                          ("pandas.read_csv (no hash, no checks)", ql, pandas_queue_log),
                          ("floor: decode + str.split only", ql, floor_queue_log)],
            "Master.csv 21 columns": [("ours (ingestion.pbx.cdr_csv, auto layout)", csvs["21"], parse_master_csv),
                                      (f"baseline ({args.baseline}, 21 columns only)", csvs["21"],
                                       old.parse_master_csv),
                                      ("csv.DictReader + dict + strptime", csvs["21"], naive_master_csv),
                                      ("pandas.read_csv (no checks)", csvs["21"], pandas_master_csv),
                                      ("floor: decode + csv.reader only", csvs["21"], floor_master_csv)],
            "Master.csv 18 columns": [("ours", csvs["18"], parse_master_csv),
                                      (f"baseline ({args.baseline})", csvs["18"], old.parse_master_csv),
                                      ("floor: decode + csv.reader only", csvs["18"], floor_master_csv)],
            "Master.csv 16 columns": [("ours", csvs["16"], parse_master_csv),
                                      ("floor: decode + csv.reader only", csvs["16"], floor_master_csv)],
            "Master.csv 16/18/21 mixed": [("ours", csvs["mixed"], parse_master_csv),
                                          ("floor: decode + csv.reader only", csvs["mixed"], floor_master_csv)],
        }
        timed_rows = {}
        for fmt, entries in results.items():
            timed_rows[fmt] = []
            for label, path, fn in entries:
                parser = getattr(fn, "__module__", "").endswith(("parsers", "cdr_csv"))
                rate = timed(lambda p, fn=fn: ours(fn, p), path, n) if parser else timed(fn, path, n)
                timed_rows[fmt].append((label, rate, kept(fn, path) if parser else None))
    print(f"{n:,} lines per file; Python {platform.python_version()}, {os.cpu_count()} CPUs; "
          f"queue_log {sizes['queue_log']:.0f} MiB, Master.csv (21 columns) {sizes['Master.csv']:.0f} MiB; "
          "best of 2 runs.\n")
    load = os.getloadavg()[0]
    print(f"load average at the end: {load:.1f} on {os.cpu_count()} CPUs\n")
    print("| file | parser | lines/s (wall) | lines/s (CPU) | vs first row (CPU) | rows kept |")
    print("|---|---|---:|---:|---:|---:|")
    for fmt, rows in timed_rows.items():
        first_cpu = rows[0][1][1]
        for label, (wall, cpu), rows_kept in rows:
            shown = "" if rows_kept is None else f"{rows_kept:,}"
            print(f"| {fmt} | {label} | {wall:,.0f} | {cpu:,.0f} | {cpu / first_cpu:.2f}× | {shown} |")
    for fmt, rows in timed_rows.items():
        wall, cpu = rows[0][1]
        verdict = "met" if wall >= 200_000 else ("met in CPU time only" if cpu >= 200_000 else "NOT met")
        print(f"\n{fmt}: target ≥ 200,000 lines/s {verdict}")


if __name__ == "__main__":
    main()
