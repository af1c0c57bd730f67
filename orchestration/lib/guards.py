"""Keep a wrong number out of a report: refuse to report while a blocking check on its marts fails.

Within one run Dagster already skips assets downstream of a blocking check that failed at severity
ERROR. A report run on its own (the 08:00 schedule, a backfill) does not re-run those checks, so
it looks up their latest results in the instance and applies the same rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg


def failed_checks(instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey]) -> list[str]:
    """'<asset>:<check> (run <id>)' for each check whose latest evaluation failed at severity ERROR.

    A check that is planned or running has no evaluation yet and counts as not failed, as does
    one that never ran: only a recorded failure stops a report.
    """
    failures = []
    for key in sorted(check_keys, key=lambda k: k.to_user_string()):
        record = instance.get_latest_asset_check_evaluation_record(key)
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
