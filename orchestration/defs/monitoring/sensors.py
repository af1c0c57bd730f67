"""Tell the operations chat when a run fails, with the error and a link to the run."""

import logging

import dagster as dg

from orchestration.lib.resources import PantaoResource
from orchestration.lib.rules import failure_alert_text, own_error_message

log = logging.getLogger(__name__)


def step_errors(context: dg.RunFailureSensorContext) -> dict[str, str]:
    """Failed step -> its error message: the run's own failure message only says which steps failed."""
    try:
        events = context.get_step_failure_events()
    except Exception:  # the alert matters more than the detail; the link leads to the rest
        log.exception("could not read the step failures of run %s", context.dagster_run.run_id)
        return {}
    errors = {}
    for event in events:
        error = event.step_failure_data.error
        errors[event.step_key or "?"] = own_error_message(error) if error else "no error message"
    return errors


@dg.run_failure_sensor(
    name="ops_alert_on_run_failure",
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=False,
    description="Sends every failed run of this code location to TELEGRAM_OPS_CHAT_ID.",
)
def ops_alert_on_run_failure(context: dg.RunFailureSensorContext, pantao: PantaoResource) -> None:
    from notifications.alerts import send_ops_alert

    settings = pantao.settings()
    run = context.dagster_run
    errors = step_errors(context)
    error = "\n".join(f"[{step}] {message}" for step, message in errors.items()) or context.failure_event.message
    text = failure_alert_text(run_id=run.run_id, job_name=run.job_name, error=error or "",
                              ui_url=settings.dagster_ui_url, failed_steps=list(errors))
    if send_ops_alert(settings, text):
        context.log.info("ops alert sent for run %s", run.run_id)
    else:
        context.log.warning("ops alert for run %s was not sent (see the logs of notifications.alerts)", run.run_id)
