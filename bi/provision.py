"""Provision Superset from this folder: read the warehouse, build the bundle, apply it inside Superset.

Runs in `.venv/` with the pipeline's database login: it reads the reporting views' columns and
COMMENTs (the descriptions analysts see everywhere), sets each person's BI login, and hands a
spec to `bi.superset_apply` running in `.venv-bi/`. Applying twice changes nothing the second
time (stable uuids, overwrite on import), so `pantao bi up` always provisions.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from access import users as users_api
from bi import environment
from bi.bundle import DATABASE_NAME, ViewColumn, build_bundle, stable_uuid
from bi.config import BiConfig, bi_config, configured_secret_key
from bi.dashboards import DASHBOARDS
from bi.identity import bi_password
from pantao.db import connect
from pantao.domain import BI_ROLES
from pantao.settings import Settings

log = logging.getLogger(__name__)

APPLY_TIMEOUT_SECONDS = 600


class ProvisionError(RuntimeError):
    """Provisioning failed; the message says at which step and where the log is."""


@dataclass(frozen=True)
class Person:
    username: str
    role: str


def reporting_columns(database_url: str) -> dict[str, list[ViewColumn]]:
    """Each reporting view's columns in order, with PostgreSQL's type and COMMENT."""
    query = """
        select c.relname, a.attname, format_type(a.atttypid, a.atttypmod), col_description(c.oid, a.attnum)
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        where n.nspname = 'reporting' and c.relkind in ('v', 'm', 'r')
        order by c.relname, a.attnum
    """
    columns: dict[str, list[ViewColumn]] = {}
    with connect(database_url) as conn:
        for view, name, pg_type, comment in conn.execute(query):
            columns.setdefault(view, []).append(ViewColumn(name, pg_type, comment))
    return columns


def bi_people(database_url: str) -> list[Person]:
    """Everyone in access.users whose role gets a BI account (operators get none)."""
    with connect(database_url) as conn:
        rows = conn.execute("select username, role from access.users where role = any(%s) order by username",
                            (list(BI_ROLES),)).fetchall()
    return [Person(u, r) for u, r in rows]


def ensure_bi_logins(config: BiConfig, people: list[Person]) -> None:
    for person in people:
        users_api.set_bi_login(config.warehouse_url, person.username, bi_password(config.secret_key, person.username))


def run_apply(config: BiConfig, spec: dict) -> dict:
    """Run bi.superset_apply in .venv-bi with `spec`; returns its report."""
    config.home.mkdir(parents=True, exist_ok=True)
    config.log_dir.mkdir(parents=True, exist_ok=True)
    spec_path = config.home / "provision.json"
    fd = os.open(spec_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(spec, out, ensure_ascii=False)
    log_path = config.log_dir / "bi-provision.log"
    with log_path.open("a", encoding="utf-8") as log_file:
        result = subprocess.run(
            [str(environment.python()), "-m", "bi.superset_apply", str(spec_path)],
            env=config.process_env(), cwd=config.home, stdout=subprocess.PIPE, stderr=log_file, text=True,
            timeout=APPLY_TIMEOUT_SECONDS,
        )
    if result.returncode != 0:
        raise ProvisionError(f"applying the dashboards and users in Superset failed (exit {result.returncode}); "
                             f"see {log_path}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def provision(config: BiConfig) -> dict:
    """Everything: metadata schema, roles, the database, datasets, charts, dashboards, and every person."""
    columns = reporting_columns(config.warehouse_url)
    bundle = build_bundle(columns, config.warehouse_location(), config.lang)
    people = bi_people(config.warehouse_url)
    ensure_bi_logins(config, people)
    spec = {
        "assets": True,
        "bundle": bundle,
        "database_name": DATABASE_NAME,
        "dashboard_uuids": [stable_uuid("dashboard", d.key) for d in DASHBOARDS],
        "people": [{"username": p.username, "role": p.role} for p in people],
        "remove": [],
        "prune_users": True,
    }
    report = run_apply(config, spec)
    log.info("provisioned Superset: %s", report)
    return report


def sync_person(config: BiConfig, username: str) -> dict:
    """After `pantao users` changed someone: give them their account and BI login, or take both away."""
    people = {p.username: p for p in bi_people(config.warehouse_url)}
    person = people.get(username)
    if person is not None:
        ensure_bi_logins(config, [person])
    spec = {"assets": False, "people": [vars(person)] if person else [], "remove": [] if person else [username],
            "prune_users": False}
    return run_apply(config, spec)


def metadata_exists(config: BiConfig) -> bool:
    """True once Superset has been provisioned here (its SQLite file exists, or a server database is configured)."""
    if not config.metadata_url.startswith("sqlite:"):
        return True
    return Path(config.metadata_url.removeprefix("sqlite:///")).exists()


def sync_after_user_change(settings: Settings, database_url: str, username: str) -> str | None:
    """`pantao users` calls this after a change: the person's Superset account follows their login.

    Returns what changed for people to read, or None when BI is not set up here (then the next
    `pantao bi up` creates the accounts, and until then there is no Superset to sign in to).
    """
    if configured_secret_key(settings) is None or not environment.is_installed():
        return None
    config = bi_config(settings, database_url)
    if not metadata_exists(config):
        return None
    users = sync_person(config, username)["users"]
    for action, word in (("added", "added"), ("updated", "updated"), ("removed", "removed")):
        if username in users[action]:
            return f"BI (Superset) account {word}"
    return "BI (Superset) account unchanged" if username in {p.username for p in bi_people(database_url)} \
        else "no BI (Superset) account: operators get none"
