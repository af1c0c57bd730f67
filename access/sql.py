"""DDL of the access schema: roles, tables, the caller-scope view and the user-administration functions.

User administration runs inside the database as SECURITY DEFINER functions owned by
`crm_user_admin` (NOLOGIN, CREATEROLE). That way an administrator needs no CREATEROLE of their
own, any SQL client can manage users the same way the CLI does, and the audit row is written by
the same function that makes the change (administrators cannot write or edit the audit log).

The SQL works on PostgreSQL 14 to 18: nothing here needs 16's role-grant options or
`createrole_self_grant` (see access/migrate.py for the one grant that differs by version, and
docs/access.md for what CREATEROLE means before 16).
"""

from __future__ import annotations

from pantao.domain import GROUP_ROLES

REPORTING_OWNER = "crm_reporting_owner"
USER_ADMIN = "crm_user_admin"
SERVICE_ROLES = (REPORTING_OWNER, USER_ADMIN)
# Names a login may not take: ours, the superuser's, and the words SQL reads as something else
# (`grant x to current_role`, `... to public`), which confuse every script that forgets quotes.
SQL_ROLE_WORDS = ("public", "none", "all", "user", "current_user", "current_role", "session_user", "system_user")
RESERVED_NAMES = (*GROUP_ROLES, *SERVICE_ROLES, "postgres", *SQL_ROLE_WORDS)

# Schemas no one but administrators (marts) and the pipeline may read.
CLOSED_SCHEMAS = ("raw", "staging", "intermediate", "marts", "reports", "ops")

_ROLE_LIST = ", ".join(f"'{r}'" for r in GROUP_ROLES)

TABLES = f"""
create table if not exists access.users (
    username           text primary key,
    role               text not null check (role in ({_ROLE_LIST})),
    operator_extension text,
    restaurant_ids     int[],
    telegram_id        bigint unique,
    created_at         timestamptz not null default now(),
    created_by         text not null default session_user
);
comment on table access.users is
    'People who may read the data: one row per PostgreSQL login. Written only by the access.*_user functions.';

create table if not exists access.audit_log (
    id      bigint generated always as identity primary key,
    at      timestamptz not null default clock_timestamp(),
    actor   text not null default session_user,
    action  text not null,
    target  text,
    details jsonb not null default '{{}}'::jsonb
);
comment on table access.audit_log is 'Every change to users and their scopes: who (actor), what (action, target, details), when (at).';

create table if not exists access.role_limits (
    role                      text primary key check (role in ({_ROLE_LIST})),
    statement_timeout_seconds integer not null check (statement_timeout_seconds between 0 and 86400),
    connection_limit          integer not null check (connection_limit >= -1)
);
comment on table access.role_limits is
    'Per group role: statement_timeout (seconds, 0 = none) and CONNECTION LIMIT (-1 = none) set on each of its logins. Written by pantao prepare from ROLE_STATEMENT_TIMEOUT_SECONDS / ROLE_CONNECTION_LIMIT.';

create table if not exists access.install_secret (
    name   text primary key,
    secret bytea not null
);
comment on table access.install_secret is
    'Per-install secrets (the salt of reporting customer keys). Readable only by the reporting views'' owner.';
"""

# One row: the calling role's scope. current_user is evaluated as the caller even inside views.
VIEWER = """
create or replace view access.viewer as
select
    r.rolname::text as username,
    coalesce(u.role, case when r.rolsuper then 'crm_admin' end) as role,
    u.operator_extension,
    case when u.role = 'crm_manager' and coalesce(cardinality(u.restaurant_ids), 0) > 0
         then u.restaurant_ids end as restaurant_scope
from pg_catalog.pg_roles r
left join access.users u on u.username = r.rolname::text
where r.rolname = current_user;
comment on view access.viewer is
    'The calling role''s scope (role, operator extension, restaurants), read by the reporting views'' row filters. Superusers count as crm_admin; roles not in access.users see nothing.';
"""

_FUNCTION_HEADER = (
    "language plpgsql security definer "
    "set search_path = pg_catalog, pg_temp "
)

FUNCTIONS = f"""
create or replace function access._check_username(p_username text) returns void
language plpgsql immutable set search_path = pg_catalog, pg_temp as $$
begin
    if p_username is null or p_username !~ '^[a-z_][a-z0-9_]{{0,62}}$' then
        raise exception 'invalid user name %: use 1-63 lowercase letters, digits or underscores, starting with a letter or underscore',
            coalesce(quote_literal(p_username), 'null') using errcode = '22023';
    end if;
    if p_username like 'pg\\_%' or p_username = any(array[{", ".join(f"'{n}'" for n in RESERVED_NAMES)}]) then
        raise exception 'user name % is reserved; pick another one', p_username using errcode = '22023';
    end if;
end $$;

-- A SCRAM-SHA-256 verifier as PostgreSQL stores it and libpq's PQencryptPasswordConn makes it:
-- SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, base64 fields, 32-byte keys.
-- Anything else would be taken by CREATE ROLE ... PASSWORD as a clear-text password.
create or replace function access._check_verifier(p_verifier text) returns void
language plpgsql immutable set search_path = pg_catalog, pg_temp as $$
declare
    parts text[];
    valid boolean := false;
begin
    parts := regexp_match(coalesce(p_verifier, ''),
        '^SCRAM-SHA-256\\$([0-9]{{1,9}}):([A-Za-z0-9+/]+={{0,2}})\\$([A-Za-z0-9+/]+={{0,2}}):([A-Za-z0-9+/]+={{0,2}})$');
    if parts is not null then
        begin
            valid := parts[1]::int >= 4096
                 and length(decode(parts[2], 'base64')) >= 16
                 and length(decode(parts[3], 'base64')) = 32
                 and length(decode(parts[4], 'base64')) = 32;
        exception when others then
            valid := false;  -- not base64 after all
        end;
    end if;
    if not valid then
        -- never echo the value: it is a password or the next thing to one
        raise exception 'the password must arrive as a SCRAM-SHA-256 verifier (SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, at least 4096 iterations, as libpq''s PQencryptPasswordConn makes it), never in clear text; the pantao CLI computes it'
            using errcode = '22023';
    end if;
end $$;

create or replace function access._check_scope(p_role text, p_operator_extension text, p_restaurant_ids int[])
returns void language plpgsql immutable set search_path = pg_catalog, pg_temp as $$
begin
    if p_role is null or p_role <> all(array[{_ROLE_LIST}]) then
        raise exception 'invalid role %: use one of {", ".join(GROUP_ROLES)}', coalesce(quote_literal(p_role), 'null')
            using errcode = '22023';
    end if;
    if p_operator_extension is not null and p_operator_extension !~ '^[0-9]{{1,10}}$' then
        raise exception 'invalid operator extension %: use the PBX extension digits, e.g. 101', quote_literal(p_operator_extension)
            using errcode = '22023';
    end if;
    if p_role = 'crm_operator' and p_operator_extension is null then
        raise exception 'an operator needs their PBX extension (--operator EXT): it decides which rows they see'
            using errcode = '22023';
    end if;
    if coalesce(cardinality(p_restaurant_ids), 0) > 0 then
        if p_role <> 'crm_manager' then
            raise exception 'restaurants limit only managers (role crm_manager), not %', p_role using errcode = '22023';
        end if;
        if exists (select 1 from unnest(p_restaurant_ids) id where id is null or id < 1) then
            raise exception 'restaurant ids must be positive integers, got %', p_restaurant_ids using errcode = '22023';
        end if;
    end if;
end $$;

create or replace function access._audit(p_action text, p_target text, p_details jsonb) returns void
language sql security definer set search_path = pg_catalog, pg_temp as $$
    insert into access.audit_log (actor, action, target, details) values (session_user, p_action, p_target, p_details);
$$;

create or replace function access._require_user(p_username text) returns access.users
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    rec access.users;
begin
    perform access._check_username(p_username);
    select * into rec from access.users where username = p_username;
    if rec.username is null then
        raise exception 'no user %: see `pantao users list`', p_username using errcode = '42704';
    end if;
    return rec;
end $$;

-- statement_timeout and CONNECTION LIMIT of the user's group role, set on the login itself:
-- PostgreSQL applies both per login role, never through group membership.
create or replace function access._apply_limits(p_username text) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    lim access.role_limits;
begin
    select l.* into lim from access.users u join access.role_limits l on l.role = u.role where u.username = p_username;
    if lim.role is null then
        raise exception 'no limits recorded for the role of user %: run `pantao prepare`', p_username
            using errcode = '55000';
    end if;
    execute format('alter role %I connection limit %s', p_username, lim.connection_limit);
    if lim.statement_timeout_seconds = 0 then
        execute format('alter role %I reset statement_timeout', p_username);
    else
        execute format('alter role %I set statement_timeout = %L', p_username, lim.statement_timeout_seconds || 's');
    end if;
end $$;

create or replace function access.add_user(
    p_username text, p_role text, p_password_verifier text,
    p_operator_extension text default null, p_restaurant_ids int[] default null, p_telegram_id bigint default null
) returns void {_FUNCTION_HEADER} as $$
begin
    perform access._check_username(p_username);
    perform access._check_scope(p_role, p_operator_extension, p_restaurant_ids);
    if exists (select 1 from pg_roles where rolname = p_username) then
        raise exception 'a PostgreSQL role named % already exists; pick another name or remove it first', p_username
            using errcode = '42710';
    end if;
    perform access._check_verifier(p_password_verifier);
    if p_telegram_id is not null and exists (select 1 from access.users where telegram_id = p_telegram_id) then
        raise exception 'telegram id % already belongs to user %', p_telegram_id,
            (select username from access.users where telegram_id = p_telegram_id) using errcode = '23505';
    end if;
    begin
        execute format('create role %I login password %L', p_username, p_password_verifier);
    exception when others then
        -- Raised afresh so the error's CONTEXT does not quote the statement, and with it the
        -- verifier, into the server log and the caller's error.
        raise exception 'could not create login %: %', p_username, sqlerrm using errcode = sqlstate;
    end;
    execute format('grant %I to %I', p_role, p_username);
    insert into access.users (username, role, operator_extension, restaurant_ids, telegram_id, created_by)
    values (p_username, p_role, p_operator_extension, nullif(p_restaurant_ids, '{{}}'), p_telegram_id, session_user);
    perform access._apply_limits(p_username);
    perform access._audit('user_added', p_username, jsonb_build_object(
        'role', p_role, 'operator_extension', p_operator_extension,
        'restaurant_ids', nullif(p_restaurant_ids, '{{}}'), 'telegram_id', p_telegram_id));
end $$;

create or replace function access.remove_user(p_username text) returns integer
{_FUNCTION_HEADER} as $$
declare
    old access.users;
    grp text;
    ended integer;
begin
    old := access._require_user(p_username);
    if p_username = session_user then
        raise exception 'you cannot remove yourself (%); ask another administrator', p_username using errcode = '42501';
    end if;
    -- Close the door first: no new logins, no group privileges for sessions still open.
    execute format('alter role %I nologin', p_username);
    for grp in
        select g.rolname from pg_auth_members m
        join pg_roles g on g.oid = m.roleid join pg_roles u on u.oid = m.member
        where u.rolname = p_username
    loop
        execute format('revoke %I from %I', grp, p_username);
    end loop;
    select count(*) filter (where t) into ended from (
        select pg_terminate_backend(pid, 5000) as t from pg_stat_activity
        where usename = p_username and pid <> pg_backend_pid()
    ) s;
    -- REASSIGN / DROP OWNED need the privileges of the role being removed: take them for this
    -- last step (PostgreSQL 16+: as the role's creator we hold ADMIN on it; before 16: CREATEROLE).
    if not pg_has_role(current_user, p_username, 'USAGE') then
        execute format('grant %I to %I', p_username, current_user);
    end if;
    execute format('reassign owned by %I to %I', p_username, current_user);
    execute format('drop owned by %I', p_username);
    execute format('drop role %I', p_username);
    delete from access.users where username = p_username;
    perform access._audit('user_removed', p_username, jsonb_build_object(
        'role', old.role, 'sessions_terminated', ended));
    return ended;
end $$;

create or replace function access.set_user_role(p_username text, p_role text) returns void
{_FUNCTION_HEADER} as $$
declare
    old access.users;
begin
    old := access._require_user(p_username);
    perform access._check_scope(p_role, old.operator_extension,
        case when p_role = 'crm_manager' then old.restaurant_ids end);
    if old.role = p_role then
        return;
    end if;
    execute format('revoke %I from %I', old.role, p_username);
    execute format('grant %I to %I', p_role, p_username);
    update access.users
       set role = p_role, restaurant_ids = case when p_role = 'crm_manager' then restaurant_ids end
     where username = p_username;
    perform access._apply_limits(p_username);
    perform access._audit('role_changed', p_username, jsonb_build_object('from', old.role, 'to', p_role));
end $$;

create or replace function access.set_user_scope(p_username text, p_changes jsonb) returns void
{_FUNCTION_HEADER} as $$
declare
    old access.users;
    new_extension text;
    new_restaurants int[];
    new_telegram bigint;
    unknown text;
begin
    old := access._require_user(p_username);
    select string_agg(k, ', ') into unknown from jsonb_object_keys(p_changes) k
     where k not in ('operator_extension', 'restaurant_ids', 'telegram_id');
    if unknown is not null then
        raise exception 'unknown scope field(s) %: use operator_extension, restaurant_ids, telegram_id', unknown
            using errcode = '22023';
    end if;
    new_extension := case when p_changes ? 'operator_extension' then p_changes ->> 'operator_extension'
                          else old.operator_extension end;
    new_restaurants := case when p_changes ? 'restaurant_ids' then
                                nullif(array(select jsonb_array_elements_text(coalesce(nullif(p_changes -> 'restaurant_ids', 'null'), '[]'))::int), '{{}}')
                            else old.restaurant_ids end;
    new_telegram := case when p_changes ? 'telegram_id' then (p_changes ->> 'telegram_id')::bigint
                         else old.telegram_id end;
    perform access._check_scope(old.role, new_extension, new_restaurants);
    if new_telegram is not null and exists (
        select 1 from access.users where telegram_id = new_telegram and username <> p_username) then
        raise exception 'telegram id % already belongs to user %', new_telegram,
            (select username from access.users where telegram_id = new_telegram) using errcode = '23505';
    end if;
    update access.users
       set operator_extension = new_extension, restaurant_ids = new_restaurants, telegram_id = new_telegram
     where username = p_username;
    perform access._audit('scope_changed', p_username, jsonb_build_object(
        'from', jsonb_build_object('operator_extension', old.operator_extension,
                                   'restaurant_ids', old.restaurant_ids, 'telegram_id', old.telegram_id),
        'to', jsonb_build_object('operator_extension', new_extension,
                                 'restaurant_ids', new_restaurants, 'telegram_id', new_telegram)));
end $$;
"""

PUBLIC_FUNCTIONS = (
    "access.add_user(text, text, text, text, int[], bigint)",
    "access.remove_user(text)",
    "access.set_user_role(text, text)",
    "access.set_user_scope(text, jsonb)",
)
INTERNAL_FUNCTIONS = (
    "access._check_username(text)",
    "access._check_verifier(text)",
    "access._apply_limits(text)",
    "access._check_scope(text, text, int[])",
    "access._audit(text, text, jsonb)",
    "access._require_user(text)",
)
