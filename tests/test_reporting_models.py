"""The reporting views' dbt models agree with the access layer, and their yml drives `pantao export`.

No database here: the manifest and the SQL files are read as they are. What the views do for each
login is tested on PostgreSQL in tests/test_access_matrix.py (small marts) and
tests/test_access_warehouse.py (the built warehouse).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from access.catalog import daily_extract_views, reporting_views, view_by_name
from access.migrate import SETUP_LOCK_KEY
from access.sql import REPORTING_OWNER
from pantao.dbt_runner import DBT_PROJECT_DIR
from pantao.domain import GROUP_ROLES
from pantao.manifest import DEFAULT_MANIFEST, ManifestError

NODES = json.loads(DEFAULT_MANIFEST.read_text(encoding="utf-8"))["nodes"]
REPORTING = {n["name"]: n for n in NODES.values() if n["resource_type"] == "model" and n["schema"] == "reporting"}
MARTS = {n["name"]: n for n in NODES.values() if n["resource_type"] == "model" and n["schema"] == "marts"}


def test_the_views_analysts_know_are_dbt_models_in_their_listing_order():
    assert [v.name for v in reporting_views()] == [
        "customers", "orders", "calls", "operator_daily", "daily_kpis", "hourly_kpis", "my_interactions",
        "missed_call_recovery", "staffing_advice"]
    assert {v.model for v in reporting_views()} == set(REPORTING)
    assert daily_extract_views() == ("orders", "calls", "operator_daily", "daily_kpis", "hourly_kpis",
                                     "my_interactions", "missed_call_recovery", "staffing_advice")


@pytest.mark.parametrize("model", sorted(REPORTING))
def test_each_view_is_a_security_barrier_view_owned_by_the_reporting_owner_and_granted_to_the_groups(model):
    config = REPORTING[model]["config"]
    assert config["materialized"] == "secure_view"
    assert config["grants"] == {"select": list(GROUP_ROLES)}
    assert [hook["sql"] for hook in config["post-hook"]] == [f"alter view {{{{ this }}}} owner to {REPORTING_OWNER}"]
    parents = [p.removeprefix("model.pantao.") for p in REPORTING[model]["depends_on"]["nodes"]]
    assert parents and set(parents) <= set(MARTS), f"{model} must read only marts (ref), a layer of its own"


@pytest.mark.parametrize("mart", sorted(MARTS))
def test_every_mart_is_granted_to_the_views_owner_and_the_administrators_with_each_build(mart):
    assert MARTS[mart]["config"]["grants"] == {"select": [REPORTING_OWNER, "crm_admin"]}


def test_the_macros_use_the_access_layers_roles_and_lock():
    macros = "\n".join(p.read_text(encoding="utf-8") for p in (DBT_PROJECT_DIR / "macros" / "reporting").glob("*.sql"))
    models = "\n".join(p.read_text(encoding="utf-8") for p in (DBT_PROJECT_DIR / "models" / "reporting").glob("*.sql"))
    assert f"return({SETUP_LOCK_KEY})" in macros
    named = set(re.findall(r"'(crm_[a-z_]+)'", macros + models)) | set(re.findall(r"\b(crm_[a-z_]+)\b", macros))
    assert named <= {*GROUP_ROLES, REPORTING_OWNER}, named - {*GROUP_ROLES, REPORTING_OWNER}
    assert f"grant usage on schema {{{{ reporting }}}} to {', '.join(GROUP_ROLES)}" in macros


def test_the_export_rules_come_from_the_views_yml():
    orders, customers = view_by_name("orders"), view_by_name("customers")
    assert (orders.date_column, orders.order_by) == ("business_date", ("business_date", "created_at", "order_id"))
    assert dict(orders.filters) == {"segment": "customer_segment", "restaurant": "restaurant_id", "channel": "channel"}
    assert (customers.date_column, customers.period) == (None, ("first_order_date", "last_order_date"))
    assert orders.column_names[:3] == ("order_id", "created_at", "business_date")


def _manifest(tmp_path: Path, export: dict) -> Path:
    node = {"name": "rpt_orders", "resource_type": "model", "package_name": "pantao", "schema": "reporting",
            "alias": "orders", "description": "Orders.", "patch_path": "pantao://models/reporting/rpt_orders.yml",
            "columns": {"order_id": {"description": "Id."}, "business_date": {"description": "Day."}},
            "config": {"meta": {"export": export}}}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"nodes": {"model.pantao.rpt_orders": node}}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("export", "message"),
    [
        ({"period": ["created_on"], "order_by": ["order_id"]}, "meta.export.period names created_on, not columns"),
        ({"period": ["business_date"], "order_by": []}, "meta.export.order_by is empty"),
        ({"period": ["business_date"], "order_by": ["order_id"], "filters": {"colour": "order_id"}},
         "meta.export.filters has colour"),
        ({"period": ["business_date"], "order_by": ["order_id"], "filters": {"channel": "channel"}},
         "meta.export.filters names channel, not columns"),
    ],
)
def test_broken_export_rules_name_the_view_file_and_field(tmp_path, export, message):
    with pytest.raises(ManifestError, match=f"reporting view orders \\(dbt_project/models/reporting/rpt_orders.yml\\)"
                                            f": {message}"):
        reporting_views(_manifest(tmp_path, export))
