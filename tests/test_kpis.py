"""The KPI registry (pantao.kpis): read from the dbt manifest, complete, and the one source of docs/metrics.md."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from pantao.generated_docs import generated_part
from pantao.kpis import (
    DOC_PART,
    FORMATS,
    GROUPS,
    METRICS_DOC,
    UNITS,
    KpiRegistryError,
    load_kpis,
    markdown_table,
    model_kpis,
)
from pantao.manifest import ManifestError, load_models

REPO_ROOT = Path(__file__).resolve().parent.parent

# Columns of the KPI marts that are keys or attributes, not KPIs.
NOT_KPIS = {"business_date", "restaurant_id", "hour", "hour_start_at", "operator_extension", "operator_name",
            "is_known_operator", "period_kind", "period_start", "period_end", "days_count"}


@pytest.mark.parametrize("mart", ["daily_kpis", "restaurant_daily_kpis", "hourly_kpis", "operator_daily",
                                  "period_kpis", "restaurant_period_kpis"])
def test_every_column_of_a_kpi_mart_but_its_keys_is_a_registered_kpi(mart):
    columns = load_models()[mart].column_names
    assert [c for c in columns if c not in NOT_KPIS] == [k.name for k in model_kpis(mart)]


def test_every_kpi_has_both_labels_a_known_unit_format_and_group_and_a_description():
    kpis = load_kpis()
    assert len(kpis) == 39
    for kpi in kpis.values():
        assert kpi.label("ru") and kpi.label("en") and kpi.label("ru") != kpi.label("en"), kpi.name
        assert kpi.unit in UNITS and kpi.format in FORMATS and kpi.group in GROUPS, kpi.name
        assert len(kpi.description) > 20, kpi.name


def test_the_registry_knows_what_reports_need_of_a_kpi():
    kpis = load_kpis()
    assert kpis["orders_count"].label("ru") == "Заказы" and kpis["orders_count"].label("en") == "Orders"
    assert (kpis["average_check_amount"].format, kpis["average_check_amount"].decimals) == ("money", 2)
    assert (kpis["missed_call_rate"].unit, kpis["missed_call_rate"].higher_is_better) == ("share", False)
    assert kpis["calls_offered_count"].higher_is_better is None
    assert kpis["logged_in_seconds"].format == "hours" and kpis["asa_seconds"].format == "seconds"
    # a KPI shared by two marts is defined once, on the chain's, and listed in both
    assert kpis["occupancy"].model == "daily_kpis"
    assert "marts.operator_daily" in kpis["occupancy"].relations


def test_a_period_mart_has_the_daily_kpis_in_the_same_order():
    """A week's or a month's report shows the day's cards: the same KPIs, read from period_kpis."""
    assert model_kpis("period_kpis") == model_kpis("daily_kpis")
    assert model_kpis("restaurant_period_kpis") == model_kpis("restaurant_daily_kpis")


def test_the_alert_thresholds_are_the_prometheus_rules_thresholds():
    """meta.kpi.alert and the alert rule on the KPI's gauge say the same number (one flags the report,
    the other pages whoever is on duty)."""
    import re

    rules = yaml.safe_load((REPO_ROOT / "monitoring/prometheus/rules/pantao.yml").read_text(encoding="utf-8"))
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule]
    on_kpis = {}
    for expr in exprs:
        match = re.fullmatch(r"\s*(pantao_kpi_\w+)\s*([<>])\s*([0-9.]+)\s*", expr)
        if match:
            on_kpis[match[1]] = (match[2], float(match[3]))
    registry = {kpi.gauge: kpi for kpi in load_kpis().values() if kpi.gauge}
    assert set(on_kpis) <= set(registry), "an alert rule watches a gauge no KPI serves"
    declared = {kpi.gauge: (">", kpi.alert_above) if kpi.alert_above is not None else ("<", kpi.alert_below)
                for kpi in registry.values() if kpi.alert_above is not None or kpi.alert_below is not None}
    assert declared == on_kpis and declared == {"pantao_kpi_missed_call_ratio": (">", 0.15),
                                                "pantao_kpi_asa_seconds": (">", 60.0)}


def test_a_label_in_a_language_the_registry_lacks_is_an_error():
    with pytest.raises(ValueError, match="no label in 'de'"):
        load_kpis()["orders_count"].label("de")


def test_docs_metrics_md_shows_the_registry_as_it_is():
    """Fails when docs/metrics.md is stale: run `pantao prepare --dbt-only` and `python -m pantao.kpis`."""
    doc = generated_part(METRICS_DOC.read_text(encoding="utf-8"), DOC_PART, METRICS_DOC)
    assert doc == markdown_table(load_kpis()), "docs/metrics.md is stale: run `python -m pantao.kpis`"


# -- a broken yml is an error that says where ------------------------------------------------

def _manifest(tmp_path: Path, columns: dict[str, dict], model: str = "daily_kpis", schema: str = "marts",
              extra_models: tuple[str, ...] = ()) -> Path:
    def node(name: str) -> dict:
        return {"name": name, "resource_type": "model", "package_name": "pantao", "schema": schema,
                "alias": name, "description": "test", "columns": columns,
                "patch_path": f"pantao://models/marts/kpis/{name}.yml", "config": {"meta": {}}}
    nodes = {f"model.pantao.{name}": node(name) for name in (model, *extra_models)}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"nodes": nodes}), encoding="utf-8")
    return path


def _kpi(**overrides) -> dict:
    spec = {"label": {"ru": "Заказы", "en": "Orders"}, "unit": "count", "format": "integer",
            "higher_is_better": True, "group": "orders"}
    return {"description": "Orders created that day.", "meta": {"kpi": {**spec, **overrides}}}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"label": {"ru": "Заказы"}}, "meta.kpi.label has no en text"),
        ({"unit": "pieces"}, "meta.kpi.unit is 'pieces', not one of count, rub"),
        ({"format": "fancy"}, "meta.kpi.format is 'fancy'"),
        ({"higher_is_better": "yes"}, "meta.kpi.higher_is_better is 'yes', not true, false or null"),
        ({"group": "misc"}, "meta.kpi.group is 'misc'"),
        ({"decimals": 7}, "meta.kpi.decimals is 7"),
        ({"alert": {"over": 0.15}}, "meta.kpi.alert is .*over"),
    ],
)
def test_an_invalid_kpi_meta_names_the_model_column_file_and_field(tmp_path, override, message):
    path = _manifest(tmp_path, {"orders_count": _kpi(**override)})
    with pytest.raises(KpiRegistryError, match="daily_kpis.orders_count in dbt_project/models/marts/kpis/daily_kpis.yml"
                                               f".*{message}.*pantao prepare --dbt-only"):
        load_kpis(path)


def test_a_kpi_defined_in_two_marts_is_an_error(tmp_path):
    path = _manifest(tmp_path, {"orders_count": _kpi()}, extra_models=("other_kpis",))
    with pytest.raises(KpiRegistryError, match="already defined in .*'s yml; define it once"):
        load_kpis(path)


def test_a_missing_manifest_says_how_to_build_it(tmp_path):
    with pytest.raises(ManifestError, match=r"manifest .* does not exist; build it with `pantao prepare --dbt-only`"):
        load_kpis(tmp_path / "nowhere" / "manifest.json")


def test_a_rebuilt_manifest_is_read_again(tmp_path):
    path = _manifest(tmp_path, {"orders_count": _kpi()})
    assert load_kpis(path)["orders_count"].label("en") == "Orders"
    rebuilt = _manifest(tmp_path, {"orders_count": _kpi(label={"ru": "Заказы", "en": "Orders placed"})})
    stat = rebuilt.stat()
    os.utime(rebuilt, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_kpis(path)["orders_count"].label("en") == "Orders placed"
    assert list(load_models(path)) == ["daily_kpis"]
