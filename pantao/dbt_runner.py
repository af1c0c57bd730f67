"""Running dbt against the configured PostgreSQL: the one place that says how dbt is started.

Two callers start dbt, and both take the executable, the arguments and the environment from here:
`run_dbt` (the CLI, `pantao prepare`, tests, benchmarks) and the Dagster asset, which hands them to
dagster-dbt so that each model and test becomes an asset event.

dbt runs as a subprocess of the venv's own `dbt`, not in-process: dbt keeps global state (adapters,
flags, logging) that does not survive two invocations in one interpreter. profiles.yml reads the
connection from `PANTAO_DBT_*` environment variables, so no credentials are written to disk.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click

from pantao import build_inputs, wap
from pantao.db import libpq_params
from pantao.dbt_results import DbtResultsError, read_run
from pantao.settings import Settings, load_settings

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
DBT_PROFILES_DIR = DBT_PROJECT_DIR
DEFAULT_TARGET_DIR = DBT_PROJECT_DIR / "target"
# dbt's saved parse in a target folder; a run reuses it when project, vars and connection are unchanged
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# dbt commands that never connect: they need no database, so the embedded stack is not started.
OFFLINE_COMMANDS = frozenset({"parse", "ls", "list", "clean", "--version", "--help", "-h"})
PLACEHOLDER_DATABASE_URL = "postgresql://pantao:unused@127.0.0.1:5432/pantao"
# work_mem of dbt's sessions (PostgreSQL's default is 4MB): the latest-state sorts and the
# incremental models' hash joins over a backfill's changed keys stay in memory (issue #15;
# docs/performance.md). Per sort or hash node and dbt thread, so it bounds a backend's RSS too.
DBT_WORK_MEM = "32MB"
# the dbt to run instead of the venv's (dbt_executable)
DBT_EXECUTABLE_VAR = "PANTAO_DBT_EXECUTABLE"


class DbtError(RuntimeError):
    """dbt exited with an error; the message names the failing models/tests and their messages."""

    def __init__(self, message: str, failed_nodes: list[str] | None = None) -> None:
        super().__init__(message)
        self.failed_nodes = failed_nodes or []


def dbt_executable() -> str:
    """The `dbt` installed next to this interpreter (the project's venv), else the one on PATH.

    The only lookup: `run_dbt` and the Dagster dbt resource both start this one, so the dbt that
    runs is the version this project pins, whatever else is on PATH. `PANTAO_DBT_EXECUTABLE`
    names another one (a wrapper, another install), which must accept dbt's arguments; the test
    session points it at a dbt that starts without re-importing itself (tests/dbt_forkserver.py).
    """
    override = os.environ.get(DBT_EXECUTABLE_VAR)
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise DbtError(f"{DBT_EXECUTABLE_VAR}={override} is not an executable file")
        return override
    candidate = Path(sys.executable).parent / "dbt"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("dbt")
    if not found:
        raise DbtError(
            f"no dbt executable next to {sys.executable} nor on PATH; install the project with "
            "`pip install -e .` (it depends on dbt-core and dbt-postgres)"
        )
    return found


def dbt_env(settings: Settings, database_url: str, target_dir: Path | None = None) -> dict[str, str]:
    """The environment every dbt invocation gets: the connection fields profiles.yml reads, the
    profiles folder, no usage statistics and no colours, the sessions' work_mem; with `target_dir`, where its artifacts
    and logs go (dagster-dbt picks a folder per invocation itself)."""
    params = libpq_params(database_url)
    env = {
        "PANTAO_DBT_HOST": params["host"],
        "PANTAO_DBT_PORT": params["port"],
        "PANTAO_DBT_USER": params["user"],
        "PANTAO_DBT_PASSWORD": params["password"],
        "PANTAO_DBT_DBNAME": params["dbname"],
        "DBT_PROFILES_DIR": str(DBT_PROFILES_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        # libpq reads PGOPTIONS; the caller's own options come after ours, so theirs win
        "PGOPTIONS": f"-c work_mem={DBT_WORK_MEM} {os.environ.get('PGOPTIONS', '')}".strip(),
    }
    if target_dir is not None:
        env.update(DBT_TARGET_PATH=str(target_dir), DBT_LOG_PATH=str(target_dir / "logs"))
    return env


def dbt_args(args: list[str], settings: Settings) -> list[str]:
    """`args` with what every dbt command on this project takes: the project folder and the
    business vars from the settings (unless the caller passes its own --vars)."""
    if not args or args[0].startswith("-"):  # `dbt --version`, `dbt --help`: no subcommand
        return list(args)
    extra = ["--project-dir", str(DBT_PROJECT_DIR)]
    if not any(a == "--vars" or a.startswith("--vars=") for a in args):
        extra += ["--vars", json.dumps(settings.dbt_vars)]
    return [*args, *extra]


def failure_message(args: list[str], results_path: Path) -> DbtError | None:
    """A DbtError naming what failed in `results_path` (pantao.dbt_results has the rule), or None
    when the file names no failed node."""
    try:
        run = read_run(results_path)
    except DbtResultsError:
        return None
    if not run.failed:
        return None
    lines = [f"  {node.unique_id} [{node.status}]: {node.message[:800]}" for node in run.failed]
    if run.skipped:
        lines.append(f"  ({len(run.skipped)} downstream node(s) skipped because of these)")
    return DbtError(
        f"dbt {' '.join(args)} failed on {len(run.failed)} node(s):\n" + "\n".join(lines)
        + f"\nFull log: {results_path.parent / 'logs' / 'dbt.log'}",
        [node.unique_id for node in run.failed],
    )


def run_dbt(args: list[str], settings: Settings, database_url: str, *, capture: bool = True,
            target_dir: Path | None = None, wap_seconds: dict[str, float] | None = None,
            skip_if_current: bool = False) -> str:
    """Run `dbt <args>` on the project with the settings' vars; returns dbt's output.

    `build` and `run` write–audit–publish (pantao/wap.py): dbt builds and tests in the shadow
    schemas, and only a build that passed is swapped in for the live ones, in one transaction.
    `target_dir` (default dbt_project/target) holds dbt's artifacts and logs; concurrent runs
    (tests, benchmarks) pass their own so they never read each other's run_results.json.
    Raises DbtError naming the failing nodes (from run_results.json) when dbt exits non-zero.
    `wap_seconds`, when given, receives the seconds the shadow's preparation and the publish took.
    A build of the whole project records its inputs with the publish (pantao/build_inputs.py); with
    `skip_if_current` (the hourly pipeline's choice), when they are the published build's, dbt does
    not run: the sentence saying so is returned and `wap_seconds` gets `skipped` = 1.
    """
    target = Path(target_dir) if target_dir is not None else DEFAULT_TARGET_DIR
    if not wap.writes_models(args):
        if args and args[0] in wap.LIVE_WRITING_COMMANDS:
            build_inputs.forget_published(database_url)
        return _invoke(args, settings, database_url, capture=capture, target=target)
    partial, full_refresh = wap.is_partial(args), wap.is_full_refresh(args)
    # a build of the whole project replaces its `table` models: no copy of them (pantao/wap.py)
    manifest = newest_manifest(target)
    rebuilt = frozenset() if partial or full_refresh else wap.rebuilt_whole(manifest, DBT_PROJECT_DIR)
    inputs = None if partial else build_inputs_of(args, settings, manifest)
    with wap.ShadowBuild(database_url, copy_tables=partial or not full_refresh, rebuilt=rebuilt, inputs=inputs,
                         skip_if_current=skip_if_current and not full_refresh,
                         keys=wap.incremental_keys(manifest, DBT_PROJECT_DIR)) as shadow:
        if shadow.current:
            if wap_seconds is not None:
                wap_seconds.update(skipped=1.0)
            return shadow.current
        # the views the selection needs, over the copied tables
        views_built = build_shadow_views(settings, database_url, target) if partial else True
        output = _invoke(args, settings, database_url, capture=capture, target=target, extra_env=wap.shadow_env())
        if partial:
            # and the views a rebuilt table dropped with it, or that could not be built before it
            if not views_built or shadow.missing_views():
                build_shadow_views(settings, database_url, target)
            require_views(shadow)
        shadow.publish()
    if wap_seconds is not None:
        wap_seconds.update(shadow.seconds, tables_copied=shadow.tables_copied,
                           tables_caught_up=len(shadow.caught_up), tables_based=len(shadow.based))
    return output


def build_inputs_of(args: list[str], settings: Settings, manifest: Path | None) -> build_inputs.BuildInputs | None:
    """The inputs of a build of the whole project with `dbt <args>` (pantao/build_inputs.py)."""
    return build_inputs.BuildInputs.of(dbt_args(args, settings), settings.business_timezone, manifest, DBT_PROJECT_DIR)


def newest_manifest(target: Path) -> Path | None:
    """The newer of `target`'s manifest.json (the last dbt run there) and the one `pantao prepare`
    writes, or None when neither exists."""
    found = [path for path in (target / "manifest.json", DEFAULT_TARGET_DIR / "manifest.json") if path.is_file()]
    return max(found, key=lambda path: path.stat().st_mtime, default=None)


def build_shadow_views(settings: Settings, database_url: str, target: Path) -> bool:
    """(Re)build every view in the shadow schemas: what a partial build needs around its selection.
    True when every view was built.

    A view that cannot be built (its raw table does not exist yet, say) is left out here; the
    selection's own build reports what it needs, and `require_views` what a publish would lose.
    The parse dbt saves is handed back to `target`: it is valid for the selection's run too (same
    project, vars and connection), which then skips a full parse (dbt reparses whenever the
    connection's database, port or user differ from the saved parse's).
    """
    views_target = target / "views"  # its own run_results.json: the caller reads the selection's
    views_target.mkdir(parents=True, exist_ok=True)
    saved_parse = target / PARTIAL_PARSE_FILE
    if saved_parse.is_file():
        shutil.copy2(saved_parse, views_target / PARTIAL_PARSE_FILE)
    try:
        _invoke(["run", *wap.VIEW_SELECTION], settings, database_url, capture=True, target=views_target,
                extra_env=wap.shadow_env())
        return True
    except DbtError as exc:
        log.info("some views could not be built in the shadow: %s", exc)
        return False
    finally:
        if (views_target / PARTIAL_PARSE_FILE).is_file():
            shutil.copy2(views_target / PARTIAL_PARSE_FILE, saved_parse)


def require_views(shadow: wap.ShadowBuild) -> None:
    """Refuse to publish a shadow that lacks a view the live schemas have."""
    missing = shadow.missing_views()
    if missing:
        raise DbtError(f"the build is not published: the views {', '.join(missing)} could not be rebuilt in "
                       "the shadow schemas (see the log above); the live schemas are unchanged")


def _invoke(args: list[str], settings: Settings, database_url: str, *, capture: bool, target: Path,
            extra_env: dict[str, str] | None = None) -> str:
    env = {**os.environ, **dbt_env(settings, database_url, target), **(extra_env or {})}
    results_path = target / "run_results.json"
    started_mtime = results_path.stat().st_mtime if results_path.exists() else 0.0
    log.info("running dbt %s", " ".join(args))
    proc = subprocess.run(
        [dbt_executable(), *dbt_args(args, settings)], cwd=DBT_PROJECT_DIR, env=env, text=True,
        stdout=subprocess.PIPE if capture else None, stderr=subprocess.STDOUT if capture else None,
    )
    output = proc.stdout or ""
    if proc.returncode == 0:
        return output
    fresh = results_path.exists() and results_path.stat().st_mtime > started_mtime
    error = failure_message(args, results_path) if fresh else None
    if error is not None:
        raise error
    tail = "\n".join(output.strip().splitlines()[-30:])
    raise DbtError(f"dbt {' '.join(args)} exited with code {proc.returncode} before running any node:\n{tail}")


def prepare_manifest(settings: Settings) -> Path:
    """Write dbt_project/target/manifest.json with `dbt parse`, which Dagster's DbtProject loads.

    `dbt parse` does not connect to the database, so placeholder connection values suffice and this
    step works before any database exists (e.g. in `make test` and when Dagster code loads).
    """
    run_dbt(["parse", "--quiet"], settings, PLACEHOLDER_DATABASE_URL)
    manifest = DEFAULT_TARGET_DIR / "manifest.json"
    if not manifest.is_file():
        raise DbtError(f"dbt parse succeeded but wrote no {manifest}; check dbt_project.yml's target-path")
    log.info("dbt manifest written to %s", manifest)
    return manifest


@click.command(
    "dbt",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
)
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
def dbt_command(dbt_args: tuple[str, ...]) -> None:
    """Run dbt (build, test, ...) on the project against the configured (or embedded) database.

    For example `pantao dbt build`. The business vars (timezone, thresholds, lookback) come from the settings unless --vars is given.
    """
    from pantao.stack import resolve_endpoints

    settings = load_settings()
    args = list(dbt_args) or ["--help"]
    if args[0] in OFFLINE_COMMANDS:
        database_url = PLACEHOLDER_DATABASE_URL
    else:
        database_url = resolve_endpoints(settings, need_kafka=False).database_url
    try:
        run_dbt(args, settings, database_url, capture=False)
    except (DbtError, wap.BuildInProgress) as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
