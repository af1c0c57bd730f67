"""Is the published build still current? Nothing landed, nothing else a build reads has changed.

The hourly build on a quiet hour (a night, a closed day, an outage upstream) would redo an
incremental run — at a year of a 30-restaurant chain about a fifth of a full build — to publish
the same rows. The hourly pipeline skips dbt instead when every input is as the published build
found it (docs/architecture.md, "Builds that change nothing"):

- **The rows of every dbt source table.** A trigger on each one notes the writing transaction (its
  `xid8`) in `raw.source_changes`, in that same transaction (per statement on the landing's bulk
  tables, per row written on the others: `BULK_SOURCES`); a build notes the
  snapshot (`pg_current_snapshot()`) it started from, before dbt reads anything, and publishes it
  with the build. A source changed since iff a noted transaction is not visible in that snapshot —
  commit-safe: a landing still open when the build began is not in its snapshot, so the first check
  after it commits sees it. Insert, update, delete and truncate all count, whoever writes.
- **The source tables' columns** (a migration renames one: the build must fail or adapt, not be
  skipped) — read from the catalog at the check.
- **Everything else, as a digest:** the dbt command and its vars (the settings), the project's
  files (models, macros, dbt_project.yml), and the business date — models read `now()` (the
  plausible window, the lookback windows, the segments' "recent"), so a new day is a new build.

A table the trigger is added to now has unknown changes before it: the check says "build". A
partial build publishes without a record (what it did not select is older than its snapshot), so
the next full build runs. Only the hourly pipeline skips (`skip_if_current`); `pantao dbt build`,
`pantao prepare` and the like always build, and record what they built from.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

# Noted by the source tables' triggers; pruned when a build is published.
CHANGES_TABLE = "raw.source_changes"
# The one published build's snapshot and inputs digest (no row: unknown, build).
PUBLISHED_TABLE = "raw.published_build"
TRIGGER = "pantao_note_source_change"
TRUNCATE_TRIGGER = "pantao_note_source_truncate"
# The landing's bulk tables (COPY of thousands of rows, never a statement that writes none) note
# each statement: a row-level trigger would run once per landed row. Every other source (the
# operator directory, upserted whole on each landing; the report versions) notes each row written,
# so a statement that changes nothing (an upsert whose rows are all current) notes nothing. Either
# way no write goes unnoted; a bulk statement that wrote no row would only cost a build.
BULK_SOURCES = frozenset({"raw.orders", "raw.customers", "raw.feedback", "raw.pbx_cdr", "raw.pbx_queue_log"})
# The project files a build reads (the rest of dbt_project/ is dbt's output and logs).
PROJECT_PARTS = ("dbt_project.yml", "packages.yml", "models", "macros", "seeds", "snapshots", "tests", "dbt_packages")
# Adding a trigger waits for the landings writing the table; past this the check gives up (and builds).
TRIGGER_LOCK_TIMEOUT = "30s"

TRACKING_DDL = f"""
create table if not exists {CHANGES_TABLE} (
    source text not null,
    txid xid8 not null default pg_current_xact_id(),
    primary key (source, txid)
);
comment on table {CHANGES_TABLE} is
    'Transactions that wrote a dbt source table (one row per table and transaction), noted by the '
    'table''s {TRIGGER} trigger; a build is skipped only when none is newer than the published one''s snapshot.';
create table if not exists {PUBLISHED_TABLE} (
    only_row boolean primary key default true check (only_row),
    snapshot pg_snapshot not null,
    inputs text not null,
    published_at timestamptz not null default now()
);
comment on table {PUBLISHED_TABLE} is
    'The snapshot the published dbt build started from and the digest of its other inputs '
    '(pantao/build_inputs.py); no row after a partial build.';
create or replace function raw.note_source_change() returns trigger language plpgsql as $$
begin
    insert into {CHANGES_TABLE} (source) values (tg_table_schema || '.' || tg_table_name)
    on conflict do nothing;
    return null;
end $$;
"""


@dataclass(frozen=True)
class BuildInputs:
    """What a full build reads besides its source rows: `digest` (command, vars, project files),
    `sources` (the source tables, "schema.table") and `timezone` (of the business date)."""

    digest: str
    sources: tuple[str, ...]
    timezone: str

    @classmethod
    def of(cls, dbt_command: Sequence[str], timezone: str, manifest: Path | None,
           project_dir: Path) -> BuildInputs | None:
        """The inputs of a full build with `dbt_command` (its arguments as dbt gets them); None when
        the manifest naming the sources is missing (the build cannot be checked: it runs)."""
        if manifest is None or not manifest.is_file():
            return None
        sources = source_tables(manifest)
        digest = hashlib.sha256()
        digest.update(json.dumps({"command": list(dbt_command), "sources": sources}, sort_keys=True).encode())
        digest.update(project_digest(project_dir).encode())
        return cls(digest.hexdigest(), tuple(sources), timezone)


def source_tables(manifest: Path) -> list[str]:
    """The dbt project's source tables ("schema.table"), from its manifest."""
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return sorted({f"{source['schema']}.{source.get('identifier') or source['name']}"
                   for source in (data.get("sources") or {}).values()})


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


def _columns_digest(conn: psycopg.Connection, sources: Sequence[str]) -> str:
    rows = conn.execute(
        """select c.oid::regclass::text, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
           from unnest(%s::text[]) s(name)
           join pg_class c on c.oid = to_regclass(s.name)
           join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
           order by 1, 2""", (list(sources),)).fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _ensure_tracking(conn: psycopg.Connection, sources: Sequence[str]) -> list[str]:
    """Create the change notes and a trigger on every existing source table; returns the tables
    whose trigger was added now (their earlier changes are unknown)."""
    ready = conn.execute("select to_regclass(%s) is not null and to_regclass(%s) is not null"
                         " and to_regprocedure('raw.note_source_change()') is not null",
                         (CHANGES_TABLE, PUBLISHED_TABLE)).fetchone()[0]
    if not ready:
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(hashtext('pantao.build_inputs'))")
            conn.execute(TRACKING_DDL)
    added = []
    for name in sources:
        exists, tracked = conn.execute(
            "select to_regclass(%s) is not null, (select count(*) = 2 from pg_trigger where tgrelid = to_regclass(%s)"
            " and tgname in (%s, %s))", (name, name, TRIGGER, TRUNCATE_TRIGGER)).fetchone()
        if exists and not tracked:
            level = "statement" if name in BULK_SOURCES else "row"
            with conn.transaction():
                conn.execute(f"set local lock_timeout = '{TRIGGER_LOCK_TIMEOUT}'")
                table = conn.execute("select to_regclass(%s)::text", (name,)).fetchone()[0]
                conn.execute(f"create or replace trigger {TRIGGER} after insert or update or delete "
                             f"on {table} for each {level} execute function raw.note_source_change()")
                conn.execute(f"create or replace trigger {TRUNCATE_TRIGGER} after truncate "
                             f"on {table} for each statement execute function raw.note_source_change()")
            added.append(name)
    return added


@dataclass
class Check:
    """The result of `check`: `snapshot` to record when this build publishes; `current`, a sentence
    saying why the published build is still current, or None when a build is needed (`reason`)."""

    snapshot: str
    digest: str  # JSON: the digest of each kind of input
    current: str | None
    reason: str


def check(conn: psycopg.Connection, inputs: BuildInputs) -> Check:
    """Compare the inputs now with the published build's (autocommit `conn`, under the build lock).

    The snapshot is taken first: whatever this build will read is visible in it. A check that
    cannot be made (a login that may not create the notes or read them) says "build", never fails.
    """
    import psycopg

    snapshot = conn.execute("select pg_current_snapshot()::text").fetchone()[0]
    try:
        return _compare(conn, inputs, snapshot)
    except psycopg.Error as exc:
        log.warning("cannot tell whether the published build is current, so this run builds: %s", str(exc).strip())
        return Check(snapshot, "{}", None, f"the sources' changes cannot be checked ({str(exc).strip()})")


def _compare(conn: psycopg.Connection, inputs: BuildInputs, snapshot: str) -> Check:
    import psycopg

    if conn.execute("select to_regnamespace('raw') is null").fetchone()[0]:
        return Check(snapshot, "{}", None, "the raw schema does not exist yet")
    try:
        added = _ensure_tracking(conn, inputs.sources)
    except psycopg.errors.LockNotAvailable:
        added = ["(a source table busy for longer than " + TRIGGER_LOCK_TIMEOUT + ")"]
    # the business date as the models compute it (`now()` in the business time zone)
    business_date = conn.execute("select (now() at time zone %s)::date::text", (inputs.timezone,)).fetchone()[0]
    digest = json.dumps({"project, command and vars": inputs.digest, "business date": business_date,
                         "source columns": _columns_digest(conn, inputs.sources)}, sort_keys=True)
    missing = [name for name, in conn.execute(
        "select s from unnest(%s::text[]) s where to_regclass(s) is null", (list(inputs.sources),)).fetchall()]
    published = conn.execute(f"select snapshot::text, inputs, published_at from {PUBLISHED_TABLE}").fetchone()

    def build(reason: str) -> Check:
        return Check(snapshot, digest, None, reason)

    if added:
        return build(f"change tracking was added to {', '.join(added)} just now")
    if missing:
        return build(f"source table(s) {', '.join(missing)} do not exist yet")
    if published is None:
        return build("no full build has been published with its inputs yet")
    published_snapshot, published_digest, published_at = published
    if published_digest != digest:
        return build(_what_differs(json.loads(published_digest), json.loads(digest)))
    changed = [row[0] for row in conn.execute(
        f"select distinct source from {CHANGES_TABLE} where not pg_visible_in_snapshot(txid, %s::pg_snapshot)"
        " order by 1", (published_snapshot,)).fetchall()]
    if changed:
        return build(f"rows written to {', '.join(changed)}")
    return Check(snapshot, digest, f"nothing has changed since the build published at {published_at:%Y-%m-%d %H:%M:%S %Z}:"
                 f" no rows written to the {len(inputs.sources)} source tables, the same project, vars and business date",
                 "")


def _what_differs(published: dict[str, str], now: dict[str, str]) -> str:
    """Which of the inputs differ from the published build's, in a sentence."""
    parts = []
    for key in sorted(set(published) | set(now)):
        if published.get(key) != now.get(key):
            shown = f" {now.get(key)} (the published build's {published.get(key)})" if key == "business date" else ""
            parts.append(f"{key}{shown}")
    return "changed since the published build: " + ", ".join(parts)


def record(conn: psycopg.Connection, result: Check | None) -> None:
    """In the publish's transaction: the published build's snapshot and digest (None: a partial
    build, so forget); the change notes it has seen are pruned."""
    import psycopg

    if to_regclass(conn, PUBLISHED_TABLE) is None:
        return  # no tracking yet: nothing recorded, nothing to forget
    try:
        with conn.transaction():  # a savepoint: the publish goes on whatever happens here
            conn.execute(f"delete from {PUBLISHED_TABLE}")
            if result is None or result.digest == "{}":
                return
            conn.execute(f"insert into {PUBLISHED_TABLE} (snapshot, inputs) values (%s::pg_snapshot, %s)",
                         (result.snapshot, result.digest))
            conn.execute(f"delete from {CHANGES_TABLE} where pg_visible_in_snapshot(txid, %s::pg_snapshot)",
                         (result.snapshot,))
    except psycopg.Error as exc:
        # the older record and every change note since stay: the next run builds again, never skips wrongly
        log.warning("the build is published but its inputs were not recorded: %s", str(exc).strip())


def to_regclass(conn: psycopg.Connection, name: str) -> str | None:
    return conn.execute("select to_regclass(%s)::text", (name,)).fetchone()[0]
