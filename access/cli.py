"""`pantao users ...` and `pantao export ...`.

Both connect with DATABASE_URL (or the embedded stack). To act as an administrator who is not
the superuser, put their login in DATABASE_URL; the database checks they are in crm_admin.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path

import click

from pantao.domain import GROUP_ROLES
from pantao.settings import load_settings
from pantao.stack import resolve_endpoints


def _database_url() -> str:
    return resolve_endpoints(load_settings(), need_kafka=False).database_url


class ViewChoice(click.Choice):
    """The reporting views, read from the dbt manifest when the command runs (not when it is imported)."""

    def __init__(self) -> None:
        super().__init__(())

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        from access.catalog import view_names

        return view_names()

    @choices.setter
    def choices(self, _value: object) -> None:
        """click.Choice sets its choices in __init__; these come from the manifest instead."""


def _read_password(what: str) -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.UsageError(f"--password-stdin: no {what} password on standard input")
    return password


def _access_errors(command: Callable) -> Callable:
    """An AccessError from the command becomes a click error carrying its message.

    access.users and access.export are imported inside the commands, not with this module: they
    load the PostgreSQL driver, which `pantao --help` should not wait for.
    """

    @functools.wraps(command)
    def run(*args, **kwargs):
        from access.users import AccessError

        try:
            return command(*args, **kwargs)
        except AccessError as exc:
            raise click.ClickException(str(exc)) from exc

    return run


# What else follows a login when `pantao users` adds, removes or re-roles it: callbacks taking
# (database_url, login name). The composition layer registers them (app/cli.py: the person's
# Superset account), because access/ imports nothing of the layers above it.
USER_CHANGE_HOOKS: list[Callable[[str, str], None]] = []


def _user_changed(database_url: str, name: str) -> None:
    for hook in USER_CHANGE_HOOKS:
        hook(database_url, name)


@click.group("users")
def users() -> None:
    """Add, remove and scope the people who may read the data (logins in PostgreSQL)."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(GROUP_ROLES), help="The group the login joins.")
@click.option("--operator", "operator_extension", help="PBX extension: an operator sees only these rows.")
@click.option("--restaurants", help="Comma-separated restaurant ids a manager is limited to (default: all).")
@click.option("--telegram-id", help="Telegram user id allowed to ask the bot for reports.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of generating one.")
@_access_errors
def add(name: str, role: str, operator_extension: str | None, restaurants: str | None, telegram_id: str | None,
        password_stdin: bool) -> None:
    """Create login NAME in a group role; prints a generated password once."""
    from access import users as users_api

    database_url = _database_url()
    password = _read_password("user's") if password_stdin else None
    password = users_api.add_user(
        database_url, name, role, operator_extension=operator_extension,
        restaurant_ids=users_api.parse_restaurants(restaurants),
        telegram_id=users_api.validate_telegram_id(telegram_id), password=password)
    click.echo(f"added {name} ({role})")
    if not password_stdin:
        click.echo(f"password (shown once, store it now): {password}")
    _user_changed(database_url, name)


@users.command("remove")
@click.argument("name")
@_access_errors
def remove(name: str) -> None:
    """Revoke NAME's access, end their open sessions and drop the login."""
    from access import users as users_api

    database_url = _database_url()
    ended = users_api.remove_user(database_url, name)
    click.echo(f"removed {name}; open sessions ended: {ended}")
    _user_changed(database_url, name)


@users.command("list")
@_access_errors
def list_command() -> None:
    """Show every user, their role and scope."""
    from access import users as users_api

    database_url = _database_url()
    records = users_api.list_users(database_url)
    if not records:
        click.echo("no users yet: `pantao users add NAME --role crm_analyst`")
        return
    click.echo(f"{'name':<24} {'role':<13} {'operator':<9} {'restaurants':<14} {'telegram':<12} created")
    for r in records:
        restaurants = ",".join(map(str, r.restaurant_ids)) if r.restaurant_ids else "all"
        click.echo(f"{r.username:<24} {r.role:<13} {r.operator_extension or '-':<9} {restaurants:<14} "
                   f"{r.telegram_id or '-'!s:<12} {r.created_at:%Y-%m-%d %H:%M} by {r.created_by}")


@users.command("set-role")
@click.argument("name")
@click.argument("role", type=click.Choice(GROUP_ROLES))
@_access_errors
def set_role(name: str, role: str) -> None:
    """Move NAME to another group role."""
    from access import users as users_api

    database_url = _database_url()
    users_api.set_user_role(database_url, name, role)
    click.echo(f"{name} is now {role}")
    _user_changed(database_url, name)


@users.command("set-scope")
@click.argument("name")
@click.option("--operator", "operator_extension", help="PBX extension ('' clears it).")
@click.option("--restaurants", help="Comma-separated restaurant ids ('' = all restaurants).")
@click.option("--telegram-id", help="Telegram user id ('' clears it).")
@_access_errors
def set_scope(name: str, operator_extension: str | None, restaurants: str | None, telegram_id: str | None) -> None:
    """Change which rows NAME sees (operator extension, restaurants) or their Telegram id."""
    from access import users as users_api

    database_url = _database_url()
    changes: dict[str, object] = {}
    if operator_extension is not None:
        changes["operator_extension"] = operator_extension or None
    if restaurants is not None:
        changes["restaurant_ids"] = users_api.parse_restaurants(restaurants) or None
    if telegram_id is not None:
        changes["telegram_id"] = users_api.validate_telegram_id(telegram_id or None)
    users_api.set_user_scope(database_url, name, **changes)
    click.echo(f"{name}: scope updated")


@click.command("export")
@click.argument("view", type=ViewChoice())
@click.option("--from", "date_from", required=True, help="First business date, YYYY-MM-DD.")
@click.option("--to", "date_to", required=True, help="Last business date, YYYY-MM-DD (inclusive).")
@click.option("--segment", help="Only customers of this segment.")
@click.option("--restaurant", help="Only this restaurant id.")
@click.option("--channel", help="Only this sales channel (orders).")
@click.option("--as-user", help="Log in as this user, so their row filters apply (password on stdin).")
@click.option("--password-stdin", is_flag=True, help="Read --as-user's password from standard input.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="CSV file (default: stdout).")
@_access_errors
def export_command(view: str, date_from: str, date_to: str, segment: str | None, restaurant: str | None,
                   channel: str | None, as_user: str | None, password_stdin: bool, output: Path | None) -> None:
    """Stream reporting VIEW for a period to CSV (UTF-8, header row).

    Without --as-user it runs as DATABASE_URL's login (usually the pipeline's superuser, which
    sees every row) and says so on standard error.
    """
    from access.export import describe_login, export_to_file, export_view, user_dsn, validate_request

    request = validate_request(view, date_from, date_to, segment=segment, restaurant=restaurant, channel=channel)
    if as_user and not password_stdin:
        raise click.UsageError("--as-user needs --password-stdin (the password is never taken as an argument)")
    if password_stdin and not as_user:
        raise click.UsageError("--password-stdin goes with --as-user NAME")
    database_url = _database_url()
    if as_user:
        database_url = user_dsn(database_url, as_user, _read_password(f"{as_user}'s"))
    else:
        # Without --as-user the file holds what DATABASE_URL's login may see: say who that is.
        click.echo(f"note: no --as-user, so this export runs as {describe_login(database_url).describe()}; "
                   "to export what a person may see, add --as-user NAME --password-stdin", err=True)
    if output is None:
        export_view(database_url, request, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        result = export_to_file(database_url, request, output)
        click.echo(f"{result.rows} rows -> {output}", err=True)
