"""The marts job (dbt build: the marts, their tests and the reporting views), run hourly."""


import dagster as dg

from orchestration.defs.marts.assets import dbt_models
from orchestration.lib.config import DBT_RUN_TAG, business_timezone

marts_job = dg.define_asset_job(
    "marts_job",
    selection=dg.AssetSelection.assets(dbt_models),
    description="dbt build: the marts (incremental models add only new and late data), their tests and "
                "the reporting views.",
    tags={DBT_RUN_TAG: "true"},
)

marts_schedule = dg.ScheduleDefinition(
    name="marts_hourly",
    job=marts_job,
    cron_schedule="5 * * * *",
    execution_timezone=business_timezone(),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Five minutes past each hour, after the landing run at the top of the hour.",
)
