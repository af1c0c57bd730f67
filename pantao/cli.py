"""The `pantao` command line: one entry point, each command loaded from the module that owns it.

Commands are imported lazily so `pantao --help` and `pantao stack status` stay fast and a
command's heavy imports (Dagster, dbt) load only when that command runs.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from pantao.files import use_private_umask
from pantao.settings import SettingsError

# command name -> ("module:attribute" of a click command or group, one-line summary for --help)
COMMANDS: dict[str, tuple[str, str]] = {
    "stack": ("pantao.stack_cli:stack", "Start, stop and inspect the embedded PostgreSQL and broker."),
    "simulate": ("simulator.cli:simulate", "Generate a simulated chain: Kafka events, PBX data and truth.json."),
    "prepare": ("pantao.prepare:prepare_command", "Create schemas, roles and views; build the dbt manifest."),
    "ingest": ("ingestion.cli:ingest", "Land Kafka topics and FreePBX call data into PostgreSQL."),
    "dbt": ("pantao.dbt_runner:dbt_command", "Run dbt (build, test, ...) against the configured database."),
    "run": ("orchestration.cli:run_command", "Materialize the whole Dagster graph in-process."),
    "ui": ("orchestration.cli:ui_command", "Start the Dagster webserver and daemon on the local stack."),
    "report": ("reports.cli:report", "Build, show and send the daily manager report."),
    "bot": ("notifications.cli:bot_command", "Run the Telegram bot that answers report requests."),
    "users": ("access.cli:users", "Add, remove and scope the people who may read the data."),
    "export": ("access.cli:export_command", "Stream a reporting view to CSV as a given user."),
    "metrics": ("monitoring.cli:metrics_command", "Serve Prometheus metrics for the pipeline and the KPIs."),
    "bi": ("bi.cli:bi", "Business dashboards (Apache Superset) on the reporting views: up, down, status."),
    "demo": ("app.demo:demo_command", "Run the whole system end to end on the embedded stack."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr = entry[0].split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    for noisy in ("urllib3", "httpx", "matplotlib", "PIL", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except SettingsError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
