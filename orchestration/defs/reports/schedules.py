"""The morning report: at 08:00 business time, the previous business day's partition."""


import dagster as dg

from orchestration.defs.reports.assets import report_assets

reports_job = dg.define_asset_job(
    "daily_reports_job",
    selection=dg.AssetSelection.assets(*report_assets),
    description="Build the day's report snapshot and CSV extracts and send the Telegram summary.",
)

# A daily-partitioned schedule targets the last complete partition: at 08:00 that is yesterday.
morning_report_schedule = dg.build_schedule_from_partitioned_job(
    reports_job,
    name="morning_report_0800",
    hour_of_day=8,
    minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="At 08:00 in BUSINESS_TIMEZONE, report the previous business day.",
)
