"""The weekly and monthly reports: one partition per week (Monday to Sunday) and per calendar month,
each a snapshot and a Telegram summary; Monday 08:00 and the 1st at 08:00 run the period just ended.

Their partitions differ from the daily assets', so they have jobs of their own and stay out of
`full_pipeline_job` (which runs one business day). They read marts.period_kpis and the daily marts
as they stand: the hourly marts schedule keeps them current, and a failing blocking check on a
reported mart stops the snapshot as it stops the day's.
"""

import datetime as dt

import dagster as dg

from orchestration.defs.marts.assets import dbt_models
from orchestration.lib.config import business_month_partitions, business_week_partitions
from orchestration.lib.guards import require_passing_checks
from orchestration.lib.resources import PantaoResource

GROUP = "reports"
PERIOD_MARTS = [dg.AssetKey(["marts", name]) for name in
                ("period_kpis", "restaurant_period_kpis", "daily_kpis", "operator_daily", "ratings")]
GUARDED_CHECKS = [spec.key for spec in dbt_models.check_specs if spec.blocking and spec.asset_key in PERIOD_MARTS]


def _period(kind: str, context: dg.AssetExecutionContext):
    from pantao.periods import period_of

    return period_of(kind, dt.date.fromisoformat(context.partition_key))


def _snapshot(kind: str, context: dg.AssetExecutionContext, pantao: PantaoResource) -> dg.MaterializeResult:
    from reports.period_snapshot import build_period_report

    require_passing_checks(context, GUARDED_CHECKS)
    report = build_period_report(pantao.settings(), pantao.database_url(), _period(kind, context))
    return dg.MaterializeResult(metadata={"version": report.version, "days": report.figures["days_count"],
                                          "html": str(report.html_path)})


def _deliver(kind: str, context: dg.AssetExecutionContext, pantao: PantaoResource) -> dg.MaterializeResult:
    from notifications.period_delivery import deliver_period_summary

    outcomes = deliver_period_summary(pantao.settings(), pantao.database_url(), _period(kind, context))
    summary = {str(o.chat_id): o.status for o in outcomes}
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        raise dg.Failure(
            description=f"the {kind}ly summary was not delivered to "
                        + ", ".join(f"chat {o.chat_id}: {o.error}" for o in failed)
                        + ". The report is stored; re-run this partition (it does not resend to chats already served).",
            metadata={"deliveries": summary},
        )
    return dg.MaterializeResult(metadata={"deliveries": summary})


def _assets(kind: str, partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    @dg.asset(name=f"{kind}ly_report_snapshot", group_name=GROUP, partitions_def=partitions,
              deps=[key for key in PERIOD_MARTS if key in dbt_models.keys], kinds={"postgres", "html"},
              description=f"The {kind}'s manager report: marts.period_kpis, the restaurants and operators over "
                          f"the {kind} and the daily trend, stored as a new version in reports.period_report "
                          "and rendered to HTML, CSV and PNG.")
    def snapshot(context: dg.AssetExecutionContext, pantao: PantaoResource) -> dg.MaterializeResult:
        return _snapshot(kind, context, pantao)

    @dg.asset(name=f"telegram_{kind}ly_summary", group_name=GROUP, partitions_def=partitions, deps=[snapshot],
              kinds={"telegram"},
              description=f"The {kind}ly summary sent to the managers' chats once per {kind} and chat "
                          "(reports.deliveries); a re-run does not send again.")
    def telegram(context: dg.AssetExecutionContext, pantao: PantaoResource) -> dg.MaterializeResult:
        return _deliver(kind, context, pantao)

    return [snapshot, telegram]


weekly_assets = _assets("week", business_week_partitions())
monthly_assets = _assets("month", business_month_partitions())
period_assets = [*weekly_assets, *monthly_assets]

weekly_reports_job = dg.define_asset_job(
    "weekly_reports_job", selection=dg.AssetSelection.assets(*weekly_assets),
    description="Build the week's report and send the weekly summary.")
monthly_reports_job = dg.define_asset_job(
    "monthly_reports_job", selection=dg.AssetSelection.assets(*monthly_assets),
    description="Build the month's report and send the monthly summary.")

# A partitioned schedule targets the last complete partition: on Monday that is last week, on the
# 1st last month. Running from the start, like the morning report (their state is in PostgreSQL).
weekly_report_schedule = dg.build_schedule_from_partitioned_job(
    weekly_reports_job, name="weekly_report_monday_0800", day_of_week=1, hour_of_day=8, minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="On Mondays at 08:00 in BUSINESS_TIMEZONE, report the week just ended (Monday to Sunday).")
monthly_report_schedule = dg.build_schedule_from_partitioned_job(
    monthly_reports_job, name="monthly_report_0800", day_of_month=1, hour_of_day=8, minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="On the 1st at 08:00 in BUSINESS_TIMEZONE, report the month just ended.")
