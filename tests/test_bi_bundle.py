"""The provisioning bundle, checked without Superset: complete, labelled, stable, consistent."""

from __future__ import annotations

import json

import pytest

from access.catalog import reporting_views
from bi.bundle import ViewColumn, build_bundle, stable_uuid
from bi.dashboards import DASHBOARDS
from bi.datasets import DATASETS, calculated_columns
from bi.labels import column_label

VIEWS = {v.name: v for v in reporting_views()}


def _columns() -> dict[str, list[ViewColumn]]:
    return {name: [ViewColumn(c.name, "text", c.comment) for c in view.columns] for name, view in VIEWS.items()}


def test_there_is_one_dataset_per_reporting_view():
    assert sorted(d.view for d in DATASETS) == sorted(VIEWS)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_column_and_calculated_column_has_a_label(lang):
    for view in VIEWS.values():
        for column in view.columns:
            assert column_label(column.name, lang)
        for calc in calculated_columns(view.name, lang):
            assert column_label(calc.name, lang)


def test_the_bundle_is_the_same_twice_and_every_uuid_is_stable():
    first = build_bundle(_columns(), {"host": "127.0.0.1", "port": "5432", "dbname": "pantao"}, "ru")
    second = build_bundle(_columns(), {"host": "127.0.0.1", "port": "5432", "dbname": "pantao"}, "ru")
    assert first == second
    dashboard = json.loads(first["dashboards/sales.yaml"])
    assert dashboard["uuid"] == stable_uuid("dashboard", "sales")
    assert dashboard["dashboard_title"] == "Продажи и клиенты"


def test_every_filter_targets_a_column_its_dataset_has_and_every_chart_a_defined_metric():
    bundle = build_bundle(_columns(), {"host": "h", "port": "1", "dbname": "d"}, "ru")
    datasets = {json.loads(text)["uuid"]: json.loads(text) for name, text in bundle.items()
                if name.startswith("datasets/")}
    for dashboard in DASHBOARDS:
        doc = json.loads(bundle[f"dashboards/{dashboard.key}.yaml"])
        filters = doc["metadata"]["native_filter_configuration"]
        assert [f["name"] for f in filters][0] == "Период"
        for flt in filters:
            for target in flt["targets"]:
                if target:
                    columns = {c["column_name"] for c in datasets[target["datasetUuid"]]["columns"]}
                    assert target["column"]["name"] in columns
        for chart in dashboard.charts:
            metrics = {m["metric_name"] for m in datasets[stable_uuid("dataset", chart.dataset)]["metrics"]}
            assert set(chart.metrics) <= metrics, chart.key


def test_a_missing_reporting_view_is_a_clear_error():
    columns = _columns()
    del columns["calls"]
    with pytest.raises(ValueError, match="no reporting view.*calls.*pantao dbt build"):
        build_bundle(columns, {"host": "h", "port": "1", "dbname": "d"}, "ru")


def test_bi_install_is_done_by_the_test_set_up_and_is_then_a_no_op(tmp_path):
    """`make test` runs `pantao bi install` before pytest (the install is set-up, not test time);
    run again it finds the environment up to date and installs nothing."""
    import os
    import subprocess

    from bi import environment
    from tests.conftest import PANTAO_CLI

    assert "$(BIN)/pantao bi install" in (environment.REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    env = {**os.environ, "PANTAO_DATA_DIR": str(tmp_path)}
    result = subprocess.run([*PANTAO_CLI, "bi", "install"], capture_output=True, text=True, env=env, timeout=1200)
    assert result.returncode == 0, result.stdout + result.stderr
    assert environment.is_installed()
    assert f"Superset is installed in {environment.VENV}" in result.stdout, result.stdout
