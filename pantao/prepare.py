"""`pantao prepare`: everything that must exist before the pipeline runs, done idempotently.

Each subsystem owns its own step; this module only runs them in order. Steps take the
settings and the resolved database URL and may be run any number of times.
"""

from __future__ import annotations

import importlib
import logging

import click

from pantao.settings import Settings, load_settings
from pantao.stack import resolve_endpoints

log = logging.getLogger(__name__)

# (name, "module:function"), in the order they run. Database steps come before dbt's manifest.
DATABASE_STEPS: list[tuple[str, str]] = [
    ("raw landing tables", "ingestion.schema:ensure_raw_schema"),
    ("report tables", "reports.schema:ensure_reports_schema"),
    ("roles and access tables", "access.migrate:ensure_access_schema"),
]
DBT_STEP = ("dbt manifest", "pantao.dbt_runner:prepare_manifest")


def _call(target: str, *args):
    module_name, attr = target.split(":")
    return getattr(importlib.import_module(module_name), attr)(*args)


def prepare_database(settings: Settings, database_url: str) -> None:
    for name, target in DATABASE_STEPS:
        log.info("prepare: %s", name)
        _call(target, settings, database_url)


def prepare_manifest(settings: Settings) -> None:
    log.info("prepare: %s", DBT_STEP[0])
    _call(DBT_STEP[1], settings)


def prepare(settings: Settings, database_url: str) -> None:
    prepare_database(settings, database_url)
    prepare_manifest(settings)


@click.command("prepare")
@click.option("--dbt-only", is_flag=True, help="Only build the dbt manifest (needs no database).")
def prepare_command(dbt_only: bool) -> None:
    """Create the raw, report and access schemas and roles; build the dbt manifest Dagster loads."""
    settings = load_settings()
    if dbt_only:
        prepare_manifest(settings)
    else:
        endpoints = resolve_endpoints(settings, need_kafka=False)
        prepare(settings, endpoints.database_url)
    click.echo("prepared")
