"""Benchmark: dbt full build after N simulated days, then the daily incremental run after one more day.

For each history length (default 30 and 180 days, demo scale): simulate N days, publish them to
Kafka, land Kafka and the PBX files (then set their landed_at to a minute after each event, as continuous
landing would), time `dbt run` (the first, full build) and `dbt build` (run + all data tests); then
simulate the next day, land it and time the incremental `dbt run` and `dbt build`, and what the
write–audit–publish part of that run took (copying the live tables into the shadow, the publish).
The target: incremental(180) / incremental(30) ≤ 1.5, i.e. a daily run costs the new data, not
the history.

    .venv/bin/python -m bench.dbt_incremental [--days 30 180] [--scale 1.0] [--restaurants 8]

Uses DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS when set, else starts its own embedded stack in a
temporary folder. Prints a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from pathlib import Path

import psycopg

from bench.servers import run_histories
from pantao.db import libpq_params, with_database
from pantao.dbt_runner import run_dbt
from pantao.settings import Settings
from simulator import SimConfig, generate, publish_to_kafka, write_outputs

log = logging.getLogger("bench.dbt_incremental")
START = dt.date(2025, 1, 6)


def _settings(database_url: str, bootstrap: str, work: Path, pbx_dir: Path, suffix: str) -> Settings:
    return Settings(
        database_url=database_url, kafka_bootstrap_servers=bootstrap, data_dir=work / "data",
        topic_orders=f"bench-orders-{suffix}", topic_customers=f"bench-customers-{suffix}",
        topic_feedback=f"bench-feedback-{suffix}", kafka_consumer_name=f"bench-{suffix}", pbx_source="files",
        pbx_cdr_csv=pbx_dir / "Master.csv", pbx_queue_log=pbx_dir / "queue_log",
        pbx_extensions_file=pbx_dir / "extensions.json",
    )


def _land(settings: Settings, database_url: str, day: dt.date | None = None) -> None:
    from app.prepare import prepare_database
    from ingestion.kafka import land_topics
    from ingestion.pbx import land_pbx

    # `pantao prepare`'s database steps: the raw tables, and the roles the marts and views are granted to
    prepare_database(settings, database_url)
    land_topics(settings, database_url, settings.kafka_bootstrap_servers or "")
    if day is None:
        land_pbx(settings, database_url, source="files")
    else:
        land_pbx(settings, database_url, source="files", since=day, until=day + dt.timedelta(days=1))


def _age_landed_rows(database_url: str, timezone: str) -> None:
    """Set the history's landed_at to shortly after each event happened, as continuous landing would.

    The incremental models pick up what landed since their last build minus an overlap
    (var landing_overlap_minutes) for landing transactions still open. In production the history
    landed over months; here it lands minutes before the build, so without this the whole history
    would count as "just landed" and the measurement would not be a daily run.
    """
    with psycopg.connect(database_url) as conn:
        for table in ("orders", "customers", "feedback"):
            conn.execute(f"update raw.{table} set landed_at = "
                         "(payload::jsonb ->> 'event_at')::timestamptz + interval '1 minute'")
        conn.execute("update raw.pbx_queue_log set landed_at = event_at + interval '1 minute'")
        conn.execute("update raw.pbx_cdr set landed_at = (calldate at time zone %s) + interval '1 hour'",
                     (timezone,))
        conn.execute("update raw.pbx_extensions set landed_at = %s", (dt.datetime.combine(START, dt.time(), dt.UTC),))


def landed_history(prefix: str, config: SimConfig, admin_url: str, bootstrap: str, work: Path,
                   out: Path) -> tuple[str, Settings]:
    """A new database `<prefix>_<random>` holding the simulated history of `config`, landed (Kafka
    and PBX files) and aged as continuous landing would have left it; its DSN and settings."""
    suffix = uuid.uuid4().hex[:8]
    name = f"{prefix}_{suffix}"
    database_url = with_database(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    write_outputs(generate(config), out)
    settings = _settings(database_url, bootstrap, work, out / "pbx", suffix)
    publish_to_kafka(out, bootstrap, settings.topics)
    _land(settings, database_url)
    _age_landed_rows(database_url, config.timezone)
    return database_url, settings


def drop_history(admin_url: str, database_url: str) -> None:
    """Drop the database `landed_history` made, whoever is still connected."""
    name = libpq_params(database_url)["dbname"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def _timed(label: str, args: list[str], settings: Settings, database_url: str, target: Path,
           wap_seconds: dict[str, float] | None = None) -> float:
    """Seconds of the whole `run_dbt` (write–audit–publish included); `wap_seconds` gets its parts."""
    started = time.perf_counter()
    run_dbt(args, settings, database_url, target_dir=target, wap_seconds=wap_seconds)
    seconds = time.perf_counter() - started
    log.info("%s: dbt %s took %.1f s (write-audit-publish: %s)", label, " ".join(args), seconds, wap_seconds)
    return seconds


def bench_history(days: int, scale: float, restaurants: int, admin_url: str, bootstrap: str, work: Path) -> dict:
    """Full build after `days` days, then the incremental run after day days+1; seconds and row counts."""
    history = SimConfig(days=days, restaurants=restaurants, seed=days, scale=scale, start=START, malformed_share=0.0)
    started = time.perf_counter()
    database_url, settings = landed_history(f"bench_dbt_{days}", history, admin_url, bootstrap, work,
                                            work / f"history-{days}")
    prepare_seconds = time.perf_counter() - started
    target = work / f"target-{days}"
    result = {"days": days, "prepare_seconds": prepare_seconds}
    result["full_run_seconds"] = _timed(f"{days} days", ["run"], settings, database_url, target)
    result["full_build_seconds"] = _timed(f"{days} days", ["build"], settings, database_url, target)
    with psycopg.connect(database_url) as conn:
        result["orders"] = conn.execute("select count(*) from marts.orders").fetchone()[0]
        result["calls"] = conn.execute("select count(*) from marts.calls").fetchone()[0]
        result["raw_order_messages"] = conn.execute("select count(*) from raw.orders").fetchone()[0]

    next_day = START + dt.timedelta(days=days)
    extra = SimConfig(days=1, restaurants=restaurants, seed=days + 1000, scale=scale, start=next_day,
                      malformed_share=0.0)
    extra_out = work / f"next-{days}"
    write_outputs(generate(extra), extra_out)
    publish_to_kafka(extra_out, bootstrap, settings.topics)
    _land(settings.with_overrides(pbx_cdr_csv=extra_out / "pbx" / "Master.csv",
                                  pbx_queue_log=extra_out / "pbx" / "queue_log",
                                  pbx_extensions_file=extra_out / "pbx" / "extensions.json"),
          database_url, next_day)
    wap_seconds: dict[str, float] = {}
    result["incremental_run_seconds"] = _timed(f"{days}+1 days", ["run"], settings, database_url, target, wap_seconds)
    result["copy_seconds"], result["publish_seconds"] = wap_seconds["prepare"], wap_seconds["publish"]
    result["tables_copied"] = int(wap_seconds["tables_copied"])
    result["incremental_build_seconds"] = _timed(f"{days}+1 days", ["build"], settings, database_url, target)
    drop_history(admin_url, database_url)
    return result


def markdown(results: list[dict], scale: float, restaurants: int) -> str:
    lines = [
        f"Scale {scale}, {restaurants} restaurants; seconds of wall time on the shared 2-core machine.",
        "",
        "| history | orders | calls | first `dbt run` (full) | then `dbt build` (tests, nothing new) "
        "| next day: incremental `dbt run` | next day: `dbt build` |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r['days']} days | {r['orders']} | {r['calls']} | {r['full_run_seconds']:.1f} | "
                     f"{r['full_build_seconds']:.1f} | {r['incremental_run_seconds']:.1f} | "
                     f"{r['incremental_build_seconds']:.1f} |")
    lines += ["", "Write–audit–publish inside the incremental `dbt run` (pantao/wap.py): copying the live tables "
                  "into the shadow schemas, and the swap.", "",
              "| history | tables copied | copy | publish (swap + drop of the old build) |", "|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['days']} days | {r['tables_copied']} | {r['copy_seconds']:.2f} s | "
                     f"{r['publish_seconds']:.2f} s |")
    if len(results) >= 2:
        ratio = results[-1]["incremental_run_seconds"] / results[0]["incremental_run_seconds"]
        lines += ["", f"Incremental run ratio {results[-1]['days']}/{results[0]['days']} days: **{ratio:.2f}** "
                      "(target ≤ 1.5)."]
    return "\n".join(lines)


def main() -> None:
    args, results = run_histories(__doc__.splitlines()[0], [30, 180], bench_history, lambda parser: parser.add_argument(
        "--json", type=Path, help="also write the raw figures here"))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(markdown(results, args.scale, args.restaurants))


if __name__ == "__main__":
    main()
