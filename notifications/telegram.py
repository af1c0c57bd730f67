"""A small Telegram Bot API client on `requests`, and the message formatting rules Telegram imposes.

Why our own client for sending (the bot uses python-telegram-bot): deliveries run inside
Dagster ops and CLIs, synchronously, and need precise control of retries — network errors,
5xx and 429 are retried with backoff (429 waits `parameters.retry_after` seconds, as Telegram
asks), while 400/401/403/404 are permanent and raised at once so the caller can record them.

A retried request after a timeout may duplicate a message Telegram did receive; for a morning
summary one duplicate is better than none, and the delivery record prevents re-sends across runs.
"""

from __future__ import annotations

import html
import json
import logging
import mimetypes
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 4096  # Telegram's limit for a message's text, in UTF-16 code units
CAPTION_LIMIT = 1024
PERMANENT_CODES = {400, 401, 403, 404}
# The exchange broke off (no connection, no answer in time, an answer cut short): trying again can
# help. Every other requests error is about the request itself and is raised at once.
TRANSIENT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError)


class TelegramError(RuntimeError):
    """A Bot API call failed; `permanent` says whether trying again later can help."""

    def __init__(self, method: str, description: str, *, error_code: int | None = None,
                 permanent: bool = False, attempts: int = 1) -> None:
        where = f"Telegram {method}"
        code = f" (HTTP {error_code})" if error_code else ""
        super().__init__(f"{where} failed{code} after {attempts} attempt(s): {description}")
        self.method = method
        self.description = description
        self.error_code = error_code
        self.permanent = permanent
        self.attempts = attempts


# -- formatting ------------------------------------------------------------------------------
def escape_html(text: object) -> str:
    """Text safe inside Telegram HTML: only &, < and > are special there."""
    return html.escape(str(text), quote=False)


_MD2_SPECIAL = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\])")


def escape_markdown_v2(text: object) -> str:
    """Text safe inside Telegram MarkdownV2, where 18 characters (and backslash) must be escaped."""
    return _MD2_SPECIAL.sub(r"\\\1", str(text))


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split text into parts under `limit`, on line boundaries.

    A single line longer than the limit is cut at its last space before the limit (or hard,
    when it has none), but never inside a tag or an entity (`&lt;`) nor between a pair of tags.
    Our messages never open an HTML tag on one line and close it on another, so cutting between
    lines keeps every part well-formed.
    """
    if limit < 2:
        raise ValueError("limit must be at least 2")
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in _short_lines(text.split("\n"), limit):
        extra = utf16_len(line) + (1 if current else 0)
        if current and size + extra > limit:
            parts.append("\n".join(current))
            current, size = [], 0
            extra = utf16_len(line)
        current.append(line)
        size += extra
    if current:
        parts.append("\n".join(current))
    return [p for p in parts if p.strip()] or [text[:limit]]


def _short_lines(lines: list[str], limit: int) -> list[str]:
    out = []
    for line in lines:
        while utf16_len(line) > limit:
            cut = _cut_point(line, limit)
            out.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        out.append(line)
    return out


def _cut_point(line: str, limit: int) -> int:
    # Largest prefix within the limit (in UTF-16 units), then back to the last space if any,
    # then back out of any tag, entity or pair of tags the cut would split.
    cut = min(len(line), limit)
    while utf16_len(line[:cut]) > limit:
        cut -= 1
    space = line.rfind(" ", 0, cut)
    cut = space if space > limit // 2 else cut
    return _outside_markup(line, cut) or cut


_MARKUP = re.compile(r"<(/?)[^<>]*>|&#?\w+;")


def _outside_markup(line: str, cut: int) -> int:
    """The cut moved back before a tag or entity (`&lt;`) it falls inside, and before the first
    tag still open there (`<b>…</b>` across it): each part stays well-formed Telegram HTML.
    0 when that would leave nothing (a tag pair longer than the limit: cut as it was)."""
    open_at: list[int] = []
    for match in _MARKUP.finditer(line, 0, len(line)):
        if match.start() >= cut:
            break
        if match.end() > cut:
            cut = match.start()
            break
        if match.group(0).startswith("<"):
            if match.group(1):
                if open_at:
                    open_at.pop()
            else:
                open_at.append(match.start())
    return min(cut, open_at[0]) if open_at else cut


def inline_keyboard(*buttons: tuple[str, str]) -> dict[str, Any]:
    """A one-row inline keyboard of (text, callback_data) buttons."""
    for _, data in buttons:
        if len(data.encode()) > 64:
            raise ValueError(f"callback_data {data!r} is longer than Telegram's 64 bytes")
    return {"inline_keyboard": [[{"text": text, "callback_data": data} for text, data in buttons]]}


# -- client ----------------------------------------------------------------------------------
class TelegramClient:
    """Synchronous Bot API calls with timeouts and retries."""

    def __init__(self, token: str, base_url: str = "https://api.telegram.org", *, timeout: float = 10.0,
                 max_attempts: int = 5, backoff_seconds: float = 0.5, max_backoff_seconds: float = 30.0,
                 max_retry_after_seconds: float = 120.0, sleep: Callable[[float], None] = time.sleep) -> None:
        if not token:
            raise ValueError("a Telegram bot token is required (TELEGRAM_BOT_TOKEN)")
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_retry_after_seconds = max_retry_after_seconds
        self._sleep = sleep
        self._session = requests.Session()

    @classmethod
    def from_settings(cls, settings, **kwargs: Any) -> TelegramClient:
        return cls(settings.telegram_bot_token or "", settings.telegram_api_base_url,
                   timeout=settings.http_timeout_seconds, **kwargs)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> TelegramClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "<token>")

    def _backoff(self, attempt: int) -> float:
        return min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1))

    def call(self, method: str, params: dict[str, Any] | None = None,
             files: dict[str, Path] | None = None) -> Any:
        """POST one Bot API method and return its `result`, retrying transient failures."""
        url = f"{self.base_url}/bot{self._token}/{method}"
        params = {k: v for k, v in (params or {}).items() if v is not None}
        last_error = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._post(url, params, files)
            except TRANSIENT_ERRORS as exc:
                last_error = self._redact(f"{type(exc).__name__}: {exc}")
                wait = self._backoff(attempt)
            except requests.RequestException as exc:
                # The request cannot be made as configured (a bad base URL, a redirect loop, ...):
                # sending it again gives the same answer. Its text carries the URL, so redact it.
                raise TelegramError(method, self._redact(
                    f"{type(exc).__name__}: {exc}; check TELEGRAM_API_BASE_URL ({self.base_url})"),
                    permanent=True, attempts=attempt) from None
            else:
                body = _json_body(response)
                if response.status_code == 200 and body.get("ok"):
                    return body.get("result")
                code = body.get("error_code") or response.status_code
                last_error = body.get("description") or f"HTTP {response.status_code}"
                if code in PERMANENT_CODES or (400 <= code < 500 and code != 429):
                    raise TelegramError(method, last_error, error_code=code, permanent=True, attempts=attempt)
                if code == 429:
                    retry_after = float((body.get("parameters") or {}).get("retry_after") or self._backoff(attempt))
                    if retry_after > self.max_retry_after_seconds:
                        raise TelegramError(method, f"{last_error}; Telegram asks to wait {retry_after:.0f} s",
                                            error_code=code, attempts=attempt)
                    wait = retry_after
                else:
                    wait = self._backoff(attempt)
                last_error = f"HTTP {code}: {last_error}"
            if attempt < self.max_attempts:
                log.warning("Telegram %s attempt %d/%d failed (%s); retrying in %.1f s",
                            method, attempt, self.max_attempts, last_error, wait)
                self._sleep(wait)
        raise TelegramError(method, last_error, attempts=self.max_attempts)

    def _post(self, url: str, params: dict[str, Any], files: dict[str, Path] | None) -> requests.Response:
        if not files:
            return self._session.post(url, json=params, timeout=self.timeout)
        data = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in params.items()}
        handles = {name: path.open("rb") for name, path in files.items()}
        try:
            upload = {name: (files[name].name, fh, mimetypes.guess_type(files[name].name)[0]
                             or "application/octet-stream") for name, fh in handles.items()}
            return self._session.post(url, data=data, files=upload, timeout=self.timeout)
        finally:
            for fh in handles.values():
                fh.close()

    # -- methods ---------------------------------------------------------------------------
    def get_me(self) -> dict[str, Any]:
        return self.call("getMe")

    def send_message(self, chat_id: str | int, text: str, *, reply_markup: dict | None = None,
                     parse_mode: str | None = "HTML") -> list[int]:
        """Send text (split under the limit); the keyboard goes on the last part. Returns message ids."""
        parts = split_message(text)
        ids = []
        for index, part in enumerate(parts):
            markup = reply_markup if index == len(parts) - 1 else None
            result = self.call("sendMessage", {"chat_id": chat_id, "text": part, "parse_mode": parse_mode,
                                               "reply_markup": markup, "link_preview_options": {"is_disabled": True}})
            ids.append(int(result["message_id"]))
        return ids

    def send_photo(self, chat_id: str | int, path: Path, caption: str | None = None) -> int:
        result = self.call("sendPhoto", {"chat_id": chat_id, "caption": _caption(caption),
                                         "parse_mode": "HTML" if caption else None}, files={"photo": path})
        return int(result["message_id"])

    def send_document(self, chat_id: str | int, path: Path, caption: str | None = None) -> int:
        result = self.call("sendDocument", {"chat_id": chat_id, "caption": _caption(caption),
                                            "parse_mode": "HTML" if caption else None}, files={"document": path})
        return int(result["message_id"])


def _caption(caption: str | None) -> str | None:
    if caption is None:
        return None
    return caption if utf16_len(caption) <= CAPTION_LIMIT else split_message(caption, CAPTION_LIMIT)[0]


def _json_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"ok": False, "description": f"non-JSON response: {response.text[:200]!r}"}
    return body if isinstance(body, dict) else {"ok": False, "description": f"unexpected body {body!r}"}
