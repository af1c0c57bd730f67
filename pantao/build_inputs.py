"""Is the published build still current? Nothing landed, nothing else a build reads has changed.

The hourly build on a quiet hour (a night, a closed day, an outage upstream) would redo an
incremental run — at a year of a 30-restaurant chain about a fifth of a full build — to publish
the same rows. The hourly pipeline skips dbt instead when every input is as the published build
found it (docs/architecture.md, "Builds that change nothing"):

- **The rows of every dbt source table.** Triggers on each one note the writing transaction (its
  `xid8`) in `raw.source_changes`, in that same transaction (`TRIGGERS`: per statement on the
  Kafka tables, per statement that inserted rows on the PBX tables, per row on the small ones; set
  to fire always, replication and restores included). A build notes the snapshot
  (`pg_current_snapshot()`) it started from, before dbt reads anything, and records it with its
  publish. A source changed since iff a noted transaction is not visible in that snapshot —
  commit-safe: a landing still open when the build began is not in its snapshot, so the first
  check after it commits sees it.
- **The published schemas themselves** (their oids: a schema dropped, restored or swapped outside a
  build is not the published one), **the source tables' columns**, the server's version and the
  customer key's salt (a digest of it: the marts store the keys, so a new salt is a new build).
- **Everything else, as a digest:** the dbt command and its vars, the project's files (models,
  macros, dbt_project.yml, profiles.yml), the versions of dbt and its adapter, the sessions'
  `PGOPTIONS`, and the business date — models read `now()` (the plausible window, the lookback
  windows, the segments' "recent"), so a new day is a new build.

A table whose triggers are added now has unknown changes before them: the check says "build", as
it does whenever it cannot tell. A partial build, and any dbt command that writes outside the
shadow (seed, snapshot, run-operation, retry, clone), forget the record, so the next full build
runs. Only the hourly pipeline skips (`skip_if_current`); `pantao dbt build`, `pantao prepare` and
the like always build, and record what they built from.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

# Noted by the source tables' triggers; pruned when a build is published.
CHANGES_TABLE = "raw.source_changes"
# The one published build's snapshot and inputs (no row: unknown, build).
PUBLISHED_TABLE = "raw.published_build"
# The project files a build reads (the rest of dbt_project/ is dbt's output and logs).
PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "packages.yml", "models", "macros", "seeds", "snapshots",
                 "tests", "dbt_packages")
# The installed packages whose code turns the project into SQL.
BUILD_PACKAGES = ("dbt-core", "dbt-postgres", "dbt-adapters", "dagster-dbt")
# Adding a trigger waits for the landings writing the table; past this the check gives up (and builds).
TRIGGER_LOCK_TIMEOUT = "30s"

# How each source notes a write: name -> (timing and events, function). The Kafka tables are
# written by COPY, never by a statement that writes no row: one note per statement. The PBX tables
# by `insert … select … on conflict do nothing` over a whole batch, which may insert nothing (a file
# or window read again): a note only when the statement inserted rows (a transition table, one per
# statement). Every other source (the operator directory, upserted whole on each landing; the report
# versions) per row written, so an upsert whose rows are all current notes nothing. Truncate always.
_STATEMENT = {"pantao_note_source_change": "after insert or update or delete on {t} for each statement"
                                           " execute function raw.note_source_change()"}
_INSERTED_ROWS = {"pantao_note_source_insert": "after insert on {t} referencing new table as inserted"
                                               " for each statement execute function raw.note_source_insert()",
                  "pantao_note_source_change": "after update or delete on {t} for each statement"
                                               " execute function raw.note_source_change()"}
_ROWS = {"pantao_note_source_change": "after insert or update or delete on {t} for each row"
                                      " execute function raw.note_source_change()"}
_TRUNCATE = {"pantao_note_source_truncate": "after truncate on {t} for each statement"
                                            " execute function raw.note_source_change()"}
TRIGGERS = {"raw.orders": _STATEMENT, "raw.customers": _STATEMENT, "raw.feedback": _STATEMENT,
            "raw.pbx_cdr": _INSERTED_ROWS, "raw.pbx_queue_log": _INSERTED_ROWS}


def triggers_of(table: str) -> dict[str, str]:
    """The triggers (name -> definition after `create trigger <name>`) that note `table`'s writes."""
    return {**TRIGGERS.get(table, _ROWS), **_TRUNCATE}


TRACKING_DDL = f"""
create table if not exists {CHANGES_TABLE} (
    source text not null,
    txid xid8 not null default pg_current_xact_id(),
    primary key (source, txid)
);
comment on table {CHANGES_TABLE} is
    'Transactions that wrote a dbt source table (one row per table and transaction), noted by the '
    'table''s pantao_note_source_* triggers; a build is skipped only when none is newer than the '
    'published one''s snapshot (pantao/build_inputs.py).';
create table if not exists {PUBLISHED_TABLE} (
    only_row boolean primary key default true check (only_row),
    snapshot pg_snapshot not null,
    inputs jsonb not null,
    published_at timestamptz not null default now()
);
comment on table {PUBLISHED_TABLE} is
    'The snapshot the published dbt build started from and its other inputs (pantao/build_inputs.py);'
    ' no row after a partial build.';
create or replace function raw.note_source_change() returns trigger language plpgsql as $$
begin
    insert into {CHANGES_TABLE} (source) values (tg_table_schema || '.' || tg_table_name)
    on conflict do nothing;
    return null;
end $$;
create or replace function raw.note_source_insert() returns trigger language plpgsql as $$
begin
    if exists (select from inserted) then
        insert into {CHANGES_TABLE} (source) values (tg_table_schema || '.' || tg_table_name)
        on conflict do nothing;
    end if;
    return null;
end $$;
"""


@dataclass(frozen=True)
class BuildInputs:
    """What a full build is run with: `command` (its arguments as dbt gets them), `sources` (the
    source tables, "schema.table"), `timezone` (of the business date), `project_dir`."""

    command: tuple[str, ...]
    sources: tuple[str, ...]
    timezone: str
    project_dir: Path

    @classmethod
    def of(cls, dbt_command: Sequence[str], timezone: str, manifest: Path | None,
           project_dir: Path) -> BuildInputs | None:
        """The inputs of a full build with `dbt_command`; None when the sources cannot be listed
        (the build cannot be checked: it runs). The sources are the project files' own (a model
        may have named a new one since the manifest was written) and the manifest's."""
        sources = project_sources(project_dir)
        if sources is None:
            return None
        if manifest is not None and manifest.is_file():
            sources |= manifest_sources(manifest)
        return cls(tuple(dbt_command), tuple(sorted(sources)), _vars_timezone(dbt_command) or timezone, project_dir)


def _vars_timezone(command: Sequence[str]) -> str | None:
    """The business_timezone of the command's own --vars, if it passes one."""
    for i, arg in enumerate(command):
        text = command[i + 1] if arg == "--vars" and i + 1 < len(command) else (
            arg.split("=", 1)[1] if arg.startswith("--vars=") else None)
        if text:
            try:
                value = json.loads(text).get("business_timezone")
            except (ValueError, AttributeError):
                return None
            return value if isinstance(value, str) else None
    return None


def project_sources(project_dir: Path) -> set[str] | None:
    """The source tables ("schema.table") the project's yml files declare; None when one cannot be
    read or names its schema or table through Jinja."""
    import yaml

    found: set[str] = set()
    for path in sorted((project_dir / "models").rglob("*.yml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            return None
        for source in doc.get("sources") or [] if isinstance(doc, dict) else []:
            for table in source.get("tables") or []:
                name = f"{source.get('schema') or source['name']}.{table.get('identifier') or table['name']}"
                if "{" in name:
                    return None
                found.add(name)
    return found


def manifest_sources(manifest: Path) -> set[str]:
    """The source tables ("schema.table") of a dbt manifest."""
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return {f"{source['schema']}.{source.get('identifier') or source['name']}"
            for source in (data.get("sources") or {}).values()}


def project_digest(project_dir: Path) -> str:
    """sha256 over the paths and bytes of the project files a build reads."""
    digest = hashlib.sha256()
    for part in PROJECT_PARTS:
        root = project_dir / part
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        for path in files:
            digest.update(str(path.relative_to(project_dir)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _package_versions() -> str:
    versions = []
    for name in BUILD_PACKAGES:
        try:
            versions.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} absent")
    return ", ".join(versions)


def _columns_digest(conn: psycopg.Connection, sources: Sequence[str]) -> str:
    rows = conn.execute(
        """select c.oid::regclass::text, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  a.attcollation
           from unnest(%s::text[]) s(name)
           join pg_class c on c.oid = to_regclass(s.name)
           join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
           order by 1, 2""", (list(sources),)).fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _salt_fingerprint(conn: psycopg.Connection) -> str | None:
    """A digest of the salt the marts' stored customer keys are computed with (macros/customer_key.sql):
    a new salt must rekey them. Not the salt: SHA-256 of a fixed prefix and the salt, from which
    neither the salt nor a key follows. None before `pantao prepare` made one."""
    if conn.execute("select to_regclass('access.install_secret') is null").fetchone()[0]:
        return None
    row = conn.execute("select encode(sha256(convert_to('pantao build inputs:', 'UTF8') || secret), 'hex')"
                       " from access.install_secret where name = 'customer_key_salt'").fetchone()
    return row[0] if row else None


def _live_schemas(conn: psycopg.Connection, schemas: Sequence[str]) -> dict[str, int]:
    return dict(conn.execute("select nspname, oid::bigint from pg_namespace where nspname = any(%s)",
                             (list(schemas),)).fetchall())


def _ensure_tracking(conn: psycopg.Connection, sources: Sequence[str]) -> list[str]:
    """Create the change notes and every source's triggers (enabled always); returns the tables
    whose triggers were (re)made now (their earlier changes are unknown)."""
    ready = conn.execute("select to_regclass(%s) is not null and to_regclass(%s) is not null"
                         " and to_regprocedure('raw.note_source_insert()') is not null",
                         (CHANGES_TABLE, PUBLISHED_TABLE)).fetchone()[0]
    if not ready:
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(hashtext('pantao.build_inputs'))")
            conn.execute(TRACKING_DDL)
    added = []
    for name in sources:
        wanted = triggers_of(name)
        table = conn.execute("select to_regclass(%s)::text", (name,)).fetchone()[0]
        if table is None:
            continue
        enabled = {row[0] for row in conn.execute(
            "select tgname from pg_trigger where tgrelid = %s::regclass and tgenabled = 'A'", (table,)).fetchall()}
        if set(wanted) <= enabled:
            continue
        with conn.transaction():
            conn.execute(f"set local lock_timeout = '{TRIGGER_LOCK_TIMEOUT}'")
            for trigger, definition in wanted.items():
                conn.execute(f"create or replace trigger {trigger} {definition.format(t=table)}")
                # fire under session_replication_role = replica too (logical replication, restores)
                conn.execute(f"alter table {table} enable always trigger {trigger}")
        added.append(name)
    return added


@dataclass
class Check:
    """The result of `check`: `snapshot` and `inputs` to record when this build publishes (inputs
    None: nothing may be recorded); `current`, a sentence saying why the published build is still
    current, or None when a build is needed, and then `reason` says why."""

    snapshot: str
    inputs: dict[str, object] | None
    current: str | None
    reason: str


def check(conn: psycopg.Connection, inputs: BuildInputs, live_schemas: Sequence[str]) -> Check:
    """Compare the inputs now with the published build's (autocommit `conn`, under the build lock);
    `live_schemas` are the schemas a publish swaps in.

    The snapshot is taken first: whatever this build will read is visible in it. A check that
    cannot be made (a login that may not create the notes or read them) says "build", never fails.
    """
    import psycopg

    snapshot = conn.execute("select pg_current_snapshot()::text").fetchone()[0]
    try:
        return _compare(conn, inputs, live_schemas, snapshot)
    except (psycopg.Error, OSError, ValueError) as exc:
        log.warning("cannot tell whether the published build is current, so this run builds: %s", str(exc).strip())
        return Check(snapshot, None, None, f"the sources' changes cannot be checked ({str(exc).strip()})")


def _compare(conn: psycopg.Connection, inputs: BuildInputs, live_schemas: Sequence[str], snapshot: str) -> Check:
    import psycopg

    if conn.execute("select to_regnamespace('raw') is null").fetchone()[0]:
        return Check(snapshot, None, None, "the raw schema does not exist yet")
    try:
        added = _ensure_tracking(conn, inputs.sources)
        busy = ""
    except psycopg.errors.LockNotAvailable:
        added, busy = [], f"a source table was busy for longer than {TRIGGER_LOCK_TIMEOUT} when adding its triggers"
    # the business date as the models compute it (`now()` in the business time zone)
    business_date, server = conn.execute("select (now() at time zone %s)::date::text, current_setting('server_version_num')",
                                         (inputs.timezone,)).fetchone()
    now = {"project files": project_digest(inputs.project_dir), "command and vars": list(inputs.command),
           "dbt packages": _package_versions(), "PGOPTIONS": os.environ.get("PGOPTIONS", ""),
           "business date": business_date, "server version": server,
           "source columns": _columns_digest(conn, inputs.sources),
           "customer key salt": _salt_fingerprint(conn),
           "published schemas": _live_schemas(conn, live_schemas)}
    missing = [name for name, in conn.execute(
        "select s from unnest(%s::text[]) s where to_regclass(s) is null", (list(inputs.sources),)).fetchall()]
    published = conn.execute(f"select snapshot::text, inputs, published_at, pg_snapshot_xmax(snapshot) > pg_snapshot_xmax(pg_current_snapshot())"
                             f" from {PUBLISHED_TABLE}").fetchone()

    def build(reason: str) -> Check:
        return Check(snapshot, now, None, reason)

    if busy:
        return Check(snapshot, None, None, busy)
    if added:
        return build(f"change tracking was added to {', '.join(added)} just now")
    if missing:
        return build(f"source table(s) {', '.join(missing)} do not exist yet")
    if published is None:
        return build("no full build has been published with its inputs yet")
    published_snapshot, published_inputs, published_at, from_elsewhere = published
    if from_elsewhere:  # restored from another cluster: its transaction ids say nothing here
        return build("the published build's record comes from another database cluster")
    if published_inputs != now:
        return build(_what_differs(published_inputs, now))
    changed = [row[0] for row in conn.execute(
        f"select distinct source from {CHANGES_TABLE} where not pg_visible_in_snapshot(txid, %s::pg_snapshot)"
        " order by 1", (published_snapshot,)).fetchall()]
    if changed:
        return build(f"rows written to {', '.join(changed)}")
    return Check(snapshot, now, f"nothing has changed since the build published at {published_at:%Y-%m-%d %H:%M:%S %Z}:"
                 f" no rows written to the {len(inputs.sources)} source tables, the same project, vars and business date",
                 "")


def _what_differs(published: dict[str, object], now: dict[str, object]) -> str:
    """Which of the inputs differ from the published build's, in a sentence."""
    parts = []
    for key in sorted(set(published) | set(now)):
        if published.get(key) != now.get(key):
            shown = f" {now.get(key)} (the published build's {published.get(key)})" if key == "business date" else ""
            parts.append(f"{key}{shown}")
    return "changed since the published build: " + ", ".join(parts)


def forget(conn: psycopg.Connection) -> None:
    """Drop the record (in the caller's transaction): the live schemas are no longer what it describes."""
    if conn.execute("select to_regclass(%s)", (PUBLISHED_TABLE,)).fetchone()[0] is not None:
        conn.execute(f"delete from {PUBLISHED_TABLE}")


def record(conn: psycopg.Connection, result: Check | None, live_schemas: Sequence[str]) -> None:
    """In the publish's transaction, after the swap: forget the record (an error here fails the
    publish: a stale record could skip a build), then record this build's snapshot and inputs with
    the schemas it published, and prune the change notes it has seen (a savepoint: if they cannot
    be written, the next run builds)."""
    import psycopg

    forget(conn)
    if result is None or result.inputs is None:
        return
    try:
        with conn.transaction():
            inputs = {**result.inputs, "published schemas": _live_schemas(conn, live_schemas)}
            conn.execute(f"insert into {PUBLISHED_TABLE} (snapshot, inputs) values (%s::pg_snapshot, %s::jsonb)",
                         (result.snapshot, json.dumps(inputs)))
            conn.execute(f"delete from {CHANGES_TABLE} where pg_visible_in_snapshot(txid, %s::pg_snapshot)",
                         (result.snapshot,))
    except psycopg.Error as exc:
        log.warning("the build is published but its inputs were not recorded (the next run builds): %s",
                    str(exc).strip())


def forget_published(database_url: str) -> None:
    """Forget the record from outside a build: a dbt command writes the live schemas directly."""
    import psycopg

    from pantao.db import connect

    try:
        with connect(database_url) as conn:
            forget(conn)
    except psycopg.Error as exc:
        log.warning("could not forget the published build's inputs: %s", str(exc).strip())
