"""The pure rules behind the orchestration's checks and alerts."""

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from orchestration.lib.metadata import result_metadata
from orchestration.lib.rules import failure_alert_text, orders_freshness

MSK = ZoneInfo("Europe/Moscow")


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 20, hour, minute, tzinfo=MSK)


def test_orders_silence_outside_opening_hours_is_fine():
    verdict = orders_freshness(at(2), at(9, 55), MSK)
    assert verdict.passed and "outside opening hours" in verdict.description


def test_orders_silence_over_30_minutes_in_opening_hours_fails():
    verdict = orders_freshness(at(14, 0), at(14, 31), MSK)
    assert not verdict.passed
    assert "no new orders for 31 min" in verdict.description


def test_recent_order_passes():
    assert orders_freshness(at(14, 0), at(14, 29), MSK).passed


def test_silence_is_counted_from_opening_not_from_last_night():
    last_night = at(22, 50) - dt.timedelta(days=1)
    assert orders_freshness(last_night, at(10, 20), MSK).passed
    assert not orders_freshness(last_night, at(10, 31), MSK).passed
    assert not orders_freshness(None, at(11), MSK).passed


def test_freshness_uses_the_business_time_zone_for_opening_hours():
    utc_now = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)  # 09:00 in Moscow: closed
    assert orders_freshness(None, utc_now, MSK).passed
    assert not orders_freshness(None, utc_now, ZoneInfo("Asia/Vladivostok")).passed  # 16:00 there


def test_failure_alert_has_job_run_error_and_link():
    text = failure_alert_text(run_id="abc-123", job_name="marts_job", error="dbt failed on marts.daily_kpis",
                              ui_url="http://dagster.local:3000/", failed_steps=["dbt_models"])
    assert "marts_job" in text and "abc-123" in text
    assert "dbt failed on marts.daily_kpis" in text
    assert "Failed steps: dbt_models" in text
    assert text.endswith("http://dagster.local:3000/runs/abc-123")


def test_failure_alert_cuts_a_huge_error_to_fit_telegram():
    text = failure_alert_text(run_id="r", job_name="j", error="x" * 10_000, ui_url="http://u")
    assert len(text) < 4096
    assert "/runs/r" in text


@dataclass
class Counts:
    landed: int
    seconds: float


@dataclass
class Result:
    source: str
    streams: dict = field(default_factory=dict)
    path: Path = Path("/tmp/x")
    secret: str = field(default="hidden", repr=False)


def test_result_metadata_flattens_nested_counts_and_hides_non_repr_fields():
    meta = result_metadata(Result("files", {"cdr": Counts(3, 0.12345)}))
    assert meta == {"source": "files", "streams.cdr.landed": 3, "streams.cdr.seconds": 0.123, "path": "/tmp/x"}


def test_own_error_message_skips_dagsters_wrappers():
    from dagster._utils.error import SerializableErrorInfo

    from orchestration.lib.rules import own_error_message

    ours = SerializableErrorInfo("PbxDatabaseError: cannot connect to the PBX database\n", [], "PbxDatabaseError")
    wrapped = SerializableErrorInfo('Error occurred while executing op "raw_pbx":', [],
                                    "DagsterExecutionStepExecutionError", cause=ours)
    assert own_error_message(wrapped) == "PbxDatabaseError: cannot connect to the PBX database"
