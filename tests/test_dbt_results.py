"""pantao.dbt_results: one reading of run_results.json for the runner and the exporter.

The sample is a trimmed run_results.json of dbt-core 1.11 (schema v6) for one `dbt build` where a
staging model errored: its two tests and the model downstream were skipped, a test elsewhere
failed, one warned. The expected figures are counted by hand from the sample below.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pantao.dbt_results import DbtResultsError, read_run

SAMPLE = {
    "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
                 "dbt_version": "1.11.2", "generated_at": "2026-11-20T05:07:31.512345Z",
                 "invocation_id": "5e0b1c7e-0000-4000-8000-000000000001"},
    "results": [
        {"unique_id": "model.pantao.stg_kafka__order_events", "status": "error", "failures": None,
         "message": 'Database Error in model stg_kafka__order_events\n  relation "raw.orders" does not exist\n'},
        {"unique_id": "test.pantao.not_null_stg_kafka__order_events_order_id.1a2b3c", "status": "skipped",
         "failures": None, "message": None},
        {"unique_id": "test.pantao.unique_stg_kafka__order_events_event_id.4d5e6f", "status": "skipped",
         "failures": None, "message": None},
        {"unique_id": "model.pantao.int_orders_latest", "status": "skipped", "failures": None, "message": None},
        {"unique_id": "model.pantao.stg_freepbx__cdrs", "status": "success", "failures": None,
         "message": "CREATE VIEW"},
        {"unique_id": "test.pantao.accepted_values_stg_freepbx__cdrs_disposition.7a8b9c", "status": "fail",
         "failures": 3, "message": "Got 3 results, configured to fail if != 0"},
        {"unique_id": "test.pantao.not_null_stg_freepbx__cdrs_linkedid.0d1e2f", "status": "warn",
         "failures": 1, "message": "Got 1 result, configured to warn if != 0"},
        {"unique_id": "unit_test.pantao.int_calls_outcomes.abandoned_after_ring", "status": "pass",
         "failures": 0, "message": None},
    ],
    "elapsed_time": 4.2,
    "args": {"which": "build"},
}


def write(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_errors_and_failed_tests_are_failures_skipped_and_warned_nodes_are_not(tmp_path):
    run = read_run(write(tmp_path, SAMPLE))
    assert [node.unique_id for node in run.failed] == [
        "model.pantao.stg_kafka__order_events",
        "test.pantao.accepted_values_stg_freepbx__cdrs_disposition.7a8b9c",
    ]
    assert len(run.skipped) == 3
    assert run.test_failures == 1
    assert not run.success
    assert run.command == "build"
    assert run.generated_at == 1795151251.512345  # 2026-11-20T05:07:31.512345Z
    assert run.failed[0].message.startswith("Database Error in model stg_kafka__order_events")


def test_counts_by_resource_type_and_status(tmp_path):
    nodes = read_run(write(tmp_path, SAMPLE)).nodes
    assert nodes == {("model", "error"): 1, ("model", "skipped"): 1, ("model", "success"): 1,
                     ("test", "skipped"): 2, ("test", "fail"): 1, ("test", "warn"): 1, ("unit_test", "pass"): 1}


def test_a_run_with_only_warnings_and_passes_succeeded(tmp_path):
    kept = [r for r in SAMPLE["results"] if r["status"] in ("success", "warn", "pass")]
    run = read_run(write(tmp_path, {**SAMPLE, "results": kept}))
    assert run.success and run.failed == [] and run.skipped == [] and run.test_failures == 0


def test_a_file_that_is_not_run_results_names_itself(tmp_path):
    path = write(tmp_path, {"metadata": {}})
    with pytest.raises(DbtResultsError, match=f"{path}.*is not a dbt run_results.json"):
        read_run(path)
