"""The few values that shape the Dagster definitions themselves, read when the code loads.

Dagster needs a partitions definition (and so the business time zone) and an executor while it
loads the code location, before any run exists. These are read from the environment here, with
the same defaults as `pantao.settings`, and validated without connecting anywhere. Everything a
run needs at run time (database, broker, Telegram) comes from `PantaoResource` instead.
"""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

from pantao.settings import Settings, SettingsError

# The first business day a report partition exists for; backfills can reach back this far.
REPORTS_START_DATE = "2024-01-01"

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


def business_day_partitions(env: dict[str, str] | None = None) -> dg.DailyPartitionsDefinition:
    """One partition per business day: a day starts at 00:00 in the business time zone."""
    return dg.DailyPartitionsDefinition(start_date=REPORTS_START_DATE, timezone=business_timezone(env))


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
