"""dagster-dbt wiring: the project (from the manifest `pantao prepare` writes) and its asset keys.

Loading reads `dbt_project/target/manifest.json` only; it never runs `dbt parse`, so the code
location loads fast and without a database. A missing manifest is an operator error with a fix,
except under `dagster dev` (which sets DAGSTER_IS_DEV_CLI): there it is built once, as
dagster-dbt's `prepare_if_dev` would, but with the project's own runner.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtProject

from pantao import dbt_runner

RAW_SCHEMA = "raw"
MARTS_SCHEMA = "marts"
MODEL_TYPES = ("model", "seed", "snapshot")


class ManifestMissingError(RuntimeError):
    """The dbt manifest Dagster loads the models from has not been built."""


def load_dbt_project() -> DbtProject:
    """The dbt project, failing with the command to run when its manifest is missing."""
    project = DbtProject(project_dir=dbt_runner.DBT_PROJECT_DIR, profiles_dir=dbt_runner.DBT_PROFILES_DIR)
    if not project.manifest_path.is_file() and os.environ.get("DAGSTER_IS_DEV_CLI"):
        from pantao.settings import load_settings

        dbt_runner.prepare_manifest(load_settings())  # `dbt parse`: no database needed
    if not project.manifest_path.is_file():
        raise ManifestMissingError(
            f"the dbt manifest {project.manifest_path} does not exist, so Dagster cannot load the dbt models. "
            "Run `pantao prepare` (or `pantao prepare --dbt-only`, which needs no database) and reload."
        )
    return project


def is_mart(key: dg.AssetKey) -> bool:
    """A mart table's asset (the translator keys models by `<schema>/<table>`)."""
    return key.path[0] == MARTS_SCHEMA


class PantaoDbtTranslator(DagsterDbtTranslator):
    """Keys dbt nodes by the PostgreSQL table they are: `<schema>/<table>`.

    A dbt source over `raw.<table>` gets the key of the landing asset that writes that table
    (`raw/<table>`), whatever the source is called in dbt, so lineage runs from landing to reports.
    """

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        kind = dbt_resource_props["resource_type"]
        schema = dbt_resource_props.get("schema")
        if kind == "source" and schema == RAW_SCHEMA:
            return dg.AssetKey([RAW_SCHEMA, dbt_resource_props.get("identifier") or dbt_resource_props["name"]])
        if kind in MODEL_TYPES and schema:
            return dg.AssetKey([schema, dbt_resource_props.get("alias") or dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] in MODEL_TYPES and dbt_resource_props.get("schema"):
            return dbt_resource_props["schema"]
        return super().get_group_name(dbt_resource_props)


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block, then restore them.

    dagster-dbt starts dbt with a copy of os.environ; this is how the connection variables
    profiles.yml reads reach dbt without leaking into the rest of an in-process run.
    """
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
