"""The landing job, run every 15 minutes."""


import dagster as dg

from orchestration.lib.config import LANDING_RUN_TAG

landing_job = dg.define_asset_job(
    "landing_job",
    selection=dg.AssetSelection.groups("landing"),
    description="Land every Kafka stream and the FreePBX data into the raw schema.",
    tags={LANDING_RUN_TAG: "true"},
)

landing_schedule = dg.ScheduleDefinition(
    name="landing_every_15_minutes",
    job=landing_job,
    cron_schedule="*/15 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Keeps raw tables at most ~15 minutes behind Kafka and the PBX.",
)
