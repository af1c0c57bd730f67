"""pantao.dbt_runner: the environment dbt gets and the errors it raises."""

from __future__ import annotations

from pathlib import Path

import pytest

from pantao.dbt_runner import DBT_PROFILES_DIR, DbtError, dbt_env, dbt_executable, run_dbt


def test_dbt_env_carries_the_connection_fields_profiles_yml_reads(make_settings) -> None:
    env = dbt_env(make_settings(), "postgresql://crm_reader:s3cret@db.example:6543/analytics")
    assert env == {
        "PANTAO_DBT_HOST": "db.example",
        "PANTAO_DBT_PORT": "6543",
        "PANTAO_DBT_USER": "crm_reader",
        "PANTAO_DBT_PASSWORD": "s3cret",
        "PANTAO_DBT_DBNAME": "analytics",
        "DBT_PROFILES_DIR": str(DBT_PROFILES_DIR),
    }
    assert (Path(env["DBT_PROFILES_DIR"]) / "profiles.yml").is_file()


def test_dbt_executable_is_the_venvs_own() -> None:
    assert Path(dbt_executable()).name == "dbt"


def test_a_failing_model_raises_dbt_error_naming_it(make_settings, fresh_database_url: str, tmp_path: Path) -> None:
    # an empty database has no raw tables, so the staging view over raw.orders cannot be created
    with pytest.raises(DbtError) as caught:
        run_dbt(["run", "--select", "stg_kafka__order_events"], make_settings(), fresh_database_url,
                target_dir=tmp_path / "target")
    assert caught.value.failed_nodes == ["model.pantao.stg_kafka__order_events"]
    assert "does not exist" in str(caught.value)
