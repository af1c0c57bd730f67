"""`pantao users ...` and `pantao export ...`.

Both connect with DATABASE_URL (or the embedded stack). To act as an administrator who is not
the superuser, put their login in DATABASE_URL; the database checks they are in crm_admin.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from access import users as users_api
from access.export import describe_login, export_to_file, export_view, user_dsn, validate_request
from access.users import AccessError
from access.views import VIEW_NAMES
from pantao.domain import GROUP_ROLES
from pantao.settings import load_settings
from pantao.stack import resolve_endpoints


def _database_url() -> tuple[str, str]:
    settings = load_settings()
    return resolve_endpoints(settings, need_kafka=False).database_url, settings.business_timezone


def _read_password(what: str) -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.UsageError(f"--password-stdin: no {what} password on standard input")
    return password


def _fail(exc: AccessError) -> None:
    raise click.ClickException(str(exc)) from exc


def _follow_in_bi(database_url: str, name: str) -> None:
    """The person's Superset account follows their login (created, re-roled, removed), if BI is set up here."""
    from bi.provision import ProvisionError, sync_after_user_change

    try:
        note = sync_after_user_change(load_settings(), database_url, name)
    except (ProvisionError, AccessError) as exc:
        raise click.ClickException(f"the database login is done, but the BI account was not: {exc}; "
                                   "`pantao bi up` retries every account") from exc
    if note:
        click.echo(note)


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
def add(name: str, role: str, operator_extension: str | None, restaurants: str | None, telegram_id: str | None,
        password_stdin: bool) -> None:
    """Create login NAME in a group role; prints a generated password once."""
    database_url, _ = _database_url()
    password = _read_password("user's") if password_stdin else None
    try:
        password = users_api.add_user(
            database_url, name, role, operator_extension=operator_extension,
            restaurant_ids=users_api.parse_restaurants(restaurants),
            telegram_id=users_api.validate_telegram_id(telegram_id), password=password)
    except AccessError as exc:
        _fail(exc)
    click.echo(f"added {name} ({role})")
    if not password_stdin:
        click.echo(f"password (shown once, store it now): {password}")
    _follow_in_bi(database_url, name)


@users.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Revoke NAME's access, end their open sessions and drop the login."""
    database_url, _ = _database_url()
    try:
        ended = users_api.remove_user(database_url, name)
    except AccessError as exc:
        _fail(exc)
    click.echo(f"removed {name}; open sessions ended: {ended}")
    _follow_in_bi(database_url, name)


@users.command("list")
def list_command() -> None:
    """Show every user, their role and scope."""
    database_url, _ = _database_url()
    try:
        records = users_api.list_users(database_url)
    except AccessError as exc:
        _fail(exc)
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
def set_role(name: str, role: str) -> None:
    """Move NAME to another group role."""
    database_url, _ = _database_url()
    try:
        users_api.set_user_role(database_url, name, role)
    except AccessError as exc:
        _fail(exc)
    click.echo(f"{name} is now {role}")
    _follow_in_bi(database_url, name)


@users.command("set-scope")
@click.argument("name")
@click.option("--operator", "operator_extension", help="PBX extension ('' clears it).")
@click.option("--restaurants", help="Comma-separated restaurant ids ('' = all restaurants).")
@click.option("--telegram-id", help="Telegram user id ('' clears it).")
def set_scope(name: str, operator_extension: str | None, restaurants: str | None, telegram_id: str | None) -> None:
    """Change which rows NAME sees (operator extension, restaurants) or their Telegram id."""
    database_url, _ = _database_url()
    changes: dict[str, object] = {}
    try:
        if operator_extension is not None:
            changes["operator_extension"] = operator_extension or None
        if restaurants is not None:
            changes["restaurant_ids"] = users_api.parse_restaurants(restaurants) or None
        if telegram_id is not None:
            changes["telegram_id"] = users_api.validate_telegram_id(telegram_id or None)
        users_api.set_user_scope(database_url, name, **changes)
    except AccessError as exc:
        _fail(exc)
    click.echo(f"{name}: scope updated")


@click.command("export")
@click.argument("view", type=click.Choice(VIEW_NAMES))
@click.option("--from", "date_from", required=True, help="First business date, YYYY-MM-DD.")
@click.option("--to", "date_to", required=True, help="Last business date, YYYY-MM-DD (inclusive).")
@click.option("--segment", help="Only customers of this segment.")
@click.option("--restaurant", help="Only this restaurant id.")
@click.option("--channel", help="Only this sales channel (orders).")
@click.option("--as-user", help="Log in as this user, so their row filters apply (password on stdin).")
@click.option("--password-stdin", is_flag=True, help="Read --as-user's password from standard input.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="CSV file (default: stdout).")
def export_command(view: str, date_from: str, date_to: str, segment: str | None, restaurant: str | None,
                   channel: str | None, as_user: str | None, password_stdin: bool, output: Path | None) -> None:
    """Stream reporting VIEW for a period to CSV (UTF-8, header row).

    Without --as-user it runs as DATABASE_URL's login (usually the pipeline's superuser, which
    sees every row) and says so on standard error.
    """
    try:
        request = validate_request(view, date_from, date_to, segment=segment, restaurant=restaurant, channel=channel)
        if as_user and not password_stdin:
            raise click.UsageError("--as-user needs --password-stdin (the password is never taken as an argument)")
        if password_stdin and not as_user:
            raise click.UsageError("--password-stdin goes with --as-user NAME")
        database_url, timezone = _database_url()
        if as_user:
            database_url = user_dsn(database_url, as_user, _read_password(f"{as_user}'s"))
        else:
            # Without --as-user the file holds what DATABASE_URL's login may see: say who that is.
            click.echo(f"note: no --as-user, so this export runs as {describe_login(database_url).describe()}; "
                       "to export what a person may see, add --as-user NAME --password-stdin", err=True)
        if output is None:
            export_view(database_url, request, sys.stdout.buffer, timezone)
            sys.stdout.buffer.flush()
        else:
            result = export_to_file(database_url, request, output, timezone)
            click.echo(f"{result.rows} rows -> {output}", err=True)
    except AccessError as exc:
        _fail(exc)
