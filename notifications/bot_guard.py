"""Where the bot answers, and how it reads what people type (issue #17): pure rules, no Telegram.

- **Chats.** A private chat is the person's own. A group is answered only when its id is in
  TELEGRAM_BOT_GROUP_IDS, and there only with the chain summary (a handler registered for
  groups): no operator names and no report file, because everyone in the group reads the answer,
  registered or not. Any other chat — a group not listed, a channel — gets no answer at all.
- **Arguments.** Numbers are ASCII digits only (`isdigit()` also accepts `²` and `٣`, which
  `int()` then rejects or reads as another number); dates and periods are ASCII.
- **Length.** A request longer than MAX_REQUEST_CHARS gets one short error and is never echoed:
  an argument quoted back in a reply could fill several messages.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from notifications.telegram import escape_html

MAX_REQUEST_CHARS = 200  # the longest command we take: `/mystats 2026-01-01..2026-12-31` is 31
ECHO_CHARS = 40  # at most this much of a bad argument is quoted back
_NUMBER = re.compile(r"[0-9]{1,9}")


class Place(Enum):
    """Where a request was made, as the bot treats it."""

    PRIVATE = "private"
    GROUP = "group"  # a group listed in TELEGRAM_BOT_GROUP_IDS
    CLOSED = "closed"  # anything else: no answer


def place_of(chat: Any, allowed_groups: tuple[int, ...]) -> Place:
    """`chat` is Telegram's (its `type` and `id`), or None for an update without one."""
    kind = getattr(chat, "type", None)
    if kind == "private":
        return Place.PRIVATE
    if kind in ("group", "supergroup") and getattr(chat, "id", None) in allowed_groups:
        return Place.GROUP
    return Place.CLOSED


def closed_reason(chat: Any) -> str:
    """The log row's reason for a request from a chat the bot does not answer in."""
    return f"{getattr(chat, 'type', None) or 'unknown'} chat {getattr(chat, 'id', None)} is not in TELEGRAM_BOT_GROUP_IDS"


def too_long(text: str | None) -> bool:
    return text is not None and len(text) > MAX_REQUEST_CHARS


def parse_number(value: str | None) -> int | None:
    """A positive whole number written in ASCII digits (at most nine), else None."""
    if value is None or not _NUMBER.fullmatch(value):
        return None
    return int(value)


def shown(value: str) -> str:
    """A bad argument as it may be quoted back: escaped, and cut to ECHO_CHARS."""
    return escape_html(value if len(value) <= ECHO_CHARS else value[:ECHO_CHARS] + "…")
