"""`pantao bot`: run the Telegram bot as a long-running service."""

from __future__ import annotations

import click

from pantao.settings import load_settings
from pantao.stack import resolve_endpoints


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
