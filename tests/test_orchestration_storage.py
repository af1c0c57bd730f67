"""Dagster's storage from the repository's dagster.yaml (orchestration.lib.storage), opened the way
`dagster dev -w workspace.yaml` opens it from the repository root: no DAGSTER_HOME, the config read
from the current folder, and nothing set but where the analytics database is."""

import dagster as dg
import psycopg
import pytest
from dagster._core.instance.ref import InstanceRef  # what `dagster dev` itself calls; tests only

from orchestration.lib.instance import PG_URL_VAR
from orchestration.lib.storage import PantaoEventLogStorage, PantaoRunStorage, PantaoScheduleStorage
from pantao.db import sqlalchemy_url
from tests.conftest import REPO_ROOT


@dg.asset
def one_asset() -> int:
    return 1


def dev_instance(tmp_path) -> dg.DagsterInstance:
    """`dagster dev` without DAGSTER_HOME: a temporary home, dagster.yaml from the working folder."""
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path / "home"), config_dir=str(REPO_ROOT)))


@pytest.fixture
def nothing_set(monkeypatch, tmp_path, fresh_database_url):
    monkeypatch.delenv(PG_URL_VAR, raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("PANTAO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no developer .env
    return fresh_database_url


def _tables(database_url: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        return {row[0] for row in conn.execute("select tablename from pg_tables where schemaname = 'public'")}


def test_without_a_storage_url_dagster_keeps_its_runs_in_the_analytics_database(nothing_set, tmp_path):
    with dev_instance(tmp_path) as instance:
        assert isinstance(instance.run_storage, PantaoRunStorage)
        assert isinstance(instance.event_log_storage, PantaoEventLogStorage)
        assert isinstance(instance.schedule_storage, PantaoScheduleStorage)
        # dagster.yaml's pools and run limits need this; a wrapped custom storage would lose it
        assert instance.event_log_storage.supports_global_concurrency_limits
        result = dg.materialize([one_asset], instance=instance)
        assert result.success
        assert [run.run_id for run in instance.get_runs()] == [result.run_id]
    assert {"runs", "event_logs", "jobs", "instigators"} <= _tables(nothing_set)
    with psycopg.connect(nothing_set) as conn:
        assert conn.execute("select run_id from runs").fetchall() == [(result.run_id,)]


def test_pantao_dagster_pg_url_takes_precedence(nothing_set, tmp_path, monkeypatch, new_database):
    with new_database("t_dagster") as dagster_db:
        monkeypatch.setenv(PG_URL_VAR, sqlalchemy_url(dagster_db))
        with dev_instance(tmp_path) as instance:
            dg.materialize([one_asset], instance=instance)
        assert "runs" in _tables(dagster_db)
    assert "runs" not in _tables(nothing_set)
