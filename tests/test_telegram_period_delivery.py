"""The weekly and monthly summaries against the Telegram stand-in: once per period and chat, beside
the morning summary (their own kind of delivery), with their button and their charts."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from notifications.delivery import deliver_morning_summary
from notifications.period_delivery import deliver_period_summary
from pantao.periods import period_of
from reports.schema import ensure_reports_schema
from tests.reports_marts import DAY, create_small_marts
from tests.telegram_standin import TelegramStandIn

WEEK = period_of("week", DAY)  # Monday 02.11 to Sunday 08.11, in the mini marts with the week before


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
def settings(make_settings, standin):
    return make_settings(telegram_bot_token=standin.token, telegram_api_base_url=standin.base_url,
                         telegram_chat_ids=("111", "222"), telegram_ops_chat_id="999", http_timeout_seconds=2.0)


def _deliveries(database_url: str) -> set[tuple]:
    with psycopg.connect(database_url) as conn:
        return set(conn.execute("select business_date, chat_id, kind, status, report_version from reports.deliveries"))


def test_the_weekly_summary_reaches_every_chat_once_with_its_button_and_trends(marts_db, settings, standin):
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


def test_a_week_a_month_and_the_day_are_deliveries_of_their_own(marts_db, settings):
    deliver_morning_summary(settings, marts_db, DAY)
    deliver_period_summary(settings, marts_db, WEEK)
    deliver_period_summary(settings, marts_db, period_of("month", DAY))
    kinds = {(row[0], row[2]) for row in _deliveries(marts_db) if row[1] == "111"}
    # the day and its week start on the same Monday: told apart by their kind
    assert kinds == {(DAY, "morning_summary"), (DAY, "weekly_summary"), (dt.date(2026, 11, 1), "monthly_summary")}


def test_a_failed_chat_gets_the_weekly_alert_and_the_rest_are_served(marts_db, settings, standin):
    standin.fail_next("sendMessage", (403, "Forbidden: bot was blocked by the user"))
    outcomes = deliver_period_summary(settings, marts_db, WEEK)
    assert [o.status for o in outcomes] == ["failed", "sent"]
    alerts = [c.params["text"] for c in standin.calls_of("sendMessage") if c.params["chat_id"] == "999"]
    assert alerts and alerts[0].startswith("⚠️ pantao: Сводка за неделю с 2026-11-02 не доставлена в чат 111")
