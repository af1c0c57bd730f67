"""The Bot API client against the stand-in over real HTTP: retries, permanent errors, formatting."""

from __future__ import annotations

import html
import time

import pytest

from notifications.telegram import (
    TelegramClient,
    TelegramError,
    escape_html,
    escape_markdown_v2,
    split_message,
    utf16_len,
)
from tests.telegram_standin import TelegramStandIn


@pytest.fixture
def standin():
    server = TelegramStandIn().start()
    yield server
    server.stop()


def _client(standin: TelegramStandIn, **kw) -> TelegramClient:
    kw.setdefault("timeout", 2.0)
    kw.setdefault("backoff_seconds", 0.05)
    return TelegramClient(standin.token, standin.base_url, **kw)


def test_429_is_retried_after_the_time_telegram_asks_for(standin):
    standin.fail_next("sendMessage", ("429", 1))
    started = time.monotonic()
    with _client(standin) as client:
        ids = client.send_message("42", "hello")
    calls = standin.calls_of("sendMessage")
    assert len(calls) == 2 and len(ids) == 1
    assert calls[1].at - calls[0].at >= 0.95
    assert time.monotonic() - started >= 1.0


def test_500_is_retried_with_backoff_until_it_succeeds(standin):
    standin.fail_next("sendMessage", ("500",), ("502",))
    with _client(standin) as client:
        client.send_message("42", "hello")
    calls = standin.calls_of("sendMessage")
    assert len(calls) == 3
    assert calls[2].at - calls[1].at >= calls[1].at - calls[0].at >= 0.04  # 0.05 s, then 0.1 s


def test_a_hanging_server_times_out_and_the_call_is_retried(standin):
    standin.fail_next("sendMessage", ("hang", 2.0))
    started = time.monotonic()
    with _client(standin, timeout=0.4) as client:
        client.send_message("42", "hello")
    assert len(standin.calls_of("sendMessage")) == 2
    assert time.monotonic() - started < 1.9  # did not wait for the hung answer


def test_403_is_permanent_and_not_retried(standin):
    standin.fail_next("sendMessage", ("403", "Forbidden: bot was blocked by the user"))
    with _client(standin) as client, pytest.raises(TelegramError) as err:
        client.send_message("42", "hello")
    assert err.value.permanent and err.value.error_code == 403
    assert "bot was blocked" in str(err.value)
    assert len(standin.calls_of("sendMessage")) == 1


def test_persistent_5xx_gives_up_after_max_attempts_without_leaking_the_token(standin):
    standin.fail_always("sendMessage", ("500",))
    with _client(standin, max_attempts=3) as client, pytest.raises(TelegramError) as err:
        client.send_message("42", "hello")
    assert not err.value.permanent and err.value.attempts == 3
    assert len(standin.calls_of("sendMessage")) == 3


def test_network_errors_are_retried_and_the_token_never_appears_in_errors():
    token = "999:SECRET-token-value"
    client = TelegramClient(token, "http://127.0.0.1:9", timeout=0.3, max_attempts=2, backoff_seconds=0.01)
    with pytest.raises(TelegramError) as err:
        client.get_me()
    assert err.value.attempts == 2
    assert "SECRET" not in str(err.value) and "<token>" in str(err.value)


@pytest.mark.parametrize("base_url", ["api.telegram.org", "http://[::1", "ftp://127.0.0.1:9"])
def test_a_base_url_requests_cannot_use_is_a_permanent_error_without_the_token(base_url):
    token = "999:SECRET-token-value"
    with TelegramClient(token, base_url, timeout=0.3, backoff_seconds=0.01) as client, \
            pytest.raises(TelegramError) as err:
        client.send_message("42", "hello")
    assert err.value.permanent and err.value.attempts == 1
    assert "SECRET" not in str(err.value) and "TELEGRAM_API_BASE_URL" in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no unredacted chained traceback


def test_an_answer_cut_off_midway_is_retried(standin):
    standin.fail_next("sendMessage", ("truncate",))
    with _client(standin) as client:
        ids = client.send_message("42", "hello")
    assert len(ids) == 1 and len(standin.calls_of("sendMessage")) == 2


@pytest.mark.parametrize("name", ["O'Brien", "<Иван>", "Анна_Мария*", "Tom & Jerry"])
def test_awkward_names_arrive_intact_in_html_mode(standin, name):
    with _client(standin) as client:
        client.send_message("42", f"<b>Оператор</b>: {escape_html(name)}")
    sent = standin.calls_of("sendMessage")[0].params
    assert sent["parse_mode"] == "HTML"
    assert sent["text"] == "<b>Оператор</b>: " + name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_markdown_v2_escaping_covers_the_reserved_characters():
    assert escape_markdown_v2("Анна_Мария*") == "Анна\\_Мария\\*"
    assert escape_markdown_v2("O'Brien (1.5)!") == "O'Brien \\(1\\.5\\)\\!"


def test_long_messages_are_split_on_line_boundaries_under_the_limit(standin):
    lines = [f"строка {i}: " + "x" * 90 for i in range(150)]  # ~15 000 characters
    text = "\n".join(lines)
    parts = split_message(text)
    assert len(parts) == 4
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text  # nothing lost, every cut between lines
    with _client(standin) as client:
        ids = client.send_message("42", text, reply_markup={"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]})
    sent = standin.calls_of("sendMessage")
    assert len(ids) == len(sent) == 4
    assert [("reply_markup" in c.params) for c in sent] == [False, False, False, True]


def test_a_single_overlong_line_is_cut_at_a_space():
    line = " ".join(["слово"] * 2000)
    parts = split_message(line, limit=1000)
    assert all(utf16_len(p) <= 1000 for p in parts)
    assert all(not p.startswith(" ") and not p.endswith(" ") for p in parts)
    assert " ".join(parts) == line


def test_emoji_count_as_two_utf16_units():
    parts = split_message("😀" * 3000)
    assert [utf16_len(p) for p in parts] == [4096, 1904]


def test_a_line_of_escaped_text_is_never_cut_inside_an_entity():
    """Issue #17: an argument echoed back came as several messages with its HTML entities split
    between them (`&l` | `t;`), which Telegram shows as text, not as `<`."""
    line = escape_html("ab<" * 3000)  # `ab&lt;` 3,000 times: 18,000 characters and no space
    parts = split_message(line)
    assert len(parts) == 5 and all(utf16_len(p) <= 4096 for p in parts)
    assert "".join(parts) == line
    assert ["&" in html.unescape(p) for p in parts] == [False] * 5  # no part ends in half an entity


def test_a_pair_of_tags_is_never_split_between_two_messages(standin):
    text = ("<b>" + "y" * 20 + "</b>") * 400  # 10,800 characters and no space
    with _client(standin) as client:
        ids = client.send_message("42", text)  # the stand-in, like Telegram, refuses HTML it cannot parse
    sent = [c.params["text"] for c in standin.calls_of("sendMessage")]
    assert len(ids) == len(sent) == 3 and "".join(sent) == text


@pytest.mark.parametrize(("text", "description"), [
    ("<b>bold", "Bad Request: can't parse entities: Can't find end tag corresponding to start tag b"),
    ("a <Иван> b", "Bad Request: can't parse entities: Unsupported start tag \"иван\" at byte offset 2"),
    ("x" * 4097, "Bad Request: message is too long"),
])
def test_the_stand_in_refuses_what_telegram_refuses(standin, text, description):
    with _client(standin) as client, pytest.raises(TelegramError) as err:
        client.call("sendMessage", {"chat_id": 42, "text": text, "parse_mode": "HTML"})
    assert err.value.permanent and err.value.description == description


def test_documents_and_photos_go_as_multipart_files(standin, tmp_path):
    doc = tmp_path / "report.html"
    doc.write_text("<html>отчёт</html>", encoding="utf-8")
    with _client(standin) as client:
        client.send_document("42", doc, caption="Отчёт")
    call = standin.calls_of("sendDocument")[0]
    assert call.params["chat_id"] == "42" and call.params["caption"] == "Отчёт"
    assert call.files["document"] == ("report.html", doc.read_bytes())
