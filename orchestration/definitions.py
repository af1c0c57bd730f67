"""The Dagster code location (workspace.yaml loads `orchestration.definitions:defs`).

Loading it reads the dbt manifest and the environment's BUSINESS_TIMEZONE and executor choice;
it opens no connection and runs no dbt. Run `pantao prepare` first to build the manifest.
"""

from __future__ import annotations

import dagster as dg

from orchestration.defs.landing.assets import landing_assets
from orchestration.defs.landing.checks import landing_checks
from orchestration.defs.landing.schedules import landing_job, landing_schedule
from orchestration.defs.marts.assets import dbt_models, dbt_resource
from orchestration.defs.marts.schedules import marts_job, marts_schedule
from orchestration.defs.monitoring.sensors import ops_alert_on_run_failure
from orchestration.defs.reports.assets import report_assets
from orchestration.defs.reports.schedules import morning_report_schedule, reports_job
from orchestration.lib.config import DBT_RUN_TAG, LANDING_RUN_TAG, executor
from orchestration.lib.resources import PantaoResource

# Everything from the raw tables to the Telegram summary, for `pantao run` and the demo.
full_pipeline_job = dg.define_asset_job(
    "full_pipeline_job",
    selection=dg.AssetSelection.all(),
    description="Land, build the marts and the reporting views, and report one business day.",
    tags={DBT_RUN_TAG: "true", LANDING_RUN_TAG: "true"},
)

defs = dg.Definitions(
    assets=[*landing_assets, dbt_models, *report_assets],
    asset_checks=landing_checks,
    jobs=[landing_job, marts_job, reports_job, full_pipeline_job],
    schedules=[landing_schedule, marts_schedule, morning_report_schedule],
    sensors=[ops_alert_on_run_failure],
    resources={"pantao": PantaoResource(), "dbt": dbt_resource()},
    executor=executor(),
)
