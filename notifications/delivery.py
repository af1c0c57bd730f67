"""The morning summary: sent once per business day and chat, recorded in `reports.deliveries`.

The delivery row is the idempotency key: a re-run (a retried Dagster run, a backfill, the
CLI) finds the `sent` row and does not send again unless forced. A failed delivery is
recorded with its error and alerted to the operations chat; the report itself is already
stored, so `pantao report send --date D` can deliver it later.

Each part of a delivery (each message of the text, split under Telegram's limit, and each
attachment) is recorded in `reports.delivery_parts` right after Telegram accepted it, before the
next part is sent. A delivery cut short (the process killed after the text, during a chart)
resumes with the parts still missing: a chat gets each part at most once. `--force` starts over.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from psycopg.rows import dict_row

from notifications.alerts import send_ops_alert
from notifications.telegram import TelegramClient, TelegramError, inline_keyboard, split_message
from pantao.db import connect
from pantao.settings import Settings
from reports.messages import Messages
from reports.report import DailyReport, PeriodReport
from reports.snapshot import current_report
from reports.summary import morning_summary

log = logging.getLogger(__name__)

KIND = "morning_summary"
# The day's summary is followed by two charts and the page (a week's and a month's by their own).
DAILY_ATTACHMENTS = ("png:orders_by_hour", "png:calls_by_hour", "html")
NOT_CONFIGURED = "Telegram is not configured (TELEGRAM_BOT_TOKEN)"


@dataclass(frozen=True)
class DeliveryOutcome:
    """What happened for one chat: sent, already_sent, failed or skipped (no Telegram configured)."""

    business_date: dt.date
    chat_id: str | None
    status: str
    message_ids: tuple[int, ...] = ()
    error: str | None = None
    report_version: int | None = None
    text: str = field(default="", repr=False)


def report_callback_data(business_date: dt.date) -> str:
    return f"report:{business_date.isoformat()}"


@dataclass(frozen=True)
class Summary:
    """What one kind of delivery sends: its text, the button under it and the report's files after it."""

    kind: str  # reports.deliveries.kind: one delivery per chat, kind and business_date
    text: str
    button: tuple[str, str]  # (label, callback data)
    attachments: tuple[str, ...] = DAILY_ATTACHMENTS  # keys of report.files
    alert: str = "alert_delivery_failed"  # the message key of the ops alert when a chat fails


def deliver_morning_summary(settings: Settings, database_url: str, business_date: dt.date,
                            force: bool = False) -> list[DeliveryOutcome]:
    """Send the day's summary (with the chart and the HTML report) to every configured chat once.

    The report is the day's figures as the marts hold them now (`current_report`): a version
    stored earlier, say by a /report at 06:00 before the morning pipeline run, is not sent if the
    marts changed since; a new version is stored and sent instead.
    """
    report = current_report(settings, database_url, business_date)
    summary = Summary(KIND, morning_summary(report, settings.report_lang),
                      (Messages(settings.report_lang).t("detailed_report"), report_callback_data(business_date)))
    return deliver_summary(settings, database_url, report, summary, force)


def deliver_summary(settings: Settings, database_url: str, report: DailyReport | PeriodReport, summary: Summary,
                    force: bool = False) -> list[DeliveryOutcome]:
    """Send `summary` of the stored `report` to every chat of TELEGRAM_CHAT_IDS that has not had it."""
    business_date = report.business_date
    text = summary.text
    if not settings.telegram_bot_token:
        log.warning("%s: the %s for %s is not sent; the report is in %s",
                    NOT_CONFIGURED, summary.kind, business_date, report.html_path)
        chats = settings.telegram_chat_ids or (None,)
        return [DeliveryOutcome(business_date, chat, "skipped", error=NOT_CONFIGURED,
                                report_version=report.version, text=text) for chat in chats]
    if not settings.telegram_chat_ids:
        log.warning("TELEGRAM_CHAT_IDS is empty: the %s for %s has no chat to go to", summary.kind, business_date)
        return []
    outcomes = []
    with TelegramClient.from_settings(settings) as client:
        for chat_id in settings.telegram_chat_ids:
            outcome = _deliver_to_chat(settings, database_url, client, report, summary, chat_id, force)
            outcomes.append(outcome)
    return outcomes


def _deliver_to_chat(settings: Settings, database_url: str, client: TelegramClient,
                     report: DailyReport | PeriodReport, summary: Summary, chat_id: str, force: bool
                     ) -> DeliveryOutcome:
    day, text, kind = report.business_date, summary.text, summary.kind
    with connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        # Held while sending: two concurrent runs for the same chat and day cannot both send.
        conn.execute("select pg_advisory_lock(hashtext(%s))", (f"pantao:delivery:{day}:{chat_id}:{kind}",))
        try:
            previous = conn.execute(
                "select status, message_ids from reports.deliveries "
                "where business_date = %s and chat_id = %s and kind = %s",
                (day, chat_id, kind),
            ).fetchone()
            if previous and previous["status"] == "sent" and not force:
                log.info("summary for %s already delivered to chat %s; not sending again", day, chat_id)
                return DeliveryOutcome(day, chat_id, "already_sent", tuple(previous["message_ids"]),
                                       report_version=report.version, text=text)
            if force:
                conn.execute("delete from reports.delivery_parts where business_date = %s and chat_id = %s "
                             "and kind = %s", (day, chat_id, kind))
            try:
                outcome = _send(conn, client, report, summary, chat_id)
            except Exception as exc:  # one chat's failure must not cost the others theirs
                # Redacted, and no traceback: an exception's text may carry the request URL with the token.
                error = _redact(f"{type(exc).__name__}: {exc}", settings.telegram_bot_token)
                log.error("summary for %s not delivered to chat %s: %s", day, chat_id, error)
                outcome = DeliveryOutcome(day, chat_id, "failed", error=error, report_version=report.version,
                                          text=text)
            _record(conn, outcome, kind)
        finally:
            conn.execute("select pg_advisory_unlock(hashtext(%s))", (f"pantao:delivery:{day}:{chat_id}:{kind}",))
    if outcome.status == "failed":
        msg = Messages(settings.report_lang)
        send_ops_alert(settings, msg.t(summary.alert, date=day.isoformat(), chat_id=chat_id,
                                       error=outcome.error))
    return outcome


def _redact(text: str, token: str | None) -> str:
    return text.replace(token, "<token>") if token else text


def _send(conn, client: TelegramClient, report: DailyReport | PeriodReport, summary: Summary, chat_id: str
          ) -> DeliveryOutcome:
    day, text = report.business_date, summary.text
    sent = _sent_parts(conn, day, chat_id, summary.kind)
    if sent:
        log.info("resuming the %s for %s to chat %s: %s already sent", summary.kind, day, chat_id,
                 ", ".join(sorted(sent)))
    keyboard = inline_keyboard(summary.button)
    chunks = split_message(text)
    ids: list[int] = []
    try:
        for number, chunk in enumerate(chunks, 1):
            part = f"text:{number}"
            if part not in sent:  # each chunk is under the limit: one message each
                [sent[part]] = client.send_message(chat_id, chunk,
                                                   reply_markup=keyboard if number == len(chunks) else None)
                _record_part(conn, report, summary.kind, chat_id, part, sent[part])
            ids.append(sent[part])
    except TelegramError as exc:
        log.error("summary for %s not delivered to chat %s: %s", day, chat_id, exc)
        return DeliveryOutcome(day, chat_id, "failed", error=str(exc), report_version=report.version, text=text)
    # The summary is what must arrive; the chart and the document are extras. Their failure is
    # noted on the delivery, but the message is not sent again for them.
    attachment_errors = []
    for key in summary.attachments:
        if key in sent:
            ids.append(sent[key])
            continue
        send = client.send_document if key == "html" else client.send_photo
        path = report.files.get(key)
        if path is None or not path.is_file():
            continue
        try:
            sent[key] = send(chat_id, path)
        except (TelegramError, OSError) as exc:
            log.warning("attachment %s for %s not delivered to chat %s: %s", path.name, day, chat_id, exc)
            attachment_errors.append(f"{path.name}: {exc}")
            continue
        _record_part(conn, report, summary.kind, chat_id, key, sent[key])
        ids.append(sent[key])
    log.info("summary for %s delivered to chat %s (messages %s)", day, chat_id, ids)
    return DeliveryOutcome(day, chat_id, "sent", tuple(ids), "; ".join(attachment_errors) or None,
                           report.version, text)


def _sent_parts(conn, day: dt.date, chat_id: str, kind: str) -> dict[str, int]:
    """The parts of this delivery Telegram already accepted, by part name, with their message ids."""
    rows = conn.execute("select part, message_id from reports.delivery_parts "
                        "where business_date = %s and chat_id = %s and kind = %s", (day, chat_id, kind))
    return {row["part"]: int(row["message_id"]) for row in rows}


def _record_part(conn, report: DailyReport | PeriodReport, kind: str, chat_id: str, part: str,
                 message_id: int) -> None:
    """Telegram accepted `part`: recorded at once (autocommit), before anything else is sent."""
    conn.execute(
        """
        insert into reports.delivery_parts (business_date, chat_id, kind, part, message_id, report_version)
        values (%s, %s, %s, %s, %s, %s)
        on conflict (business_date, chat_id, kind, part) do update set
            message_id = excluded.message_id, report_version = excluded.report_version, sent_at = now()
        """,
        (report.business_date, chat_id, kind, part, message_id, report.version),
    )


def _record(conn, outcome: DeliveryOutcome, kind: str = KIND) -> None:
    conn.execute(
        """
        insert into reports.deliveries
            (business_date, chat_id, kind, status, attempts, message_ids, error, report_version)
        values (%s, %s, %s, %s, 1, %s, %s, %s)
        on conflict (business_date, chat_id, kind) do update set
            status = excluded.status,
            attempts = reports.deliveries.attempts + 1,
            message_ids = case when excluded.status = 'sent' then excluded.message_ids
                               else reports.deliveries.message_ids end,
            error = excluded.error,
            report_version = excluded.report_version,
            updated_at = now()
        """,
        (outcome.business_date, outcome.chat_id, kind, outcome.status, list(outcome.message_ids),
         outcome.error, outcome.report_version),
    )
