"""pantao.dbt_runner: how dbt is started (environment, arguments, executable) and the errors it raises."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pantao.dbt_runner import (
    DBT_EXECUTABLE_VAR,
    DBT_PROFILES_DIR,
    DBT_PROJECT_DIR,
    DbtError,
    dbt_args,
    dbt_env,
    dbt_executable,
    run_dbt,
)


def test_dbt_env_carries_the_connection_fields_profiles_yml_reads(make_settings) -> None:
    env = dbt_env(make_settings(), "postgresql://crm_reader:s3cret@db.example:6543/analytics")
    assert env == {
        "PANTAO_DBT_HOST": "db.example",
        "PANTAO_DBT_PORT": "6543",
        "PANTAO_DBT_USER": "crm_reader",
        "PANTAO_DBT_PASSWORD": "s3cret",
        "PANTAO_DBT_DBNAME": "analytics",
        "DBT_PROFILES_DIR": str(DBT_PROFILES_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        "PGOPTIONS": "-c work_mem=32MB",
    }
    assert (Path(env["DBT_PROFILES_DIR"]) / "profiles.yml").is_file()


def test_dbt_env_with_a_target_dir_puts_artifacts_and_logs_there(make_settings, tmp_path) -> None:
    env = dbt_env(make_settings(), "postgresql://u:p@h:5432/d", tmp_path / "t")
    assert (env["DBT_TARGET_PATH"], env["DBT_LOG_PATH"]) == (str(tmp_path / "t"), str(tmp_path / "t" / "logs"))


def test_dbt_args_add_the_project_and_the_business_vars_unless_given(make_settings) -> None:
    settings = make_settings(business_timezone="Asia/Vladivostok")
    args = dbt_args(["build", "--select", "marts"], settings)
    assert args[:3] == ["build", "--select", "marts"]
    assert args[args.index("--project-dir") + 1] == str(DBT_PROJECT_DIR)
    assert json.loads(args[args.index("--vars") + 1]) == settings.dbt_vars
    assert json.loads(args[args.index("--vars") + 1])["business_timezone"] == "Asia/Vladivostok"
    assert dbt_args(["run", "--vars", "{}"], settings).count("--vars") == 1
    assert dbt_args(["--version"], settings) == ["--version"]


def test_dbt_executable_is_the_venvs_own_unless_named(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(DBT_EXECUTABLE_VAR, raising=False)  # the test session names its fork server's client
    assert dbt_executable() == str(Path(sys.executable).parent / "dbt")
    wrapper = tmp_path / "dbt-wrapper"
    wrapper.write_text("#!/bin/sh\nexec dbt \"$@\"\n")
    monkeypatch.setenv(DBT_EXECUTABLE_VAR, str(wrapper))
    with pytest.raises(DbtError, match="is not an executable file"):
        dbt_executable()
    wrapper.chmod(0o755)
    assert dbt_executable() == str(wrapper)
    monkeypatch.setenv(DBT_EXECUTABLE_VAR, str(tmp_path / "missing"))
    with pytest.raises(DbtError, match="missing is not an executable file"):
        dbt_executable()


def test_a_failing_model_raises_dbt_error_naming_it_and_counting_what_it_skipped(
        make_settings, fresh_database_url: str, tmp_path: Path) -> None:
    # an empty database has no raw tables, so the staging view over raw.orders cannot be created;
    # the model built on it is skipped, which is not a failure of its own
    with pytest.raises(DbtError) as caught:
        run_dbt(["run", "--select", "stg_kafka__order_events+1"], make_settings(), fresh_database_url,
                target_dir=tmp_path / "target")
    assert caught.value.failed_nodes == ["model.pantao.stg_kafka__order_events"]
    assert "does not exist" in str(caught.value)
    assert "1 downstream node(s) skipped" in str(caught.value)
