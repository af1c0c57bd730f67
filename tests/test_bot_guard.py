"""The bot's door rules (notifications/bot_guard.py) as pure functions; the bot applying them to
real updates is tested in tests/test_bot.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from notifications.bot_guard import MAX_REQUEST_CHARS, Place, parse_number, place_of, shown, too_long
from pantao.settings import SettingsError, load_settings

GROUPS = (-1001234567890, -42)


@pytest.mark.parametrize(("chat", "place"), [
    (SimpleNamespace(type="private", id=501), Place.PRIVATE),
    (SimpleNamespace(type="supergroup", id=-1001234567890), Place.GROUP),
    (SimpleNamespace(type="group", id=-42), Place.GROUP),
    (SimpleNamespace(type="supergroup", id=-1009999999999), Place.CLOSED),
    (SimpleNamespace(type="channel", id=-1001234567890), Place.CLOSED),  # a channel, even with a listed id
    (None, Place.CLOSED),
])
def test_the_bot_answers_in_private_chats_and_listed_groups_only(chat, place):
    assert place_of(chat, GROUPS) is place


@pytest.mark.parametrize(("value", "number"), [
    ("3", 3), ("007", 7), ("123456789", 123456789),
    ("²", None), ("٣", None), ("３", None), ("1²", None), ("-1", None), ("+1", None), (" 1", None), ("1.0", None),
    ("", None), (None, None), ("1234567890", None),
])
def test_numbers_are_ascii_digits_only(value, number):
    assert "²".isdigit() and "٣".isdigit()  # what the old check let through
    assert parse_number(value) == number


def test_a_bad_argument_is_quoted_escaped_and_short():
    assert shown("<b>") == "&lt;b&gt;"
    assert shown("x" * 41) == "x" * 40 + "…"


def test_a_request_is_too_long_past_the_limit():
    assert not too_long("/report " + "x" * (MAX_REQUEST_CHARS - 8)) and too_long("x" * (MAX_REQUEST_CHARS + 1))
    assert not too_long(None)


def test_bot_group_ids_are_read_as_negative_numbers_and_a_private_id_is_refused():
    settings = load_settings(env={"TELEGRAM_BOT_GROUP_IDS": "-1001234567890, -42"}, dotenv_path=None)
    assert settings.telegram_bot_group_ids == GROUPS
    assert load_settings(env={}, dotenv_path=None).telegram_bot_group_ids == ()
    for wrong in ("501", "@managers", "-1²"):
        with pytest.raises(SettingsError, match=f"TELEGRAM_BOT_GROUP_IDS: '{wrong}' is not a group chat id"):
            load_settings(env={"TELEGRAM_BOT_GROUP_IDS": wrong}, dotenv_path=None)
