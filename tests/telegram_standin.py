"""A stand-in for the Telegram Bot API: a real HTTP server on 127.0.0.1, in a thread.

It speaks the Bot API's wire protocol closely enough for our `requests` client and for
python-telegram-bot: `/bot<token>/<method>` with JSON, form-encoded or multipart bodies, the
`{"ok": ..., "result": ...}` envelope, `getUpdates` with offset semantics. Tests script
failures per method (429 with retry_after, 500, 403, a hang past the client's timeout) and
read back every call it received. Like Telegram, it refuses a message whose HTML it cannot
parse or whose text is too long (400 "Bad Request: ...").
"""

from __future__ import annotations

import email.parser
import email.policy
import html
import itertools
import json
import re
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

from tests.http_standin import HttpStandin

BOT_USER = {"id": 7000001, "is_bot": True, "first_name": "Pantao", "username": "pantao_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
JSON_FIELDS = {"reply_markup", "link_preview_options", "allowed_updates", "entities", "caption_entities"}


@dataclass
class Call:
    """One request the stand-in received."""

    method: str
    token: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


class TelegramStandIn(HttpStandin):
    def __init__(self, token: str = "123456:TEST-token") -> None:
        self.token = token
        self.calls: list[Call] = []
        self.accepted: list[Call] = []  # the calls answered `ok`: what a chat really got
        self._failures: dict[str, deque] = defaultdict(deque)
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._lock = threading.Condition()
        super().__init__(self._handler(), "telegram-standin")

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The Bot API base URL (TELEGRAM_API_BASE_URL) that reaches this stand-in."""
        return self.url

    # -- scripting -------------------------------------------------------------------------
    def fail_next(self, method: str, *behaviours: tuple) -> None:
        """Queue failures for the next calls of `method`: ("429", retry_after), ("500",),
        ("403", description), ("400", description), ("hang", seconds), ("truncate",) (a chunked
        answer cut off mid-body), ("redirect_loop",) (307 redirects to itself, forever)."""
        with self._lock:
            self._failures[method].extend(behaviours)

    def fail_always(self, method: str, behaviour: tuple, times: int = 100) -> None:
        self.fail_next(method, *([behaviour] * times))

    def push_command(self, user_id: int, text: str, *, username: str = "user", chat_id: int | None = None,
                     chat_type: str = "private") -> int:
        """Queue a message from a user (e.g. "/report 2026-11-02" or plain text), as Telegram would
        deliver it; `chat_type` "group" or "supergroup" makes it a message in a group chat."""
        chat_id = chat_id or user_id
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        message = {"message_id": next(self._message_ids), "date": int(time.time()),
                   "chat": {"id": chat_id, "type": chat_type, "first_name": username}
                   if chat_type == "private" else {"id": chat_id, "type": chat_type, "title": "Managers"},
                   "from": {"id": user_id, "is_bot": False, "first_name": username, "username": username},
                   "text": text, "entities": entities}
        return self._push({"message": message})

    def push_callback(self, user_id: int, data: str, *, username: str = "user", chat_id: int | None = None,
                      chat_type: str = "private") -> int:
        """Queue a press of an inline button with `data` on a message the bot sent (in a group chat
        when `chat_type` is "group" or "supergroup")."""
        chat_id = chat_id or user_id
        chat = ({"id": chat_id, "type": "private", "first_name": username} if chat_type == "private"
                else {"id": chat_id, "type": chat_type, "title": "Managers"})
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                   "from": BOT_USER, "text": "summary"}
        query = {"id": str(next(self._message_ids)), "chat_instance": "ci-1", "data": data, "message": message,
                 "from": {"id": user_id, "is_bot": False, "first_name": username, "username": username}}
        return self._push({"callback_query": query})

    def _push(self, update: dict[str, Any]) -> int:
        with self._lock:
            update = {"update_id": next(self._update_ids), **update}
            self._updates.append(update)
            self._lock.notify_all()
            return update["update_id"]

    # -- reading back ----------------------------------------------------------------------
    def calls_of(self, *methods: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method in methods]

    def accepted_of(self, *methods: str) -> list[Call]:
        """The calls of `methods` answered `ok` (a request failed, hung or cut off is not among them)."""
        with self._lock:
            return [c for c in self.accepted if c.method in methods]

    def pending_updates(self) -> int:
        with self._lock:
            return len(self._updates)

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Wait until `count` calls of `method` arrived; fail the test with what did arrive otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                got = [c for c in self.calls if c.method == method]
                if len(got) >= count:
                    return got
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [c.method for c in self.calls]
                    raise AssertionError(f"expected {count} {method} call(s) within {timeout} s; got {seen}")
                self._lock.wait(remaining)

    # -- HTTP ------------------------------------------------------------------------------
    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                return

            def do_GET(self) -> None:
                self._serve(b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._serve(self.rfile.read(length))

            def _serve(self, body: bytes) -> None:
                if self.path.startswith("/loop/"):  # not a Bot API call: the redirect loop's target
                    return self._redirect(self.path)
                parts = self.path.split("?")[0].strip("/").split("/")
                if len(parts) != 2 or not parts[0].startswith("bot"):
                    return self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                token, method = parts[0][3:], parts[1]
                params, files = _parse_body(self.headers.get("Content-Type", ""), body)
                if token != standin.token:
                    return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                with standin._lock:
                    standin.calls.append(Call(method, token, params, files))
                    standin._lock.notify_all()
                    behaviour = standin._failures[method].popleft() if standin._failures[method] else None
                if behaviour is not None:
                    return self._fail(behaviour)
                status, payload = standin._answer(method, params, files)
                if payload.get("ok"):  # in the chat from now on, whether the answer reaches the client or not
                    with standin._lock:
                        standin.accepted.append(Call(method, token, params, files))
                self._reply(status, payload)

            def _fail(self, behaviour: tuple) -> None:
                kind = behaviour[0]
                if kind == "429":
                    return self._reply(429, {"ok": False, "error_code": 429,
                                             "description": f"Too Many Requests: retry after {behaviour[1]}",
                                             "parameters": {"retry_after": behaviour[1]}})
                if kind == "truncate":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self.wfile.write(b"40\r\n{\"ok\": true, \"res")  # promises 64 bytes, sends 15
                    self.wfile.flush()
                    self.close_connection = True
                    return None
                if kind == "redirect_loop":
                    return self._redirect(f"/loop/{uuid.uuid4().hex}")
                if kind == "hang":
                    time.sleep(behaviour[1])
                    return self._reply(500, {"ok": False, "error_code": 500, "description": "late"})
                code = int(kind)
                description = behaviour[1] if len(behaviour) > 1 else {
                    500: "Internal Server Error", 502: "Bad Gateway"}.get(code, "Error")
                return self._reply(code, {"ok": False, "error_code": code, "description": description})

            def _redirect(self, location: str) -> None:
                self.send_response(307)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        return Handler

    def _answer(self, method: str, params: dict[str, Any], files: dict) -> tuple[int, dict[str, Any]]:
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(params)}
        if method in ("sendMessage", "editMessageText", "sendPhoto", "sendDocument"):
            if "chat_id" not in params:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"}
            problem = _text_problem(method, params)
            if problem:
                return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {problem}"}
            chat_id = params["chat_id"]
            message: dict[str, Any] = {
                "message_id": int(params.get("message_id") or next(self._message_ids)), "date": int(time.time()),
                "chat": {"id": int(chat_id) if str(chat_id).lstrip("-").isdigit() else 1, "type": "private"},
                "from": BOT_USER,
            }
            if method in ("sendMessage", "editMessageText"):
                message["text"] = params.get("text", "")
            if method == "sendPhoto":
                message["photo"] = [{"file_id": "p1", "file_unique_id": "p1u", "width": 800, "height": 320}]
            if method == "sendDocument":
                name = next(iter(files.values()))[0] if files else "file"
                message["document"] = {"file_id": "d1", "file_unique_id": "d1u", "file_name": name}
            return 200, {"ok": True, "result": message}
        return 200, {"ok": True, "result": True}  # deleteWebhook, answerCallbackQuery, setMyCommands, close, ...

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), 0.3)  # long polling, kept short for tests
        deadline = time.monotonic() + wait
        with self._lock:
            # Telegram forgets every update below the offset: they count as confirmed.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline:
                self._lock.wait(deadline - time.monotonic())
            limit = int(params.get("limit") or 100)
            return list(self._updates[:limit])


# Telegram's HTML (tdlib's parse_html): these tags only; an unknown or unclosed tag, or an end tag
# that closes another, is refused ("can't parse entities"). `&` that starts no entity is kept as
# text. The limit counts the text after parsing, in UTF-16 code units.
HTML_TAGS = {"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "pre", "code", "span",
             "tg-spoiler", "tg-emoji", "blockquote"}
TEXT_LIMITS = {"sendMessage": 4096, "editMessageText": 4096, "sendPhoto": 1024, "sendDocument": 1024}


def _text_problem(method: str, params: dict[str, Any]) -> str | None:
    field = "text" if method in ("sendMessage", "editMessageText") else "caption"
    text = str(params.get(field) or "")
    if not text:
        return "message text is empty" if field == "text" else None
    visible = text
    if str(params.get("parse_mode") or "").lower() == "html":
        problem = _html_problem(text)
        if problem:
            return f"can't parse entities: {problem}"
        visible = html.unescape(_TAG.sub("", text))
    if len(visible.encode("utf-16-le")) // 2 > TEXT_LIMITS[method]:
        return "message is too long" if field == "text" else "message caption is too long"
    return None


_TAG = re.compile(r"<[^>]*>")


def _html_problem(text: str) -> str | None:
    open_tags: list[str] = []
    i = 0
    while True:
        i = text.find("<", i)
        if i < 0:
            break
        offset = len(text[:i].encode())
        end = text.find(">", i)
        if end < 0:
            return f"Unclosed start tag at byte offset {offset}"
        inside = text[i + 1:end]
        if inside.startswith("/"):
            name = inside[1:].strip().lower()
            if not open_tags:
                return f"Unexpected end tag at byte offset {offset}"
            if name and name != open_tags[-1]:
                return (f'Unmatched end tag at byte offset {offset}, expected "</{open_tags[-1]}>", '
                        f'found "</{name}>"')
            open_tags.pop()
        else:
            name = inside.split(None, 1)[0].lower() if inside.strip() else ""
            if name not in HTML_TAGS:
                return f'Unsupported start tag "{name}" at byte offset {offset}'
            open_tags.append(name)
        i = end + 1
    if open_tags:
        return f"Can't find end tag corresponding to start tag {open_tags[-1]}"
    return None


def _parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    if not body:
        return {}, {}
    if content_type.startswith("application/json"):
        return json.loads(body), {}
    if content_type.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        params, files = {}, {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            filename = part.get_filename()
            payload = part.get_payload(decode=True) or b""
            if filename:
                files[name] = (filename, payload)
            else:
                params[name] = _maybe_json(name, payload.decode("utf-8"))
        return params, files
    return {k: _maybe_json(k, v) for k, v in parse_qsl(body.decode("utf-8"), keep_blank_values=True)}, {}


def _maybe_json(name: str, value: str) -> Any:
    if name in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
