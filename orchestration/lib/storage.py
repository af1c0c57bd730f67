"""Dagster's run, event and schedule storage on PostgreSQL, for dagster.yaml.

The storage classes are dagster-postgres's own; only where their URL comes from differs, so that
the same dagster.yaml serves production, `pantao ui` and a bare `dagster dev -w workspace.yaml`:
an explicit `postgres_url` / `postgres_db` in dagster.yaml, else PANTAO_DAGSTER_PG_URL (`pantao ui`
and `pantao run` set it), else the analytics database the settings name (DATABASE_URL, or the
embedded PostgreSQL, started on demand). Dagster builds these when it opens the instance (in the
webserver, the daemon and each run), never when it loads the code location.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from dagster_postgres.utils import pg_url_from_config

from orchestration.lib.instance import PG_URL_VAR, storage_url
from pantao.db import redact
from pantao.settings import load_settings
from pantao.stack import resolve_endpoints

log = logging.getLogger(__name__)


def postgres_url(config_value: Mapping[str, Any]) -> str:
    """Where Dagster keeps its runs, events and schedules (see the module docstring for the order)."""
    if config_value.get("postgres_url") or config_value.get("postgres_db"):
        return pg_url_from_config(config_value)
    if os.environ.get(PG_URL_VAR):
        return os.environ[PG_URL_VAR]
    url = storage_url(resolve_endpoints(load_settings(), need_kafka=False))
    log.info("%s is not set: Dagster storage in %s", PG_URL_VAR, redact(url))
    return url


class _UrlFromPostgresUrl:
    """dagster-postgres's own storage, opened on the URL `postgres_url` finds."""

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(postgres_url=postgres_url(config_value), inst_data=inst_data,
                   should_autocreate_tables=config_value.get("should_autocreate_tables", True))


class PantaoRunStorage(_UrlFromPostgresUrl, PostgresRunStorage):
    pass


class PantaoEventLogStorage(_UrlFromPostgresUrl, PostgresEventLogStorage):
    pass


class PantaoScheduleStorage(_UrlFromPostgresUrl, PostgresScheduleStorage):
    pass
