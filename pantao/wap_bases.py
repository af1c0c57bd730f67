"""Bases: the previous build's incremental tables kept, so the next build catches them up instead of
copying every live table into the shadow (issue #15).

Write–audit–publish (pantao/wap.py) gives each build shadow copies of the live tables: at a
year of a 30-restaurant chain that copy was 33–40 s of every hourly run, most of it rows no run
had touched. A publish leaves the previous live tables behind in `<schema>__old`; for the
incremental models (a `unique_key` in dbt's manifest) this module keeps them, as `<schema>__base`,
and notes which keys every statement writes into the tables that replaced them. The next build
brings each base up to date with those keys alone (delete them, insert the live rows that have
them) and moves it into the shadow: the same rows as a copy, for the cost of what changed.

How the keys are noted: a pair row in `pantao_wap.pairs` says "base `base_oid` held exactly the
rows of `tracked_oid` when the pair was made, and every statement since that wrote `tracked_oid`
noted the keys it touched in `pantao_wap.keys_<tracked_oid>`". Four statement-level triggers on
the tracked table note them (the old and new rows' keys, from transition tables), whoever writes
— dbt's delete+insert, a hook's `update`, a hand-run `delete`. A catch-up is exact for any set of
key columns: every row a statement wrote has its key noted, and the base is rewritten for every
noted key. A pair is made when a shadow table is prepared (its base is the live table it was
prepared from) and, after a publish, for each published incremental table that has none (a full
build's new tables: their base is a copy made then, so the next incremental run need not).

A base is used only when nothing can have escaped the notes; otherwise the table is copied, as
before: the pair exists (a `truncate` of either table, a dropped keys table, or a write to the base
ends it), the base is `<schema>__base.<same name>`, both tables have the same columns, indexes
and constraints, the tracked table's triggers are in place and enabled, no noted key is null, and
the keys are fewer than `MAX_CHANGED_SHARE` of the table's rows (beyond that a copy is cheaper).
What cannot be seen: a write made with triggers disabled (`session_replication_role = replica`,
`alter table … disable trigger`), as by a restore; after one, run a build with `--full-refresh`.

Bases live in schemas nobody but their owner can use; `pantao_wap` likewise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

SCHEMA = "pantao_wap"
BASE_SUFFIX = "__base"
# A base caught up by more keys than this share of the table's rows is replaced by a copy.
MAX_CHANGED_SHARE = 0.3
TRIGGER_PREFIX = "pantao_wap_note_"
# (suffix, event, transition tables)
_TRIGGERS = (
    ("insert", "insert", "referencing new table as new_rows"),
    ("update", "update", "referencing old table as old_rows new table as new_rows"),
    ("delete", "delete", "referencing old table as old_rows"),
    ("truncate", "truncate", ""),
)

_SCHEMA_DDL = f"""
create schema {SCHEMA};
revoke all on schema {SCHEMA} from public;
comment on schema {SCHEMA} is 'Write–audit–publish bookkeeping (pantao/wap_bases.py): which base holds which table''s rows, and the keys written since';
create table {SCHEMA}.pairs (
    tracked_oid oid primary key,
    base_oid oid not null unique,
    key_columns text[] not null,
    made_at timestamptz not null default now()
);
"""

_NOTE_KEYS_BODY = f"""
declare
    keys_table text := 'keys_' || TG_RELID::bigint;
begin
    -- a truncate cannot be caught up by keys; a missing keys table means the notes were dropped
    if TG_OP = 'TRUNCATE' or to_regclass('{SCHEMA}.' || quote_ident(keys_table)) is null then
        delete from {SCHEMA}.pairs where tracked_oid = TG_RELID or base_oid = TG_RELID;
        return null;
    end if;
    if TG_OP in ('INSERT', 'UPDATE') then
        execute format('insert into {SCHEMA}.%I select distinct %s from new_rows', keys_table, TG_ARGV[0]);
    end if;
    if TG_OP in ('UPDATE', 'DELETE') then
        execute format('insert into {SCHEMA}.%I select distinct %s from old_rows', keys_table, TG_ARGV[0]);
    end if;
    return null;
end
"""

_FUNCTION_DDL = f"""
create or replace function {SCHEMA}.note_keys() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $note${_NOTE_KEYS_BODY}$note$;
revoke all on function {SCHEMA}.note_keys() from public;
"""

# What must be equal for a base to stand in for a copy: columns (names, types, collations, not
# null, defaults), indexes and constraints (their definitions, not their names), the kind of table.
_SHAPE = """
select
  (select string_agg(format('%%s %%s %%s %%s %%s', a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                            a.attcollation, pg_get_expr(d.adbin, d.adrelid)), ', ' order by a.attnum)
   from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
   where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
  (select string_agg(definition, ', ' order by definition) from (
     select i.indisunique::text || substring(pg_get_indexdef(i.indexrelid)
                                             from position(' USING ' in pg_get_indexdef(i.indexrelid))) as definition
     from pg_index i where i.indrelid = c.oid) as indexes),
  (select string_agg(definition, ', ' order by definition) from (
     select con.contype::text || pg_get_constraintdef(con.oid) as definition
     from pg_constraint con where con.conrelid = c.oid) as constraints),
  c.relkind, c.relpersistence, c.relrowsecurity, c.relforcerowsecurity, c.reloptions::text
from pg_class c where c.oid = %s
"""

# The moved base takes on the live table's owner, comments and privileges.
_LIKE_LIVE = """
do $like$
declare
    r record;
begin
    execute format('alter table %I.%I owner to %I', {schema}, {table},
                   (select relowner::regrole::text from pg_class where oid = {live_oid}));
    execute format('comment on table %I.%I is %L', {schema}, {table}, obj_description({live_oid}, 'pg_class'));
    for r in
        select a.attname, col_description({live_oid}, a.attnum) as description
        from pg_attribute a where a.attrelid = {live_oid} and a.attnum > 0 and not a.attisdropped
    loop
        execute format('comment on column %I.%I.%I is %L', {schema}, {table}, r.attname, r.description);
    end loop;
    if (select relacl from pg_class where oid = {base_oid}) is distinct from
       (select relacl from pg_class where oid = {live_oid}) then
        for r in
            select distinct coalesce(ro.rolname, 'public') as grantee, ro.rolname is not null as named
            from pg_class c, aclexplode(c.relacl) a left join pg_roles ro on ro.oid = a.grantee
            where c.oid = {base_oid}
        loop
            execute format('revoke all on table %I.%I from ' || case when r.named then '%I' else '%s' end,
                           {schema}, {table}, r.grantee);
        end loop;
        for r in
            select a.privilege_type, coalesce(ro.rolname, 'public') as grantee, ro.rolname is not null as named
            from pg_class c, aclexplode(c.relacl) a left join pg_roles ro on ro.oid = a.grantee
            where c.oid = {live_oid}
        loop
            execute format('grant %s on table %I.%I to ' || case when r.named then '%I' else '%s' end,
                           r.privilege_type, {schema}, {table}, r.grantee);
        end loop;
    end if;
end
$like$
"""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(template: str, **values: object) -> psycopg.sql.Composed:
    from psycopg import sql

    return sql.SQL(template).format(**{name: sql.Literal(value) for name, value in values.items()})


def _keys_table(oid: int) -> str:
    return f"{SCHEMA}.{_ident(f'keys_{oid}')}"


def set_up(conn: psycopg.Connection) -> None:
    """The bookkeeping schema, table and trigger function, created when missing or different (the
    build lock's holder calls it; a build by another role than the one that created them needs no
    ownership of them)."""
    if conn.execute("select to_regnamespace(%s)", (SCHEMA,)).fetchone()[0] is None:
        conn.execute(_SCHEMA_DDL)
    body = conn.execute("select prosrc from pg_proc where oid = to_regprocedure(%s)",
                        (f"{SCHEMA}.note_keys()",)).fetchone()
    if body is None or body[0] != _NOTE_KEYS_BODY:
        conn.execute(_FUNCTION_DDL)


def _oid(conn: psycopg.Connection, schema: str, table: str) -> int | None:
    row = conn.execute("select to_regclass(%s)::oid", (f"{_ident(schema)}.{_ident(table)}",)).fetchone()
    return None if row[0] is None else int(row[0])


def _shape(conn: psycopg.Connection, oid: int) -> tuple:
    return tuple(conn.execute(_SHAPE, (oid,)).fetchone())


def _columns_exist(conn: psycopg.Connection, oid: int, columns: Sequence[str]) -> bool:
    found = {row[0] for row in conn.execute(
        "select attname from pg_attribute where attrelid = %s and attnum > 0 and not attisdropped", (oid,))}
    return bool(columns) and set(columns) <= found


def track(conn: psycopg.Connection, schema: str, table: str, base_oid: int, key_columns: Sequence[str]) -> bool:
    """Make `schema.table` tracked against `base_oid` (which holds exactly its rows now): an empty
    keys table, the triggers with these key columns, the pair. False when the columns are not its."""
    oid = _oid(conn, schema, table)
    if oid is None or not _columns_exist(conn, oid, key_columns):
        return False
    columns = ", ".join(_ident(column) for column in key_columns)
    conn.execute(f"delete from {SCHEMA}.pairs where tracked_oid = %s or base_oid = %s or tracked_oid = %s",
                 (oid, base_oid, base_oid))
    conn.execute(f"drop table if exists {_keys_table(oid)}")
    # the base's own notes, if it was tracked: without them a write to it ends this pair (the trigger)
    conn.execute(f"drop table if exists {_keys_table(base_oid)}")
    conn.execute(f"create table {_keys_table(oid)} as select {columns} from {_ident(schema)}.{_ident(table)} limit 0")
    _attach_triggers(conn, schema, table, key_columns)
    conn.execute(f"insert into {SCHEMA}.pairs (tracked_oid, base_oid, key_columns) values (%s, %s, %s)",
                 (oid, base_oid, list(key_columns)))
    return True


def _attach_triggers(conn: psycopg.Connection, schema: str, table: str, key_columns: Sequence[str]) -> None:
    """The four note-taking triggers on a table (replacing any). On a base, which has no keys table,
    they end its pair at its first write."""
    columns = ", ".join(_ident(column) for column in key_columns)
    relation = f"{_ident(schema)}.{_ident(table)}"
    for suffix, event, referencing in _TRIGGERS:
        name = _ident(TRIGGER_PREFIX + suffix)
        conn.execute(f"drop trigger if exists {name} on {relation}")
        conn.execute(_literal(f"create trigger {name} after {event} on {relation} {referencing} "
                              f"for each statement execute function {SCHEMA}.note_keys({{columns}})", columns=columns))


def _triggers_in_place(conn: psycopg.Connection, oid: int) -> bool:
    found = conn.execute(
        "select count(*) from pg_trigger where tgrelid = %s and tgname like %s and tgenabled = 'O'",
        (oid, TRIGGER_PREFIX + "%")).fetchone()[0]
    return found == len(_TRIGGERS)


def catch_up(conn: psycopg.Connection, live: str, table: str, shadow: str, key_columns: Sequence[str]) -> bool:
    """Bring `<live>__base.<table>` up to date with `<live>.<table>` by the keys noted since their pair
    was made, and move it into `shadow`, with the live table's owner, comments and privileges; it is
    then tracked (with `key_columns`) against the live table, its next base.
    False (and nothing done) when the base cannot stand in for a copy (see the module's docstring)."""
    base_schema = live + BASE_SUFFIX
    live_oid, base_oid = _oid(conn, live, table), _oid(conn, base_schema, table)
    if live_oid is None or base_oid is None:
        return False
    pair = conn.execute(f"select key_columns from {SCHEMA}.pairs where tracked_oid = %s and base_oid = %s",
                        (live_oid, base_oid)).fetchone()
    if pair is None or _oid(conn, SCHEMA, f"keys_{live_oid}") is None or not _triggers_in_place(conn, live_oid):
        return False
    noted = list(pair[0])
    if _shape(conn, live_oid) != _shape(conn, base_oid) or not _columns_exist(conn, live_oid, noted):
        return False
    columns = ", ".join(_ident(column) for column in noted)
    conn.execute("drop table if exists pantao_wap_changed")
    changed = conn.execute(f"create temp table pantao_wap_changed as select distinct {columns} "
                           f"from {_keys_table(live_oid)}").rowcount
    nulls = conn.execute("select count(*) from pantao_wap_changed where "
                         + " or ".join(f"{_ident(c)} is null" for c in noted)).fetchone()[0]
    rows = conn.execute("select greatest(reltuples, 0) from pg_class where oid = %s", (live_oid,)).fetchone()[0]
    if nulls or (changed > 1000 and changed > MAX_CHANGED_SHARE * rows):
        conn.execute("drop table pantao_wap_changed")
        return False
    if changed:
        conn.execute("analyze pantao_wap_changed")
        def on(side: str) -> str:
            return " and ".join(f"{side}.{_ident(c)} = k.{_ident(c)}" for c in noted)

        base, live_table = f"{_ident(base_schema)}.{_ident(table)}", f"{_ident(live)}.{_ident(table)}"
        conn.execute(f"delete from {base} as b using pantao_wap_changed as k where {on('b')}")
        conn.execute(f"insert into {base} select l.* from {live_table} as l join pantao_wap_changed as k on {on('l')}")
    conn.execute("drop table pantao_wap_changed")
    conn.execute(f"alter table {_ident(base_schema)}.{_ident(table)} set schema {_ident(shadow)}")
    conn.execute(_literal(_LIKE_LIVE, schema=shadow, table=table, live_oid=live_oid, base_oid=base_oid))
    # the notes that brought this base up to date are spent (track drops them); the live table
    # stays in place and becomes the new base: a write to it from now on ends the new pair
    track(conn, shadow, table, live_oid, key_columns)
    return True


def drop_bases(conn: psycopg.Connection, schemas: Iterable[str]) -> None:
    for schema in schemas:
        conn.execute(f"drop schema if exists {_ident(schema + BASE_SUFFIX)} cascade")


def forget_stale(conn: psycopg.Connection) -> None:
    """Pairs whose tables are gone, and keys tables nobody's pair uses."""
    conn.execute(f"delete from {SCHEMA}.pairs p where not exists (select from pg_class where oid = p.tracked_oid) "
                 f"or not exists (select from pg_class where oid = p.base_oid)")
    stale = conn.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        f"where n.nspname = %s and c.relname like 'keys\\_%%' and c.relkind = 'r' and not exists "
        f"(select from {SCHEMA}.pairs p where 'keys_' || p.tracked_oid::bigint = c.relname)", (SCHEMA,)).fetchall()
    for (name,) in stale:
        conn.execute(f"drop table {SCHEMA}.{_ident(name)}")


# Views outside the old build's schemas on a table: such a base is not kept (it is dropped with the
# old schema, and the view with it, as wap.publish warns), so no one's view ever reads a base.
_OUTSIDE_READERS = """
select count(*) from pg_depend d join pg_rewrite r on r.oid = d.objid join pg_class v on v.oid = r.ev_class
where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass and d.refobjid = %s
  and v.relnamespace::regnamespace::text <> all(%s)
"""


def _create_base_schema(conn: psycopg.Connection, base: str) -> None:
    conn.execute(f"create schema {_ident(base)}")
    conn.execute(f"revoke all on schema {_ident(base)} from public")
    conn.execute(f"comment on schema {_ident(base)} is 'The previous build''s incremental tables, caught up "
                 f"by the next build instead of a copy (pantao/wap_bases.py); not for reading'")


def keep_old(conn: psycopg.Connection, schemas: Sequence[str], old_suffix: str) -> int:
    """After a publish: move the tables of `<schema><old_suffix>` that are the base of a published
    table into `<schema>__base` (a schema only its owner uses), before the old schemas are dropped.
    Returns how many were kept."""
    kept = 0
    if conn.execute(f"select to_regclass('{SCHEMA}.pairs')").fetchone()[0] is None:
        return kept
    for live in schemas:
        old, base = live + old_suffix, live + BASE_SUFFIX
        rows = conn.execute(
            f"select b.oid, b.relname from {SCHEMA}.pairs p"
            " join pg_class b on b.oid = p.base_oid join pg_namespace bn on bn.oid = b.relnamespace"
            " join pg_class t on t.oid = p.tracked_oid join pg_namespace tn on tn.oid = t.relnamespace"
            " where bn.nspname = %s and tn.nspname = %s and t.relname = b.relname order by 2", (old, live)).fetchall()
        rows = [(oid, name) for oid, name in rows
                if conn.execute(_OUTSIDE_READERS, (oid, [s + old_suffix for s in schemas])).fetchone()[0] == 0]
        if not rows:
            continue
        conn.execute(f"drop schema if exists {_ident(base)} cascade")
        _create_base_schema(conn, base)
        for _oid_value, name in rows:
            conn.execute(f"alter table {_ident(old)}.{_ident(name)} set schema {_ident(base)}")
            kept += 1
    return kept


def untracked(conn: psycopg.Connection,
              keys: Mapping[tuple[str, str], Sequence[str]]) -> list[tuple[int, str, str, int]]:
    """After a publish: the published incremental tables without a pair (a full build's new tables,
    or ones whose base could not be used) as (oid, schema, table, size in bytes), with their
    `<schema>__base` schema ready and any stale table of their name there dropped. `make_base` each."""
    found = []
    for (live, table), key_columns in sorted(keys.items()):
        oid = _oid(conn, live, table)
        if oid is None or not _columns_exist(conn, oid, key_columns):
            continue
        base = live + BASE_SUFFIX
        has_pair = conn.execute(
            f"select exists (select from {SCHEMA}.pairs p join pg_class b on b.oid = p.base_oid"
            " join pg_namespace n on n.oid = b.relnamespace"
            " where p.tracked_oid = %s and n.nspname = %s and b.relname = %s)", (oid, base, table)).fetchone()[0]
        if has_pair:
            continue
        if conn.execute("select to_regnamespace(%s)", (_ident(base),)).fetchone()[0] is None:
            _create_base_schema(conn, base)
        elif _oid(conn, base, table) is not None:
            conn.execute(f"drop table {_ident(base)}.{_ident(table)} cascade")
        size = conn.execute("select pg_total_relation_size(%s)", (oid,)).fetchone()[0]
        found.append((oid, live, table, size))
    return found


def make_base(conn: psycopg.Connection, live: str, table: str, oid: int, key_columns: Sequence[str],
              copy_table: str) -> None:
    """Copy a live table into `<live>__base` and pair them (`copy_table`: wap's copy block, which
    takes live, shadow, table and oid), so the next build catches the copy up instead of copying."""
    base = live + BASE_SUFFIX
    conn.execute(_literal(copy_table, live=live, shadow=base, table=table, oid=oid))
    _attach_triggers(conn, base, table, key_columns)  # a write to the base ends the pair
    track(conn, live, table, _oid(conn, base, table), key_columns)
