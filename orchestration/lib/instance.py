"""The Dagster instance on PostgreSQL: DAGSTER_HOME prepared from the repository's dagster.yaml.

The repository's dagster.yaml is the one source; each `pantao ui` / `pantao run` copies it into
`<PANTAO_DATA_DIR>/dagster_home` (Dagster reads dagster.yaml only from DAGSTER_HOME) and points
its storage at the analytics PostgreSQL, so runs from the CLI and the daemon show in one UI.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg

from pantao.db import sqlalchemy_url
from pantao.files import PRIVATE_FILE_MODE, private_dir
from pantao.settings import Settings
from pantao.stack import Endpoints

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGSTER_YAML = REPO_ROOT / "dagster.yaml"
WORKSPACE_YAML = REPO_ROOT / "workspace.yaml"
PG_URL_VAR = "PANTAO_DAGSTER_PG_URL"


class InstanceError(RuntimeError):
    """The Dagster instance's files are missing or unusable."""


def prepare_dagster_home(settings: Settings, source: Path = DAGSTER_YAML) -> Path:
    """Create DAGSTER_HOME under the data folder with a fresh copy of the repository's dagster.yaml."""
    if not source.is_file():
        raise InstanceError(f"{source} is missing; it ships with the repository (run from a checkout of pantao-st-crm)")
    home = private_dir(settings.dagster_home.resolve())
    shutil.copyfile(source, home / "dagster.yaml")
    os.chmod(home / "dagster.yaml", PRIVATE_FILE_MODE)
    return home


def storage_url(endpoints: Endpoints) -> str:
    """Dagster's storage: an operator's own PANTAO_DAGSTER_PG_URL (for example a separate database
    for Dagster's tables), else the analytics database in the form dagster-postgres takes."""
    return os.environ.get(PG_URL_VAR) or sqlalchemy_url(endpoints.database_url)


def dagster_env(settings: Settings, endpoints: Endpoints, home: Path) -> dict[str, str]:
    """Environment for Dagster processes: its home, its storage URL and the resolved endpoints.

    The endpoints are exported so every run worker uses the same database and broker without
    starting the embedded stack itself.
    """
    env = {
        "DAGSTER_HOME": str(home),
        PG_URL_VAR: storage_url(endpoints),
        "DATABASE_URL": endpoints.database_url,
    }
    if endpoints.kafka_bootstrap:
        env["KAFKA_BOOTSTRAP_SERVERS"] = endpoints.kafka_bootstrap
    return env


def open_instance(home: Path) -> dg.DagsterInstance:
    """The instance configured by `home`/dagster.yaml (its storage: orchestration.lib.storage)."""
    return dg.DagsterInstance.from_config(str(home))
