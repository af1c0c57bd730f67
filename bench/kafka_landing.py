"""Benchmark: Kafka -> PostgreSQL landing against a plain COPY ceiling and pandas `to_sql`.

    .venv/bin/python -m bench.kafka_landing               # 1,000,000 order events
    .venv/bin/python -m bench.kafka_landing --events 100000   # a quick run
    .venv/bin/python -m bench.kafka_landing --compare-with /tmp/landing-old   # and another checkout's landing

Everything runs in one go on an embedded PostgreSQL and broker started in a temporary folder:
1. order events are generated from the simulator's events (each copy gets its own event_id and
   order_id) and produced to a 3-partition topic (and a quarter of them to a second topic);
2. (a) ceiling: the same rows, pre-encoded in memory, COPYed in batches into the landing's table
   definition (payload `text`), in COPY's text format and in its binary format (the landing
   writes binary); the faster of the two is the ceiling. For comparison, the text-format COPY
   into the same table with payload `jsonb`;
3. (b) baseline: `pandas.DataFrame.to_sql` of the same rows (a subset, see --to-sql-rows) through
   SQLAlchemy + psycopg2 with the default insert method (method=None) and chunksize=10,000;
4. (c) the landing itself, in a child process, so its peak RSS and CPU time are its own; for the
   full topic in every round, and once for the small one, to show that memory stays flat as the
   input grows. With --compare-with, (c') the landing of another checkout (a `git worktree add`
   of an older commit) lands the same topic in the same rounds, alternating which goes first.
Steps 2-4 run in alternating rounds (--rounds, default 2): on a machine shared with other work,
each measure gets the same chances at a quiet moment; the headline compares the best of each.

CPU per row is reported next to the rates: the landing process's (reader, writer and librdkafka
threads) and its reader's alone, and the PostgreSQL backend's for the ceiling COPYs. Unlike rates,
CPU time stays meaningful when other work shares the machine; the load average at the start and
the end of the run is part of the report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson

from bench.landing_baselines import (
    PARTITIONS,
    TOPIC_FULL,
    binary_rows,
    copy_ceiling,
    text_rows,
    to_sql_baseline,
)

log = logging.getLogger("bench.kafka_landing")

TOPIC_QUARTER = "bench-orders-quarter"


def order_templates() -> list[tuple[bytes, bytes, bytes]]:
    """(value, event_id, order_id) of one simulated day's valid order events."""
    from simulator import SimConfig, generate, write_outputs

    with tempfile.TemporaryDirectory() as tmp:
        sim = generate(SimConfig(days=1, restaurants=5, seed=7, start=dt.date(2026, 11, 2), malformed_share=0.0,
                                 duplicate_share=0.0))
        write_outputs(sim, Path(tmp))
        lines = (Path(tmp) / "kafka" / "orders.jsonl").read_bytes().splitlines()
    templates = []
    for line in lines:
        value = orjson.loads(line)["value"].encode()
        event = orjson.loads(value)
        templates.append((value, event["event_id"].encode(), event["order_id"].encode()))
    return templates


def generate_events(n: int) -> list[tuple[bytes, bytes]]:
    """n (key, value) pairs: simulator events with fresh ids, so every event is distinct."""
    templates = order_templates()
    events = []
    for i in range(n):
        value, event_id, order_id = templates[i % len(templates)]
        new_order = b"ORD-BENCH-%012d" % i
        new_value = value.replace(event_id, str(uuid.UUID(int=i)).encode()).replace(order_id, new_order)
        events.append((new_order, new_value))
    return events


def produce(bootstrap: str, topic: str, events: list[tuple[bytes, bytes]]) -> float:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    from pantao.kafka_config import KafkaSecurity, client_config

    admin = AdminClient(client_config(KafkaSecurity(), bootstrap))  # keep a reference: the futures need the handle
    for future in admin.create_topics([NewTopic(topic, PARTITIONS, 1)]).values():
        future.result(timeout=30)
    producer = Producer({**client_config(KafkaSecurity(), bootstrap), "linger.ms": 50, "batch.size": 1_000_000,
                         "queue.buffering.max.messages": 500_000})
    started = time.perf_counter()
    for i, (key, value) in enumerate(events):
        while True:
            try:
                producer.produce(topic, value=value, key=key, partition=i % PARTITIONS)
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(300) == 0, "messages left undelivered"
    return time.perf_counter() - started


REPO = Path(__file__).resolve().parent.parent


def run_child(args: list[str], checkout: Path = REPO) -> dict:
    """`python -m bench.kafka_landing ARGS` in `checkout` (another worktree: that version's code,
    from its own folder first on sys.path); the JSON it prints last."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run([sys.executable, "-m", "bench.kafka_landing", *args], capture_output=True, text=True,
                         check=False, cwd=checkout, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child in {checkout} failed: {out.stderr[-3000:]}")
    return json.loads(out.stdout)


def land_in_child(database_url: str, bootstrap: str, topic: str, batch_size: int, consumer: str,
                  checkout: Path = REPO) -> dict:
    cfg = {"database_url": database_url, "bootstrap": bootstrap, "topic": topic, "batch_size": batch_size,
           "consumer": consumer}
    return run_child(["--land-child", json.dumps(cfg)], checkout)


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it does not inherit the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (this benchmark needs Linux)")


def _cpu_seconds() -> float:
    """CPU time of this process (all threads) and of its finished children (reader processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def land_child(cfg: dict) -> None:
    """Runs in the child: land one topic, print seconds and peak RSS as JSON."""
    from ingestion.kafka import land_topics
    from ingestion.schema import ensure_raw_schema
    from pantao.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(topic_orders=cfg["topic"], kafka_consumer_name=cfg["consumer"], data_dir=Path(tmp))
        ensure_raw_schema(settings, cfg["database_url"])
        rss_before = peak_rss_mb()
        cpu_before = _cpu_seconds()
        result = land_topics(settings, cfg["database_url"], cfg["bootstrap"], streams=["orders"],
                             batch_size=cfg["batch_size"])
        cpu_seconds = _cpu_seconds() - cpu_before
    print(json.dumps({"landed": result.landed, "rejected": result.rejected, "seconds": result.seconds,
                      "cpu_seconds": cpu_seconds, "reader_cpu_seconds": result.reader_cpu_seconds,
                      "copy_seconds": result.streams["orders"].seconds,
                      "batches": result.batches, "rss_before_mb": rss_before,
                      "writer_idle_seconds": result.writer_idle_seconds,
                      "reader_blocked_seconds": result.reader_blocked_seconds,
                      "peak_rss_mb": peak_rss_mb(), "reader_processes": result.reader_processes,
                      # reader processes, if any: the largest (an upper bound: Linux carries ru_maxrss
                      # across fork+exec, so it starts at this process's size when it spawned them)
                      "reader_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))


def validation_cpu(n: int, rounds: int = 3) -> dict:
    """CPU microseconds per event of the orders validator: the fast path every good record takes,
    and the detailed path alone (orjson and the checks that name a reason), best of `rounds`."""
    from ingestion.contract import make_validator

    values = [value for _, value in generate_events(n)]
    result: dict = {"events": n, "mean_event_bytes": round(sum(map(len, values)) / n),
                    "load_average": [round(x, 2) for x in os.getloadavg()]}
    for name, validate in (("fast_path_us", make_validator("orders")),
                           ("detailed_path_us", make_validator("orders", fast=False))):
        best = float("inf")
        for _ in range(rounds):
            started = time.process_time()
            for value in values:
                validate(value)
            best = min(best, time.process_time() - started)
        result[name] = round(best / n * 1e6, 2)
    return result


def compare_validation_cpu(n: int, baseline: Path, rounds: int) -> dict:
    """`validation_cpu` of this checkout and of `baseline`, alternating, each in its own process."""
    runs: dict[str, list[dict]] = {"this": [], "baseline": []}
    for number in range(rounds):
        order = (("this", REPO), ("baseline", baseline))
        for name, checkout in order if number % 2 == 0 else reversed(order):
            runs[name].append(run_child(["--validation-cpu", "--events", str(n)], checkout))
    best = {name: {key: min(r[key] for r in results) for key in ("fast_path_us", "detailed_path_us")}
            for name, results in runs.items()}
    return {"events": n, "baseline": str(baseline), "runs": runs, "best": best,
            "fast_path_vs_baseline": round(best["this"]["fast_path_us"] / best["baseline"]["fast_path_us"], 3)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="order events to land (default 1,000,000)")
    parser.add_argument("--to-sql-rows", type=int, default=100_000,
                        help="rows for the pandas to_sql baseline (it is slow; default 100,000)")
    parser.add_argument("--batch-size", type=int, default=None, help="landing batch size (default: the landing's)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of ceiling, to_sql, landing (default 2)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the embedded stack lives (default: a temp dir)")
    parser.add_argument("--validation-cpu", action="store_true",
                        help="only measure the validator's CPU time per event over --events events (no database, "
                             "no broker; meaningful on a busy machine too)")
    parser.add_argument("--compare-with", type=Path, default=None, metavar="CHECKOUT",
                        help="also measure the landing (or, with --validation-cpu, the validator) of another "
                             "checkout of this repository, e.g. a `git worktree add /tmp/old <commit>`, in the "
                             "same rounds, alternating with this one")
    parser.add_argument("--land-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.land_child:
        logging.basicConfig(level=logging.WARNING)
        land_child(json.loads(args.land_child))
        return
    if args.validation_cpu and args.compare_with:
        print(json.dumps(compare_validation_cpu(args.events, args.compare_with, args.rounds), indent=2))
        return
    if args.validation_cpu:
        print(json.dumps(validation_cpu(args.events), indent=2))
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from ingestion.kafka import DEFAULT_BATCH_SIZE
    from pantao.stack import EmbeddedKafka, EmbeddedPostgres

    batch_size = args.batch_size or DEFAULT_BATCH_SIZE
    own_workdir = args.workdir is None  # a temp dir of ours is removed afterwards (it holds ~4 GB)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pantao-bench-"))
    pg = EmbeddedPostgres(workdir / "pg")
    kafka = EmbeddedKafka(workdir / "kafka")
    pg.start()
    kafka.start()
    try:
        report = run(pg.dsn(), kafka.bootstrap, args.events, args.to_sql_rows, batch_size, args.rounds,
                     args.compare_with)
    finally:
        kafka.stop()
        pg.stop()
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report, indent=2))
    print(summary(report))


def run(database_url: str, bootstrap: str, n: int, to_sql_rows: int, batch_size: int, rounds: int = 2,
        baseline: Path | None = None) -> dict:
    """Measure the ceiling, to_sql and the landing `rounds` times, alternating, and report each round.

    Alternating rounds make the comparison fair when other work shares the machine: every
    measure gets the same chances at a quiet moment, and the headline ratios compare the best
    run of each.
    """
    quarter = n // 4
    log.info("generating %d order events from the simulator's", n)
    events = generate_events(n)
    mean_bytes = sum(len(v) for _, v in events) / n
    log.info("producing %d + %d events to %s", n, quarter, bootstrap)
    produce_seconds = produce(bootstrap, TOPIC_FULL, events)
    produce(bootstrap, TOPIC_QUARTER, events[:quarter])
    subset = events[:min(to_sql_rows, n)]
    millis = int(time.time() * 1000)

    def per_row_us(seconds: float | None) -> float | None:
        return None if seconds is None else round(seconds / n * 1e6, 2)

    def load() -> list[float]:
        return [round(x, 2) for x in os.getloadavg()]

    results = []
    jsonb_seconds = 0.0
    for number in range(1, rounds + 1):
        result: dict = {"round": number, "load_average_start": load()}
        rows = text_rows(events, millis)
        log.info("round %d: (a) COPY ceiling, payload text, text format", number)
        text_seconds, text_cpu = copy_ceiling(database_url, "bench.orders_copy_text", "text", rows, batch_size)
        if number == 1:
            log.info("round %d: (a') COPY, payload jsonb, text format", number)
            jsonb_seconds, _ = copy_ceiling(database_url, "bench.orders_copy_jsonb", "jsonb", rows, batch_size)
        del rows
        rows = binary_rows(events, millis)
        log.info("round %d: (a) COPY ceiling, payload text, binary format", number)
        binary_seconds, binary_cpu = copy_ceiling(database_url, "bench.orders_copy_binary", "text", rows,
                                                  batch_size, binary=True)
        del rows
        log.info("round %d: (b) pandas to_sql of %d rows", number, len(subset))
        to_sql_seconds = to_sql_baseline(database_url, subset)
        old = None
        if baseline is not None and number % 2 == 0:  # alternate which version lands first
            log.info("round %d: (c') baseline landing from %s", number, baseline)
            old = land_in_child(database_url, bootstrap, TOPIC_FULL, batch_size, f"bench-old-{number}", baseline)
        log.info("round %d: (c) landing %d events from the broker (child process)", number, n)
        full = land_in_child(database_url, bootstrap, TOPIC_FULL, batch_size, f"bench-full-{number}")
        assert full["landed"] == n, full
        if baseline is not None and old is None:
            log.info("round %d: (c') baseline landing from %s", number, baseline)
            old = land_in_child(database_url, bootstrap, TOPIC_FULL, batch_size, f"bench-old-{number}", baseline)
        if old is not None:
            assert old["landed"] == n, old
            result.update({"baseline_rows_per_s": round(n / old["seconds"]),
                           "baseline_cpu_us_per_row": per_row_us(old["cpu_seconds"]),
                           "baseline_reader_cpu_us_per_row": per_row_us(old["reader_cpu_seconds"])})
        result.update({
            "copy_text_rows_per_s": round(n / text_seconds), "copy_binary_rows_per_s": round(n / binary_seconds),
            "copy_text_server_cpu_us_per_row": per_row_us(text_cpu),
            "copy_binary_server_cpu_us_per_row": per_row_us(binary_cpu),
            "copy_ceiling_rows_per_s": round(n / min(text_seconds, binary_seconds)),
            "to_sql_rows_per_s": round(len(subset) / to_sql_seconds),
            "landing_rows_per_s": round(n / full["seconds"]), "landing_seconds": round(full["seconds"], 2),
            "landing_writer_idle_seconds": round(full["writer_idle_seconds"], 1),
            "landing_copy_seconds": round(full["copy_seconds"], 1),
            "landing_cpu_us_per_row": per_row_us(full["cpu_seconds"]),
            "landing_reader_cpu_us_per_row": per_row_us(full["reader_cpu_seconds"]),
            "peak_rss_mb": round(full["peak_rss_mb"]), "reader_processes": full["reader_processes"],
            "reader_peak_rss_mb": round(full["reader_peak_rss_mb"]),
            "load_average_end": load(),
        })
        result["landing_vs_copy_ceiling"] = round(result["landing_rows_per_s"] / result["copy_ceiling_rows_per_s"], 3)
        result["landing_vs_to_sql"] = round(result["landing_rows_per_s"] / result["to_sql_rows_per_s"], 1)
        results.append(result)
    del events, subset
    log.info("(c) landing %d events from the broker (child process), for memory", quarter)
    small = land_in_child(database_url, bootstrap, TOPIC_QUARTER, batch_size, "bench-quarter")
    assert small["landed"] == quarter, small

    best = {key: max(r[key] for r in results) for key in
            ("copy_ceiling_rows_per_s", "copy_binary_rows_per_s", "copy_text_rows_per_s", "to_sql_rows_per_s",
             "landing_rows_per_s", *(("baseline_rows_per_s",) if baseline is not None else ()))}
    return {
        "events": n, "mean_event_bytes": round(mean_bytes), "batch_size": batch_size, "cpu_count": os.cpu_count(),
        "produce_rows_per_s": round(n / produce_seconds), "to_sql_rows": min(to_sql_rows, n),
        "copy_jsonb_rows_per_s": round(n / jsonb_seconds),
        "rounds": results,
        "best": best,
        "landing_vs_copy_ceiling": round(best["landing_rows_per_s"] / best["copy_ceiling_rows_per_s"], 3),
        "landing_vs_to_sql": round(best["landing_rows_per_s"] / best["to_sql_rows_per_s"], 1),
        "landing_small_events": quarter, "landing_small_rows_per_s": round(quarter / small["seconds"]),
        "peak_rss_mb_small": round(small["peak_rss_mb"]), "peak_rss_mb_full": max(r["peak_rss_mb"] for r in results),
        "rss_before_landing_mb": round(small["rss_before_mb"]),
        **({"baseline": str(baseline),
            "landing_vs_baseline": round(best["landing_rows_per_s"] / best["baseline_rows_per_s"], 3)}
           if baseline is not None else {}),
    }


def summary(r: dict) -> str:
    lines = [f"events: {r['events']:,} order events, mean {r['mean_event_bytes']} bytes; batch {r['batch_size']:,}; "
             f"to_sql: {r['to_sql_rows']:,} rows; COPY into payload jsonb (text format): "
             f"{r['copy_jsonb_rows_per_s']:,} rows/s"]
    for x in r["rounds"]:
        lines += [
            f"round {x['round']} (load average {x['load_average_start']} -> {x['load_average_end']}):",
            f"  (a) COPY binary {x['copy_binary_rows_per_s']:>9,} rows/s (server CPU "
            f"{x['copy_binary_server_cpu_us_per_row']} us/row), text {x['copy_text_rows_per_s']:,} rows/s "
            f"({x['copy_text_server_cpu_us_per_row']} us/row)",
            f"  (b) pandas to_sql {x['to_sql_rows_per_s']:>9,} rows/s",
            f"  (c) landing       {x['landing_rows_per_s']:>9,} rows/s = {x['landing_vs_copy_ceiling']:.0%} of the "
            f"ceiling, {x['landing_vs_to_sql']}x to_sql; CPU {x['landing_cpu_us_per_row']} us/row "
            f"(reader {x['landing_reader_cpu_us_per_row']}); the writer waited {x['landing_writer_idle_seconds']} s "
            f"of {x['landing_seconds']} s and spent {x['landing_copy_seconds']} s in COPY",
        ]
        if "baseline_rows_per_s" in x:
            lines.append(f"  (c') baseline     {x['baseline_rows_per_s']:>9,} rows/s; CPU {x['baseline_cpu_us_per_row']} "
                         f"us/row (reader {x['baseline_reader_cpu_us_per_row']})")
    b = r["best"]
    lines += [
        f"best of each: ceiling {b['copy_ceiling_rows_per_s']:,}, to_sql {b['to_sql_rows_per_s']:,}, landing "
        f"{b['landing_rows_per_s']:,} rows/s = {r['landing_vs_copy_ceiling']:.0%} of the ceiling, "
        f"{r['landing_vs_to_sql']}x to_sql",
        f"peak RSS of the landing process: {r['peak_rss_mb_small']} MB for {r['landing_small_events']:,} events, "
        f"{r['peak_rss_mb_full']} MB for {r['events']:,} (after imports: {r['rss_before_landing_mb']} MB)",
    ]
    if "baseline" in r:
        lines.append(f"best landing {b['landing_rows_per_s']:,} rows/s vs the baseline ({r['baseline']}) "
                     f"{b['baseline_rows_per_s']:,} rows/s: {r['landing_vs_baseline']:.1%}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
