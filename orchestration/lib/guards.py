"""Keep a wrong number out of a report: refuse to report while a blocking check on its marts fails.

Within one run Dagster already skips assets downstream of a blocking check that failed at severity
ERROR. A report run on its own (the 08:00 schedule, a backfill) does not re-run those checks, so
it looks up their latest results in the instance and applies the same rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg


def failed_checks(instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey],
                  before_run: str | None = None) -> list[str]:
    """'<asset>:<check> (run <id>)' for each check whose latest evaluation failed at severity ERROR.

    A check that is planned or running has no evaluation yet and counts as not failed, as does
    one that never ran: only a recorded failure stops a report. `before_run`: the latest result
    before that run's own (a run plans its checks as its step starts).
    """
    failures = []
    for key in sorted(check_keys, key=lambda k: k.to_user_string()):
        if before_run is None:
            record = instance.get_latest_asset_check_evaluation_record(key)
        else:
            history = instance.event_log_storage.get_asset_check_execution_history(key, limit=5)
            record = next((r for r in history if r.run_id != before_run), None)
        evaluation = record.event.asset_check_evaluation if record is not None and record.event else None
        if evaluation is not None and not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            failures.append(f"{key.asset_key.to_user_string()}:{key.name} (run {record.run_id or 'none'})")
    return failures


def require_passing_checks(context: dg.AssetExecutionContext, check_keys: Sequence[dg.AssetCheckKey]) -> None:
    failures = failed_checks(context.instance, check_keys)
    if failures:
        raise dg.Failure(
            description=(
                "not reporting on marts whose blocking checks failed: " + "; ".join(failures)
                + ". Fix the data or the model, rematerialize the marts (marts_job) and re-run this partition."
            ),
            allow_retries=False,
        )
