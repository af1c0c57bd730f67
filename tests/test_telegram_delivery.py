"""The morning, weekly and monthly summary deliveries against the Telegram stand-in and a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from notifications.alerts import send_ops_alert
from notifications.delivery import NOT_CONFIGURED, deliver_morning_summary
from notifications.period_delivery import deliver_period_summary
from pantao.periods import period_of
from reports.schema import ensure_reports_schema
from reports.snapshot import build_daily_report, current_report
from tests.reports_marts import DAY, create_small_marts
from tests.telegram_standin import TelegramStandIn


@pytest.fixture
def standin():
    server = TelegramStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def marts_db(fresh_database_url, make_settings):
    ensure_reports_schema(make_settings(), fresh_database_url)
    create_small_marts(fresh_database_url)
    return fresh_database_url


@pytest.fixture
def tg_settings(make_settings, standin):
    def factory(**kw):
        kw.setdefault("telegram_bot_token", standin.token)
        kw.setdefault("telegram_api_base_url", standin.base_url)
        kw.setdefault("telegram_chat_ids", ("111", "222"))
        kw.setdefault("telegram_ops_chat_id", "999")
        kw.setdefault("http_timeout_seconds", 2.0)
        return make_settings(**kw)

    return factory


def _deliveries(database_url):
    with psycopg.connect(database_url) as conn:
        return {r[0]: r[1:] for r in conn.execute(
            "select chat_id, status, attempts, array_length(message_ids, 1), error from reports.deliveries "
            "where business_date = %s and kind = 'morning_summary'", (DAY,))}


def test_summary_chart_and_report_reach_every_chat_with_the_detail_button(marts_db, tg_settings, standin):
    outcomes = deliver_morning_summary(tg_settings(), marts_db, DAY)
    assert [(o.chat_id, o.status) for o in outcomes] == [("111", "sent"), ("222", "sent")]
    messages = standin.calls_of("sendMessage")
    assert [m.params["chat_id"] for m in messages] == ["111", "222"]
    text = messages[0].params["text"]
    assert "<b>1\u202f234</b>" in text and "Заказы" in text and "Пропущенные звонки" in text
    button = messages[0].params["reply_markup"]["inline_keyboard"][0][0]
    assert button == {"text": "Подробный отчёт", "callback_data": "report:2026-11-02"}
    photos, docs = standin.calls_of("sendPhoto"), standin.calls_of("sendDocument")
    assert len(photos) == 4 and len(docs) == 2
    assert [p.files["photo"][0] for p in photos[:2]] == ["orders_by_hour.png", "calls_by_hour.png"]
    assert photos[0].files["photo"][1].startswith(b"\x89PNG")
    assert docs[0].files["document"][0] == "report.html"
    assert _deliveries(marts_db) == {"111": ("sent", 1, 4, None), "222": ("sent", 1, 4, None)}


def test_a_rerun_does_not_send_again_and_force_does(marts_db, tg_settings, standin):
    settings = tg_settings()
    deliver_morning_summary(settings, marts_db, DAY)
    again = deliver_morning_summary(settings, marts_db, DAY)
    assert {o.status for o in again} == {"already_sent"}
    assert len(standin.calls_of("sendMessage")) == 2
    forced = deliver_morning_summary(settings, marts_db, DAY, force=True)
    assert {o.status for o in forced} == {"sent"}
    assert len(standin.calls_of("sendMessage")) == 4
    assert _deliveries(marts_db)["111"][:2] == ("sent", 2)


def test_a_permanent_failure_is_recorded_alerted_and_the_report_kept_for_later(marts_db, tg_settings, standin):
    settings = tg_settings()
    standin.fail_next("sendMessage", ("403", "Forbidden: bot was blocked by the user"))
    outcomes = deliver_morning_summary(settings, marts_db, DAY)
    assert [(o.chat_id, o.status) for o in outcomes] == [("111", "failed"), ("222", "sent")]
    status, attempts, _, error = _deliveries(marts_db)["111"]
    assert status == "failed" and "bot was blocked" in error
    alerts = [c for c in standin.calls_of("sendMessage") if c.params["chat_id"] == "999"]
    assert len(alerts) == 1 and "02.11.2026" not in alerts[0].params["text"]
    assert "2026-11-02" in alerts[0].params["text"] and "111" in alerts[0].params["text"]
    assert (settings.reports_dir / "2026-11-02" / "report.html").is_file()
    # Later, with the chat reachable again, a plain re-run delivers to the failed chat only.
    retry = deliver_morning_summary(settings, marts_db, DAY)
    assert [(o.chat_id, o.status) for o in retry] == [("111", "sent"), ("222", "already_sent")]
    assert _deliveries(marts_db)["111"][:2] == ("sent", 2)


def test_rate_limit_and_server_errors_are_retried_within_one_delivery(marts_db, tg_settings, standin):
    standin.fail_next("sendMessage", ("429", 1), ("500",))
    outcomes = deliver_morning_summary(tg_settings(telegram_chat_ids=("111",)), marts_db, DAY)
    assert [o.status for o in outcomes] == ["sent"]
    assert len(standin.calls_of("sendMessage")) == 3
    assert _deliveries(marts_db)["111"][:2] == ("sent", 1)


def test_without_a_token_the_summary_is_returned_and_nothing_is_sent(marts_db, make_settings, standin):
    settings = make_settings(telegram_chat_ids=("111",))
    outcomes = deliver_morning_summary(settings, marts_db, DAY)
    assert [(o.status, o.error) for o in outcomes] == [("skipped", NOT_CONFIGURED)]
    assert "Заказы" in outcomes[0].text
    assert standin.calls == []
    assert _deliveries(marts_db) == {}
    assert (settings.reports_dir / "2026-11-02" / "report.html").is_file()


def test_english_summary_and_button(marts_db, tg_settings, standin):
    deliver_morning_summary(tg_settings(report_lang="en", telegram_chat_ids=("111",)), marts_db, DAY)
    message = standin.calls_of("sendMessage")[0].params
    assert message["text"].startswith("<b>Daily summary 2026-11-02 (Mon)</b>")
    assert message["reply_markup"]["inline_keyboard"][0][0]["text"] == "Detailed report"


def test_ops_alert_goes_to_the_ops_chat_as_plain_text(tg_settings, standin):
    assert send_ops_alert(tg_settings(), "run 1234 failed: <boom> & more") is True
    alert = standin.calls_of("sendMessage")[0].params
    assert alert["chat_id"] == "999" and "parse_mode" not in alert
    assert alert["text"].endswith("run 1234 failed: <boom> & more")


def test_ops_alert_without_an_ops_chat_is_logged_not_raised(tg_settings, standin, caplog):
    assert send_ops_alert(tg_settings(telegram_ops_chat_id=None), "run failed") is False
    assert standin.calls == []
    assert "TELEGRAM_OPS_CHAT_ID" in caplog.text


def test_a_request_error_in_one_chat_is_recorded_and_the_next_chat_still_gets_its_message(
        marts_db, tg_settings, standin):
    settings = tg_settings()
    standin.fail_next("sendMessage", ("redirect_loop",))  # requests raises TooManyRedirects for chat 111
    outcomes = deliver_morning_summary(settings, marts_db, DAY)
    assert [(o.chat_id, o.status) for o in outcomes] == [("111", "failed"), ("222", "sent")]
    assert "TooManyRedirects" in outcomes[0].error and standin.token not in outcomes[0].error
    status, attempts, _, error = _deliveries(marts_db)["111"]
    assert (status, attempts) == ("failed", 1) and "TooManyRedirects" in error and standin.token not in error
    assert _deliveries(marts_db)["222"][0] == "sent"
    alerts = [c for c in standin.calls_of("sendMessage") if c.params["chat_id"] == "999"]
    assert len(alerts) == 1 and "111" in alerts[0].params["text"] and standin.token not in alerts[0].params["text"]


def test_the_summary_is_rebuilt_when_the_marts_changed_since_the_stored_version(marts_db, tg_settings, standin):
    settings = tg_settings(telegram_chat_ids=("111",))
    early = current_report(settings, marts_db, DAY)  # a /report at 06:00, before the morning run
    with psycopg.connect(marts_db, autocommit=True) as conn:  # the morning run adds the night's orders
        conn.execute("update marts.daily_kpis set orders_count = 1300 where business_date = %s",
                     (DAY,))
    outcome = deliver_morning_summary(settings, marts_db, DAY)[0]
    assert (early.version, outcome.report_version) == (1, 2)
    assert "<b>1\u202f300</b>" in standin.calls_of("sendMessage")[0].params["text"]
    assert (settings.reports_dir / DAY.isoformat() / "version.txt").read_text().strip() == "2"


def test_an_unchanged_day_is_sent_from_the_stored_version_without_a_new_one(marts_db, tg_settings, standin):
    settings = tg_settings(telegram_chat_ids=("111",))
    stored = build_daily_report(settings, marts_db, DAY)
    assert deliver_morning_summary(settings, marts_db, DAY)[0].report_version == stored.version == 1
    with psycopg.connect(marts_db) as conn:
        assert conn.execute("select count(*) from reports.daily_report").fetchone()[0] == 1


def test_a_failed_attachment_is_noted_but_the_summary_is_not_sent_twice(marts_db, tg_settings, standin):
    settings = tg_settings(telegram_chat_ids=("111",))
    standin.fail_next("sendDocument", ("400", "Bad Request: file is too big"))
    outcome = deliver_morning_summary(settings, marts_db, DAY)[0]
    assert outcome.status == "sent" and "report.html" in outcome.error and "too big" in outcome.error
    assert deliver_morning_summary(settings, marts_db, DAY)[0].status == "already_sent"
    assert len(standin.calls_of("sendMessage")) == 1


# -- the weekly and monthly summaries: their own kind of delivery, through the same functions ------

WEEK = period_of("week", DAY)  # Monday 02.11 to Sunday 08.11, in the mini marts with the week before


def _all_deliveries(database_url: str) -> set[tuple]:
    with psycopg.connect(database_url) as conn:
        return set(conn.execute("select business_date, chat_id, kind, status, report_version from reports.deliveries"))


def test_the_weekly_summary_reaches_every_chat_once_with_its_button_and_trends(marts_db, tg_settings, standin):
    settings = tg_settings()
    outcomes = deliver_period_summary(settings, marts_db, WEEK)
    assert [(o.chat_id, o.status) for o in outcomes] == [("111", "sent"), ("222", "sent")]
    message = standin.calls_of("sendMessage")[0].params
    assert message["text"].startswith("<b>Итоги недели 02.11.2026 – 08.11.2026</b>")
    assert "к нед. 26.10–01.11" in message["text"]
    button = message["reply_markup"]["inline_keyboard"][0][0]
    assert button == {"text": "Подробно за неделю", "callback_data": "period:week:2026-11-02"}
    photos = [p.files["photo"][0] for p in standin.calls_of("sendPhoto")]
    assert photos == ["orders_by_day.png", "missed_call_rate_by_day.png"] * 2
    assert [d.files["document"][0] for d in standin.calls_of("sendDocument")] == ["report.html"] * 2
    again = deliver_period_summary(settings, marts_db, WEEK)
    assert {o.status for o in again} == {"already_sent"} and len(standin.calls_of("sendMessage")) == 2


def test_a_week_a_month_and_the_day_are_deliveries_of_their_own(marts_db, tg_settings):
    settings = tg_settings()
    deliver_morning_summary(settings, marts_db, DAY)
    deliver_period_summary(settings, marts_db, WEEK)
    deliver_period_summary(settings, marts_db, period_of("month", DAY))
    kinds = {(row[0], row[2]) for row in _all_deliveries(marts_db) if row[1] == "111"}
    # the day and its week start on the same Monday: told apart by their kind
    assert kinds == {(DAY, "morning_summary"), (DAY, "weekly_summary"), (dt.date(2026, 11, 1), "monthly_summary")}


def test_a_failed_chat_gets_the_weekly_alert_and_the_rest_are_served(marts_db, tg_settings, standin):
    standin.fail_next("sendMessage", (403, "Forbidden: bot was blocked by the user"))
    outcomes = deliver_period_summary(tg_settings(), marts_db, WEEK)
    assert [o.status for o in outcomes] == ["failed", "sent"]
    alerts = [c.params["text"] for c in standin.calls_of("sendMessage") if c.params["chat_id"] == "999"]
    assert alerts and alerts[0].startswith("⚠️ pantao: Сводка за неделю с 2026-11-02 не доставлена в чат 111")


# -- at most once per part: a delivery cut short resumes with what is missing ------------------------

def test_a_delivery_killed_during_an_attachment_resumes_with_only_the_missing_parts(
        marts_db, tg_settings, standin, tmp_path):
    settings = tg_settings()
    current_report(settings, marts_db, DAY)  # the stored report and its files, as the morning run leaves them
    standin.fail_next("sendPhoto", ("hang", 60))  # the first chart is on its way when the process dies
    env = {**os.environ, "DATABASE_URL": marts_db, "PANTAO_DATA_DIR": str(settings.data_dir),
           "TELEGRAM_BOT_TOKEN": standin.token, "TELEGRAM_API_BASE_URL": standin.base_url,
           "TELEGRAM_CHAT_IDS": "111,222", "TELEGRAM_OPS_CHAT_ID": "999"}
    sender = subprocess.Popen([str(Path(sys.executable).parent / "pantao"), "report", "send", "--date", DAY.isoformat()],
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        standin.wait_for("sendPhoto", 1, timeout=120)
    finally:
        sender.kill()
        sender.wait(timeout=30)
    [first_text] = standin.accepted_of("sendMessage")
    assert first_text.params["chat_id"] == "111" and standin.accepted_of("sendPhoto", "sendDocument") == []

    outcomes = deliver_morning_summary(settings, marts_db, DAY)

    assert [(o.chat_id, o.status) for o in outcomes] == [("111", "sent"), ("222", "sent")]
    for chat in ("111", "222"):
        texts = [c for c in standin.accepted_of("sendMessage") if c.params["chat_id"] == chat]
        files = sorted(next(iter(c.files.values()))[0] for c in standin.accepted_of("sendPhoto", "sendDocument")
                       if c.params["chat_id"] == chat)
        assert len(texts) == 1, f"chat {chat} got the summary {len(texts)} times"
        assert files == ["calls_by_hour.png", "orders_by_hour.png", "report.html"]
    assert _deliveries(marts_db) == {"111": ("sent", 1, 4, None), "222": ("sent", 1, 4, None)}
    with psycopg.connect(marts_db) as conn:
        parts = conn.execute("select chat_id, part from reports.delivery_parts where business_date = %s "
                             "order by 1, 2", (DAY,)).fetchall()
    assert parts == [(chat, part) for chat in ("111", "222")
                     for part in ("html", "png:calls_by_hour", "png:orders_by_hour", "text:1")]


def test_force_sends_every_part_again(marts_db, tg_settings, standin):
    settings = tg_settings(telegram_chat_ids=("111",))
    deliver_morning_summary(settings, marts_db, DAY)
    deliver_morning_summary(settings, marts_db, DAY, force=True)
    assert len(standin.accepted_of("sendMessage")) == 2
    assert len(standin.accepted_of("sendPhoto", "sendDocument")) == 6
