"""The few values that shape the Dagster definitions themselves, read when the code loads.

Dagster needs a partitions definition (and so the business time zone) and an executor while it
loads the code location, before any run exists. These are read from the environment here, with
the same defaults as `pantao.settings`, and validated without connecting anywhere. Everything a
run needs at run time (database, broker, Telegram) comes from `PantaoResource` instead.
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

from pantao.settings import Settings, SettingsError

# The report partitions start at REPORTS_START_DATE: set by the operator, or by `pantao ui` / `pantao
# run` to the first day of marts.daily_kpis. Without either (no data yet, `dagster dev` on its own)
# they start this many days before today, and move with it.
FALLBACK_START_DAYS = 30

# Run tags the queued run coordinator limits (dagster.yaml): at most one run of each kind at once.
DBT_RUN_TAG = "pantao/dbt"
LANDING_RUN_TAG = "pantao/landing"
# Concurrency pool of the dbt step: also covers ad-hoc materializations launched from the UI.
DBT_POOL = "pantao_dbt"

EXECUTORS = ("multiprocess", "in_process", "k8s", "celery")


def business_timezone(env: dict[str, str] | None = None) -> str:
    """BUSINESS_TIMEZONE (default as in the settings), checked to be an IANA zone."""
    env = os.environ if env is None else env
    value = (env.get("BUSINESS_TIMEZONE") or "").strip() or Settings.business_timezone
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"BUSINESS_TIMEZONE={value!r} is not an IANA time zone; expected e.g. Europe/Moscow") from None
    return value


def reports_start_date(env: dict[str, str] | None = None) -> dt.date:
    """The first business day with a report partition: REPORTS_START_DATE, else FALLBACK_START_DAYS ago."""
    env = os.environ if env is None else env
    value = (env.get("REPORTS_START_DATE") or "").strip()
    if value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise SettingsError(f"REPORTS_START_DATE={value!r} is not a date; expected YYYY-MM-DD, "
                                "e.g. the first business day with data") from None
    today = dt.datetime.now(ZoneInfo(business_timezone(env))).date()
    return today - dt.timedelta(days=FALLBACK_START_DAYS)


def business_day_partitions(env: dict[str, str] | None = None) -> dg.DailyPartitionsDefinition:
    """One partition per business day from REPORTS_START_DATE: a day starts at 00:00 in the business time zone."""
    return dg.DailyPartitionsDefinition(start_date=reports_start_date(env).isoformat(), timezone=business_timezone(env))


def business_week_partitions(env: dict[str, str] | None = None) -> dg.WeeklyPartitionsDefinition:
    """One partition per week, Monday to Sunday, from the week holding REPORTS_START_DATE."""
    start = reports_start_date(env)
    monday = start - dt.timedelta(days=start.weekday())
    return dg.WeeklyPartitionsDefinition(start_date=monday.isoformat(), day_offset=1, timezone=business_timezone(env))


def business_month_partitions(env: dict[str, str] | None = None) -> dg.MonthlyPartitionsDefinition:
    """One partition per calendar month, from the month holding REPORTS_START_DATE."""
    first = reports_start_date(env).replace(day=1)
    return dg.MonthlyPartitionsDefinition(start_date=first.isoformat(), timezone=business_timezone(env))


def executor(env: dict[str, str] | None = None) -> dg.ExecutorDefinition:
    """The executor named by PANTAO_DAGSTER_EXECUTOR, so moving steps to Kubernetes or Celery is configuration.

    `multiprocess` (default) runs each step in its own process on this machine, and a run's config
    may still pick `in_process` (the Launchpad's execution section); `k8s` and `celery` need the
    dagster-k8s / dagster-celery package installed where the code location runs.
    """
    env = os.environ if env is None else env
    name = (env.get("PANTAO_DAGSTER_EXECUTOR") or "multiprocess").strip().lower()
    if name == "multiprocess":
        return dg.multi_or_in_process_executor
    if name == "in_process":
        return dg.in_process_executor
    if name in ("k8s", "celery"):
        package = f"dagster_{name}"
        try:
            module = __import__(package)
        except ImportError:
            raise SettingsError(
                f"PANTAO_DAGSTER_EXECUTOR={name} needs the {package.replace('_', '-')} package; "
                f"`pip install {package.replace('_', '-')}` where the code location runs, or unset the variable"
            ) from None
        return getattr(module, "k8s_job_executor" if name == "k8s" else "celery_executor")
    raise SettingsError(f"PANTAO_DAGSTER_EXECUTOR={name!r} is not one of {', '.join(EXECUTORS)}")
