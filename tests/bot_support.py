"""The bot under test: the real python-telegram-bot Application polling the Telegram stand-in
over HTTP in its own thread, answering from a real PostgreSQL; the people it knows; `ask`."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from notifications.bot import build_application
from pantao.settings import Settings
from reports.schema import ensure_reports_schema
from tests.reports_marts import create_small_marts, register_users, remove_users
from tests.telegram_standin import Call, TelegramStandIn

ADMIN, MANAGER, OPERATOR_101, OPERATOR_102, ANALYST, STRANGER = 501, 502, 503, 504, 505, 666
USERS = [
    {"username": "boss", "role": "crm_admin", "telegram_id": ADMIN},
    {"username": "mgr", "role": "crm_manager", "restaurant_ids": [1, 3], "telegram_id": MANAGER},
    {"username": "op101", "role": "crm_operator", "operator_extension": "101", "telegram_id": OPERATOR_101},
    {"username": "op102", "role": "crm_operator", "operator_extension": "102", "telegram_id": OPERATOR_102},
    {"username": "ana", "role": "crm_analyst", "telegram_id": ANALYST},
]
# Chat ids no test has used yet (a fresh chat per question unless one is given)
CHAT_IDS = itertools.count(-1001, -1)
# Groups listed in TELEGRAM_BOT_GROUP_IDS, one per test that uses one; any other group is closed.
ALLOWED_GROUPS = tuple(range(-100_900, -100_910, -1))


class RunningBot:
    """The Application polling in its own thread and event loop, as `pantao bot` runs it."""

    def __init__(self, settings: Settings, database_url: str) -> None:
        self.app = build_application(settings, database_url)
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with self.app:
            await self.app.start()
            await self.app.updater.start_polling(poll_interval=0.0, timeout=1)
            self._started.set()
            await self._stop.wait()
            await self.app.updater.stop()
            await self.app.stop()

    def start(self) -> RunningBot:
        self._thread.start()
        assert self._started.wait(20), "the bot did not start polling"
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)


def running_bot(database_url: str, data_dir: Path, group_ids: tuple[int, ...],
                fill: Callable[[str], None] = lambda url: None) -> Iterator[TelegramStandIn]:
    """For a module fixture: the small marts (and what `fill` adds) in `database_url`, USERS
    registered, the bot polling the stand-in it yields; everything undone after."""
    standin = TelegramStandIn().start()
    settings = Settings(data_dir=data_dir, telegram_bot_token=standin.token, telegram_api_base_url=standin.base_url,
                        http_timeout_seconds=5.0, telegram_bot_group_ids=group_ids)
    ensure_reports_schema(settings, database_url)
    create_small_marts(database_url)
    fill(database_url)
    logins = register_users(settings, database_url, USERS)
    running = RunningBot(settings, database_url).start()
    yield standin
    running.stop()
    standin.stop()
    remove_users(database_url, logins)


def ask(standin: TelegramStandIn, user_id: int, text: str, *, replies: int = 1, methods=("sendMessage",),
        timeout: float = 20.0, chat_type: str = "private", chat_id: int | None = None) -> list[Call]:
    """Send `text` as `user_id` from a fresh chat (or `chat_id`); wait for the bot's `replies` calls
    to that chat."""
    chat_id = chat_id or next(CHAT_IDS)
    if text.startswith("button:"):
        standin.push_callback(user_id, text.removeprefix("button:"), chat_id=chat_id, chat_type=chat_type)
    else:
        standin.push_command(user_id, text, chat_id=chat_id, chat_type=chat_type)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [c for c in standin.calls_of(*methods) if str(c.params.get("chat_id")) == str(chat_id)]
        if len(got) >= replies:
            time.sleep(0.2)  # let anything extra arrive, so tests also see unexpected replies
            return [c for c in standin.calls_of(*methods) if str(c.params.get("chat_id")) == str(chat_id)]
        time.sleep(0.05)
    raise AssertionError(f"no reply to {text!r} from user {user_id} within {timeout} s")


def text_of(calls: list[Call]) -> str:
    return "\n".join(c.params.get("text", "") for c in calls)


