"""Materialize the whole graph in this process, on the real instance, for `pantao run` and the demo.

The run is a normal run of `full_pipeline_job` stored in the instance, so it appears in the UI
with its logs, and a failed one can be re-executed from failure there like any scheduled run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from orchestration.lib.config import DBT_RUN_TAG, LANDING_RUN_TAG, business_day_partitions
from orchestration.lib.recovery import (
    IN_PROGRESS,
    WORKER_TAG,
    free_slots_of_ended_runs,
    recover_dead_runs,
    this_worker,
)
from orchestration.lib.rules import own_error_message

log = logging.getLogger(__name__)

FULL_JOB = "full_pipeline_job"


class RunRefused(RuntimeError):
    """The run was not started; the message says why and what to do."""


@dataclass
class RunSummary:
    run_id: str
    success: bool
    materialized: list[str] = field(default_factory=list)
    checks_passed: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)


def check_partition(business_date: dt.date) -> str:
    """The partition key of a business day, or RunRefused when that day has no report partition."""
    partitions = business_day_partitions()
    key = business_date.isoformat()
    keys = partitions.get_partition_keys()
    if key not in keys:
        raise RunRefused(
            f"{key} has no report partition: reports cover complete business days from {keys[0]} to "
            f"{keys[-1]} ({partitions.timezone}); pass --date with a day in that range, or set "
            "REPORTS_START_DATE to an earlier first day"
        )
    return key


def busy_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Runs in progress that would collide with a full run (a dbt build or a landing)."""
    found: dict[str, dg.DagsterRun] = {}
    for tag in (DBT_RUN_TAG, LANDING_RUN_TAG):
        for run in instance.get_runs(dg.RunsFilter(statuses=IN_PROGRESS, tags={tag: "true"})):
            found[run.run_id] = run
    return list(found.values())


def summarize(result: dg.ExecuteInProcessResult) -> RunSummary:
    summary = RunSummary(run_id=result.run_id, success=result.success)
    for event in result.all_events:
        if event.is_step_materialization:
            summary.materialized.append(event.asset_key.to_user_string())
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            (summary.checks_passed if evaluation.passed else summary.checks_failed).append(name)
        elif event.is_step_success:
            summary.step_seconds[event.step_key or "?"] = round(event.event_specific_data.duration_ms / 1000, 1)
        elif event.is_step_failure:
            summary.failed_steps.append(event.step_key or "?")
            error = event.step_failure_data.error
            summary.errors.append(own_error_message(error) if error else "unknown error")
    return summary


def materialize_all(instance: dg.DagsterInstance, business_date: dt.date,
                    say: Callable[[str], None] = log.warning) -> RunSummary:
    """Run `full_pipeline_job` for one business day in-process; refuses while a dbt/landing run is
    active. Runs a dead process left in progress are marked failed first, and slots still claimed
    by ended runs freed (orchestration/lib/recovery.py); `say` gets one line for each, before the run."""
    from orchestration.definitions import defs

    partition_key = check_partition(business_date)
    recovered = recover_dead_runs(instance, busy_runs(instance)) + free_slots_of_ended_runs(instance)
    for line in recovered:
        say(line)
    busy = busy_runs(instance)
    if busy:
        listed = ", ".join(f"{run.job_name} {run.run_id}" for run in busy)
        raise RunRefused(f"a run that lands data or builds the marts is in progress ({listed}); "
                         "wait for it to finish or cancel it in the Dagster UI, then run again")
    job = defs.resolve_job_def(FULL_JOB)
    log.info("materializing %s for %s", FULL_JOB, partition_key)
    result = job.execute_in_process(instance=instance, partition_key=partition_key, raise_on_error=False,
                                    tags={"pantao/launched_by": "pantao run", WORKER_TAG: this_worker().tag()})
    summary = summarize(result)
    summary.recovered = recovered
    return summary
