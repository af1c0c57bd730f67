"""`write_outputs(sim, out_dir)`: the Kafka message files, the PBX files and truth.json."""

from __future__ import annotations

import base64
import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from simulator.events import customer_event, order_event_json, order_snapshot, rating_event
from simulator.model import Malformed, QueueLogRow, Simulation
from simulator.pbx import PbxRenderer, queue_log_line
from simulator.rand import gc_paused
from simulator.truth import compute_truth

TOPICS = ("orders", "customers", "feedback")


@dataclass(frozen=True)
class OutputPaths:
    out_dir: Path
    kafka: dict[str, Path]
    master_csv: Path
    queue_log: Path
    extensions: Path
    cdr_jsonl: Path
    queue_log_jsonl: Path
    truth: Path


def write_outputs(sim: Simulation, out_dir: Path) -> OutputPaths:
    with gc_paused():
        return _write_outputs(sim, Path(out_dir))


def _write_outputs(sim: Simulation, out_dir: Path) -> OutputPaths:
    kafka_dir, pbx_dir = out_dir / "kafka", out_dir / "pbx"
    kafka_dir.mkdir(parents=True, exist_ok=True)
    pbx_dir.mkdir(parents=True, exist_ok=True)
    paths = OutputPaths(
        out_dir=out_dir,
        kafka={topic: kafka_dir / f"{topic}.jsonl" for topic in TOPICS},
        master_csv=pbx_dir / "Master.csv",
        queue_log=pbx_dir / "queue_log",
        extensions=pbx_dir / "extensions.json",
        cdr_jsonl=pbx_dir / "cdr.jsonl",
        queue_log_jsonl=pbx_dir / "queue_log.jsonl",
        truth=out_dir / "truth.json",
    )
    malformed = {source: [m for m in sim.malformed if m.source == source]
                 for source in ("kafka:orders", "kafka:customers", "kafka:feedback", "pbx_cdr:file",
                                "pbx_queue_log:file")}
    _write_orders(sim, paths.kafka["orders"], malformed["kafka:orders"])
    _write_customers(sim, paths.kafka["customers"], malformed["kafka:customers"])
    _write_feedback(sim, paths.kafka["feedback"], malformed["kafka:feedback"])
    pbx = PbxRenderer(sim.clock, {op.extension: op.name for op in sim.operators}, sim.config.pbx_profile)
    _write_cdrs(sim, pbx, paths.master_csv, paths.cdr_jsonl, malformed["pbx_cdr:file"])
    _write_queue_log(sim, pbx, paths.queue_log, paths.queue_log_jsonl, malformed["pbx_queue_log:file"])
    extensions = [{"extension": op.extension, "name": op.name} for op in sim.operators]
    paths.extensions.write_text(json.dumps(extensions, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    truth = compute_truth(sim)
    paths.truth.write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return paths


# Kafka message files: one `{"key": ..., "value": ...}` per line, in production order.

def _message_line(key: str | None, doc: dict[str, Any]) -> bytes:
    return orjson.dumps({"key": key, "value": orjson.dumps(doc).decode()}) + b"\n"


def _malformed_line(record: Malformed) -> bytes:
    if isinstance(record.payload, bytes):
        return orjson.dumps({"key": record.key, "value_b64": base64.b64encode(record.payload).decode()}) + b"\n"
    return orjson.dumps({"key": record.key, "value": record.payload}) + b"\n"


def _write_orders(sim: Simulation, path: Path, malformed: list[Malformed]) -> None:
    index: list[tuple[int, int, Any, int]] = []
    remaining: dict[str, int] = {}
    for order in sim.orders:
        remaining[order.order_id] = len(order.events)
        for i, (_, at_ms, _) in enumerate(order.events):
            index.append((at_ms, len(index), order, i))
    for produce_ms, order, i in sim.duplicates:
        remaining[order.order_id] += 1
        index.append((produce_ms, len(index), order, i))
    for record in malformed:
        index.append((record.at_ms, len(index), record, -1))
    index.sort(key=lambda item: (item[0], item[1]))
    clock = sim.clock
    snapshots: dict[str, bytes] = {}
    with path.open("wb") as f:
        for _, _, ref, i in index:
            if i < 0:
                f.write(_malformed_line(ref))
                continue
            order_id = ref.order_id
            snapshot = snapshots.get(order_id)
            if snapshot is None:
                snapshot = snapshots[order_id] = orjson.dumps(order_snapshot(ref, clock))
            value = order_event_json(ref, i, clock, snapshot).decode()
            f.write(orjson.dumps({"key": order_id, "value": value}) + b"\n")
            remaining[order_id] -= 1
            if not remaining[order_id]:
                del snapshots[order_id]


def _write_customers(sim: Simulation, path: Path, malformed: list[Malformed]) -> None:
    clock = sim.clock
    items: list[tuple[int, int, bytes]] = [
        (e.at_ms, n, _message_line(e.phone, customer_event(e, clock))) for n, e in enumerate(sim.customer_events)]
    _write_sorted(path, items, malformed)


def _write_feedback(sim: Simulation, path: Path, malformed: list[Malformed]) -> None:
    clock = sim.clock
    items: list[tuple[int, int, bytes]] = [
        (r.submitted_ms, n, _message_line(r.rating_id, rating_event(r, clock))) for n, r in enumerate(sim.ratings)]
    _write_sorted(path, items, malformed)


def _write_sorted(path: Path, items: list[tuple[int, int, bytes]], malformed: list[Malformed]) -> None:
    base = len(items)
    items.extend((m.at_ms, base + n, _malformed_line(m)) for n, m in enumerate(malformed))
    items.sort(key=lambda item: (item[0], item[1]))
    with path.open("wb") as f:
        f.writelines(line for _, _, line in items)


# PBX files

def _write_cdrs(sim: Simulation, pbx: PbxRenderer, csv_path: Path, jsonl_path: Path,
                malformed: list[Malformed]) -> None:
    """Master.csv gets a CDR when its call ends (Asterisk writes it then), in the layout the profile
    has on that day; broken rows interleave."""
    clock = sim.clock
    start, days = sim.config.start_date, sim.config.days
    ordered = sorted(sim.cdrs, key=lambda c: c.end)
    broken = sorted(malformed, key=lambda m: m.at_ms)
    with csv_path.open("w", encoding="utf-8", newline="") as f, jsonl_path.open("wb") as j:
        writer = csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\n")
        b = 0
        for cdr in ordered:
            while b < len(broken) and broken[b].at_ms < cdr.end * 1000:
                _write_raw_line(f, broken[b])
                b += 1
            layout = pbx.profile.cdr_layout((clock.date_of(cdr.end) - start).days, days)
            writer.writerow(pbx.csv_row(cdr, layout))
            j.write(orjson.dumps(pbx.cdr_db_row(cdr)) + b"\n")
        for record in broken[b:]:
            _write_raw_line(f, record)


def _write_raw_line(f: IO[str], record: Malformed) -> None:
    f.write(f"{record.payload}\n")


def all_queue_log_rows(sim: Simulation, pbx: PbxRenderer | None = None) -> list[QueueLogRow]:
    """Every valid queue_log row, in the order Asterisk would write them (by time)."""
    pbx = pbx or PbxRenderer(sim.clock, {op.extension: op.name for op in sim.operators}, sim.config.pbx_profile)
    rows: list[QueueLogRow] = list(sim.housekeeping)
    for session in sim.sessions:
        rows.extend(pbx.session_rows(session))
    for pause in sim.pauses:
        rows.extend(pbx.pause_rows(pause))
    for call in sim.calls:
        rows.extend(pbx.call_rows(call))
    rows.sort(key=lambda r: r[0])
    return rows


def _write_queue_log(sim: Simulation, pbx: PbxRenderer, path: Path, jsonl_path: Path,
                     malformed: list[Malformed]) -> None:
    rows = all_queue_log_rows(sim, pbx)
    padded = pbx.profile.padded_lines
    broken = sorted(malformed, key=lambda m: m.at_ms)
    with path.open("w", encoding="utf-8", newline="\n") as f, jsonl_path.open("wb") as j:
        b = 0
        for row_id, row in enumerate(rows, start=1):
            while b < len(broken) and broken[b].at_ms < row[0] * 1000:
                _write_raw_line(f, broken[b])
                b += 1
            f.write(queue_log_line(row, padded) + "\n")
            j.write(orjson.dumps(pbx.db_row(row, row_id)) + b"\n")
        for record in broken[b:]:
            _write_raw_line(f, record)
