"""The acceptance test of the PBX landing: files, database and API land one simulated day identically."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import simulator
from ingestion.pbx import land_pbx
from ingestion.pbx.formats import CDR_COMMON_COLUMNS
from tests import pbx_samples
from tests.freepbx_standin import FreePbxStandin
from tests.test_pbx_db import pbx_connect, pbx_db_url  # noqa: F401  (fixture)

pytestmark = pytest.mark.mariadb

QUEUE_LOG_COLUMNS = "event_hash, event_at, callid, queuename, agent, event, data1, data2, data3, data4, data5"


@pytest.fixture(scope="module")
def simulated_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    simulator.write_outputs(simulator.generate(simulator.SimConfig(days=1, restaurants=2, seed=3)), out)
    return out / "pbx"


@pytest.fixture
def three_databases(new_database) -> Iterator[dict[str, str]]:
    with new_database("t_files") as files, new_database("t_db") as db, new_database("t_api") as api:
        yield {"files": files, "db": db, "api": api}


def _load_mariadb(url: str, pbx_dir: Path) -> None:
    def jsonl(path: Path) -> list[dict]:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    conn = pbx_connect(url)
    try:
        pbx_samples.insert_cdrs(conn, jsonl(pbx_dir / "cdr.jsonl"))
        pbx_samples.insert_queue_log(conn, jsonl(pbx_dir / "queue_log.jsonl"))
    finally:
        conn.close()


def _contents(url: str) -> tuple[list[tuple], list[tuple], list[tuple]]:
    with psycopg.connect(url) as conn:
        cdr = conn.execute(f"select {', '.join(CDR_COMMON_COLUMNS)} from raw.pbx_cdr order by uniqueid, sequence"
                           ).fetchall()
        ql = conn.execute(f"select {QUEUE_LOG_COLUMNS} from raw.pbx_queue_log order by event_hash").fetchall()
        ext = conn.execute("select extension, name from raw.pbx_extensions order by 1").fetchall()
    return cdr, ql, ext


def test_files_db_and_api_land_the_same_simulated_day_to_the_same_rows(
        simulated_day: Path, pbx_db_url: str, three_databases: dict[str, str], make_settings) -> None:  # noqa: F811
    _load_mariadb(pbx_db_url, simulated_day)
    paths = dict(pbx_cdr_csv=simulated_day / "Master.csv", pbx_queue_log=simulated_day / "queue_log",
                 pbx_extensions_file=simulated_day / "extensions.json")
    with FreePbxStandin.from_jsonl(simulated_day / "cdr.jsonl", simulated_day / "extensions.json") as api:
        settings = make_settings(pbx_db_url=pbx_db_url, freepbx_api_url=api.url, freepbx_client_id=api.client_id,
                                 freepbx_client_secret=api.client_secret, **paths)
        results = {mode: land_pbx(settings, url, source=mode) for mode, url in three_databases.items()}

    contents = {mode: _contents(url) for mode, url in three_databases.items()}
    expected_cdrs = sum(1 for line in (simulated_day / "cdr.jsonl").open() if line.strip())
    expected_events = sum(1 for line in (simulated_day / "queue_log.jsonl").open() if line.strip())
    files_cdr, files_ql, files_ext = contents["files"]
    assert len(files_cdr) == expected_cdrs > 0
    assert len(files_ql) == expected_events > 0
    assert len(files_ext) > 0
    for mode in ("db", "api"):
        cdr, ql, ext = contents[mode]
        assert cdr == files_cdr, f"{mode} CDRs differ from files"
        assert ql == files_ql, f"{mode} queue_log differs from files"
        assert ext == files_ext, f"{mode} extensions differ from files"
    # The simulator's broken lines are quarantined in files mode, not lost and not fatal.
    assert results["files"].rejected > 0
    assert results["db"].rejected == 0
