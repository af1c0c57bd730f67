"""The dbt models as assets (one per model, dbt tests as their checks), the reporting views included.

`dbt build` runs models and tests in dependency order; a failing test (severity error) stops
what depends on it, and in Dagster it is a blocking check, so reports in the same run do not
materialize on a wrong number. Because each model is its own asset, re-executing a failed run
from failure rebuilds only the models that did not materialize. The analysts' `reporting` views
are dbt models too (`reporting/<view>`), built after the marts they read. The build writes, tests
and only then publishes (pantao/wap.py): dbt works in shadow schemas, swapped in for the live ones
in one transaction when it passed, so readers never see half a build.

dagster-dbt starts dbt here so that each model and test becomes an asset event, but what it
starts comes from pantao.dbt_runner like every other dbt invocation: the executable, the
arguments (project, business vars) and the environment (connection, profiles).
"""

import graphlib
import tempfile
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.defs.marts.freshness import with_marts_freshness
from orchestration.lib.config import DBT_POOL
from orchestration.lib.dbt import PantaoDbtTranslator, environment, is_mart, load_dbt_project
from orchestration.lib.guards import failed_checks
from orchestration.lib.resources import PantaoResource
from pantao import wap
from pantao.dbt_runner import (
    DBT_PROFILES_DIR,
    DBT_PROJECT_DIR,
    build_inputs_of,
    build_shadow_views,
    dbt_args,
    dbt_env,
    dbt_executable,
    require_views,
)

# A run with this tag "true" builds even when nothing changed since the published build.
FORCE_BUILD_TAG = "pantao/force_build"
# The metadata of a materialization that was not rebuilt because its inputs had not changed.
UNCHANGED_METADATA = "pantao/unchanged"

dbt_project = load_dbt_project()
translator = PantaoDbtTranslator()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    name="dbt_models",
    pool=DBT_POOL,
)
def _dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, pantao: PantaoResource):
    settings = pantao.settings()
    database_url = pantao.database_url()
    # a build of every model replaces the `table` models whole: they are not copied (pantao/wap.py)
    rebuilt = frozenset() if context.is_subset else wap.rebuilt_whole(dbt_project.manifest_path, DBT_PROJECT_DIR)
    # a build of every model is skipped when nothing it reads changed since the published one
    # (pantao/build_inputs.py): its assets are reported current, no dbt test runs on unchanged rows
    inputs = None if context.is_subset else build_inputs_of(["build"], settings, dbt_project.manifest_path)
    # a check whose latest result failed is run again, whatever the inputs (the reports wait on it)
    failing = failed_checks(context.instance, list(context.selected_asset_check_keys), before_run=context.run_id)
    if failing:
        context.log.info(f"building whatever the inputs: the latest result of {len(failing)} check(s) failed")
    keys = wap.incremental_keys(dbt_project.manifest_path, DBT_PROJECT_DIR)
    with wap.ShadowBuild(database_url, rebuilt=rebuilt, inputs=inputs, keys=keys,
                         skip_if_current=not failing and context.run.tags.get(FORCE_BUILD_TAG) != "true") as shadow:
        if shadow.current:
            context.log.info(f"no dbt run: {shadow.current}")
            for key in _upstream_first(context.selected_asset_keys, context.assets_def.asset_deps):
                yield dg.MaterializeResult(asset_key=key, metadata={UNCHANGED_METADATA: shadow.current})
            return
        if shadow.reason:
            context.log.info(f"dbt build: {shadow.reason}")
        with tempfile.TemporaryDirectory(prefix="pantao-dbt-views-") as views_target:
            if context.is_subset:  # the views around a subset, over the copied tables (pantao/wap.py)
                build_shadow_views(settings, database_url, Path(views_target))
            with environment({**dbt_env(settings, database_url), **wap.shadow_env()}):
                invocation = dbt.cli(dbt_args(["build"], settings), context=context)
            yield from invocation.stream()  # raises when a model or a blocking test failed: no publish
            if context.is_subset:
                build_shadow_views(settings, database_url, Path(views_target))
                require_views(shadow)
        shadow.publish()
        context.log.info(f"published the build: {shadow.tables_copied} table(s) copied and "
                         f"{len(shadow.caught_up)} caught up in {shadow.seconds['prepare']:.1f} s, swapped in "
                         f"{shadow.seconds['publish']:.2f} s")


def _upstream_first(keys: AbstractSet[dg.AssetKey],
                    deps: Mapping[dg.AssetKey, AbstractSet[dg.AssetKey]]) -> list[dg.AssetKey]:
    """`keys` in an order where each comes after those it depends on (Dagster requires it of the
    outputs of one multi-asset), ties by name."""
    sorter = graphlib.TopologicalSorter({key: deps.get(key, set()) & keys for key in keys})
    sorter.prepare()
    ordered: list[dg.AssetKey] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=lambda k: k.to_user_string())
        ordered += ready
        sorter.done(*ready)
    return ordered


dbt_models = with_marts_freshness(_dbt_models)


def mart_keys() -> list[dg.AssetKey]:
    return sorted((key for key in dbt_models.keys if is_mart(key)), key=lambda k: k.to_user_string())


def reporting_keys() -> list[dg.AssetKey]:
    """The analysts' views (dbt_project/models/reporting/), keyed `reporting/<view>`."""
    return sorted((key for key in dbt_models.keys if key.path[0] == "reporting"), key=lambda k: k.to_user_string())


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, profiles_dir=str(DBT_PROFILES_DIR),
                          dbt_executable=dbt_executable())
