"""Write–audit–publish for dbt builds: readers see the last complete, tested build, never a mix.

A build writes into shadow schemas (`marts__build`, ...): dbt's generate_schema_name adds the
suffix when the runner sets the variables of `shadow_env()`. Before dbt starts, `ShadowBuild`
creates those schemas with the live ones' owner, privileges and comment, and copies the live
tables into them (structure, indexes, rows, owner, grants), so incremental models find their
previous state and a partial build leaves the models it does not select as they were. A build of
the whole project does not copy the tables it replaces without reading them (`rebuilt_whole`:
models materialized `table` that never name `{{ this }}`): dbt creates those in the shadow anew,
with their grants, indexes and comments from the project, as it would over a copy. dbt builds
and tests there; only when the whole build succeeded does `publish` rename every live schema to
`<name>__old` and every shadow schema to `<name>` in ONE transaction, then drop the old ones.

Views (the reporting layer's security-barrier views included) refer to tables by oid, not by
name, so a view built in `reporting__build` over `marts__build.orders` reads `marts.orders`
after the rename; grants and owners are on the objects and travel with them. A build that fails,
or a process or database that dies mid-build, leaves the live schemas untouched; the next build
drops the leftover shadow (and any `__old` left by a crash right after a publish) and starts over.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pantao import build_inputs, wap_bases
from pantao.db import connect

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

# Every schema the dbt project builds (dbt_project.yml's +schema); readers read marts and reporting,
# the rest is shadowed too so a build never rebuilds a view in place under a live one.
SHADOWED_SCHEMAS = ("staging", "intermediate", "marts", "reporting")
BUILD_SUFFIX = "__build"
OLD_SUFFIX = "__old"
# Read by dbt_project/macros/generate_schema_name.sql.
SCHEMAS_ENV = "PANTAO_DBT_SHADOWED_SCHEMAS"
SUFFIX_ENV = "PANTAO_DBT_SCHEMA_SUFFIX"
# Read by dbt_project/profiles.yml: the sessions of a shadow build carry this application_name.
APPLICATION_NAME_ENV = "PANTAO_DBT_APPLICATION_NAME"
APPLICATION_NAME = "pantao-dbt-build"
# One build at a time owns the shadow schemas (session advisory lock, released if the process dies).
BUILD_LOCK_KEY = 0x7761705F6C6B  # "wap_lk" in ASCII, apart from access setup's key ("pantao")
# How long a build waits for another one to finish before giving up: builds queue (a hand-run
# `pantao dbt build` or `pantao prepare` beside the pipeline's); a dead build's lock goes with its session.
BUILD_LOCK_WAIT_SECONDS = 1800
# The dbt project's name: its own models and macros in the manifest.
PROJECT = "pantao"
# Sessions that copy the live tables into the shadow at once (the copy is most of an incremental
# run's fixed cost; PostgreSQL copies and indexes each table on one core).
COPY_CONNECTIONS = 2
# dbt commands that write models; only these are built in the shadow.
WRITING_COMMANDS = frozenset({"build", "run"})
# dbt commands that write the live schemas directly, not through a shadow build: after one, the
# published build's recorded inputs (pantao/build_inputs.py) no longer describe what readers see.
LIVE_WRITING_COMMANDS = frozenset({"seed", "snapshot", "run-operation", "retry", "clone"})
SELECTION_FLAGS = frozenset({"--select", "-s", "--models", "-m", "--exclude", "--selector", "--resource-type",
                             "--resource-types", "--exclude-resource-type", "--inline"})
# A partial build rebuilds every view around it: views do not hold rows, and a rebuilt table drops
# the views over it (cascade), which must come back before the publish.
VIEW_SELECTION = ["--select", "config.materialized:view", "config.materialized:secure_view"]


class BuildInProgress(RuntimeError):
    """Another dbt build holds the shadow schemas."""


def shadow_env() -> dict[str, str]:
    """What dbt needs to build into the shadow schemas (generate_schema_name reads it)."""
    return {SCHEMAS_ENV: ",".join(SHADOWED_SCHEMAS), SUFFIX_ENV: BUILD_SUFFIX, APPLICATION_NAME_ENV: APPLICATION_NAME}


def writes_models(args: Sequence[str]) -> bool:
    """True for the dbt commands that build models (`build`, `run`)."""
    return bool(args) and args[0] in WRITING_COMMANDS


def is_partial(args: Sequence[str]) -> bool:
    """True when the arguments select part of the project (the rest is copied from the live state)."""
    return any(arg.split("=", 1)[0] in SELECTION_FLAGS for arg in args)


def is_full_refresh(args: Sequence[str]) -> bool:
    return any(arg in ("--full-refresh", "-f") for arg in args)


# A Jinja expression or statement of a model, its hooks or its project macros ({# comments #} are not).
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_THIS = re.compile(r"\bthis\b")


def _names_this(text: str) -> bool:
    return any(_THIS.search(block) for block in _JINJA.findall(_JINJA_COMMENT.sub("", text or "")))


def _reads_previous_build(node: Mapping[str, Any], macros: Mapping[str, Any]) -> bool:
    """True when a model's code, hooks or any project macro it calls (transitively) names `this`:
    it may read its own previous build (data_issues carries first_seen_at over), so it is copied."""
    config = node.get("config") or {}
    hooks = [hook.get("sql", "") if isinstance(hook, Mapping) else str(hook)
             for key in ("pre-hook", "post-hook", "pre_hook", "post_hook") for hook in (config.get(key) or [])]
    if _names_this(node.get("raw_code") or "") or any(_names_this(hook) for hook in hooks):
        return True
    pending, seen = list((node.get("depends_on") or {}).get("macros") or []), set()
    while pending:
        name = pending.pop()
        if name in seen or not name.startswith(f"macro.{PROJECT}."):
            continue
        seen.add(name)
        macro = macros.get(name)
        if macro is None or _names_this(macro.get("macro_sql") or ""):
            return True  # unknown: copy
        pending += (macro.get("depends_on") or {}).get("macros") or []
    return False


def _newer_source(project_dir: Path, than: float) -> Path | None:
    """A model, macro or the project file changed after `than` (a manifest's mtime), if any."""
    candidates = [project_dir / "dbt_project.yml"]
    for folder in ("models", "macros"):
        candidates += (project_dir / folder).rglob("*")
    return next((path for path in candidates if path.is_file() and path.stat().st_mtime > than), None)


def rebuilt_whole(manifest_path: Path | None, project_dir: Path | None = None) -> frozenset[tuple[str, str]]:
    """The live tables (schema, name) that a build of the whole project replaces without reading
    them: its models materialized `table` whose code never names `this`. A build of the whole
    project need not copy them into the shadow. From dbt's manifest; an empty set (copy every
    table, as before) when there is none, it cannot be read, or (with `project_dir`) a model,
    macro or dbt_project.yml changed after it was written: a stale manifest could call a model
    `table` that now reads its previous build.
    """
    loaded = _manifest(manifest_path, project_dir)
    if loaded is None:
        return frozenset()
    nodes, macros = loaded
    found = set()
    for node in nodes.values():
        config = node.get("config") or {}
        if (node.get("resource_type") != "model" or node.get("package_name") != PROJECT
                or config.get("materialized") != "table" or not config.get("enabled", True)
                or _reads_previous_build(node, macros)):
            continue
        schema = node.get("schema") or ""
        schema = schema.removesuffix(BUILD_SUFFIX)  # a manifest written by a shadow build
        if schema in SHADOWED_SCHEMAS:
            found.add((schema, node.get("alias") or node["name"]))
    return frozenset(found)


def _manifest(manifest_path: Path | None, project_dir: Path | None) -> tuple[dict, dict] | None:
    """dbt manifest's nodes and macros; None when there is none, it cannot be read, or (with
    `project_dir`) a model, macro or dbt_project.yml changed after it was written."""
    if manifest_path is None:
        return None
    try:
        manifest_path = Path(manifest_path)
        if project_dir is not None:
            newer = _newer_source(Path(project_dir), manifest_path.stat().st_mtime)
            if newer is not None:
                log.info("every live table is copied into the shadow: %s changed after %s", newer, manifest_path)
                return None
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        return manifest["nodes"], manifest.get("macros") or {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.info("every live table is copied into the shadow: no readable dbt manifest (%s)", exc)
        return None


def incremental_keys(manifest_path: Path | None, project_dir: Path | None = None) -> dict[tuple[str, str], tuple[str, ...]]:
    """The incremental models' tables (schema, name) and their `unique_key` columns, from dbt's
    manifest (the same rules for a missing or stale one as `rebuilt_whole`: then empty, and every
    table is copied). A build catches these up from the bases the previous publish kept
    (pantao/wap_bases.py); any columns would do for that, the unique key is the one dbt writes by."""
    loaded = _manifest(manifest_path, project_dir)
    if loaded is None:
        return {}
    found = {}
    for node in loaded[0].values():
        config = node.get("config") or {}
        unique_key = config.get("unique_key")
        if (node.get("resource_type") != "model" or node.get("package_name") != PROJECT
                or config.get("materialized") != "incremental" or not config.get("enabled", True) or not unique_key):
            continue
        columns = (unique_key,) if isinstance(unique_key, str) else tuple(unique_key)
        schema = (node.get("schema") or "").removesuffix(BUILD_SUFFIX)
        if schema in SHADOWED_SCHEMAS and all(isinstance(c, str) and c.isidentifier() for c in columns):
            found[(schema, node.get("alias") or node["name"])] = columns
    return found


def _schemas(conn: psycopg.Connection) -> set[str]:
    return {row[0] for row in conn.execute("select nspname from pg_namespace")}


_COPY_SCHEMA = """
do $copy$
declare
    grant_row record;
begin
    execute format('alter schema %I owner to %I', {shadow},
                   (select nspowner::regrole::text from pg_namespace where nspname = {live}));
    for grant_row in
        select a.privilege_type, coalesce(r.rolname, 'public') as grantee, r.rolname is not null as named
        from pg_namespace n, aclexplode(n.nspacl) a left join pg_roles r on r.oid = a.grantee
        where n.nspname = {live}
    loop
        execute format('grant %s on schema %I to ' || case when grant_row.named then '%I' else '%s' end,
                       grant_row.privilege_type, {shadow}, grant_row.grantee);
    end loop;
    execute format('comment on schema %I is %L', {shadow},
                   obj_description((select oid from pg_namespace where nspname = {live}), 'pg_namespace'));
end
$copy$
"""

_COPY_TABLE = """
do $copy$
declare
    grant_row record;
    index_row record;
begin
    if exists (select from pg_constraint where conrelid = {oid} and contype in ('p', 'u', 'x')) then
        -- a constraint needs its index from the start
        execute format('create table %I.%I (like %I.%I including all)', {shadow}, {table}, {live}, {table});
        execute format('insert into %I.%I select * from %I.%I', {shadow}, {table}, {live}, {table});
    else
        -- the rows first, then each index built once from them: inserting into every index row by
        -- row took most of an incremental run's copy (issue #15)
        execute format('create table %I.%I (like %I.%I including all excluding indexes)',
                       {shadow}, {table}, {live}, {table});
        execute format('insert into %I.%I select * from %I.%I', {shadow}, {table}, {live}, {table});
        for index_row in
            select i.indisunique as is_unique, pg_get_indexdef(i.indexrelid) as definition
            from pg_index i where i.indrelid = {oid} order by i.indexrelid
        loop
            -- unnamed, as `like ... including indexes` leaves them: PostgreSQL chooses the same names
            execute format('create %sindex on %I.%I', case when index_row.is_unique then 'unique ' else '' end,
                           {shadow}, {table})
                    || substring(index_row.definition from position(' USING ' in index_row.definition));
        end loop;
    end if;
    execute format('alter table %I.%I owner to %I', {shadow}, {table},
                   (select relowner::regrole::text from pg_class where oid = {oid}));
    -- `like ... including all` copies the columns' comments, not the table's own
    execute format('comment on table %I.%I is %L', {shadow}, {table}, obj_description({oid}, 'pg_class'));
    for grant_row in
        select a.privilege_type, coalesce(r.rolname, 'public') as grantee, r.rolname is not null as named
        from pg_class c, aclexplode(c.relacl) a left join pg_roles r on r.oid = a.grantee
        where c.oid = {oid}
    loop
        execute format('grant %s on table %I.%I to ' || case when grant_row.named then '%I' else '%s' end,
                       grant_row.privilege_type, {shadow}, {table}, grant_row.grantee);
    end loop;
end
$copy$
"""


def _literal(template: str, **values: object) -> psycopg.sql.Composed:
    """A DO block with its values inlined as literals (a DO block takes no parameters)."""
    from psycopg import sql

    return sql.SQL(template).format(**{name: sql.Literal(value) for name, value in values.items()})


def drop_leftovers(conn: psycopg.Connection) -> list[str]:
    """Drop shadow schemas a failed or interrupted build left behind; returns their names."""
    existing = _schemas(conn)
    leftovers = [name + suffix for name in SHADOWED_SCHEMAS for suffix in (BUILD_SUFFIX, OLD_SUFFIX)
                 if name + suffix in existing]
    for schema in leftovers:
        conn.execute(f'drop schema "{schema}" cascade')
    return leftovers


def end_orphaned_sessions(conn: psycopg.Connection) -> int:
    """End the dbt sessions of a build whose process died (its dbt may outlive it, still writing the
    shadow). Only the holder of the build lock calls this, so no live build owns such a session."""
    rows = conn.execute(
        "select pg_terminate_backend(pid) from pg_stat_activity "
        "where application_name = %s and datname = current_database() and pid <> pg_backend_pid()",
        (APPLICATION_NAME,)).fetchall()
    return len(rows)


def prepare_shadow(conn: psycopg.Connection, *, copy_tables: bool = True,
                   skip: Collection[tuple[str, str]] = frozenset(), database_url: str | None = None,
                   connections: int = 1, keys: Mapping[tuple[str, str], Sequence[str]] | None = None,
                   caught_up: list[str] | None = None) -> int:
    """Fresh shadow schemas shaped like the live ones, with copies of their tables except those in
    `skip` ((schema, table) the build replaces whole: `rebuilt_whole`); returns the number of
    tables copied.

    `keys`: the incremental tables' key columns (`incremental_keys`). Such a table whose base the
    previous publish kept is caught up by the keys written since and moved into the shadow instead
    of copied (pantao/wap_bases.py; its name goes into `caught_up`); a copied one is paired with
    the live table it came from, which becomes its base when this build publishes.

    With one connection it all runs in one transaction on `conn`: a crash leaves no half-copied
    shadow. With `connections` > 1 (and `database_url`), the schemas are committed first and the
    tables are copied over that many sessions at once, largest first, each in its own transaction;
    a copy that fails drops the shadow and raises. Either way nothing is published before dbt has
    built in the shadow, and the next build drops whatever a crash left (`drop_leftovers`). The
    live tables do not change meanwhile: only a build writes them, and the caller holds the build lock.
    """
    keys = keys or {}
    with conn.transaction():
        leftovers = drop_leftovers(conn)
        if leftovers:
            log.info("dropped %s left by an earlier build that did not publish", ", ".join(leftovers))
        wap_bases.set_up(conn)
        wap_bases.forget_stale(conn)
        existing = _schemas(conn)
        to_copy: list[tuple[int, str, str, int]] = []  # (oid, live schema, table, size in bytes)
        for live in SHADOWED_SCHEMAS:
            shadow = live + BUILD_SUFFIX
            conn.execute(f'create schema "{shadow}"')
            if live not in existing:
                continue
            conn.execute(_literal(_COPY_SCHEMA, live=live, shadow=shadow))
            if not copy_tables:
                continue
            tables = conn.execute(
                "select c.oid, c.relname, pg_total_relation_size(c.oid) from pg_class c"
                " join pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = %s and c.relkind in ('r', 'p') and not c.relispartition order by 2",
                (live,)).fetchall()
            for oid, table, size in tables:
                if (live, table) in skip:
                    continue
                if (live, table) in keys and wap_bases.catch_up(conn, live, table, shadow, keys[(live, table)]):
                    if caught_up is not None:
                        caught_up.append(f"{live}.{table}")
                    continue
                to_copy.append((oid, live, table, size))
        # what no catch-up used is stale (a full refresh, a table replaced or gone): the next publish keeps new ones
        wap_bases.drop_bases(conn, SHADOWED_SCHEMAS)
        if connections <= 1 or database_url is None or len(to_copy) <= 1:
            for oid, live, table, _ in to_copy:
                _copy_table(conn, live, table, oid, keys)
            return len(to_copy)
    try:
        _copy_in_parallel(database_url, to_copy, connections,
                          lambda session, live, table, oid: _copy_table(session, live, table, oid, keys))
    except BaseException:
        with conn.transaction():
            drop_leftovers(conn)
        raise
    return len(to_copy)


def _copy_table(conn: psycopg.Connection, live: str, table: str, oid: int,
                keys: Mapping[tuple[str, str], Sequence[str]]) -> None:
    """Copy one live table into the shadow; an incremental one is paired with the live table, its
    base once this build publishes (pantao/wap_bases.py)."""
    conn.execute(_literal(_COPY_TABLE, live=live, shadow=live + BUILD_SUFFIX, table=table, oid=oid))
    if (live, table) in keys:
        wap_bases.track(conn, live + BUILD_SUFFIX, table, oid, keys[(live, table)])


def _copy_in_parallel(database_url: str, tables: Sequence[tuple[int, str, str, int]], connections: int,
                      copy_one: Callable[[psycopg.Connection, str, str, int], None]) -> None:
    """`copy_one(session, schema, table, oid)` for each of `tables` over `connections` sessions:
    largest first, each to the least loaded session (by bytes), each session in one transaction."""
    from concurrent.futures import ThreadPoolExecutor

    if not tables:
        return
    shares: list[list[tuple[int, str, str, int]]] = [[] for _ in range(min(connections, len(tables)))]
    loads = [0] * len(shares)
    for entry in sorted(tables, key=lambda entry: -entry[3]):
        least = loads.index(min(loads))
        shares[least].append(entry)
        loads[least] += entry[3]

    def copy(share: list[tuple[int, str, str, int]]) -> None:
        # named as the build's dbt sessions: if this process dies mid-copy, the next build ends them
        with connect(database_url, autocommit=True, application_name=APPLICATION_NAME) as session, \
                session.transaction():
            for oid, live, table, _ in share:
                copy_one(session, live, table, oid)

    with ThreadPoolExecutor(max_workers=len(shares), thread_name_prefix="wap-copy") as pool:
        for future in [pool.submit(copy, share) for share in shares]:
            future.result()


def missing_views(conn: psycopg.Connection) -> list[str]:
    """Live views that have no counterpart in the shadow: publishing now would drop them."""
    rows = conn.execute(
        "select n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = any(%s) and c.relkind in ('v', 'm') "
        "and to_regclass(quote_ident(n.nspname || %s) || '.' || quote_ident(c.relname)) is null order by 1",
        (list(SHADOWED_SCHEMAS), BUILD_SUFFIX)).fetchall()
    return [row[0] for row in rows]


# Views elsewhere (someone's ad-hoc view on marts) that depend on a relation of the old build.
_VIEWS_OUTSIDE = """
select distinct v.relnamespace::regnamespace::text || '.' || v.relname
from pg_depend d
join pg_rewrite r on r.oid = d.objid
join pg_class v on v.oid = r.ev_class
join pg_class t on t.oid = d.refobjid
where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass
  and t.relnamespace::regnamespace::text = any(%s)
  and v.relnamespace::regnamespace::text <> all(%s)
order by 1
"""


def publish(conn: psycopg.Connection, also: Callable[[psycopg.Connection], None] | None = None) -> None:
    """Swap every shadow schema for its live one in one transaction, then drop the old ones.

    The renames touch the catalog only; a reader's query in flight keeps the tables it opened, and
    one that starts after the commit reads the new build. The drop waits for those readers, outside
    the swap, so a long report query delays the clean-up, never the publish.
    """
    with conn.transaction():
        existing = _schemas(conn)
        missing = [name + BUILD_SUFFIX for name in SHADOWED_SCHEMAS if name + BUILD_SUFFIX not in existing]
        if missing:
            raise RuntimeError(f"nothing to publish: {', '.join(missing)} do not exist (was the build run in the shadow?)")
        for name in SHADOWED_SCHEMAS:
            if name + OLD_SUFFIX in existing:
                conn.execute(f'drop schema "{name}{OLD_SUFFIX}" cascade')
            if name in existing:
                conn.execute(f'alter schema "{name}" rename to "{name}{OLD_SUFFIX}"')
            conn.execute(f'alter schema "{name}{BUILD_SUFFIX}" rename to "{name}"')
        if also is not None:  # in the swap's transaction (pantao.build_inputs records what was built)
            also(conn)
    old_schemas = [name + OLD_SUFFIX for name in SHADOWED_SCHEMAS]
    outside = [row[0] for row in conn.execute(_VIEWS_OUTSIDE, (old_schemas, old_schemas)).fetchall()]
    if outside:
        log.warning("views outside the dbt schemas read the previous build and are dropped with it "
                    "(build them with dbt, or recreate them): %s", ", ".join(outside))
    with conn.transaction():  # the bases of the tables just published: the next build catches them up
        wap_bases.keep_old(conn, SHADOWED_SCHEMAS, OLD_SUFFIX)
    with conn.transaction():
        for schema in old_schemas:
            conn.execute(f'drop schema if exists "{schema}" cascade')


class ShadowBuild:
    """One write–audit–publish build: `with ShadowBuild(url) as shadow:` prepares the shadow
    schemas under the build lock; run dbt with `shadow_env()`; `shadow.publish()` when it passed.

    Leaving the block without publishing keeps the live schemas as they were; the failed build
    stays in the `__build` schemas for inspection until the next build drops it.
    """

    def __init__(self, database_url: str, *, copy_tables: bool = True,
                 rebuilt: Collection[tuple[str, str]] = frozenset(),
                 inputs: build_inputs.BuildInputs | None = None, skip_if_current: bool = False,
                 keys: Mapping[tuple[str, str], Sequence[str]] | None = None) -> None:
        """`rebuilt`: the tables the build replaces whole, not copied (`rebuilt_whole`); only for a
        build of the whole project — a partial one keeps what it does not select from the copy.
        `inputs`: a build of the whole project's inputs (pantao/build_inputs.py), recorded with its
        publish; with `skip_if_current`, when they are the published build's, `current` says so and
        the shadow is not prepared — the caller runs no dbt and publishes nothing.
        `keys`: the incremental tables' key columns (`incremental_keys`): those are caught up from the
        bases the previous publish kept instead of copied, and this publish keeps bases for the next
        build (pantao/wap_bases.py)."""
        self.database_url = database_url
        self.copy_tables = copy_tables
        self.rebuilt = frozenset(rebuilt)
        self.inputs = inputs
        self.skip_if_current = skip_if_current
        self.current: str | None = None
        self.reason: str | None = None  # why a build with `inputs` runs
        self._check: build_inputs.Check | None = None
        self.seconds: dict[str, float] = {}
        self.keys = dict(keys or {})
        self.tables_copied = 0
        self.caught_up: list[str] = []  # tables caught up from their bases instead of copied
        self.based: list[str] = []  # tables given a base (a copy) after the publish
        self.published = False
        self._conn: psycopg.Connection | None = None

    def _lock(self) -> None:
        """Take the build lock, waiting in line behind a build that holds it (up to BUILD_LOCK_WAIT_SECONDS)."""
        import psycopg

        conn = self._conn
        if conn.execute("select pg_try_advisory_lock(%s)", (BUILD_LOCK_KEY,)).fetchone()[0]:
            return
        log.info("another dbt build is writing the shadow schemas; waiting for it to finish")
        try:
            conn.execute(f"set lock_timeout = '{BUILD_LOCK_WAIT_SECONDS}s'")
            conn.execute("select pg_advisory_lock(%s)", (BUILD_LOCK_KEY,))
        except psycopg.errors.LockNotAvailable:
            raise BuildInProgress(
                f"another dbt build has been writing the shadow schemas (marts__build, ...) for over "
                f"{BUILD_LOCK_WAIT_SECONDS // 60} minutes; see `pantao stack status` and the Dagster UI, "
                f"and run again when it has finished") from None
        finally:
            conn.execute("reset lock_timeout")

    def __enter__(self) -> ShadowBuild:
        self._conn = connect(self.database_url, autocommit=True)
        try:
            self._lock()
            orphans = end_orphaned_sessions(self._conn)
            if orphans:
                log.warning("ended %d dbt session(s) of an earlier build whose process is gone", orphans)
            if self.inputs is not None:
                self._check = build_inputs.check(self._conn, self.inputs, SHADOWED_SCHEMAS)
                if self.skip_if_current and self._check.current:
                    self.current = self._check.current
                    log.info("the published build is current, no dbt run: %s", self.current)
                    return self
                self.reason = self._check.reason or "asked to build whatever the inputs"
                log.info("building: %s", self.reason)
            started = time.monotonic()
            self.tables_copied = prepare_shadow(self._conn, copy_tables=self.copy_tables, skip=self.rebuilt,
                                                database_url=self.database_url, connections=COPY_CONNECTIONS,
                                                keys=self.keys, caught_up=self.caught_up)
            self.seconds["prepare"] = time.monotonic() - started
        except BaseException:
            self._conn.close()
            raise
        return self

    def missing_views(self) -> list[str]:
        assert self._conn is not None, "missing_views() outside the with block"
        return missing_views(self._conn)

    def publish(self) -> None:
        assert self._conn is not None, "publish() outside the with block"
        assert self.current is None, "publish() of a build skipped as current"
        started = time.monotonic()
        publish(self._conn, also=lambda conn: build_inputs.record(conn, self._check, SHADOWED_SCHEMAS))
        self.seconds["publish"] = time.monotonic() - started
        self.published = True
        log.info("published the build: %d table(s) copied and %d caught up in %.1f s, swapped in %.2f s",
                 self.tables_copied, len(self.caught_up), self.seconds["prepare"], self.seconds["publish"])
        if self.keys:
            self._keep_bases()

    def _keep_bases(self) -> None:
        """Readers have the new build; copy a base for each incremental table that has none (a
        full build's), over two sessions like the shadow's copy. A copy that fails costs nothing
        but the next build's catch-up: that table is copied then, as it would have been."""
        started = time.monotonic()
        keys = self.keys
        try:
            with self._conn.transaction():
                todo = wap_bases.untracked(self._conn, keys)
            _copy_in_parallel(self.database_url, todo, COPY_CONNECTIONS,
                              lambda session, live, table, oid: wap_bases.make_base(
                                  session, live, table, oid, keys[(live, table)], _COPY_TABLE))
        except Exception as exc:  # noqa: BLE001 - the build is published; only the next one's shortcut is lost
            log.warning("could not keep the bases of this build's incremental tables (the next build copies "
                        "them instead): %s", exc)
            return
        self.based = [f"{live}.{table}" for _, live, table, _ in todo]
        self.seconds["base"] = time.monotonic() - started
        if self.based:
            log.info("kept a copy of %d incremental table(s) for the next build to catch up in %.1f s",
                     len(self.based), self.seconds["base"])

    def __exit__(self, *exc_info: object) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()  # ends the session, which releases the build lock
        if not self.published and self.current is None:
            log.warning("the dbt build did not publish: readers keep the last published build")
