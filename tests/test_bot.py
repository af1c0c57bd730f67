"""The real python-telegram-bot Application, polling the Telegram stand-in over HTTP, answering
from a real PostgreSQL with the mini marts and people registered in the real access.users."""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.bot_support import (
    ADMIN,
    ALLOWED_GROUPS,
    ANALYST,
    CHAT_IDS,
    MANAGER,
    OPERATOR_101,
    OPERATOR_102,
    STRANGER,
    ask,
    running_bot,
    text_of,
)
from tests.reports_marts import insert_unusual_friday
from tests.telegram_standin import Call, TelegramStandIn

_allowed = iter(ALLOWED_GROUPS)  # one listed group per test that uses one


@pytest.fixture(scope="module")
def bot_db(new_database):
    with new_database("t_bot") as url:
        yield url


@pytest.fixture(scope="module")
def bot(bot_db, tmp_path_factory):
    yield from running_bot(bot_db, tmp_path_factory.mktemp("botdata"), ALLOWED_GROUPS, insert_unusual_friday)


def test_report_command_answers_with_the_detailed_report_and_the_html(bot):
    calls = ask(bot, ADMIN, "/report 2026-11-02", replies=2, methods=("sendMessage", "sendDocument"))
    text = text_of(calls)
    assert "Отчёт по сети за 02.11.2026" in text
    assert "Заказы: <b>1\u202f234</b>" in text and "Выручка: <b>1\u202f234\u202f568\u00a0₽</b>" in text
    document = [c for c in calls if c.method == "sendDocument"][0]
    assert document.files["document"][0] == "report-2026-11-02.html"
    assert b"<img src=\"data:image/png;base64," in document.files["document"][1]


def test_the_detailed_report_flags_the_unusual_and_gives_the_time_in_business_time(bot):
    text = text_of(ask(bot, MANAGER, "/report 2026-11-20", replies=1))
    lines = text.splitlines()
    assert lines[1].startswith("версия 1, сформирован ") and lines[1].endswith("(Europe/Moscow)")
    assert lines[3] == ("⚠ Доля пропущенных 20,0\u00a0% — выше обычного для пятницы (8,1–16,9\u00a0%) "
                        "и порога оповещения 15,0\u00a0%")
    assert "Доля пропущенных: <b>20,0\u00a0%</b>" in text and "UTC" not in text


def test_the_detailed_report_button_answers_the_query_and_sends_the_report(bot):
    calls = ask(bot, ADMIN, "button:report:2026-11-02", replies=2, methods=("sendMessage", "sendDocument"))
    assert "Отчёт по сети за 02.11.2026" in text_of(calls) and "O'Brien (101)" in text_of(calls)
    assert [c.files["document"][0] for c in calls if c.method == "sendDocument"] == ["report-2026-11-02.html"]
    assert bot.calls_of("answerCallbackQuery")


OPERATOR_NAMES = ("O'Brien", "Иван", "Анна_Мария")


def _only_text(standin: TelegramStandIn, calls: list[Call], settle: float = 1.0) -> list[Call]:
    """The calls to `calls`' chat once `settle` seconds passed: a document would have arrived by then."""
    time.sleep(settle)
    chat_id = str(calls[0].params["chat_id"])
    return [c for c in standin.calls_of("sendMessage", "sendDocument") if str(c.params.get("chat_id")) == chat_id]


@pytest.mark.parametrize("request_text", ["/operators 2026-11-02", "/report 2026-11-02", "button:report:2026-11-02"])
def test_analysts_get_no_operator_names_and_no_html(bot, request_text):
    calls = _only_text(bot, ask(bot, ANALYST, request_text))
    text = text_of(calls)
    assert "101: " in text and "102: " in text and "103: " in text  # the figures, by extension
    for name in OPERATOR_NAMES:
        assert name not in text
    assert [c.method for c in calls] == ["sendMessage"]  # the HTML lists operators by name


def test_operators_command_lists_every_operator_with_names_escaped(bot):
    text = text_of(ask(bot, MANAGER, "/operators 2026-11-02"))
    assert "Операторы за 02.11.2026" in text
    assert "O'Brien (101)" in text and "&lt;Иван&gt; (102)" in text and "Анна_Мария* (103)" in text
    assert "<Иван>" not in text


def test_calls_command_shows_the_contact_centre_figures(bot):
    text = text_of(ask(bot, MANAGER, "/calls 2026-11-02"))
    assert "Поступило звонков: <b>620</b>" in text
    assert "Пропущенные звонки: <b>45</b>" in text
    assert "Пиковый час: 15:00" in text


def test_restaurant_command_and_a_managers_scope(bot):
    assert "Выручка: <b>520\u202f000\u00a0₽</b>" in text_of(ask(bot, ADMIN, "/restaurant 2 2026-11-02"))
    assert "Ресторан 1 за 02.11.2026" in text_of(ask(bot, MANAGER, "/restaurant 1 2026-11-02"))
    refused = text_of(ask(bot, MANAGER, "/restaurant 2 2026-11-02"))
    assert "Ресторан 2 не входит в ваши рестораны (1, 3)" in refused and "Выручка" not in refused


def test_mystats_shows_the_callers_own_figures_beside_the_team_median(bot):
    mine = text_of(ask(bot, OPERATOR_101, "/mystats 2026-11-02..2026-11-02"))
    assert "Ваша статистика (101) за 02.11.2026" in mine
    assert "Звонков: <b>210</b> (медиана команды 190)" in mine  # 210, 190, 175: the median, no one's row
    assert "Оценка: <b>4,40</b> (медиана команды 4,40)" in mine
    assert "Иван" not in mine and "Анна" not in mine and "O'Brien" not in mine  # not even their own name
    other = text_of(ask(bot, OPERATOR_102, "/mystats 2026-10-26..2026-11-02"))
    assert "(102)" in other and "Звонков: <b>191</b>" in other  # 190 + 1 on the week before


def test_mystats_lists_the_latest_rated_calls_with_comments_escaped(bot):
    text = text_of(ask(bot, OPERATOR_101, "/mystats 2026-11-02..2026-11-02"))
    rated = text.split("Последние оценки с комментариями</b>\n", 1)[1].splitlines()
    # the four rated calls with a comment, the latest first; the time is local, the zone named in /myratings
    assert rated[0] == "02.11.2026 12:06 — 4 из 5, ожидание 10\u00a0с, разговор 200\u00a0с, отвечен"
    assert rated[1] == "   «<i>Спасибо!</i>»"
    assert "   «<i>&lt;b&gt;Грубо&lt;/b&gt; &amp; долго</i>»" in rated
    assert len([line for line in rated if line.startswith("02.11.2026")]) == 4


def test_myratings_lists_every_rating_of_the_period(bot):
    text = text_of(ask(bot, OPERATOR_101, "/myratings 2026-11-02..2026-11-02"))
    assert "Оценки (101) за 02.11.2026: 7" in text and "(Europe/Moscow)" in text
    assert len([line for line in text.splitlines() if line.startswith("02.11.2026")]) == 7
    assert "За 26.10.2026 оценок нет." in text_of(ask(bot, OPERATOR_101, "/myratings 2026-10-26..2026-10-26"))


def test_an_operator_cannot_ask_for_another_operator(bot):
    text = text_of(ask(bot, OPERATOR_102, "/mystats 101 2026-11-02..2026-11-02"))
    assert "Можно смотреть только свою статистику (доб. 102)" in text and "Звонков" not in text
    assert "Можно смотреть только свою" in text_of(ask(bot, ANALYST, "/myratings 101"))


def test_a_manager_sees_the_same_for_any_operator_with_the_name(bot):
    text = text_of(ask(bot, MANAGER, "/mystats 102 2026-11-02..2026-11-02"))
    assert "Оператор 102 за 02.11.2026" in text and "&lt;Иван&gt;" in text
    assert "Звонков: <b>190</b> (медиана команды 190)" in text
    assert "Оценки (101) за 02.11.2026: 7" in text_of(ask(bot, ADMIN, "/myratings 101 2026-11-02..2026-11-02"))
    assert "За 02.11.2026 оценок нет." in text_of(ask(bot, ADMIN, "/myratings 102 2026-11-02..2026-11-02"))
    assert "Оператора с номером 999" in text_of(ask(bot, ADMIN, "/mystats 999 2026-11-02..2026-11-02"))


def test_week_and_month_answer_with_the_period_report_and_its_page(bot):
    calls = ask(bot, ADMIN, "/week 2026-11-04", replies=2, methods=("sendMessage", "sendDocument"))
    text = text_of(calls)
    assert "Итоги недели 02.11.2026 – 08.11.2026" in text and "(Europe/Moscow)" in text
    assert "Заказы: <b>1\u202f234</b> (+5,2\u00a0% к нед. 26.10–01.11)" in text
    assert [c.files["document"][0] for c in calls if c.method == "sendDocument"] == ["report-week-2026-11-02.html"]
    month = text_of(ask(bot, MANAGER, "/month 2026-11", replies=1))
    assert "Итоги месяца: ноябрь 2026" in month and "нет полных данных за прошлый месяц" in month


def test_the_weekly_summary_button_and_an_analyst_without_names(bot):
    calls = _only_text(bot, ask(bot, ANALYST, "button:period:week:2026-11-02"))
    text = text_of(calls)
    assert "Итоги недели 02.11.2026 – 08.11.2026" in text and "101 " in text
    for name in OPERATOR_NAMES:
        assert name not in text
    assert [c.method for c in calls] == ["sendMessage"]


def test_operators_cannot_read_the_chain_report(bot):
    text = text_of(ask(bot, OPERATOR_101, "/report 2026-11-02"))
    assert "доступна руководителям и аналитикам" in text and "Выручка" not in text


def test_unknown_users_are_refused_politely_and_logged(bot, bot_db):
    text = text_of(ask(bot, STRANGER, "/report 2026-11-02"))
    assert "нет доступа" in text and str(STRANGER) in text and "Выручка" not in text
    with psycopg.connect(bot_db) as conn:
        rows = conn.execute("select command, allowed, reason from reports.bot_access_log "
                            "where telegram_id = %s", (STRANGER,)).fetchall()
    assert rows == [("/report 2026-11-02", False, "unknown telegram id")]


@pytest.mark.parametrize(("command", "expected"), [
    ("/report 2026-13-45", "Не понял дату «2026-13-45». Укажите дату как ГГГГ-ММ-ДД"),
    ("/restaurant abc", "Укажите номер ресторана: /restaurant 3"),
    ("/mystats lastyear", "Не понял период «lastyear». Укажите today, yesterday, week, month"),
])
def test_bad_arguments_get_a_helpful_message(bot, command, expected):
    user = OPERATOR_101 if command.startswith("/mystats") else ADMIN
    assert expected in text_of(ask(bot, user, command))


def _log_rows(database_url: str, chat_id: int) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute("select telegram_id, command, allowed from reports.bot_access_log where chat_id = %s "
                            "order by id", (chat_id,)).fetchall()


def _wait_for_log_rows(database_url: str, chat_id: int, count: int, timeout: float = 20.0) -> list[tuple]:
    deadline = time.monotonic() + timeout
    while len(rows := _log_rows(database_url, chat_id)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return rows


def _sent_to(standin: TelegramStandIn, chat_id: int) -> list[Call]:
    return [c for c in standin.calls_of("sendMessage", "sendDocument", "sendPhoto")
            if str(c.params.get("chat_id")) == str(chat_id)]


def test_group_chatter_gets_no_reply_and_no_log_row(bot, bot_db):
    group = next(_allowed)
    bot.push_command(ADMIN, "good morning, everyone", chat_id=group, chat_type="supergroup")
    bot.push_command(STRANGER, "who is the bot here?", chat_id=group, chat_type="supergroup")
    bot.push_command(STRANGER, "/weather", chat_id=group, chat_type="supergroup")  # another bot's command
    bot.push_command(ADMIN, "/help", chat_id=group, chat_type="supergroup")  # fetched after the rest

    def replies() -> list[Call]:
        return [c for c in bot.calls_of("sendMessage") if str(c.params["chat_id"]) == str(group)]

    deadline = time.monotonic() + 20
    while not replies() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # anything the chatter wrongly caused would have arrived by now
    assert len(replies()) == 1 and "только сводку по сети: /report" in replies()[0].params["text"]
    assert _log_rows(bot_db, group) == [(ADMIN, "/help", True)]


# -- where the bot answers (issue #17): private chats, and listed groups with the chain summary only --
@pytest.mark.parametrize("command", ["/report 2026-11-02", "/mystats 2026-11-02..2026-11-02", "/help",
                                     "button:report:2026-11-02"])
def test_a_group_not_listed_gets_no_answer_and_the_attempt_is_logged(bot, bot_db, command):
    """Issue #17: an administrator's /report in a group posted the report HTML with operator names
    to everyone in it; /mystats too."""
    group = next(CHAT_IDS)
    user = OPERATOR_101 if command.startswith("/mystats") else ADMIN
    if command.startswith("button:"):
        bot.push_callback(user, command.removeprefix("button:"), chat_id=group, chat_type="group")
    else:
        bot.push_command(user, command, chat_id=group, chat_type="group")
    rows = _wait_for_log_rows(bot_db, group, 1)
    time.sleep(1.0)  # a reply the bot wrongly sent would have arrived by now
    assert _sent_to(bot, group) == []
    assert rows == [(user, command.removeprefix("button:"), False)]
    if command.startswith("button:"):
        alert = [c.params for c in bot.calls_of("answerCallbackQuery") if "не отвечаю" in c.params.get("text", "")]
        assert alert and alert[-1]["show_alert"] in (True, "true", "True")  # seen by the presser only


def test_in_a_listed_group_report_sends_the_chain_summary_only(bot):
    calls = _only_text(bot, ask(bot, ADMIN, "/report 2026-11-02", chat_type="supergroup", chat_id=next(_allowed)))
    text = text_of(calls)
    assert "Итоги дня 02.11.2026" in text and "Заказы: <b>1\u202f234</b>" in text
    assert [c.method for c in calls] == ["sendMessage"]  # no HTML report
    for name in OPERATOR_NAMES:
        assert name not in text
    assert "Ресторан" not in text  # the chain's figures, not the restaurants'


@pytest.mark.parametrize("command", ["/operators 2026-11-02", "/calls 2026-11-02", "/restaurant 1 2026-11-02",
                                     "/mystats 2026-11-02..2026-11-02"])
def test_in_a_listed_group_other_commands_are_pointed_to_the_private_chat(bot, bot_db, command):
    group = next(_allowed)
    user = OPERATOR_101 if command.startswith("/mystats") else MANAGER
    text = text_of(_only_text(bot, ask(bot, user, command, chat_type="group", chat_id=group)))
    assert text == "В группе я показываю только сводку по сети (/report). Это — в личном чате со мной."
    assert _log_rows(bot_db, group) == [(user, command, False)]


def test_in_a_listed_group_the_detailed_report_button_answers_the_presser_only(bot):
    group = next(_allowed)
    before = len(bot.calls_of("answerCallbackQuery"))
    bot.push_callback(ADMIN, "report:2026-11-02", chat_id=group, chat_type="supergroup")
    answers = bot.wait_for("answerCallbackQuery", before + 1)
    time.sleep(1.0)
    assert "только сводку по сети" in answers[before].params["text"]
    assert _sent_to(bot, group) == []


# -- what people type (issue #17): ASCII digits, and no echo of a long request ----------------------
@pytest.mark.parametrize("argument", ["²", "٣", "３", "1²"])
def test_a_restaurant_number_in_other_digits_is_a_bad_argument_not_a_crash(bot, argument):
    """Issue #17: `/restaurant ²` crashed the handler (`isdigit()` accepts superscripts); `٣` (an
    Arabic-Indic 3) would have read as restaurant 3."""
    text = text_of(ask(bot, ADMIN, f"/restaurant {argument} 2026-11-02"))
    assert text == "Укажите номер ресторана: /restaurant 3 [ГГГГ-ММ-ДД]."


def test_a_date_in_other_digits_is_a_bad_argument(bot):
    """Python's strptime and fromisoformat read ASCII digits only; kept so it stays that way."""
    text = text_of(ask(bot, ADMIN, "/calls ٢٠٢٦-١١-٠٢"))
    assert "Не понял дату" in text and "Поступило звонков" not in text


def test_a_long_request_gets_one_short_error_and_no_echo(bot, bot_db):
    """Issue #17: a 6,000-character argument came back as four messages, its HTML entities split
    between them."""
    calls = _only_text(bot, ask(bot, ADMIN, "/report " + "<" * 4000))
    assert [c.method for c in calls] == ["sendMessage"]
    assert calls[0].params["text"] == "Слишком длинный запрос: не больше 200 символов. Список команд: /help"
    rows = _log_rows(bot_db, int(calls[0].params["chat_id"]))
    assert [(allowed, len(command)) for _, command, allowed in rows] == [(False, 200)]


def test_a_bad_argument_is_quoted_back_cut_short(bot):
    text = text_of(ask(bot, ADMIN, "/report " + "x" * 150))
    assert "«" + "x" * 40 + "…»" in text and "x" * 41 not in text


def test_plain_text_in_a_private_chat_gets_a_hint_and_no_log_row(bot, bot_db):
    for user in (ADMIN, STRANGER):
        calls = ask(bot, user, "what were the sales yesterday?", methods=("sendMessage",))
        assert text_of(calls) == "Я понимаю только команды. Список команд: /help"
        assert _log_rows(bot_db, int(calls[0].params["chat_id"])) == []


def test_help_lists_the_commands(bot):
    text = text_of(ask(bot, OPERATOR_102, "/help"))
    for command in ("/report", "/week", "/month", "/operators", "/calls", "/restaurant", "/mystats", "/myratings"):
        assert command in text


def test_a_day_without_data_is_explained(bot):
    assert "Нет данных за 01.12.2026" in text_of(ask(bot, ADMIN, "/calls 2026-12-01"))


def test_an_unknown_user_pressing_the_button_gets_a_refusal_alert(bot):
    before = len(bot.calls_of("answerCallbackQuery"))
    bot.push_callback(STRANGER, "report:2026-11-02", chat_id=next(CHAT_IDS))
    deadline = time.monotonic() + 20
    while len(bot.calls_of("answerCallbackQuery")) <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    answer = bot.calls_of("answerCallbackQuery")[before].params
    assert "нет доступа" in answer["text"] and answer["show_alert"] in (True, "true", "True")
