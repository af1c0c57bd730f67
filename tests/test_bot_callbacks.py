"""The bot's /callbacks (with its «перезвонили» button) and /staffing: the real Application polling
the Telegram stand-in, answering from a real PostgreSQL with hand-made marts."""

from __future__ import annotations

import datetime as dt
import time

import psycopg
import pytest

from tests.bot_support import ADMIN, ANALYST, MANAGER, OPERATOR_101, ask, running_bot, text_of
from tests.reports_marts import DAY

# DAY's callers nobody reached back: at home in restaurant 2, 1, and an unknown number (the manager
# of USERS has restaurants 1 and 3)
GROUP = -100_777  # a group listed in TELEGRAM_BOT_GROUP_IDS
CALLERS = (("+79160000002", 2, 900.0, 3), ("+79160000001", 1, 500.0, 1), ("+79169999999", None, 300.0, 2))


@pytest.fixture(scope="module")
def callbacks_db(new_database):
    with new_database("t_bot_callbacks") as url:
        yield url


def _fill(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for phone, home, amount, attempts in CALLERS:
            conn.execute(
                "insert into marts.missed_call_recovery (business_date, caller_phone, is_known_customer, "
                "home_restaurant_id, lifetime_orders_count, attempts_count, last_call_at, "
                "expected_lost_revenue_amount) values (%s, %s, %s, %s, %s, %s, %s, %s)",
                (DAY, phone, home is not None, home, 0 if home is None else 4, attempts,
                 dt.datetime(2026, 11, 2, 15, 30, tzinfo=dt.UTC), amount))
        # the Tuesday a week before 2026-11-03: 200 calls at 10:00 answered in 180 s, 12 operators
        conn.execute("insert into marts.hourly_kpis (business_date, hour, calls_offered_count, calls_answered_count, "
                     "avg_talk_seconds, operators_logged_in_count) values ('2026-10-27', 10, 200, 200, 180, 12)")


@pytest.fixture(scope="module")
def bot(callbacks_db, tmp_path_factory):
    yield from running_bot(callbacks_db, tmp_path_factory.mktemp("botcb"), (GROUP,), _fill)


def _listed(calls) -> list[str]:
    return [c.params["text"] for c in calls if c.params.get("reply_markup")]


def test_an_administrator_gets_every_open_caller_highest_expected_loss_first_each_with_a_button(bot):
    calls = ask(bot, ADMIN, "/callbacks 2026-11-02", replies=4)
    assert "Кому перезвонить за 02.11.2026: открыто 3" in text_of(calls)
    listed = _listed(calls)
    assert [line.split(" — ")[0] for line in listed] == ["+79160000002", "+79160000001", "+79169999999"]
    assert "клиент, заказов 4, попыток 3, последняя в 02.11.2026 18:30, ожидаемая потеря 900\u00a0₽" in listed[0]
    assert "новый номер" in listed[2]
    buttons = [c.params["reply_markup"]["inline_keyboard"][0][0] for c in calls if c.params.get("reply_markup")]
    assert buttons[0] == {"text": "перезвонили", "callback_data": "callback:2026-11-02:+79160000002"}


def test_a_manager_limited_to_restaurants_gets_their_customers_only(bot):
    calls = ask(bot, MANAGER, "/callbacks 2026-11-02", replies=2)
    assert "открыто 1" in text_of(calls)
    assert [line.split(" — ")[0] for line in _listed(calls)] == ["+79160000001"]


@pytest.mark.parametrize("user", [ANALYST, OPERATOR_101])
def test_analysts_and_operators_are_refused(bot, user):
    text = text_of(ask(bot, user, "/callbacks 2026-11-02"))
    assert "+7916" not in text and "доступна" in text


def test_the_button_takes_the_caller_off_the_open_list_and_records_who(bot, callbacks_db):
    calls = ask(bot, ADMIN, "button:callback:2026-11-02:+79169999999", methods=("sendMessage",))
    assert "+79169999999: отмечено «перезвонили»." in text_of(calls)
    with psycopg.connect(callbacks_db) as conn:
        marks = conn.execute("select caller_phone, marked_by_username from reports.callback_marks").fetchall()
    assert [(phone, user.split("_")[0]) for phone, user in marks] == [("+79169999999", "boss")]
    listed = _listed(ask(bot, ADMIN, "/callbacks 2026-11-02", replies=3))
    assert [line.split(" — ")[0] for line in listed] == ["+79160000002", "+79160000001"]


def test_a_manager_cannot_mark_a_caller_outside_their_restaurants(bot, callbacks_db):
    before = len(bot.calls_of("answerCallbackQuery"))
    bot.push_callback(MANAGER, "callback:2026-11-02:+79160000002", chat_id=MANAGER)
    deadline = time.monotonic() + 20
    while len(bot.calls_of("answerCallbackQuery")) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    answers = bot.calls_of("answerCallbackQuery")[before:]
    assert [c.params.get("text") for c in answers] == ["Этого звонка уже нет в открытом списке"]
    with psycopg.connect(callbacks_db) as conn:
        assert conn.execute("select count(*) from reports.callback_marks where caller_phone = '+79160000002'"
                            ).fetchone() == (0,)


def test_callbacks_in_a_listed_group_point_to_the_private_chat_and_show_no_number(bot):
    text = text_of(ask(bot, ADMIN, "/callbacks 2026-11-02", chat_type="group", chat_id=GROUP))
    assert "в личном чате" in text and "+7916" not in text


def test_staffing_marks_the_hour_short_of_operators(bot):
    text = text_of(ask(bot, ADMIN, "/staffing 2026-11-03"))
    assert "Операторы на 03.11.2026 (вт), цель 80\u00a0% за 20 с" in text
    assert "⚠ 10:00 — звонков 200,0, нужно 14, неделю назад 12: не хватает 2" in text
