"""The Dagster code location loads and validates without a database or broker, and is wired as intended."""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import textwrap

import dagster as dg
import pytest

from pantao.dbt_runner import DBT_PROJECT_DIR, prepare_manifest
from pantao.settings import Settings, SettingsError
from tests.conftest import REPO_ROOT

BOGUS_ENV = {
    "DATABASE_URL": "postgresql://nobody:wrong@127.0.0.1:1/nothing",
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
}


@pytest.fixture(scope="session")
def dbt_manifest():
    """The manifest `pantao prepare` writes (`make test` builds it first; built here when missing)."""
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.is_file():
        prepare_manifest(Settings())
    return manifest


@pytest.fixture(scope="session")
def defs(dbt_manifest):
    from orchestration.definitions import defs

    return defs


def _python(code: str, env: dict[str, str], cwd=REPO_ROOT) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME",)}
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=120)


def test_loading_without_a_manifest_names_the_command_that_builds_it(tmp_path):
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    result = _python(f"""
        from pathlib import Path
        import pantao.dbt_runner as runner
        runner.DBT_PROJECT_DIR = runner.DBT_PROFILES_DIR = Path({str(project)!r})
        import orchestration.definitions
    """, BOGUS_ENV)
    assert result.returncode != 0
    assert "ManifestMissingError" in result.stderr
    assert "pantao prepare" in result.stderr
    assert str(project / "target" / "manifest.json") in result.stderr


def test_dagster_dev_builds_a_missing_manifest_with_the_projects_runner(tmp_path):
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    result = _python(f"""
        from pathlib import Path
        import pantao.dbt_runner as runner
        runner.DBT_PROJECT_DIR = runner.DBT_PROFILES_DIR = Path({str(project)!r})
        runner.DEFAULT_TARGET_DIR = runner.DBT_PROJECT_DIR / "target"
        from orchestration.definitions import defs
        print(len(defs.resolve_asset_graph().get_all_asset_keys()))
    """, {**BOGUS_ENV, "DAGSTER_IS_DEV_CLI": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert (project / "target" / "manifest.json").is_file()
    assert int(result.stdout.split()[-1]) > 20


def test_definitions_load_and_validate_with_no_database_or_broker(dbt_manifest):
    result = _python("""
        import json, time
        started = time.monotonic()
        import dagster as dg
        from orchestration.definitions import defs
        dg.Definitions.validate_loadable(defs)
        graph = defs.resolve_asset_graph()
        print(json.dumps({"assets": len(graph.get_all_asset_keys()), "seconds": time.monotonic() - started}))
    """, BOGUS_ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["assets"] > 15
    assert info["seconds"] < 60


def test_every_dbt_source_on_raw_is_produced_by_a_landing_asset(defs):
    graph = defs.resolve_asset_graph()
    landing = {key for key in graph.get_all_asset_keys() if graph.get(key).group_name == "landing"}
    assert {key.to_user_string() for key in landing} == {
        "raw/orders", "raw/customers", "raw/feedback", "raw/pbx_cdr", "raw/pbx_queue_log", "raw/pbx_extensions"}
    external = {key for key in graph.get_all_asset_keys() if not graph.get(key).is_materializable}
    assert not {key for key in external if key.path[0] == "raw"}, "a raw table dbt reads has no landing asset"


@pytest.mark.parametrize("report", ["daily_report_snapshot", "csv_extracts", "telegram_morning_summary"])
def test_lineage_runs_from_every_landing_table_to_each_report(defs, report):
    graph = defs.resolve_asset_graph()
    ancestors = graph.get_ancestor_asset_keys(dg.AssetKey(report))
    raw = {key.to_user_string() for key in ancestors if key.path[0] == "raw"}
    assert raw == {"raw/orders", "raw/customers", "raw/feedback", "raw/pbx_cdr", "raw/pbx_queue_log",
                   "raw/pbx_extensions"}
    assert dg.AssetKey(["marts", "daily_kpis"]) in ancestors


def test_dbt_models_are_keyed_by_schema_and_table(defs):
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"marts/daily_kpis", "marts/operator_daily", "marts/orders", "staging/stg_kafka__order_events"} <= keys


def test_the_reporting_views_are_dbt_assets_after_their_marts_and_before_the_extracts(defs):
    graph = defs.resolve_asset_graph()
    views = {key.to_user_string() for key in graph.get_all_asset_keys() if key.path[0] == "reporting"}
    assert views == {f"reporting/{v}" for v in ("customers", "orders", "calls", "operator_daily", "daily_kpis",
                                                 "hourly_kpis", "my_interactions", "missed_call_recovery",
                                                 "staffing_advice")}
    daily = graph.get(dg.AssetKey(["reporting", "daily_kpis"]))
    assert {k.to_user_string() for k in daily.parent_keys} == {"marts/daily_kpis", "marts/restaurant_daily_kpis"}
    assert {dg.AssetKey(v.split("/")) for v in views} <= graph.get(dg.AssetKey("csv_extracts")).parent_keys


def test_dbt_tests_are_asset_checks_and_block_the_reported_marts(defs):
    from orchestration.defs.marts.assets import dbt_models
    from orchestration.defs.reports.assets import GUARDED_CHECKS

    checks_by_asset = {}
    for spec in dbt_models.check_specs:
        checks_by_asset.setdefault(spec.asset_key.to_user_string(), []).append(spec)
    assert checks_by_asset.get("marts/daily_kpis"), "daily_kpis has no dbt tests"
    assert all(spec.blocking for spec in checks_by_asset["marts/daily_kpis"])
    guarded_assets = {key.asset_key.to_user_string() for key in GUARDED_CHECKS}
    assert {"marts/daily_kpis", "marts/operator_daily"} <= guarded_assets


def test_schedules_run_by_default_at_the_intended_times(defs):
    schedules = {s.name: s for s in defs.get_repository_def().schedule_defs}
    assert set(schedules) == {"landing_every_15_minutes", "marts_hourly", "morning_report_0800",
                              "weekly_report_monday_0800", "monthly_report_0800"}
    assert all(s.default_status == dg.DefaultScheduleStatus.RUNNING for s in schedules.values())
    assert schedules["landing_every_15_minutes"].cron_schedule == "*/15 * * * *"
    assert schedules["marts_hourly"].cron_schedule == "5 * * * *"
    morning = schedules["morning_report_0800"]
    assert morning.cron_schedule == "0 8 * * *"
    assert morning.execution_timezone == Settings.business_timezone
    assert schedules["weekly_report_monday_0800"].cron_schedule == "0 8 * * 1"
    assert schedules["monthly_report_0800"].cron_schedule == "0 8 1 * *"
    assert {schedules[n].execution_timezone for n in ("weekly_report_monday_0800", "monthly_report_0800")} == {
        Settings.business_timezone}


def _period_ticks() -> dict[str, tuple[dt.datetime, str]]:
    """The next weekly and monthly tick after today, with the period each must report.

    Relative to today because the partitions start REPORTS_START_DATE (default 30 days ago) and the
    definitions are imported once: a fixed tick falls before the first partition as the calendar moves
    (on 2026-12-01 a tick of 2026-11-01 had no month before it).
    """
    from zoneinfo import ZoneInfo

    today = dt.datetime.now(ZoneInfo(Settings.business_timezone)).date()
    monday = today - dt.timedelta(days=today.weekday())
    first = today.replace(day=1)
    next_first = (first + dt.timedelta(days=32)).replace(day=1)
    return {
        # Monday: the week just ended (Monday to Sunday)
        "weekly_report_monday_0800": (dt.datetime.combine(monday + dt.timedelta(weeks=1), dt.time(8)),
                                      monday.isoformat()),
        # the 1st: the month just ended
        "monthly_report_0800": (dt.datetime.combine(next_first, dt.time(8)), first.isoformat()),
    }


@pytest.mark.parametrize("name", ["weekly_report_monday_0800", "monthly_report_0800"])
def test_period_schedules_report_the_period_just_ended(defs, name):
    from zoneinfo import ZoneInfo

    tick, partition = _period_ticks()[name]
    schedule = next(s for s in defs.get_repository_def().schedule_defs if s.name == name)
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=tick.replace(tzinfo=ZoneInfo(Settings.business_timezone)))
        data = schedule.evaluate_tick(context)
    assert [request.partition_key for request in data.run_requests] == [partition]


def test_the_period_reports_have_their_own_jobs_outside_the_daily_pipeline(defs):
    jobs = {job.name: job for job in defs.resolve_all_job_defs()}
    full = {key.to_user_string() for key in jobs["full_pipeline_job"].asset_layer.executable_asset_keys}
    assert "daily_report_snapshot" in full and not {"weekly_report_snapshot", "monthly_report_snapshot"} & full
    weekly = {key.to_user_string() for key in jobs["weekly_reports_job"].asset_layer.executable_asset_keys}
    assert weekly == {"weekly_report_snapshot", "telegram_weekly_summary"}
    graph = defs.resolve_asset_graph()
    assert dg.AssetKey(["marts", "period_kpis"]) in graph.get_ancestor_asset_keys(dg.AssetKey("monthly_report_snapshot"))


def test_morning_schedule_reports_the_previous_business_day(defs):
    import datetime as dt
    from zoneinfo import ZoneInfo

    schedule = next(s for s in defs.get_repository_def().schedule_defs if s.name == "morning_report_0800")
    tick = dt.datetime(2026, 11, 20, 8, 0, tzinfo=ZoneInfo(Settings.business_timezone))
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
        data = schedule.evaluate_tick(context)
    assert [request.partition_key for request in data.run_requests] == ["2026-11-19"]


def test_sensors_run_by_default(defs):
    sensors = {s.name: s for s in defs.get_repository_def().sensor_defs}
    assert "ops_alert_on_run_failure" in sensors
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in sensors.values())


def test_every_mart_and_only_the_marts_carry_the_freshness_policy(defs):
    graph = defs.resolve_asset_graph()
    policies = {key.to_user_string(): graph.get(key).freshness_policy for key in graph.get_all_asset_keys()}
    marts = {key for key in policies if key.startswith("marts/")}
    assert marts >= {"marts/daily_kpis", "marts/hourly_kpis", "marts/operator_daily", "marts/calls"}
    assert {key for key, policy in policies.items() if policy is not None} == marts
    policy = policies["marts/daily_kpis"]
    assert (policy.warn_window.to_timedelta(), policy.fail_window.to_timedelta()) == (
        dt.timedelta(hours=2), dt.timedelta(hours=3))


def test_jobs_that_build_dbt_or_land_carry_the_queue_limit_tags(defs):
    jobs = {job.name: job for job in defs.resolve_all_job_defs()}
    assert jobs["marts_job"].tags.get("pantao/dbt") == "true"
    assert jobs["full_pipeline_job"].tags.get("pantao/dbt") == "true"
    assert jobs["landing_job"].tags.get("pantao/landing") == "true"
    assert "pantao/dbt" not in jobs["daily_reports_job"].tags


def test_report_partitions_start_at_reports_start_date_not_years_before_the_data():
    from orchestration.lib.config import (
        business_day_partitions,
        business_month_partitions,
        business_week_partitions,
    )

    env = {"REPORTS_START_DATE": "2026-10-14"}  # a Wednesday
    assert business_day_partitions(env).get_first_partition_key() == "2026-10-14"
    assert business_week_partitions(env).get_first_partition_key() == "2026-10-12"  # its week's Monday
    assert business_month_partitions(env).get_first_partition_key() == "2026-10-01"
    with pytest.raises(SettingsError, match="REPORTS_START_DATE='04.11.2026' is not a date"):
        business_day_partitions({"REPORTS_START_DATE": "04.11.2026"})
    # nothing set and no data yet: a month back from today, not from a fixed year long ago
    assert len(business_day_partitions({}).get_partition_keys()) == 30


def test_report_partitions_are_business_days_in_the_configured_time_zone():
    from orchestration.lib.config import business_day_partitions

    assert business_day_partitions({}).timezone == "Europe/Moscow"
    assert business_day_partitions({"BUSINESS_TIMEZONE": "Asia/Vladivostok"}).timezone == "Asia/Vladivostok"
    with pytest.raises(SettingsError, match="BUSINESS_TIMEZONE='Mars/Olympus'"):
        business_day_partitions({"BUSINESS_TIMEZONE": "Mars/Olympus"})


def test_executor_comes_from_configuration():
    from orchestration.lib.config import executor

    assert executor({}) is dg.multi_or_in_process_executor
    assert executor({"PANTAO_DAGSTER_EXECUTOR": "in_process"}) is dg.in_process_executor
    with pytest.raises(SettingsError, match="not one of"):
        executor({"PANTAO_DAGSTER_EXECUTOR": "threads"})


def test_dagster_yaml_puts_storage_in_postgres_and_limits_dbt_runs():
    import yaml

    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    for kind in ("run_storage", "event_log_storage", "schedule_storage"):
        assert config[kind]["module"] == "orchestration.lib.storage"
    assert config["freshness"] == {"enabled": True}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    limits = {item["key"]: item["limit"] for item in config["concurrency"]["runs"]["tag_concurrency_limits"]}
    assert limits["pantao/dbt"] == 1
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["module_name"] == "orchestration.definitions"
