"""Keep a wrong number out of a report: refuse to report while a blocking check on its marts fails.

Within one run Dagster already skips assets downstream of a failed blocking check. A report run
on its own (the 08:00 schedule, a backfill) does not re-run those checks, so it looks up their
latest results in the instance instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus


def failed_checks(instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey]) -> list[str]:
    """'<asset>:<check> (run <id>)' for each check whose latest completed execution failed."""
    if not check_keys:
        return []
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(check_keys))
    return [
        f"{key.asset_key.to_user_string()}:{key.name} (run {record.run_id})"
        for key, record in sorted(latest.items(), key=lambda item: item[0].to_user_string())
        if record.status == AssetCheckExecutionRecordStatus.FAILED
    ]


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
