"""Attacks on the roles themselves (docs/access.md, "What is closed"), on PostgreSQL 18 and 15.

Each test is one attack of issue #17 that worked before: reserved role names, a fake SCRAM
verifier that became a clear-text password, a verifier quoted into the error and the server
log, unlimited connections and statements per login, large objects for everyone, a login able
to act as a service role and read the customer-key salt.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import psycopg
import pytest

from access import users as users_api
from access.migrate import ensure_access_schema
from access.users import AccessError
from pantao.settings import Settings
from tests.test_access_helpers import Users, fetch, login_dsn, mini_warehouse, unique_name

LOGINS = {
    "admin": ("crm_admin", {}),
    "analyst": ("crm_analyst", {}),
    "operator": ("crm_operator", {"operator_extension": "101"}),
}


@pytest.fixture(scope="module")
def warehouse(access_new_database, tmp_path_factory) -> Iterator[tuple[str, dict]]:
    with mini_warehouse(access_new_database, tmp_path_factory.mktemp("hardening"), LOGINS) as built:
        yield built


@pytest.fixture
def users(warehouse) -> Iterator[Users]:
    created = Users(warehouse[0])
    yield created
    created.cleanup()


def _verifier(url: str, user: str, password: str = "a-long-test-password") -> str:
    with psycopg.connect(url) as conn:
        return conn.pgconn.encrypt_password(password.encode(), user.encode(), b"scram-sha-256").decode()


def _b64(size: int) -> str:
    return base64.b64encode(bytes(range(size))).decode()


def _role_exists(url: str, name: str) -> bool:
    return fetch(url, "select count(*) from pg_roles where rolname = %s", (name,)) == [(1,)]


# --- names -----------------------------------------------------------------------------------

RESERVED = ["current_role", "current_user", "session_user", "user", "all", "public", "none", "system_user",
            "pg_anything", "crm_admin", "crm_reporting_owner", "postgres"]


@pytest.mark.parametrize("name", RESERVED)
def test_reserved_role_names_are_refused_by_the_cli(warehouse, name):
    url, _ = warehouse
    with pytest.raises(AccessError, match="reserved|not pg_"):
        users_api.add_user(url, name, "crm_analyst")


@pytest.mark.parametrize("name", RESERVED)
def test_reserved_role_names_are_refused_by_the_database_function(warehouse, name):
    """An administrator calling access.add_user from SQL, with a well-formed verifier, gets the same refusal."""
    url, _ = warehouse
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="is reserved"):
        fetch(url, "select access.add_user(%s, 'crm_analyst', %s)", (name, _verifier(url, name)))


# --- verifiers -------------------------------------------------------------------------------

MALFORMED_VERIFIERS = {
    "the issue's fake": "SCRAM-SHA-256$notaverifier",
    "clear text": "just-a-password-123",
    "md5 hash": "md5" + "0" * 32,
    "fields not base64": "SCRAM-SHA-256$4096:" + "!" * 24 + "$" + "?" * 44 + ":" + "?" * 44,
    "keys too short": f"SCRAM-SHA-256$4096:{_b64(16)}${_b64(16)}:{_b64(16)}",
    "salt too short": f"SCRAM-SHA-256$4096:{_b64(4)}${_b64(32)}:{_b64(32)}",
    "too few iterations": f"SCRAM-SHA-256$1:{_b64(16)}${_b64(32)}:{_b64(32)}",
    "base64 with bad padding": f"SCRAM-SHA-256$4096:{_b64(16)[:-1]}${_b64(32)}:{_b64(32)}",
    "trailing text": f"SCRAM-SHA-256$4096:{_b64(16)}${_b64(32)}:{_b64(32)} extra",
}


@pytest.mark.parametrize("verifier", list(MALFORMED_VERIFIERS.values()), ids=list(MALFORMED_VERIFIERS))
def test_only_a_real_scram_verifier_is_accepted_and_the_refusal_does_not_echo_it(warehouse, verifier):
    url, _ = warehouse
    name = unique_name("fake_verifier")
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="SCRAM-SHA-256 verifier") as refused:
        fetch(url, "select access.add_user(%s, 'crm_analyst', %s)", (name, verifier))
    assert verifier not in str(refused.value) and verifier not in (refused.value.diag.context or "")
    assert not _role_exists(url, name)


def test_a_verifier_made_by_libpq_is_accepted(warehouse, users):
    url, _ = warehouse
    name = unique_name("real_verifier")
    users.created.append(name)
    fetch(url, "select access.add_user(%s, 'crm_analyst', %s)", (name, _verifier(url, name)))
    assert fetch(url, "select rolpassword like 'SCRAM-SHA-256$4096:%%' from pg_authid where rolname = %s",
                 (name,)) == [(True,)]


def test_a_failing_create_role_does_not_quote_the_verifier_in_its_error(warehouse):
    """CREATE ROLE failing inside access.add_user (here: the owner lost CREATEROLE) used to report
    `SQL statement "create role ... password 'SCRAM-SHA-256$...'"` as the error's context, which
    the server logs and the caller sees. The test's transaction is rolled back."""
    url, _ = warehouse
    name = unique_name("log_probe")
    verifier = _verifier(url, name)
    stored_key = verifier.split("$")[2].split(":")[0]
    with psycopg.connect(url) as conn:
        conn.execute("alter role crm_user_admin nocreaterole")  # uncommitted, seen by this session only
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match=f"could not create login {name}") as failed:
            conn.execute("select access.add_user(%s, 'crm_analyst', %s)", (name, verifier))
        conn.rollback()
    diag = failed.value.diag
    shown = " ".join(filter(None, (str(failed.value), diag.context, diag.message_detail, diag.internal_query)))
    assert stored_key not in shown and "password" not in (diag.context or "")
    assert fetch(url, "select rolcreaterole from pg_roles where rolname = 'crm_user_admin'") == [(True,)]


# --- limits per role -------------------------------------------------------------------------


def _limits(url: str, name: str) -> tuple[int, list[str]]:
    [(limit, config)] = fetch(url, """
        select r.rolconnlimit, coalesce(s.setconfig, '{}') from pg_roles r
        left join pg_db_role_setting s on s.setrole = r.oid and s.setdatabase = 0
        where r.rolname = %s""", (name,))
    return limit, config


def test_each_login_gets_its_group_roles_statement_timeout_and_connection_limit(warehouse, users):
    url, _ = warehouse
    defaults = Settings()
    timeouts, limits = dict(defaults.role_statement_timeouts), dict(defaults.role_connection_limits)
    login = users.add("limited", "crm_analyst")
    assert _limits(url, login.username) == (limits["crm_analyst"], [f"statement_timeout={timeouts['crm_analyst']}s"])
    assert fetch(login.dsn, "show statement_timeout") == [(f"{timeouts['crm_analyst'] // 60}min",)]
    users_api.set_user_scope(url, login.username, operator_extension="102")
    users_api.set_user_role(url, login.username, "crm_operator")
    assert _limits(url, login.username) == (limits["crm_operator"], [f"statement_timeout={timeouts['crm_operator']}s"])


def test_limits_from_the_settings_hold_against_one_login_opening_many_sessions(warehouse, users, tmp_path):
    """Issue #17 opened 200 connections as one operator; now the third is refused, and a long query ends."""
    url, _ = warehouse
    tight = Settings(data_dir=tmp_path, role_connection_limits=(
        ("crm_admin", 10), ("crm_manager", 10), ("crm_analyst", 15), ("crm_operator", 2)),
        role_statement_timeouts=(("crm_admin", 1800), ("crm_manager", 300), ("crm_analyst", 900), ("crm_operator", 1)))
    try:
        login = users.add("greedy", "crm_operator", operator_extension="101")
        ensure_access_schema(tight, url)  # `pantao prepare` with new settings re-applies them to existing logins
        sessions = [psycopg.connect(login.dsn, autocommit=True) for _ in range(2)]
        try:
            with pytest.raises(psycopg.OperationalError, match="too many connections for role"):
                psycopg.connect(login.dsn).close()
            with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
                sessions[0].execute("select pg_sleep(5)")
        finally:
            for session in sessions:
                session.close()
    finally:
        ensure_access_schema(Settings(data_dir=tmp_path), url)


# --- what no login may do ------------------------------------------------------------------------


@pytest.mark.parametrize("call", [
    "select lo_create(0)", "select lo_creat(-1)", "select lo_from_bytea(0, 'x')",
    "select lo_import('/etc/passwd')", "select lo_put(1, 0, 'x')",
])
@pytest.mark.parametrize("principal", ["admin", "analyst"])
def test_no_login_may_use_large_objects(warehouse, principal, call):
    _, logins = warehouse
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied for function lo_"):
        fetch(logins[principal].dsn, call)


@pytest.mark.parametrize("principal", ["admin", "analyst"])
def test_no_login_may_run_programs_or_read_files_on_the_server(warehouse, principal):
    _, logins = warehouse
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="pg_execute_server_program"):
        fetch(logins[principal].dsn, "copy (select 1) to program 'id'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        fetch(logins[principal].dsn, "select pg_read_file('pg_hba.conf')")


def test_only_superusers_among_all_logins_can_read_the_customer_key_salt(warehouse):
    """Checked over every login role of the cluster, not just ours: the salt's readers are its
    owner (crm_user_admin) and crm_reporting_owner, both NOLOGIN and held by no one."""
    url, logins = warehouse
    readers = fetch(url, """
        select rolname from pg_roles
        where rolcanlogin and not rolsuper and has_table_privilege(oid, 'access.install_secret', 'select')""")
    assert readers == []
    holders = fetch(url, """
        select r.rolname, u.rolname from pg_auth_members m join pg_roles r on r.oid = m.roleid
        join pg_roles u on u.oid = m.member where r.rolname in ('crm_user_admin', 'crm_reporting_owner')""")
    assert holders == []
    for login in logins.values():
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            fetch(login.dsn, "select secret from access.install_secret")


def test_prepare_takes_a_service_role_back_from_a_login_that_was_given_it(warehouse, tmp_path):
    url, logins = warehouse
    analyst = logins["analyst"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("grant crm_reporting_owner to {}").format(psycopg.sql.Identifier(analyst.username)))
    assert len(fetch(analyst.dsn, "select secret from access.install_secret")) == 1  # the mistake, shown
    ensure_access_schema(Settings(data_dir=tmp_path), url)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        fetch(analyst.dsn, "select secret from access.install_secret")


def test_the_user_admin_holds_no_privileges_of_the_groups_it_manages(warehouse):
    url, _ = warehouse
    held = fetch(url, "select g, pg_has_role('crm_user_admin', g, 'USAGE') from unnest(%s::text[]) g",
                 (["crm_admin", "crm_manager", "crm_analyst", "crm_operator"],))
    assert [g for g, usage in held if usage] == []
    assert fetch(url, "select has_table_privilege('crm_user_admin', 'marts.customers', 'select')") == [(False,)]
    if fetch(url, "select current_setting('server_version_num')::int >= 160000") == [(True,)]:
        # 16+: it holds ADMIN on each group (to grant it), without SET or INHERIT
        assert fetch(url, "select bool_or(pg_has_role('crm_user_admin', g, 'SET')) from "
                          "unnest(array['crm_admin', 'crm_manager', 'crm_analyst', 'crm_operator']) g") == [(False,)]


# --- the BI login Superset connects as (bi/): the same on every version ------------------------


def test_a_bi_login_acts_as_its_person_only_and_carries_their_limits(warehouse, users):
    """`access.set_bi_login` uses no 16-only grant options: a NOINHERIT login granted its person
    plainly holds no privilege of its own and may SET ROLE to that one person, on 15 as on 18."""
    url, logins = warehouse
    person = users.add("bi_person", "crm_analyst")
    bi_login, bi_password = f"bi.{person.username}", "a-long-bi-password-123"
    users_api.set_bi_login(url, person.username, bi_password)
    users_api.set_bi_login(url, person.username, bi_password)  # idempotent: Superset re-syncs on every start
    dsn = login_dsn(url, bi_login, bi_password)
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("select has_schema_privilege('reporting', 'usage')").fetchone() == (False,)
        conn.execute(psycopg.sql.SQL("set role {}").format(psycopg.sql.Identifier(person.username)))
        assert conn.execute("select count(*) from reporting.orders").fetchone() == (6,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(psycopg.sql.SQL("set role {}").format(psycopg.sql.Identifier(logins["admin"].username)))
    timeout = dict(Settings().role_statement_timeouts)["crm_analyst"]
    assert _limits(url, bi_login) == (dict(Settings().role_connection_limits)["crm_analyst"],
                                      [f"statement_timeout={timeout}s"])
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="SCRAM-SHA-256 verifier"):
        fetch(url, "select access.set_bi_login(%s, %s)", (person.username, "SCRAM-SHA-256$notaverifier"))
    users_api.remove_user(url, person.username)
    users.created.remove(person.username)
    assert not _role_exists(url, bi_login)
