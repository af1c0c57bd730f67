"""Adding, removing and scoping the people who may read the data.

Every change goes through the `access.*_user` functions in the database (see access/sql.py),
which also write the audit row, so the CLI and an administrator's SQL client behave the same.
Passwords never travel in clear text: the client turns them into a SCRAM-SHA-256 verifier
(as psql's \\password does), so statement logs cannot reveal them.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import psycopg

from access.sql import RESERVED_NAMES
from pantao.db import connect
from pantao.domain import BI_LOGIN_PREFIX, GROUP_ROLES

log = logging.getLogger(__name__)

USERNAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
EXTENSION_RE = re.compile(r"^[0-9]{1,10}$")
# A restaurant id as user scopes and export filters accept it: a positive integer that fits an int.
RESTAURANT_RE = re.compile(r"^[1-9][0-9]{0,8}$")
MAX_TELEGRAM_ID = 2**63 - 1


class AccessError(ValueError):
    """A user-administration or export request was invalid or refused; the message says what to change."""


@dataclass(frozen=True)
class UserRecord:
    username: str
    role: str
    operator_extension: str | None
    restaurant_ids: tuple[int, ...] | None
    telegram_id: int | None
    created_at: datetime
    created_by: str


def validate_username(name: str) -> str:
    """The same rule as access._check_username in the database, checked first for a clearer message."""
    if not isinstance(name, str) or not USERNAME_RE.fullmatch(name) or name.startswith("pg_"):
        raise AccessError(
            f"invalid user name {name!r}: use 1-63 lowercase letters, digits or underscores, "
            "starting with a letter or underscore (and not pg_)"
        )
    if name in RESERVED_NAMES:
        raise AccessError(f"user name {name!r} is reserved (a pantao role or a word SQL reads as a role); pick another one")
    return name


def validate_role(role: str) -> str:
    if role not in GROUP_ROLES:
        raise AccessError(f"invalid role {role!r}: use one of {', '.join(GROUP_ROLES)}")
    return role


def validate_extension(extension: str | None) -> str | None:
    if extension is None:
        return None
    if not EXTENSION_RE.fullmatch(extension):
        raise AccessError(f"invalid operator extension {extension!r}: use the PBX extension digits, e.g. 101")
    return extension


def parse_restaurants(text: str | None) -> list[int] | None:
    """'1,2' -> [1, 2]; '' -> [] (meaning: all restaurants); None -> None (unchanged / not given)."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    for part in parts:
        if not RESTAURANT_RE.fullmatch(part):
            raise AccessError(f"invalid restaurant id {part!r} in {text!r}: use positive integers like 1,2,3")
    return sorted({int(p) for p in parts})


def validate_telegram_id(value: int | str | None) -> int | None:
    if value is None:
        return None
    text = str(value).strip()
    if not re.fullmatch(r"-?[0-9]{1,19}", text) or not -MAX_TELEGRAM_ID <= int(text) <= MAX_TELEGRAM_ID:
        raise AccessError(f"invalid telegram id {value!r}: use the numeric Telegram user id")
    return int(text)


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def _refused(exc: psycopg.Error) -> AccessError:
    """The database's refusal, with its own message (the functions word them for people)."""
    message = exc.diag.message_primary or str(exc)
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        message += " (only administrators, members of crm_admin, may manage users)"
    return AccessError(message)


def _call(database_url: str, query: str, params: tuple) -> list[tuple]:
    try:
        with connect(database_url, autocommit=True) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []
    except psycopg.Error as exc:
        raise _refused(exc) from exc


def add_user(
    database_url: str,
    username: str,
    role: str,
    *,
    operator_extension: str | None = None,
    restaurant_ids: list[int] | None = None,
    telegram_id: int | None = None,
    password: str | None = None,
) -> str:
    """Create a login in its group role and record it; returns the password (generated unless given)."""
    validate_username(username)
    validate_role(role)
    validate_extension(operator_extension)
    telegram_id = validate_telegram_id(telegram_id)
    if password is not None and len(password) < 12:
        raise AccessError("the password must have at least 12 characters")
    password = password or generate_password()
    with connect(database_url, autocommit=True) as conn:
        verifier = conn.pgconn.encrypt_password(password.encode(), username.encode(), b"scram-sha-256").decode()
    _call(
        database_url,
        "select access.add_user(%s, %s, %s, %s, %s, %s)",
        (username, role, verifier, operator_extension, restaurant_ids or None, telegram_id),
    )
    log.info("added user %s (%s)", username, role)
    return password


def set_bi_login(database_url: str, username: str, password: str) -> str:
    """Create or update the person's BI login (what Superset connects as for them); returns its name.

    The database refuses operators and unknown users; the password arrives as a SCRAM verifier.
    """
    validate_username(username)
    login = BI_LOGIN_PREFIX + username
    with connect(database_url, autocommit=True) as conn:
        verifier = conn.pgconn.encrypt_password(password.encode(), login.encode(), b"scram-sha-256").decode()
    _call(database_url, "select access.set_bi_login(%s, %s)", (username, verifier))
    log.info("BI login %s is in place", login)
    return login


def drop_bi_login(database_url: str, username: str) -> int:
    """Drop the person's BI login if they have one (their own login stays); returns sessions ended."""
    validate_username(username)
    return int(_call(database_url, "select access.drop_bi_login(%s)", (username,))[0][0])


def remove_user(database_url: str, username: str) -> int:
    """Revoke, end the user's open sessions, drop the login; returns how many sessions were ended."""
    validate_username(username)
    ended = _call(database_url, "select access.remove_user(%s)", (username,))[0][0]
    log.info("removed user %s (%d open sessions ended)", username, ended)
    return int(ended)


def set_user_role(database_url: str, username: str, role: str) -> None:
    validate_username(username)
    validate_role(role)
    _call(database_url, "select access.set_user_role(%s, %s)", (username, role))
    log.info("user %s now has role %s", username, role)


_UNSET = object()


def set_user_scope(
    database_url: str,
    username: str,
    *,
    operator_extension: str | None | object = _UNSET,
    restaurant_ids: list[int] | None | object = _UNSET,
    telegram_id: int | None | object = _UNSET,
) -> None:
    """Change only the given fields; None clears one (no extension, all restaurants, no Telegram)."""
    validate_username(username)
    changes: dict[str, object] = {}
    if operator_extension is not _UNSET:
        changes["operator_extension"] = validate_extension(operator_extension)  # type: ignore[arg-type]
    if restaurant_ids is not _UNSET:
        changes["restaurant_ids"] = list(restaurant_ids) if restaurant_ids else None  # type: ignore[arg-type]
    if telegram_id is not _UNSET:
        changes["telegram_id"] = validate_telegram_id(telegram_id)  # type: ignore[arg-type]
    if not changes:
        raise AccessError("nothing to change: give --operator, --restaurants and/or --telegram-id")
    _call(database_url, "select access.set_user_scope(%s, %s::jsonb)", (username, json.dumps(changes)))
    log.info("user %s scope changed: %s", username, ", ".join(changes))


def list_users(database_url: str) -> list[UserRecord]:
    rows = _call(
        database_url,
        "select username, role, operator_extension, restaurant_ids, telegram_id, created_at, created_by "
        "from access.users order by username",
        (),
    )
    return [
        UserRecord(r[0], r[1], r[2], tuple(r[3]) if r[3] else None, r[4], r[5], r[6]) for r in rows
    ]
