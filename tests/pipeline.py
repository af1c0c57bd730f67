"""End-to-end pipeline helpers for tests: simulate → publish → prepare → land → dbt build.

Every step is the real component (the simulator, a real Kafka-protocol broker, the landing code,
dbt on PostgreSQL), so tests that use `build_simulated_warehouse` or the `built_warehouse`
fixture exercise what production runs. Load as a pytest plugin (`pytest_plugins = ["tests.pipeline"]`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.prepare import prepare_database
from pantao.dbt_runner import DEFAULT_TARGET_DIR, PARTIAL_PARSE_FILE, run_dbt
from pantao.settings import Settings
from simulator import SimConfig, generate, publish_to_kafka, write_outputs

# The small simulation behind the shared `built_warehouse` fixture.
SMALL_SIM = SimConfig(days=5, restaurants=3, seed=11, scale=0.25, start=None)
# The warehouse the data-issue and outlier tests each plant their bad rows in (a copy each, built once:
# `simulated_warehouse_copy`): three days of May, two restaurants, no malformed messages of its own.
PLANTED_SIM = SimConfig(days=3, restaurants=2, seed=7, scale=0.1, start=dt.date(2026, 5, 4), malformed_share=0.0)
# Behind `long_warehouse`: five whole weeks (Monday 2026-09-28 to Sunday 11-01, so all of October)
# and Monday 11-02, the day with the planted anomaly (one operator per queue), which has the four
# Mondays before it as its history. Small (2 restaurants, scale 0.15) to keep its build quick.
LONG_SIM = SimConfig(days=36, restaurants=2, seed=5, scale=0.15, start=dt.date(2026, 9, 28), understaffed_day=-1)


@dataclass
class WarehouseInfo:
    """What a test needs to read the warehouse and compare it with the simulator's truth."""

    database_url: str
    settings: Settings
    out_dir: Path
    truth: dict[str, Any]
    sim_config: SimConfig
    kafka_bootstrap: str
    dbt_target_dir: Path
    timings: dict[str, float] = field(default_factory=dict)


def pipeline_settings(database_url: str, kafka_bootstrap: str, work_dir: Path, out_dir: Path,
                      timezone: str) -> Settings:
    """Settings pointing at the simulated PBX files, with topic and consumer names no other test uses."""
    suffix = uuid.uuid4().hex[:8]
    pbx = out_dir / "pbx"
    return Settings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        data_dir=work_dir / "data",
        topic_orders=f"orders-{suffix}",
        topic_customers=f"customers-{suffix}",
        topic_feedback=f"feedback-{suffix}",
        kafka_consumer_name=f"pantao-test-{suffix}",
        pbx_source="files",
        pbx_cdr_csv=pbx / "Master.csv",
        pbx_queue_log=pbx / "queue_log",
        pbx_extensions_file=pbx / "extensions.json",
        business_timezone=timezone,
    )


def seeded_target_dir(path: Path) -> Path:
    """A dbt target folder that starts from the parse `pantao prepare --dbt-only` saved.

    dbt reuses a saved parse only while the project files, the --vars and the connection (host,
    port, database, user) are those it was saved with, so in a test's own database the first run
    still parses in full; from then on the folder's own saved parse serves the runs after it
    (pantao.dbt_runner hands a partial build's parse on to its selection). Concurrent runs must
    not share a folder.
    """
    path.mkdir(parents=True, exist_ok=True)
    saved = DEFAULT_TARGET_DIR / PARTIAL_PARSE_FILE
    if saved.is_file() and not (path / saved.name).exists():
        shutil.copy2(saved, path / saved.name)
    return path


def land_everything(settings: Settings, database_url: str) -> None:
    """Drain the Kafka topics and read the PBX files into the raw tables (the real landing code)."""
    from ingestion.kafka import land_topics
    from ingestion.pbx import land_pbx

    kafka = land_topics(settings, database_url, settings.kafka_bootstrap_servers or "")
    pbx = land_pbx(settings, database_url, source="files")
    if kafka.landed == 0 or pbx.landed == 0:
        raise AssertionError(f"landing wrote nothing (kafka {kafka.landed}, pbx {pbx.landed}); check the paths")


def build_simulated_warehouse(database_url: str, tmp_dir: Path, kafka_bootstrap: str,
                              sim_config: SimConfig, *, dbt_args: list[str] | None = None) -> WarehouseInfo:
    """Simulate, publish to Kafka, prepare the schemas, land Kafka and PBX, dbt build (marts and reporting views)."""
    import time

    timings: dict[str, float] = {}
    started = time.perf_counter()
    config = sim_config.resolved()
    out_dir = Path(tmp_dir) / f"sim-{config.seed}"
    write_outputs(generate(config), out_dir)
    truth = json.loads((out_dir / "truth.json").read_text(encoding="utf-8"))
    timings["simulate"] = time.perf_counter() - started

    settings = pipeline_settings(database_url, kafka_bootstrap, Path(tmp_dir), out_dir, config.timezone)
    mark = time.perf_counter()
    publish_to_kafka(out_dir, kafka_bootstrap, settings.topics)
    prepare_database(settings, database_url)
    land_everything(settings, database_url)
    timings["publish_and_land"] = time.perf_counter() - mark

    target_dir = seeded_target_dir(Path(tmp_dir) / "dbt_target")
    mark = time.perf_counter()
    run_dbt(dbt_args or ["build"], settings, database_url, target_dir=target_dir)
    timings["dbt_build"] = time.perf_counter() - mark
    return WarehouseInfo(database_url, settings, out_dir, truth, config, kafka_bootstrap, target_dir, timings)


@contextmanager
def simulated_warehouse_copy(new_database, prefix: str, tmp_path_factory: pytest.TempPathFactory,
                             kafka_bootstrap: str, sim_config: SimConfig, *,
                             dbt_args: list[str] | None = None) -> Iterator[WarehouseInfo]:
    """`build_simulated_warehouse` in a database of the caller's own, which it may change: the
    simulation is landed and built once per test session (a template database, tests/conftest.py
    `DatabaseFactory`) and each caller gets a copy, with its own data folder and dbt target folder.
    Modules with the same `sim_config` and `dbt_args` share the build."""
    key = f"sim{sim_config.seed}_{uuid.uuid5(uuid.NAMESPACE_OID, repr((sim_config, dbt_args))).hex[:8]}"
    name, template = new_database.template(key, lambda url: build_simulated_warehouse(
        url, tmp_path_factory.mktemp(key), kafka_bootstrap, sim_config, dbt_args=dbt_args))
    own = tmp_path_factory.mktemp(prefix)
    with new_database(prefix, template=name) as url:
        settings = template.settings.with_overrides(database_url=url, data_dir=own / "data")
        yield dataclasses.replace(template, database_url=url, settings=settings,
                                  dbt_target_dir=seeded_target_dir(own / "dbt_target"), timings={})


@pytest.fixture(scope="session")
def built_warehouse(new_database, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory,
                    ) -> Iterator[WarehouseInfo]:
    """A small simulated chain (5 days, 3 restaurants, seed 11) landed and built, in its own database.

    Session-scoped and shared: tests must only read it (write in their own `fresh_database_url`).
    """
    with new_database("warehouse") as database_url:
        yield build_simulated_warehouse(database_url, tmp_path_factory.mktemp("warehouse"), kafka_bootstrap,
                                        SMALL_SIM)


@pytest.fixture(scope="session")
def long_warehouse(new_database, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory,
                   ) -> Iterator[WarehouseInfo]:
    """Five weeks and a day (LONG_SIM) landed and built: the weeks, the months and the anomaly flags.

    Session-scoped and shared like `built_warehouse`: tests read it, and what they add (logins,
    report versions) they name uniquely and remove.
    """
    with new_database("longwh") as database_url:
        yield build_simulated_warehouse(database_url, tmp_path_factory.mktemp("long-warehouse"), kafka_bootstrap,
                                        LONG_SIM)
