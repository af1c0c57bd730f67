"""`pantao bi up | down | status | screenshots`: Superset on the reporting views."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bi import environment, server
from bi.config import BiConfig, bi_config
from bi.dashboards import DASHBOARDS
from pantao.settings import load_settings
from pantao.stack import resolve_endpoints


def _config() -> BiConfig:
    settings = load_settings()
    return bi_config(settings, resolve_endpoints(settings, need_kafka=False).database_url)


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc)) from exc


def follow_user_change(database_url: str, name: str) -> None:
    """The person's Superset account follows their login (created, re-roled, removed), if BI is set up here.

    app/cli.py registers this with `pantao users` (access.cli.USER_CHANGE_HOOKS): access/ sits
    below bi/ and cannot call it itself.
    """
    from access.users import AccessError
    from bi.provision import ProvisionError, sync_after_user_change

    try:
        note = sync_after_user_change(load_settings(), database_url, name)
    except (ProvisionError, AccessError) as exc:
        raise click.ClickException(f"the database login is done, but the BI account was not: {exc}; "
                                   "`pantao bi up` retries every account") from exc
    if note:
        click.echo(note)


@click.group("bi")
def bi() -> None:
    """Business dashboards: Apache Superset on the reporting views (Russian by default)."""


@bi.command("up")
@click.option("--no-provision", is_flag=True, help="Start the server without re-applying dashboards and users.")
def up(no_provision: bool) -> None:
    """Install Superset on first use, provision dashboards and users, start the server (idempotent)."""
    from bi.provision import ProvisionError, provision

    config = _config()
    try:
        if not environment.is_installed():
            click.echo(f"installing Superset into {environment.VENV} (first use, a few minutes; "
                       f"log {config.install_log})")
        environment.ensure_installed(config.install_log)
        if not no_provision:
            report = provision(config)
            users = report["users"]
            click.echo(f"provisioned {len(DASHBOARDS)} dashboards; accounts added {len(users['added'])}, "
                       f"updated {len(users['updated'])}, removed {len(users['removed'])}")
        state = server.start(config)
    except (environment.BiEnvironmentError, ProvisionError, server.BiServerError) as exc:
        _fail(exc)
    click.echo(f"bi        running  pid {state.pid}  {state.address}")
    for dashboard in DASHBOARDS:
        click.echo(f"  {dashboard.title[config.lang]:<20} {state.address}/superset/dashboard/{dashboard.slug}/")
    click.echo("Sign in with your own database login and password (`pantao users add NAME --role crm_analyst`).")


@bi.command("install")
def install() -> None:
    """Install Superset's own environment (.venv-bi/) if it is missing or outdated; nothing else.

    `pantao bi up` does this on first use; `make test` runs it during set-up, so the BI tests find
    it installed.
    """
    log_file = Path(load_settings().data_dir) / "logs" / "bi-install.log"
    try:
        if environment.ensure_installed(log_file):
            click.echo(f"installed Superset into {environment.VENV} (log {log_file})")
        else:
            click.echo(f"Superset is installed in {environment.VENV}")
    except environment.BiEnvironmentError as exc:
        _fail(exc)


@bi.command("down")
def down() -> None:
    """Stop the Superset server and all its workers."""
    config = _config()
    click.echo("stopped: bi" if server.stop(config) else "bi was not running")


@bi.command("status")
def status() -> None:
    """Show whether Superset runs, where, and whether it is installed. Exit 1 if stale."""
    config = _config()
    state = server.status(config)
    pid = f"pid {state.pid}" if state.pid else "-"
    click.echo(f"bi        {state.state:<8} {pid:<11} {state.address}  {state.detail}".rstrip())
    if not environment.is_installed():
        click.echo(f"          Superset is not installed yet in {environment.VENV}: `pantao bi up` installs it")
    if state.state == "stale":
        sys.exit(1)


@bi.command("screenshots")
@click.option("--user", required=True, help="Sign in as this person (their dashboards, their rows).")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from standard input.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("docs/img"),
              show_default=True, help="Folder for bi-<dashboard>.png.")
def screenshots(user: str, password_stdin: bool, output: Path) -> None:
    """Screenshot every dashboard in a real browser (Debian's chromium), as USER sees it."""
    from bi.browser import BrowserError, chromium_page, screenshot_dashboard, sign_in

    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.UsageError("--password-stdin: no password on standard input")
    config = _config()
    if server.status(config).state != "running":
        raise click.ClickException("the BI server is not running: `pantao bi up` first")
    try:
        with chromium_page() as page:
            sign_in(page, config.address, user, password)
            for dashboard in DASHBOARDS:
                path = screenshot_dashboard(page, config.address, dashboard.slug, output / f"bi-{dashboard.slug}.png")
                click.echo(f"{dashboard.title[config.lang]:<20} -> {path}")
    except BrowserError as exc:
        _fail(exc)
