"""The dbt models as assets (one per model, dbt tests as their checks), the reporting views included.

`dbt build` runs models and tests in dependency order; a failing test (severity error) stops
what depends on it, and in Dagster it is a blocking check, so reports in the same run do not
materialize on a wrong number. Because each model is its own asset, re-executing a failed run
from failure rebuilds only the models that did not materialize. The analysts' `reporting` views
are dbt models too (`reporting/<view>`), built after the marts they read.
"""


import json

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.lib.config import DBT_POOL
from orchestration.lib.dbt import PantaoDbtTranslator, environment, load_dbt_project
from orchestration.lib.resources import PantaoResource
from pantao.dbt_runner import dbt_env

dbt_project = load_dbt_project()
translator = PantaoDbtTranslator()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    name="dbt_models",
    pool=DBT_POOL,
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, pantao: PantaoResource):
    settings = pantao.settings()
    database_url = pantao.database_url()
    with environment(dbt_env(settings, database_url)):
        invocation = dbt.cli(["build", "--vars", json.dumps(settings.dbt_vars)], context=context)
    yield from invocation.stream()


def _keys_in(schema: str) -> list[dg.AssetKey]:
    return sorted((key for key in dbt_models.keys if key.path[0] == schema), key=lambda k: k.to_user_string())


def mart_keys() -> list[dg.AssetKey]:
    return _keys_in("marts")


def reporting_keys() -> list[dg.AssetKey]:
    """The analysts' views (dbt_project/models/reporting/), keyed `reporting/<view>`."""
    return _keys_in("reporting")


def dbt_resource() -> DbtCliResource:
    from pantao.dbt_runner import DBT_PROFILES_DIR, dbt_executable

    return DbtCliResource(project_dir=dbt_project, profiles_dir=str(DBT_PROFILES_DIR),
                          dbt_executable=dbt_executable())
