"""The daily report assets, one partition per business day: snapshot, CSV extracts, Telegram summary.

A partition is a business day in BUSINESS_TIMEZONE; materializing it (the 08:00 schedule, a
backfill, `pantao run --date`) builds that day's report from the marts. Every step is
idempotent per day: a new snapshot version, overwritten extracts, a summary sent once per chat.
"""


import datetime as dt

import dagster as dg

from orchestration.defs.marts.assets import dbt_models, reporting_keys
from orchestration.lib.config import business_day_partitions
from orchestration.lib.guards import require_passing_checks
from orchestration.lib.metadata import result_metadata
from orchestration.lib.resources import PantaoResource

GROUP = "reports"
business_days = business_day_partitions()

# The marts whose numbers the report prints; their failing blocking checks stop the report.
REPORTED_MARTS = [dg.AssetKey(["marts", name])
                  for name in ("daily_kpis", "restaurant_daily_kpis", "hourly_kpis", "operator_daily")]
GUARDED_CHECKS = [
    spec.key for spec in dbt_models.check_specs
    if spec.blocking and spec.asset_key in REPORTED_MARTS
]


def _day(context: dg.AssetExecutionContext) -> dt.date:
    return dt.date.fromisoformat(context.partition_key)


@dg.asset(
    group_name=GROUP,
    partitions_def=business_days,
    deps=[key for key in REPORTED_MARTS if key in dbt_models.keys],
    kinds={"postgres", "html"},
    description="The day's manager report: figures stored as a new version in reports.daily_report "
                "and rendered to HTML, CSV and a PNG chart under the reports folder.",
)
def daily_report_snapshot(context: dg.AssetExecutionContext, pantao: PantaoResource) -> dg.MaterializeResult:
    from reports.snapshot import build_daily_report

    require_passing_checks(context, GUARDED_CHECKS)
    report = build_daily_report(pantao.settings(), pantao.database_url(), _day(context))
    context.log.info("report for %s stored as version %s", report.business_date, report.version)
    return dg.MaterializeResult(metadata={
        "version": report.version,
        "files": {name: str(path) for name, path in report.files.items()},
        **{f"data_freshness.{k}": v for k, v in result_metadata(report.data_freshness).items()},
    })


@dg.asset(
    group_name=GROUP,
    partitions_def=business_days,
    deps=[daily_report_snapshot, *reporting_keys()],
    kinds={"csv"},
    description="The day's CSV extracts from the reporting views, for analysts who work in spreadsheets.",
)
def csv_extracts(context: dg.AssetExecutionContext, pantao: PantaoResource) -> dg.MaterializeResult:
    from access.export import export_daily_extracts

    settings = pantao.settings()
    paths = export_daily_extracts(settings, pantao.database_url(), _day(context), settings.data_dir / "extracts")
    context.log.info("CSV extracts for %s: %s", context.partition_key, ", ".join(str(p) for p in paths))
    return dg.MaterializeResult(metadata={"files": len(paths), "folder": str(paths[0].parent) if paths else ""})


@dg.asset(
    group_name=GROUP,
    partitions_def=business_days,
    deps=[daily_report_snapshot],
    kinds={"telegram"},
    description="The morning summary sent to the managers' Telegram chats, once per day and chat "
                "(reports.deliveries); a re-run does not send again.",
)
def telegram_morning_summary(context: dg.AssetExecutionContext, pantao: PantaoResource) -> dg.MaterializeResult:
    from notifications.delivery import deliver_morning_summary

    outcomes = deliver_morning_summary(pantao.settings(), pantao.database_url(), _day(context))
    failed = [o for o in outcomes if o.status == "failed"]
    summary = {str(o.chat_id): o.status for o in outcomes}
    if failed:
        raise dg.Failure(
            description="the morning summary was not delivered to "
                        + ", ".join(f"chat {o.chat_id}: {o.error}" for o in failed)
                        + ". The report is stored; re-run this partition (it does not resend to chats already served).",
            metadata={"deliveries": summary},
        )
    return dg.MaterializeResult(metadata={"deliveries": summary})


report_assets = [daily_report_snapshot, csv_extracts, telegram_morning_summary]
