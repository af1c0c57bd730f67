"""The exporter against a real PostgreSQL and broker: what a scrape says, and that it never crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitoring.catalog import SCRAPE_SOURCES, by_name, kpi_gauges, metrics
from monitoring.exporter import collect
from pantao.stack import free_port
from tests import monitoring_support as support
from tests.conftest import PANTAO_CLI


def scrape(registry) -> dict[str, dict[tuple, float]]:
    """Exposition text parsed back: sample name -> {sorted label items: value}."""
    text = generate_latest(registry).decode("utf-8")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def one(samples: dict, name: str, **labels: object) -> float:
    return samples[name][tuple(sorted((k, str(v)) for k, v in labels.items()))]


@pytest.fixture
def warehouse(small_warehouse, kafka_bootstrap, tmp_path):
    settings, url, truth = small_warehouse(with_kafka=True)
    return settings, url, kafka_bootstrap, truth, tmp_path / "dbt_target"


def registry_for(settings, database_url, bootstrap, dbt_dir, now=support.NOW):
    return collect(settings, database_url, bootstrap, clock=lambda: now.timestamp(), dbt_target_dir=dbt_dir,
                   kafka_timeout_seconds=5.0)


def test_fresh_database_exposes_up_and_no_errors(make_settings, fresh_database_url, tmp_path):
    samples = scrape(registry_for(make_settings(), fresh_database_url, None, tmp_path))
    assert one(samples, "pantao_up") == 1
    assert {labels: v for labels, v in samples["pantao_scrape_error"].items() if v} == {}
    assert set(dict(k)["source"] for k in samples["pantao_scrape_error"]) == set(SCRAPE_SOURCES)
    assert "pantao_records_landed_total" not in samples
    assert one(samples, "pantao_morning_report_delivered") == 0


def test_unreachable_database_is_a_scrape_error_not_a_crash(make_settings, tmp_path):
    registry = collect(make_settings(), "postgresql://nobody@127.0.0.1:9/none", "127.0.0.1:9",
                       kafka_timeout_seconds=1.0, dbt_target_dir=tmp_path)
    samples = scrape(registry)
    assert one(samples, "pantao_up") == 0
    assert one(samples, "pantao_scrape_error", source="postgres") == 1
    assert one(samples, "pantao_scrape_error", source="dbt") == 0


def test_unreachable_broker_costs_at_most_the_kafka_budget(warehouse):
    settings, url, _, truth, dbt_dir = warehouse
    registry = collect(settings, url, "127.0.0.1:9", clock=lambda: support.NOW.timestamp(), dbt_target_dir=dbt_dir,
                       kafka_timeout_seconds=1.5)
    started = time.monotonic()
    samples = scrape(registry)
    assert time.monotonic() - started < 5
    assert one(samples, "pantao_scrape_error", source="kafka") == 1
    assert "pantao_landing_lag_messages" not in samples
    # what PostgreSQL knows is still reported
    assert one(samples, "pantao_landing_committed_offset", partition=0, stream="orders",
               topic=settings.topic_orders) == truth.committed[(settings.topic_orders, 0)]


def test_lag_and_committed_offsets_per_partition(warehouse):
    settings, url, bootstrap, truth, dbt_dir = warehouse
    samples = scrape(registry_for(settings, url, bootstrap, dbt_dir))
    stream_of = {topic: stream for stream, topic in settings.topics.items()}
    lag = {(dict(k)["topic"], int(dict(k)["partition"])): v for k, v in samples["pantao_landing_lag_messages"].items()}
    expected = {key: value for key, value in truth.lag.items()}
    expected[(settings.topic_feedback, 0)] = expected[(settings.topic_feedback, 1)] = 0
    assert lag == expected
    for (topic, partition), offset in truth.committed.items():
        assert one(samples, "pantao_landing_committed_offset", partition=partition, stream=stream_of[topic],
                   topic=topic) == offset
    assert one(samples, "pantao_landing_high_watermark", partition=0, stream="orders", topic=settings.topic_orders) == 7


def test_landed_and_rejected_counts(warehouse):
    settings, url, bootstrap, truth, dbt_dir = warehouse
    samples = scrape(registry_for(settings, url, None, dbt_dir))
    landed = {dict(k)["source"]: v for k, v in samples["pantao_records_landed_total"].items()}
    assert landed == truth.landed
    rejected = {(dict(k)["source"], dict(k)["reason"]): v for k, v in samples["pantao_records_rejected_total"].items()}
    assert rejected == truth.rejected
    assert ("other", "other") in rejected  # unknown sources and reasons collapse into bounded labels
    assert one(samples, "pantao_last_success_timestamp_seconds", asset="raw_orders") == pytest.approx(
        (support.NOW - timedelta(minutes=5)).timestamp())


def test_business_gauges_describe_the_last_complete_day(warehouse):
    settings, url, _, truth, dbt_dir = warehouse
    samples = scrape(registry_for(settings, url, None, dbt_dir))
    day_start = datetime.combine(truth.last_complete_day, datetime.min.time(), support.TZ)
    assert one(samples, "pantao_kpi_business_date_timestamp_seconds") == day_start.timestamp()
    for column, gauge in kpi_gauges().items():
        if column in truth.chain_kpis:
            assert one(samples, gauge) == pytest.approx(float(truth.chain_kpis[column])), gauge
        else:
            assert gauge not in samples, f"{gauge} must be absent when {column} is null"


def test_business_gauges_skip_the_day_still_running(warehouse):
    settings, url, _, _, dbt_dir = warehouse
    during_last_day = support.NOW - timedelta(days=1)  # 2026-11-03 09:00: the 3rd is not complete yet
    samples = scrape(registry_for(settings, url, None, dbt_dir, now=during_last_day))
    assert one(samples, "pantao_kpi_orders") == 11  # the 2nd's chain row


def test_freshness_reports_and_deliveries(warehouse):
    settings, url, _, _, dbt_dir = warehouse
    samples = scrape(registry_for(settings, url, None, dbt_dir))
    # the marts' newest order was 2026-11-03 22:07; daily marts cover the 3rd up to midnight
    assert one(samples, "pantao_mart_freshness_seconds", mart="orders") == (
        support.NOW - datetime(2026, 11, 3, 22, 7, tzinfo=support.TZ)).total_seconds()
    assert one(samples, "pantao_mart_freshness_seconds", mart="daily_kpis") == 9 * 3600
    assert one(samples, "pantao_mart_freshness_seconds", mart="hourly_kpis") == 10 * 3600
    assert one(samples, "pantao_last_success_timestamp_seconds", asset="daily_report") == (
        support.NOW - timedelta(hours=2)).timestamp()
    assert one(samples, "pantao_morning_report_delivered") == 1
    assert one(samples, "pantao_telegram_deliveries", kind="morning_summary", outcome="sent") == 2
    assert one(samples, "pantao_telegram_deliveries", kind="morning_summary", outcome="failed") == 1
    assert one(samples, "pantao_telegram_delivery_attempts_total", kind="morning_summary") == 6
    assert one(samples, "pantao_business_day_elapsed_seconds") == 9 * 3600


def test_morning_report_not_delivered_when_a_chat_failed(warehouse):
    settings, url, _, truth, dbt_dir = warehouse
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("update reports.deliveries set status = 'failed' where chat_id = '222'")
    samples = scrape(registry_for(settings, url, None, dbt_dir))
    assert one(samples, "pantao_morning_report_delivered") == 0


def test_dbt_failures_and_last_successful_build(warehouse):
    settings, url, _, _, dbt_dir = warehouse
    registry = registry_for(settings, url, None, dbt_dir)
    good_at = support.NOW - timedelta(hours=3)
    support.run_results(dbt_dir, good_at, {"model.pantao.orders": "success", "test.pantao.unique_orders": "pass"})
    samples = scrape(registry)
    assert one(samples, "pantao_dbt_last_run_success") == 1
    assert one(samples, "pantao_dbt_test_failures") == 0
    assert one(samples, "pantao_last_success_timestamp_seconds", asset="dbt_build") == good_at.timestamp()

    bad_at = support.NOW - timedelta(hours=1)
    support.run_results(dbt_dir, bad_at, {"model.pantao.orders": "success", "test.pantao.unique_orders": "fail",
                                          "test.pantao.not_null_x": "error", "model.pantao.calls": "skipped"})
    samples = scrape(registry)
    assert one(samples, "pantao_dbt_last_run_success") == 0
    assert one(samples, "pantao_dbt_test_failures") == 2
    assert one(samples, "pantao_dbt_last_run_timestamp_seconds") == bad_at.timestamp()
    assert one(samples, "pantao_dbt_nodes", resource_type="model", status="skipped") == 1
    # the failed rebuild does not hide the last good one
    assert one(samples, "pantao_last_success_timestamp_seconds", asset="dbt_build") == good_at.timestamp()


def test_restart_after_a_failed_build_still_exports_the_earlier_success(warehouse):
    settings, url, _, _, dbt_dir = warehouse
    good_at = support.NOW - timedelta(hours=30)
    support.run_results(dbt_dir, good_at, {"model.pantao.orders": "success"})
    assert one(scrape(registry_for(settings, url, None, dbt_dir)), "pantao_last_success_timestamp_seconds",
               asset="dbt_build") == good_at.timestamp()
    # the exporter is restarted after a failed build overwrote run_results.json
    support.run_results(dbt_dir, support.NOW - timedelta(hours=2), {"model.pantao.orders": "error"})
    samples = scrape(registry_for(settings, url, None, dbt_dir))
    assert one(samples, "pantao_dbt_last_run_success") == 0
    assert one(samples, "pantao_last_success_timestamp_seconds", asset="dbt_build") == good_at.timestamp()


def test_dagster_per_run_target_folders_are_read(warehouse):
    """dagster-dbt writes each invocation to target/<op>-<run>-<id>/; the newest one is the last run."""
    settings, url, _, _, dbt_dir = warehouse
    support.run_results(dbt_dir, support.NOW - timedelta(hours=5), {"model.pantao.orders": "error"})
    dagster_at = support.NOW - timedelta(hours=1)
    support.run_results(dbt_dir / "dbt_models-1a2b3c4-5d6e7f8", dagster_at,
                        {"model.pantao.orders": "success", "test.pantao.unique_orders": "pass"})
    support.run_results(dbt_dir / "dbt_models-0000000-1111111", support.NOW - timedelta(hours=9),
                        {"model.pantao.orders": "success"})
    samples = scrape(registry_for(settings, url, None, dbt_dir))
    assert one(samples, "pantao_dbt_last_run_timestamp_seconds") == dagster_at.timestamp()
    assert one(samples, "pantao_dbt_last_run_success") == 1
    assert one(samples, "pantao_last_success_timestamp_seconds", asset="dbt_build") == dagster_at.timestamp()


def test_telegram_configured_gauge_follows_the_settings(make_settings, fresh_database_url, tmp_path):
    without = scrape(registry_for(make_settings(), fresh_database_url, None, tmp_path))
    assert one(without, "pantao_telegram_configured") == 0
    configured = make_settings(telegram_bot_token="123456:test-token", telegram_chat_ids=("111", "222"))
    assert one(scrape(registry_for(configured, fresh_database_url, None, tmp_path)),
               "pantao_telegram_configured") == 1


def test_corrupt_run_results_is_a_dbt_scrape_error(warehouse):
    settings, url, _, _, dbt_dir = warehouse
    dbt_dir.mkdir(parents=True)
    (dbt_dir / "run_results.json").write_text("{not json", encoding="utf-8")
    samples = scrape(registry_for(settings, url, None, dbt_dir))
    assert one(samples, "pantao_scrape_error", source="dbt") == 1
    assert one(samples, "pantao_scrape_error", source="landing") == 0
    assert one(samples, "pantao_up") == 1


def scrape_with_locked(table: str, settings, url: str, bootstrap: str | None, dbt_dir) -> dict:
    """One scrape, with a 300 ms statement timeout, while another session holds `table` locked."""
    registry = collect(settings, url, bootstrap, clock=lambda: support.NOW.timestamp(), dbt_target_dir=dbt_dir,
                       statement_timeout_ms=300)
    with psycopg.connect(url) as locker:
        locker.execute(f"lock table {table} in access exclusive mode")
        return scrape(registry)


def test_statement_timeout_turns_a_locked_table_into_a_scrape_error(warehouse):
    settings, url, _, _, dbt_dir = warehouse
    samples = scrape_with_locked("raw.rejected_records", settings, url, None, dbt_dir)
    assert one(samples, "pantao_scrape_error", source="rejected") == 1
    assert one(samples, "pantao_scrape_error", source="landing") == 0
    assert "pantao_records_landed_total" in samples


def test_every_served_family_is_in_the_catalog(warehouse):
    settings, url, bootstrap, _, dbt_dir = warehouse
    support.run_results(dbt_dir, support.NOW, {"model.pantao.orders": "success"})
    text = generate_latest(registry_for(settings, url, bootstrap, dbt_dir)).decode("utf-8")
    served = {family.name for family in text_string_to_metric_families(text) if family.samples}
    assert served <= set(by_name())
    # with everything present, every catalogued metric has at least one sample
    missing = {spec.name for spec in metrics()} - served
    # csat null on the last day by construction; the mini marts here have no marts.data_issues table
    assert missing == {"pantao_kpi_csat_mean", "pantao_data_issues"}


def test_metrics_once_prints_the_exposition(fresh_database_url, kafka_bootstrap, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("PANTAO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    from app.cli import cli

    result = CliRunner().invoke(cli, ["metrics", "--once"])
    assert result.exit_code == 0, result.output
    families = {f.name: f for f in text_string_to_metric_families(result.output)}
    assert families["pantao_up"].samples[0].value == 1


def test_every_metric_is_documented_in_operations():
    operations = (Path(__file__).resolve().parent.parent / "docs" / "operations.md").read_text(encoding="utf-8")
    missing = [spec.name for spec in metrics() if f"`{spec.name}`" not in operations]
    assert not missing, f"docs/operations.md does not explain {missing}"


def test_metrics_serves_http_until_sigterm(fresh_database_url, kafka_bootstrap, tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": fresh_database_url, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
           "PANTAO_DATA_DIR": str(tmp_path / "data")}
    process = subprocess.Popen([*PANTAO_CLI, "metrics", "--port", str(port)],
                               env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, body = time.monotonic() + 30, ""
        while time.monotonic() < deadline and not body:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
                    body = response.read().decode("utf-8")
            except OSError:
                time.sleep(0.2)
        families = {f.name: f for f in text_string_to_metric_families(body)}
        assert families["pantao_up"].samples[0].value == 1
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert f"serving metrics on http://127.0.0.1:{port}/metrics" in output  # local unless --host widens it
    assert "metrics server stopped" in output


def test_metrics_listens_only_locally_unless_told():
    from monitoring.cli import metrics_command

    host = next(param for param in metrics_command.params if param.name == "host")
    assert host.default == "127.0.0.1"


def test_a_timed_out_count_still_reports_offsets_and_lag(warehouse):
    settings, url, bootstrap, truth, dbt_dir = warehouse
    samples = scrape_with_locked("raw.orders", settings, url, bootstrap, dbt_dir)
    assert one(samples, "pantao_scrape_error", source="landing") == 1
    assert one(samples, "pantao_scrape_error", source="kafka") == 0
    assert one(samples, "pantao_landing_lag_messages", partition=0, stream="orders",
               topic=settings.topic_orders) == truth.lag[(settings.topic_orders, 0)]
    assert one(samples, "pantao_landing_committed_offset", partition=0, stream="orders",
               topic=settings.topic_orders) == truth.committed[(settings.topic_orders, 0)]
