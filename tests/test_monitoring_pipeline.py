"""The exporter and the dashboards on a simulated chain built by the real pipeline.

The business gauges must equal the simulator's truth.json for the last complete day; the
landing series must account for every message the simulator published; every SQL panel must
return rows from the access layer's reporting views over the simulated period.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from monitoring import dashboards as dash
from monitoring.catalog import kpi_gauges
from monitoring.exporter import collect
from tests.test_monitoring_dashboards import expand, variable_values
from tests.test_monitoring_exporter import one, scrape

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def warehouse(built_warehouse):
    """The shared small warehouse built once per session by tests/pipeline.py."""
    return built_warehouse


@pytest.fixture(scope="module")
def last_day(warehouse) -> date:
    return date.fromisoformat(sorted(warehouse.truth["daily"])[-1])


@pytest.fixture(scope="module")
def samples(warehouse, last_day):
    """One scrape at 09:00 business time on the morning after the simulated period."""
    tz = ZoneInfo(warehouse.settings.business_timezone)
    morning = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tz) + timedelta(hours=9)
    registry = collect(warehouse.settings, warehouse.database_url, warehouse.kafka_bootstrap,
                       clock=morning.timestamp, dbt_target_dir=warehouse.dbt_target_dir)
    return scrape(registry)


def test_business_gauges_equal_the_truth_for_the_last_complete_day(samples, warehouse, last_day):
    chain = warehouse.truth["daily"][last_day.isoformat()]["chain"]
    tz = ZoneInfo(warehouse.settings.business_timezone)
    assert one(samples, "pantao_kpi_business_date_timestamp_seconds") == datetime.combine(
        last_day, datetime.min.time(), tz).timestamp()
    for column, gauge in kpi_gauges().items():
        if chain.get(column) is None:
            assert gauge not in samples, gauge
        else:
            assert one(samples, gauge) == pytest.approx(chain[column], rel=1e-6, abs=0.006), gauge


def test_landing_series_account_for_every_published_message(samples, warehouse):
    assert {labels: v for labels, v in samples["pantao_scrape_error"].items() if v} == {}
    landed = {dict(k)["source"]: v for k, v in samples["pantao_records_landed_total"].items()}
    rejected: dict[str, float] = {}
    for labels, value in samples.get("pantao_records_rejected_total", {}).items():
        rejected[dict(labels)["source"]] = rejected.get(dict(labels)["source"], 0) + value
    for stream in ("orders", "customers", "feedback"):
        published = sum(1 for line in (warehouse.out_dir / "kafka" / f"{stream}.jsonl").open(encoding="utf-8")
                        if line.strip())
        source = f"kafka:{stream}"
        assert landed[source] + rejected.get(source, 0) == published, stream
        topic = warehouse.settings.topics[stream]
        high = sum(v for k, v in samples["pantao_landing_high_watermark"].items() if dict(k)["topic"] == topic)
        assert high == published, stream
    assert all(v == 0 for v in samples["pantao_landing_lag_messages"].values())
    assert landed["pbx_queue_log"] > 0 and landed["pbx_cdr"] > 0


def test_dbt_build_reported_clean(samples):
    assert one(samples, "pantao_dbt_last_run_success") == 1
    assert one(samples, "pantao_dbt_test_failures") == 0
    assert "pantao_last_success_timestamp_seconds" in samples


@pytest.mark.parametrize("dashboard_file", ["orders.json", "contact-centre.json"])
def test_sql_panels_return_rows_on_the_simulated_chain(warehouse, dashboard_file):
    model = json.loads((dash.DASHBOARD_DIR / dashboard_file).read_text(encoding="utf-8"))
    tz = ZoneInfo(warehouse.settings.business_timezone)
    days = sorted(warehouse.truth["daily"])
    time_from = datetime.combine(date.fromisoformat(days[0]), datetime.min.time(), tz)
    time_to = datetime.combine(date.fromisoformat(days[-1]) + timedelta(days=1), datetime.min.time(), tz)
    with psycopg.connect(warehouse.database_url, autocommit=True) as conn:
        options = variable_values(conn, model)
        for panel in model["panels"]:
            for target in panel["targets"]:
                rows = conn.execute(expand(target["rawSql"], options, time_from, time_to)).fetchall()
                assert rows, f"{dashboard_file} / {panel['title']} returned no rows"
