"""Parsers of environment values that name their variable when a value is wrong.

`pantao.settings` maps each variable to one of these (its `ENV_VARS`); `pantao.kafka_config`
raises the same error for the Kafka security settings. Kept apart so the settings object and
its table stay readable, and so the Kafka settings can raise SettingsError without importing
the settings (which import them). The parsers keep the names they had in `pantao.settings`,
whose ENV_VARS table names them.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class SettingsError(ValueError):
    """A configuration value is missing or wrong; the message names the variable."""


def _timezone(var: str, raw: str) -> str:
    value = raw.strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{var}={raw!r} is not an IANA time zone; expected e.g. Europe/Moscow") from None
    return value


def _instant(var: str, raw: str) -> dt.datetime:
    value = raw.strip()
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise SettingsError(f"{var}={raw!r} is not a date or timestamp; expected e.g. 2000-01-01 "
                            f"or 2000-01-01T00:00:00+03:00") from None
    if parsed.tzinfo is None:
        if len(value) > 10:
            raise SettingsError(f"{var}={raw!r} has no UTC offset; add one (e.g. +03:00), or give a date alone "
                                f"(midnight UTC)")
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def _number(var: str, raw: str, expected: str) -> float:
    try:
        return float(raw.strip())
    except ValueError:
        raise SettingsError(f"{var}={raw!r} is not a number; expected {expected}") from None


def _positive_float(var: str, raw: str) -> float:
    value = _number(var, raw, "seconds, e.g. 10")
    if value <= 0:
        raise SettingsError(f"{var}={value} must be greater than 0")
    return value


def _share(var: str, raw: str) -> float:
    """A share strictly between 0 and 1 (0.8 is 80 %)."""
    value = _number(var, raw, "a share between 0 and 1, e.g. 0.8")
    if not 0 < value < 1:
        raise SettingsError(f"{var}={value} is out of range; expected a share between 0 and 1, e.g. 0.8 for 80 %")
    return value


def _date(var: str, raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise SettingsError(f"{var}={raw!r} is not a date; expected YYYY-MM-DD, e.g. 2026-01-01") from None


def _url_with_scheme(var: str, raw: str, schemes: tuple[str, ...], shape: str) -> str:
    value = raw.strip()
    scheme = urlparse(value).scheme
    if scheme not in schemes:
        raise SettingsError(f"{var} must be a {shape} URL, got scheme {scheme or '(none)'!r}")
    return value


def _postgres_url(var: str, raw: str) -> str:
    return _url_with_scheme(var, raw, ("postgresql", "postgres"), "postgresql://")


def _mysql_url(var: str, raw: str) -> str:
    return _url_with_scheme(var, raw, ("mysql", "mariadb"), "mysql://user:password@host:port/asteriskcdrdb")


def _http_url(var: str, raw: str) -> str:
    value = raw.strip().rstrip("/")
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError(f"{var}={raw!r} is not an http(s) URL")
    return value


def _sqlalchemy_url(var: str, raw: str) -> str:
    value = raw.strip()
    scheme = urlparse(value).scheme
    if not scheme:
        raise SettingsError(f"{var} must be a SQLAlchemy URL such as postgresql://user:password@host:5432/superset")
    return value


def _secret(var: str, raw: str) -> str:
    value = raw.strip()
    if len(value) < 32:
        raise SettingsError(f"{var} is too short ({len(value)} characters); use at least 32 random characters, "
                            "e.g. `openssl rand -base64 42`")
    return value


def _bootstrap(var: str, raw: str) -> str:
    value = raw.strip()
    for part in value.split(","):
        host, sep, port = part.strip().rpartition(":")
        if not sep or not host or not port.isdigit():
            raise SettingsError(f"{var}={raw!r}: each entry must be host:port, e.g. kafka1:9092,kafka2:9092")
    return value


def _chat_ids(var: str, raw: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in raw.split(",") if part.strip())
    for chat_id in ids:
        if not (chat_id.lstrip("-").isdigit() or chat_id.startswith("@")):
            raise SettingsError(f"{var}: {chat_id!r} is not a Telegram chat id (a number) or @channel name")
    return ids


def _chat_id(var: str, raw: str) -> str:
    ids = _chat_ids(var, raw)
    if len(ids) != 1:
        raise SettingsError(f"{var} must be exactly one chat id")
    return ids[0]


def _token(var: str, raw: str) -> str:
    value = raw.strip()
    if ":" not in value:
        raise SettingsError(f"{var} does not look like a Telegram bot token (expected '<digits>:<secret>')")
    return value


def _group_ids(var: str, raw: str) -> tuple[int, ...]:
    """Telegram group chat ids: negative numbers (a positive id is a person's private chat)."""
    ids = []
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        if not re.fullmatch(r"-[0-9]{1,20}", part):
            raise SettingsError(f"{var}: {part!r} is not a group chat id; group ids are negative numbers, "
                                f"e.g. -1001234567890 (private chats need no listing: the bot always answers there)")
        ids.append(int(part))
    return tuple(ids)


def _restaurant_ids(var: str, raw: str) -> tuple[int, ...]:
    """The chain's restaurant ids: '1-30' or '1,2,5' or both ('1-8,12'); sorted, each once."""
    ids: set[int] = set()
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        found = re.fullmatch(r"([0-9]{1,9})(?:-([0-9]{1,9}))?", part)
        if not found or int(found[1]) < 1 or (found[2] and int(found[2]) < int(found[1])):
            raise SettingsError(f"{var}: {part!r} is not a restaurant id or range; use positive integers "
                                f"and ranges like 1-30,42")
        ids.update(range(int(found[1]), int(found[2] or found[1]) + 1))
    if not ids:
        raise SettingsError(f"{var}={raw!r} lists no restaurant; unset it to accept every positive id")
    if len(ids) > 100_000:
        raise SettingsError(f"{var} lists {len(ids)} restaurants; at most 100000")
    return tuple(sorted(ids))
