"""Creating the roles and the access schema (users, audit log, caller scope); idempotent.

`ensure_access_schema` runs in `pantao prepare`, before any mart exists, with a superuser
connection (the pipeline's DSN). The `reporting` views themselves are dbt models
(dbt_project/models/reporting/): dbt builds them after the marts, with their owner, grants,
comments and the reporting schema's privileges (docs/access.md).
"""

from __future__ import annotations

import logging
import secrets

import psycopg
from psycopg import sql

from access import sql as ddl
from access import sql_checks as checks
from pantao.db import connect
from pantao.domain import GROUP_ROLES
from pantao.settings import Settings

log = logging.getLogger(__name__)

MIN_SERVER_VERSION = 140000
# From 16 a CREATEROLE role may grant only roles it holds ADMIN OPTION on (and 16 added the
# INHERIT / SET grant options that keep that ADMIN from carrying privileges). Before 16, CREATEROLE
# grants any non-superuser role by itself, so the user admin holds no group role at all there.
ADMIN_OPTION_VERSION = 160000
# Transaction-level advisory lock (per database) that serialises access setup with the reporting
# views' builds (dbt's secure_view materialization and on-run-start take the same key, see
# dbt_project/macros/reporting/reporting_schema.sql): a `pantao prepare` overlapping a dbt build
# would otherwise deadlock (ALTER OWNER on access tables against CREATE VIEW reading them) or race
# on CREATE SCHEMA.
SETUP_LOCK_KEY = 0x70616E74616F  # "pantao"


class AccessSetupError(RuntimeError):
    """The access schema could not be created; the message says why and what to do."""


# role -> attributes that must hold (pg_roles column -> value)
_ROLE_ATTRIBUTES = {
    "group": {"rolcanlogin": False, "rolsuper": False, "rolbypassrls": False},
    ddl.REPORTING_OWNER: {"rolcanlogin": False, "rolsuper": False, "rolbypassrls": False, "rolcreaterole": False},
    ddl.USER_ADMIN: {"rolcanlogin": False, "rolsuper": False, "rolbypassrls": False, "rolcreaterole": True},
}
_ATTRIBUTE_SQL = {"rolcanlogin": "login", "rolsuper": "superuser", "rolbypassrls": "bypassrls",
                  "rolcreaterole": "createrole"}


def _ensure_role(conn: psycopg.Connection, name: str, attributes: dict[str, bool]) -> None:
    """Create a cluster-wide role once and correct drifted attributes; write the catalog only when needed.

    Roles are shared by every database of the server, so another database's prepare may create
    the same role at the same moment: that race is tolerated.
    """
    wanted = " ".join(("" if on else "no") + _ATTRIBUTE_SQL[a] for a, on in attributes.items())
    row = conn.execute(
        "select " + ", ".join(attributes) + " from pg_roles where rolname = %s", (name,)).fetchone()
    if row is None:
        conn.execute(sql.SQL(
            "do $$ begin create role {ident} " + wanted + "; "
            "exception when duplicate_object or unique_violation then null; end $$"
        ).format(ident=sql.Identifier(name)))
    elif tuple(row) != tuple(attributes.values()):
        conn.execute(sql.SQL("alter role {} " + wanted).format(sql.Identifier(name)))


def _ensure_membership(conn: psycopg.Connection, role: str, member: str, options: str) -> None:
    granted = conn.execute(
        "select 1 from pg_auth_members m join pg_roles r on r.oid = m.roleid join pg_roles u on u.oid = m.member "
        "where r.rolname = %s and u.rolname = %s", (role, member)).fetchone()
    if not granted:
        conn.execute(sql.SQL("grant {} to {} " + options).format(sql.Identifier(role), sql.Identifier(member)))


def _serialize(conn: psycopg.Connection) -> None:
    """Wait for any other access setup in this database to commit; released with this transaction."""
    conn.execute("select pg_advisory_xact_lock(%s)", (SETUP_LOCK_KEY,))


def _check_server(conn: psycopg.Connection) -> None:
    version = conn.info.server_version
    if version < MIN_SERVER_VERSION:
        raise AccessSetupError(
            f"PostgreSQL {version // 10000} is too old for the access layer: it needs 14 or newer "
            "(scram-sha-256 by default, predefined roles, DROP DATABASE ... WITH (FORCE)). Upgrade the server."
        )
    is_super = conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()[0]
    if not is_super:
        raise AccessSetupError(
            f"{conn.info.user!r} is not a superuser: roles, grants and the access schema must be created by one. "
            "Run `pantao prepare` with the database owner's superuser DSN."
        )


def _create_roles(conn: psycopg.Connection) -> None:
    for group in GROUP_ROLES:
        _ensure_role(conn, group, _ROLE_ATTRIBUTES["group"])
    _ensure_role(conn, ddl.REPORTING_OWNER, _ROLE_ATTRIBUTES[ddl.REPORTING_OWNER])
    _ensure_role(conn, ddl.USER_ADMIN, _ROLE_ATTRIBUTES[ddl.USER_ADMIN])
    if conn.info.server_version >= ADMIN_OPTION_VERSION:
        for group in GROUP_ROLES:
            _ensure_membership(conn, group, ddl.USER_ADMIN, "with admin true, inherit false, set false")
    _ensure_membership(conn, "pg_signal_backend", ddl.USER_ADMIN, "")
    for service in ddl.SERVICE_ROLES:
        _evict_members(conn, service)


def _evict_members(conn: psycopg.Connection, role: str) -> None:
    """No login may hold a service role: its holder could act as it (and before PostgreSQL 16,
    CREATEROLE can grant itself pg_execute_server_program, i.e. run programs on the server)."""
    query = ("select u.rolname from pg_auth_members m join pg_roles r on r.oid = m.roleid "
             "join pg_roles u on u.oid = m.member where r.rolname = %s")
    for (member,) in conn.execute(query, (role,)).fetchall():
        log.warning("revoking %s from %s: no role may hold a service role (docs/access.md)", role, member)
        conn.execute(sql.SQL("revoke {} from {} cascade").format(sql.Identifier(role), sql.Identifier(member)))
    left = [member for (member,) in conn.execute(query, (role,)).fetchall()]
    if left:
        raise AccessSetupError(
            f"{', '.join(left)} still hold(s) the service role {role} (granted by a role other than this "
            f"superuser): revoke it as its grantor (`revoke {role} from ... granted by ...`), then prepare again")


# The server-side large-object functions: with EXECUTE, any login could store data in the database
# outside every table and grant (lo_create, lowrite, lo_from_bytea ...). No part of pantao uses them.
_LARGE_OBJECT_FUNCTIONS = """
select p.oid::regprocedure::text from pg_proc p
where p.pronamespace = 'pg_catalog'::regnamespace
  and (p.proname like 'lo\\_%' or p.proname in ('loread', 'lowrite'))
  and has_function_privilege('public', p.oid, 'execute')
"""


def _close_large_objects(conn: psycopg.Connection) -> None:
    for (signature,) in conn.execute(_LARGE_OBJECT_FUNCTIONS).fetchall():
        conn.execute(sql.SQL("revoke execute on function " + signature + " from public"))  # type: ignore[arg-type]


def _apply_role_limits(conn: psycopg.Connection, settings: Settings) -> None:
    """Record the per-role limits from the settings and set them on every existing login."""
    timeouts, limits = dict(settings.role_statement_timeouts), dict(settings.role_connection_limits)
    for group in GROUP_ROLES:
        conn.execute(
            "insert into access.role_limits (role, statement_timeout_seconds, connection_limit) values (%s, %s, %s) "
            "on conflict (role) do update set statement_timeout_seconds = excluded.statement_timeout_seconds, "
            "connection_limit = excluded.connection_limit", (group, timeouts[group], limits[group]))
    logins = conn.execute("select u.username from access.users u join pg_roles r on r.rolname = u.username "
                          "order by u.username").fetchall()
    for (username,) in logins:
        try:
            with conn.transaction():
                conn.execute("select access._apply_limits(%s)", (username,))
        except psycopg.errors.InsufficientPrivilege as exc:
            # a login made outside `pantao users` (PostgreSQL 16+: crm_user_admin holds no ADMIN on it)
            log.warning("limits not set on login %s: %s; recreate it with `pantao users add`",
                        username, exc.diag.message_primary)


def _grant_access_schema(conn: psycopg.Connection) -> None:
    owner, reader = sql.Identifier(ddl.USER_ADMIN), sql.Identifier(ddl.REPORTING_OWNER)
    admin = sql.Identifier("crm_admin")
    statements = [
        "revoke all on schema access from public",
        "grant usage on schema access to {owner}, {reader}, {admin}",
        "alter table access.users owner to {owner}",
        "alter table access.audit_log owner to {owner}",
        "alter table access.install_secret owner to {owner}",
        "alter table access.role_limits owner to {owner}",
        "revoke all on access.users, access.audit_log, access.install_secret, access.role_limits from public",
        "grant select on access.users, access.install_secret to {reader}",
        "grant select on access.users, access.audit_log, access.role_limits to {admin}",
        "alter view access.viewer owner to {reader}",
        "revoke all on access.viewer from public",
    ]
    for statement in statements:
        conn.execute(sql.SQL(statement).format(owner=owner, reader=reader, admin=admin))
    for signature in (*ddl.PUBLIC_FUNCTIONS, *ddl.INTERNAL_FUNCTIONS, *checks.CHECK_FUNCTIONS):
        conn.execute(sql.SQL("alter function " + signature + " owner to {}").format(owner))
        conn.execute(sql.SQL("revoke all on function " + signature + " from public"))
    for signature in ddl.PUBLIC_FUNCTIONS:
        conn.execute(sql.SQL("grant execute on function " + signature + " to {}").format(admin))


def _close_schemas(conn: psycopg.Connection) -> None:
    """Only the reporting schema is open to managers, analysts and operators; administrators also read marts."""
    existing = {row[0] for row in conn.execute("select nspname from pg_namespace")}
    others = sql.SQL(", ").join([sql.SQL("public"), *(sql.Identifier(g) for g in GROUP_ROLES if g != "crm_admin")])
    for schema in ddl.CLOSED_SCHEMAS:
        if schema in existing:
            conn.execute(sql.SQL("revoke all on schema {} from {}").format(sql.Identifier(schema), others))
            conn.execute(sql.SQL("revoke all on all tables in schema {} from {}").format(sql.Identifier(schema), others))
    conn.execute("revoke create on schema public from public")


def ensure_access_schema(settings: Settings, database_url: str) -> None:
    """Group roles, the service roles, and the access schema (users, audit log, admin functions).

    Safe to run any number of times and before any mart exists.
    """
    with connect(database_url) as conn:
        _check_server(conn)
        _serialize(conn)
        _create_roles(conn)
        conn.execute("create schema if not exists access")
        conn.execute(ddl.TABLES)
        conn.execute(
            "insert into access.install_secret (name, secret) values ('customer_key_salt', %s) "
            "on conflict (name) do nothing",
            (secrets.token_bytes(32),),
        )
        conn.execute(ddl.VIEWER)
        conn.execute(checks.CHECKS)
        conn.execute(ddl.FUNCTIONS)
        _grant_access_schema(conn)
        _apply_role_limits(conn, settings)
        _close_schemas(conn)
        _close_large_objects(conn)
        # dbt sets the reporting schema's privileges on each build; it exists beforehand so that
        # concurrent first builds do not race on creating it
        conn.execute(sql.SQL("create schema if not exists reporting authorization {}").format(
            sql.Identifier(ddl.REPORTING_OWNER)))
        conn.execute(sql.SQL("grant connect on database {} to {}").format(
            sql.Identifier(conn.info.dbname), sql.SQL(", ").join(sql.Identifier(g) for g in GROUP_ROLES)))
    log.info("access schema and roles are in place")
