"""`pantao stack up | down | status`."""

from __future__ import annotations

import sys

import click

from pantao.settings import load_settings
from pantao.stack import BROKER_NOTE, LocalStack, StackError


@click.group("stack")
def stack() -> None:
    """Start, stop and inspect the embedded PostgreSQL and Kafka-protocol broker, and see and stop
    the long-running pantao processes (UI, BI server, following landing) of this data directory."""


@stack.command("up")
def up() -> None:
    """Start the embedded services that are not running (idempotent)."""
    settings = load_settings()
    try:
        state = LocalStack(settings.data_dir).up(
            postgres=settings.uses_embedded_postgres, kafka=settings.uses_embedded_kafka
        )
    except StackError as exc:
        raise click.ClickException(str(exc)) from None
    if "postgres" in state and settings.uses_embedded_postgres:
        click.echo(f"postgres  running  pid {state['postgres']['pid']}  {state['postgres']['dsn']}")
    else:
        click.echo("postgres  external (DATABASE_URL is set)")
    if "kafka" in state and settings.uses_embedded_kafka:
        click.echo(f"kafka     running  pid {state['kafka']['pid']}  {state['kafka']['bootstrap']}  ({BROKER_NOTE})")
    else:
        click.echo("kafka     external (KAFKA_BOOTSTRAP_SERVERS is set)")


@stack.command("down")
def down() -> None:
    """Stop everything of this data directory: the registered processes (`pantao ui`, the BI
    server, a following landing), the broker and PostgreSQL."""
    stopped, notes = LocalStack(load_settings().data_dir).down()
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    for note in notes:
        click.echo(note)


@stack.command("status")
def status() -> None:
    """Show the embedded servers and the registered processes (run/*.json): running, stopped, or
    stale (recorded but gone). Exit 1 if anything is stale or unreadable."""
    rows = LocalStack(load_settings().data_dir).status()
    for row in rows:
        pid = f"pid {row.pid}" if row.pid else "-"
        click.echo(f"{row.name:<9} {row.state:<8} {pid:<11} {row.address}  {row.detail}".rstrip())
    if any(row.state in ("stale", "unreadable") for row in rows):
        sys.exit(1)
