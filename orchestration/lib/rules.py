"""Pure rules the sensors and checks apply, kept free of Dagster so they are tested directly."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

# Restaurants take orders from 10:00 to 23:00 business time; silence outside that is normal.
OPENING_HOUR = 10
CLOSING_HOUR = 23
ORDERS_MAX_SILENCE = dt.timedelta(minutes=30)
# Telegram refuses messages over 4096 characters; the error part is cut well before that.
ALERT_ERROR_CHARS = 1500


@dataclass(frozen=True)
class FreshnessVerdict:
    passed: bool
    description: str


def orders_freshness(last_order_at: dt.datetime | None, now: dt.datetime, tz: ZoneInfo,
                     max_silence: dt.timedelta = ORDERS_MAX_SILENCE) -> FreshnessVerdict:
    """Whether orders still arrive: fails after `max_silence` without one during opening hours.

    The silence is counted from the later of the last order and today's opening, so the first
    half hour after opening is not flagged because of last night's quiet.
    """
    local_now = now.astimezone(tz)
    opening = local_now.replace(hour=OPENING_HOUR, minute=0, second=0, microsecond=0)
    closing = local_now.replace(hour=CLOSING_HOUR, minute=0, second=0, microsecond=0)
    if not opening <= local_now < closing:
        return FreshnessVerdict(True, f"outside opening hours ({OPENING_HOUR}:00–{CLOSING_HOUR}:00 {tz.key})")
    since = opening if last_order_at is None else max(last_order_at, opening)
    silence = now - since
    last = "never" if last_order_at is None else last_order_at.astimezone(tz).isoformat(timespec="seconds")
    minutes = int(silence.total_seconds() // 60)
    if silence > max_silence:
        return FreshnessVerdict(False, f"no new orders for {minutes} min during opening hours (last order: {last}); "
                                       "check the order service's producer and the landing job's runs")
    return FreshnessVerdict(True, f"last order {minutes} min ago ({last})")


def failure_alert_text(*, run_id: str, job_name: str, error: str, ui_url: str,
                       failed_steps: list[str] | None = None) -> str:
    """The operations chat message for a failed run: what failed, why, and the link to look at it."""
    error = error.strip() or "no error message was recorded"
    if len(error) > ALERT_ERROR_CHARS:
        error = error[:ALERT_ERROR_CHARS].rstrip() + " …"
    lines = [f"Dagster run failed: {job_name}", f"Run: {run_id}"]
    if failed_steps:
        lines.append(f"Failed steps: {', '.join(failed_steps)}")
    lines += [f"Error: {error}", f"Open: {ui_url.rstrip('/')}/runs/{run_id}"]
    return "\n".join(lines)


# Dagster wraps a step's exception in these; the operator needs the one our code raised.
DAGSTER_WRAPPERS = {"DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError"}


def own_error_message(error) -> str:
    """The message of the first error in a SerializableErrorInfo chain that is not a Dagster wrapper."""
    current = error
    while current.cls_name in DAGSTER_WRAPPERS and current.cause is not None:
        current = current.cause
    return current.message.strip()
