"""`pantao bot` (the Telegram bot as a long-running service) and `pantao report send`."""

from __future__ import annotations

import datetime as dt

import click

from pantao.settings import load_settings
from pantao.stack import resolve_endpoints
from reports.cli import DATE_OPTION, report_day
from reports.report import ReportError


@click.command("bot")
def bot_command() -> None:
    """Answer /report, /operators, /calls, /restaurant, /mystats and /help for registered users."""
    from notifications.bot import run_bot

    settings = load_settings()
    if not settings.telegram_bot_token:
        raise click.ClickException(
            "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put its token in .env "
            "(reports still work without it: `pantao report show`)"
        )
    database_url = resolve_endpoints(settings, need_kafka=False).database_url
    click.echo(f"bot running against {settings.telegram_api_base_url}; Ctrl-C to stop")
    run_bot(settings, database_url)


@click.command("send")
@DATE_OPTION
@click.option("--force", is_flag=True, help="Send again to chats that already received this day's summary.")
def send_command(day: dt.datetime | None, force: bool) -> None:
    """Send the morning summary to TELEGRAM_CHAT_IDS once per day and chat."""
    from notifications.delivery import deliver_morning_summary
    from reports.summary import to_plain

    settings = load_settings()
    database_url = resolve_endpoints(settings, need_kafka=False).database_url
    try:
        outcomes = deliver_morning_summary(settings, database_url, report_day(settings, day), force=force)
    except ReportError as exc:
        raise click.ClickException(str(exc)) from exc
    if not outcomes:
        click.echo("no chats configured (TELEGRAM_CHAT_IDS is empty); nothing sent", err=True)
    failed = False
    for outcome in outcomes:
        if outcome.status == "skipped":
            click.echo(to_plain(outcome.text))
            click.echo(f"\n{outcome.error}: the summary above was not sent.", err=True)
            break
        click.echo(f"chat {outcome.chat_id}: {outcome.status}" + (f" ({outcome.error})" if outcome.error else ""))
        failed = failed or outcome.status == "failed"
    if failed:
        raise SystemExit(1)
