"""The `pantao` command line: one entry point, every command imported from the package that owns it.

Commands are plain imports, so tools (and readers) can follow them. They stay cheap to import:
each command module loads its heavy libraries (Dagster, dbt, pandas, matplotlib, the Kafka
client, the PostgreSQL driver) inside the function that needs them, which keeps `pantao --help`
and `pantao stack status` fast (tests/test_layers.py checks that importing this module loads
none of them; bench/cli_startup.py times the start-up).
"""

from __future__ import annotations

import logging
import sys

import click

from access.cli import USER_CHANGE_HOOKS, export_command, users
from app.demo import demo_command
from app.prepare import prepare_command
from app.simulate import simulate
from bi.cli import bi, follow_user_change
from ingestion.cli import LIVE_BOARD_SERVERS, ingest
from monitoring.cli import metrics_command, serve_live_board
from notifications.cli import bot_command, send_command
from orchestration.cli import run_command, ui_command
from pantao.dbt_runner import dbt_command
from pantao.files import use_private_umask
from pantao.settings import SettingsError
from pantao.stack_cli import stack
from reports.cli import report

NOISY_LOGGERS = ("urllib3", "httpx", "matplotlib", "PIL", "asyncio")


class Commands(click.Group):
    """Lists each command with the whole first sentence of its help, wrapped rather than cut."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, command.get_short_help_str(limit=200))
                for name, command in sorted(self.commands.items()) if not command.hidden]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
def cli(verbose: bool) -> None:
    """pantao-st-crm: customer and contact-centre analytics for the restaurant chain.

    Without DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS every command uses the embedded local stack
    (PostgreSQL and a Kafka-protocol broker under ./.pantao/). Start with `pantao demo`.
    """
    # Everything pantao and the processes it starts write (reports, extracts, logs, Dagster's and
    # the simulator's files) is readable by this user only; see pantao/files.py.
    use_private_umask()
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


# `report send` delivers to Telegram, so notifications/ owns it; reports/ cannot import that layer.
report.add_command(send_command)
# A person's Superset account follows their login; access/ cannot import bi/, which sits above it.
USER_CHANGE_HOOKS.append(follow_user_change)
# The live queue board's gauges are monitoring/'s; ingestion/ cannot import that layer.
LIVE_BOARD_SERVERS.append(serve_live_board)

for command in (stack, simulate, prepare_command, ingest, dbt_command, run_command, ui_command, report,
                bot_command, users, export_command, metrics_command, bi, demo_command):
    cli.add_command(command)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except SettingsError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
