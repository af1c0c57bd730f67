"""`pantao prepare`: everything that must exist before the pipeline runs, done idempotently.

Each subsystem owns its step; this module only runs them in order. Steps take the settings and
the resolved database URL and may be run any number of times.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import click

from pantao.dbt_runner import prepare_manifest
from pantao.settings import Settings, load_settings
from pantao.stack import resolve_endpoints

log = logging.getLogger(__name__)


def database_steps() -> list[tuple[str, Callable[[Settings, str], None]]]:
    """(what, step) in the order they run. Imported here rather than with the module: they load
    the PostgreSQL driver, which `pantao --help` should not wait for."""
    from access.migrate import ensure_access_schema
    from ingestion.schema import ensure_raw_schema
    from reports.schema import ensure_reports_schema

    return [
        ("raw landing tables", ensure_raw_schema),
        ("report tables", ensure_reports_schema),
        ("roles and access tables", ensure_access_schema),
    ]


def prepare_database(settings: Settings, database_url: str) -> None:
    for name, step in database_steps():
        log.info("prepare: %s", name)
        step(settings, database_url)


def prepare(settings: Settings, database_url: str) -> None:
    prepare_database(settings, database_url)
    log.info("prepare: dbt manifest")
    prepare_manifest(settings)


@click.command("prepare")
@click.option("--dbt-only", is_flag=True, help="Only build the dbt manifest (needs no database).")
def prepare_command(dbt_only: bool) -> None:
    """Create schemas, roles and access tables; build the dbt manifest Dagster loads."""
    settings = load_settings()
    if dbt_only:
        prepare_manifest(settings)
    else:
        endpoints = resolve_endpoints(settings, need_kafka=False)
        prepare(settings, endpoints.database_url)
    click.echo("prepared")
