"""User administration with real logins: add, remove (sessions ended), set-role, set-scope, audit."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from click.testing import CliRunner

from access import users as users_api
from access.cli import users as users_cli
from access.users import AccessError
from pantao.settings import Settings
from tests.pg15 import checks_passwords
from tests.test_access_helpers import Users, fetch, login_dsn, mini_warehouse, unique_name


@pytest.fixture(scope="module")
def shared_database(access_new_database, tmp_path_factory) -> Iterator[str]:
    """One small warehouse for the module, on PostgreSQL 18 and 15 in turn: every test works on
    logins of its own (unique names), so none sees another's changes; only the no-marts test
    needs an empty database of its own."""
    with mini_warehouse(access_new_database, tmp_path_factory.mktemp("users")) as (url, _):
        yield url


@pytest.fixture
def warehouse(shared_database) -> Iterator[tuple[str, Users]]:
    users = Users(shared_database)
    yield shared_database, users
    users.cleanup()


def _audit(url: str, target: str) -> list[tuple]:
    return fetch(url, "select actor, action, details from access.audit_log where target = %s order by id", (target,))


def test_added_user_logs_in_with_the_generated_password_and_is_audited(warehouse, access_server):
    url, users = warehouse
    login = users.add("irina", "crm_analyst")
    assert len(login.password) >= 20
    assert fetch(login.dsn, "select current_user, pg_has_role('crm_analyst', 'member')") == [(login.username, True)]
    [(actor, action, details)] = _audit(url, login.username)
    assert (actor, action, details["role"]) == ("postgres", "user_added", "crm_analyst")
    if not checks_passwords(access_server):
        return  # that server trusts local logins (tests/pg15.py); the wrong password is refused on 18
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        fetch(login_dsn(url, login.username, "wrong-password-123"), "select 1")


def test_the_password_never_reaches_the_server_in_clear_text(warehouse):
    url, users = warehouse
    login = users.add("erin", "crm_analyst")
    [(stored,)] = fetch(url, "select rolpassword from pg_authid where rolname = %s", (login.username,))
    assert stored.startswith("SCRAM-SHA-256$") and login.password not in stored
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="SCRAM-SHA-256 verifier"):
        fetch(url, "select access.add_user(%s, 'crm_analyst', 'plain-text-password')", (unique_name("x"),))


def test_removed_user_cannot_log_in_and_their_open_session_is_ended(warehouse):
    url, users = warehouse
    login = users.add("olga", "crm_operator", operator_extension="101")
    session = psycopg.connect(login.dsn, autocommit=True)
    assert session.execute("select count(*) from reporting.calls").fetchone() == (2,)
    assert users_api.remove_user(url, login.username) == 1
    with pytest.raises(psycopg.OperationalError):
        session.execute("select 1")
    session.close()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed|does not exist"):
        fetch(login.dsn, "select 1")
    assert fetch(url, "select count(*) from pg_roles where rolname = %s", (login.username,)) == [(0,)]
    assert fetch(url, "select count(*) from access.users where username = %s", (login.username,)) == [(0,)]
    actions = [(a, d.get("sessions_terminated")) for _, a, d in _audit(url, login.username)]
    assert actions == [("user_added", None), ("user_removed", 1)]


def test_an_administrator_login_manages_users_and_the_audit_names_them(warehouse):
    url, users = warehouse
    admin = users.add("root_admin", "crm_admin")
    name = unique_name("pavel")
    users.created.append(name)
    users_api.add_user(admin.dsn, name, "crm_manager", restaurant_ids=[1])
    users_api.set_user_scope(admin.dsn, name, restaurant_ids=[2, 3], telegram_id=555)
    users_api.set_user_role(admin.dsn, name, "crm_analyst")
    listed = {u.username: u for u in users_api.list_users(admin.dsn)}
    assert listed[name].role == "crm_analyst" and listed[name].restaurant_ids is None
    assert listed[name].telegram_id == 555 and listed[name].created_by == admin.username
    users_api.remove_user(admin.dsn, name)
    log = _audit(url, name)
    assert [a for _, a, _ in log] == ["user_added", "scope_changed", "role_changed", "user_removed"]
    assert {actor for actor, _, _ in log} == {admin.username}
    assert log[1][2]["to"]["restaurant_ids"] == [2, 3] and log[1][2]["from"]["restaurant_ids"] == [1]
    assert log[2][2] == {"from": "crm_manager", "to": "crm_analyst"}


@pytest.mark.parametrize("role", ["crm_manager", "crm_analyst", "crm_operator"])
def test_non_administrators_may_not_manage_users(warehouse, role):
    url, users = warehouse
    login = users.add("someone", role, **({"operator_extension": "101"} if role == "crm_operator" else {}))
    with pytest.raises(AccessError, match="permission denied.*only administrators"):
        users_api.add_user(login.dsn, unique_name("intruder"), "crm_admin")
    with pytest.raises(AccessError, match="permission denied"):
        users_api.remove_user(login.dsn, login.username)


def test_set_role_and_set_scope_change_what_a_login_sees(warehouse):
    url, users = warehouse
    login = users.add("vera", "crm_manager", restaurant_ids=[2])
    assert fetch(login.dsn, "select count(*) from reporting.orders") == [(2,)]
    users_api.set_user_scope(url, login.username, restaurant_ids=[1, 3])
    assert fetch(login.dsn, "select count(*) from reporting.orders") == [(4,)]
    users_api.set_user_scope(url, login.username, restaurant_ids=None)
    assert fetch(login.dsn, "select count(*) from reporting.orders") == [(6,)]
    with pytest.raises(AccessError, match="operator needs their PBX extension"):
        users_api.set_user_role(url, login.username, "crm_operator")
    users_api.set_user_scope(url, login.username, operator_extension="102")
    users_api.set_user_role(url, login.username, "crm_operator")
    assert fetch(login.dsn, "select linkedid from reporting.calls") == [("L3",)]
    assert fetch(login.dsn, "select pg_has_role('crm_manager', 'member'), pg_has_role('crm_operator', 'member')") \
        == [(False, True)]


@pytest.mark.parametrize(
    ("name", "role", "scope", "message"),
    [
        ('bad"; drop table access.users; --', "crm_analyst", {}, "invalid user name"),
        ("Robert", "crm_analyst", {}, "invalid user name"),
        ("pg_evil", "crm_analyst", {}, "invalid user name"),
        ("ok_name", "superuser", {}, "invalid role"),
        ("ok_name", "crm_operator", {}, "needs their PBX extension"),
        ("ok_name", "crm_operator", {"operator_extension": "101; drop"}, "invalid operator extension"),
        ("ok_name", "crm_analyst", {"restaurant_ids": [1]}, "only managers"),
    ],
)
def test_invalid_names_roles_and_scopes_are_refused_with_the_reason(warehouse, name, role, scope, message):
    url, _ = warehouse
    if name == "ok_name":
        name = unique_name("ok_name")
    with pytest.raises(AccessError, match=message):
        users_api.add_user(url, name, role, **scope)
    assert fetch(url, "select count(*) from access.users where username = %s", (name,)) == [(0,)]
    assert fetch(url, "select count(*) from pg_roles where rolname = %s", (name,)) == [(0,)]
    assert fetch(url, "select count(*) from access.audit_log where target = %s", (name,)) == [(0,)]


@pytest.mark.parametrize("name", ["crm_admin", "postgres", "crm_user_admin", "x'; drop role postgres; --"])
def test_the_database_itself_refuses_reserved_or_malformed_names(warehouse, name):
    """Defence in depth: an administrator calling the function from SQL gets the same checks."""
    url, _ = warehouse
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="reserved|invalid user name"):
        fetch(url, "select access.add_user(%s, 'crm_analyst', 'SCRAM-SHA-256$4096:x')", (name,))


def test_a_second_user_with_the_same_telegram_id_is_refused(warehouse):
    url, users = warehouse
    first = users.add("tg_one", "crm_manager", telegram_id=42)
    with pytest.raises(AccessError, match=f"telegram id 42 already belongs to user {first.username}"):
        users.add("tg_two", "crm_manager", telegram_id=42)


def test_cli_add_list_set_scope_remove(warehouse, monkeypatch, tmp_path):
    url, users = warehouse
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PANTAO_DATA_DIR", str(tmp_path))  # no BI set up here: the database login only
    name = unique_name("cli_user")
    users.created.append(name)
    runner = CliRunner()
    added = runner.invoke(users_cli, ["add", name, "--role", "crm_manager", "--restaurants", "1,2"])
    assert added.exit_code == 0, added.output
    password = added.output.split("store it now): ")[1].split()[0]
    assert fetch(login_dsn(url, name, password), "select count(*) from reporting.orders") == [(4,)]
    listed = runner.invoke(users_cli, ["list"])
    assert name in listed.output and "1,2" in listed.output
    scoped = runner.invoke(users_cli, ["set-scope", name, "--restaurants", ""])
    assert scoped.exit_code == 0, scoped.output
    assert fetch(login_dsn(url, name, password), "select count(*) from reporting.orders") == [(6,)]
    bad = runner.invoke(users_cli, ["set-scope", name, "--restaurants", "1;drop"])
    assert bad.exit_code == 1 and "invalid restaurant id '1;drop'" in bad.output
    removed = runner.invoke(users_cli, ["remove", name])
    assert removed.exit_code == 0 and "open sessions ended: 0" in removed.output
    missing = runner.invoke(users_cli, ["remove", name])
    assert missing.exit_code == 1 and f"no user {name}" in missing.output


def test_cli_runs_the_registered_hooks_after_add_set_role_and_remove_only(warehouse, monkeypatch, tmp_path):
    """What follows a login (the BI account, wired by app/cli.py) hears of every change but a scope."""
    from access import cli as access_cli

    url, users = warehouse
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PANTAO_DATA_DIR", str(tmp_path))
    heard: list[tuple[str, str]] = []
    monkeypatch.setattr(access_cli, "USER_CHANGE_HOOKS", [lambda dsn, name: heard.append((dsn, name))])
    name = unique_name("hooked")
    users.created.append(name)
    runner = CliRunner()
    for args in (["add", name, "--role", "crm_analyst"], ["set-scope", name, "--telegram-id", "77"],
                 ["set-role", name, "crm_manager"], ["remove", name]):
        result = runner.invoke(users_cli, args)
        assert result.exit_code == 0, result.output
    assert heard == [(url, name)] * 3
    failed = runner.invoke(users_cli, ["remove", name])  # no such user any more: nothing to follow
    assert failed.exit_code == 1 and heard == [(url, name)] * 3


def test_cli_reads_the_password_from_stdin_and_does_not_print_it(warehouse, monkeypatch, tmp_path):
    url, users = warehouse
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PANTAO_DATA_DIR", str(tmp_path))
    name = unique_name("stdin_user")
    users.created.append(name)
    result = CliRunner().invoke(users_cli, ["add", name, "--role", "crm_analyst", "--password-stdin"],
                                input="a-long-chosen-password\n")
    assert result.exit_code == 0, result.output
    assert "a-long-chosen-password" not in result.output and "password" not in result.output
    assert fetch(login_dsn(url, name, "a-long-chosen-password"), "select current_user") == [(name,)]


def test_access_schema_is_idempotent_and_needs_no_marts(fresh_database_url, tmp_path):
    from access.migrate import ensure_access_schema
    from pantao.dbt_runner import DbtError
    from tests.test_access_helpers import apply_reporting_layer

    settings = Settings(data_dir=tmp_path)
    ensure_access_schema(settings, fresh_database_url)
    [(salt,)] = fetch(fresh_database_url, "select secret from access.install_secret")
    ensure_access_schema(settings, fresh_database_url)
    assert fetch(fresh_database_url, "select secret from access.install_secret") == [(salt,)]
    roles = fetch(fresh_database_url, "select rolname, rolcanlogin, rolsuper, rolbypassrls from pg_roles "
                                      "where rolname like 'crm\\_%' order by 1")
    assert roles == [(name, False, False, False) for name in
                     ("crm_admin", "crm_analyst", "crm_manager", "crm_operator", "crm_reporting_owner",
                      "crm_user_admin")]
    with pytest.raises(DbtError, match="marts marts.calls, marts.customers.* do not exist yet"):
        apply_reporting_layer(settings, fresh_database_url)
