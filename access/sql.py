"""DDL of the access schema: roles, tables, the caller-scope view and the user-administration functions.

User administration runs inside the database as SECURITY DEFINER functions owned by
`crm_user_admin` (NOLOGIN, CREATEROLE). That way an administrator needs no CREATEROLE of their
own, any SQL client can manage users the same way the CLI does, and the audit row is written by
the same function that makes the change (administrators cannot write or edit the audit log).

The SQL works on PostgreSQL 14 to 18: nothing here needs 16's role-grant options or
`createrole_self_grant` (see access/migrate.py for the one grant that differs by version, and
docs/access.md for what CREATEROLE means before 16). The argument checks these functions call
are in access/sql_checks.py.
"""

from __future__ import annotations

from pantao.domain import BI_LOGIN_PREFIX, BI_ROLES, GROUP_ROLES

REPORTING_OWNER = "crm_reporting_owner"
USER_ADMIN = "crm_user_admin"
SERVICE_ROLES = (REPORTING_OWNER, USER_ADMIN)
# Names a login may not take: ours, the superuser's, and the words SQL reads as something else
# (`grant x to current_role`, `... to public`), which confuse every script that forgets quotes.
SQL_ROLE_WORDS = ("public", "none", "all", "user", "current_user", "current_role", "session_user", "system_user")
RESERVED_NAMES = (*GROUP_ROLES, *SERVICE_ROLES, "postgres", *SQL_ROLE_WORDS)

# Schemas no one but administrators (marts) and the pipeline may read.
CLOSED_SCHEMAS = ("raw", "staging", "intermediate", "marts", "reports", "ops")

ROLE_LIST = ", ".join(f"'{r}'" for r in GROUP_ROLES)
_BI_ROLE_LIST = ", ".join(f"'{r}'" for r in BI_ROLES)

TABLES = f"""
create table if not exists access.users (
    username           text primary key,
    role               text not null check (role in ({ROLE_LIST})),
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
    role                      text primary key check (role in ({ROLE_LIST})),
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
    login text;
begin
    select l.* into lim from access.users u join access.role_limits l on l.role = u.role where u.username = p_username;
    if lim.role is null then
        raise exception 'no limits recorded for the role of user %: run `pantao prepare`', p_username
            using errcode = '55000';
    end if;
    -- the person's login and, if they have one, the BI login Superset connects as on their behalf
    foreach login in array array[p_username, '{BI_LOGIN_PREFIX}' || p_username] loop
        continue when not exists (select 1 from pg_roles where rolname = login);
        execute format('alter role %I connection limit %s', login, lim.connection_limit);
        if lim.statement_timeout_seconds = 0 then
            execute format('alter role %I reset statement_timeout', login);
        else
            execute format('alter role %I set statement_timeout = %L', login, lim.statement_timeout_seconds || 's');
        end if;
    end loop;
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

-- A person's BI login ('{BI_LOGIN_PREFIX}' || name): what Superset connects as on their behalf, with
-- `-c role=<name>` at connect time. It holds nothing itself and may act as that one person only,
-- so whatever Superset runs for them sees exactly what their own login sees; RESET ROLE returns
-- to the person, SET ROLE NONE to a role that may read nothing (docs/access.md).
create or replace function access.set_bi_login(p_username text, p_password_verifier text) returns text
{_FUNCTION_HEADER} as $$
declare
    rec access.users;
    login text := '{BI_LOGIN_PREFIX}' || p_username;
begin
    rec := access._require_user(p_username);
    if rec.role <> all(array[{_BI_ROLE_LIST}]) then
        raise exception 'user % is %, and only {", ".join(BI_ROLES)} get a BI account', p_username, rec.role
            using errcode = '22023';
    end if;
    if length(login) > 63 then
        raise exception 'user name % is too long for a BI login (at most {63 - len(BI_LOGIN_PREFIX)} characters)', p_username
            using errcode = '22023';
    end if;
    perform access._check_verifier(p_password_verifier);
    begin
        if exists (select 1 from pg_roles where rolname = login) then
            execute format('alter role %I login noinherit password %L', login, p_password_verifier);
        else
            execute format('create role %I login noinherit password %L', login, p_password_verifier);
            perform access._audit('bi_login_added', p_username, jsonb_build_object('login', login));
        end if;
    exception when others then
        -- raised afresh so the error's CONTEXT does not quote the verifier (see add_user)
        raise exception 'could not set BI login %: %', login, sqlerrm using errcode = sqlstate;
    end;
    -- A NOINHERIT member takes none of the person's privileges and may SET ROLE to them: on 16+
    -- a plain grant's INHERIT option follows the member's NOINHERIT, before 16 the attribute rules.
    if not exists (select 1 from pg_auth_members m where m.roleid = to_regrole(quote_ident(p_username))
                   and m.member = to_regrole(quote_ident(login))) then
        execute format('grant %I to %I', p_username, login);
    end if;
    perform access._apply_limits(p_username);
    return login;
end $$;

create or replace function access._drop_bi_login(p_username text) returns integer
{_FUNCTION_HEADER} as $$
declare
    login text := '{BI_LOGIN_PREFIX}' || p_username;
    ended integer;
begin
    if not exists (select 1 from pg_roles where rolname = login) then
        return 0;
    end if;
    execute format('alter role %I nologin', login);
    select count(*) filter (where t) into ended from (
        select pg_terminate_backend(pid, 5000) as t from pg_stat_activity where usename = login
    ) s;
    execute format('drop role %I', login);
    perform access._audit('bi_login_removed', p_username, jsonb_build_object('login', login, 'sessions_terminated', ended));
    return ended;
end $$;

create or replace function access.drop_bi_login(p_username text) returns integer
{_FUNCTION_HEADER} as $$
begin
    perform access._require_user(p_username);
    return access._drop_bi_login(p_username);
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
    perform access._drop_bi_login(p_username);
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
    if p_role <> all(array[{_BI_ROLE_LIST}]) then
        perform access._drop_bi_login(p_username);
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
    "access.set_bi_login(text, text)",
    "access.drop_bi_login(text)",
)
INTERNAL_FUNCTIONS = (
    "access._apply_limits(text)",
    "access._audit(text, text, jsonb)",
    "access._require_user(text)",
    "access._drop_bi_login(text)",
)
