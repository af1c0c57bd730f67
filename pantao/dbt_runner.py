"""Running dbt against the configured PostgreSQL: one place that builds its environment and reads its results.

dbt runs as a subprocess of the venv's own `dbt`, not in-process: dbt keeps global state (adapters,
flags, logging) that does not survive two invocations in one interpreter, and a subprocess lets
Dagster, the CLI and tests run it the same way. profiles.yml reads the connection from
`PANTAO_DBT_*` environment variables, so no credentials are written to disk.
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

from pantao.db import libpq_params
from pantao.settings import Settings, load_settings

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
DBT_PROFILES_DIR = DBT_PROJECT_DIR
DEFAULT_TARGET_DIR = DBT_PROJECT_DIR / "target"
# Statuses in run_results.json that mean a node did not do its job.
# dbt commands that never connect: they need no database, so the embedded stack is not started.
OFFLINE_COMMANDS = frozenset({"parse", "ls", "list", "clean", "--version", "--help", "-h"})
PLACEHOLDER_DATABASE_URL = "postgresql://pantao:unused@127.0.0.1:5432/pantao"
FAILED_STATUSES = frozenset({"error", "fail", "runtime error", "skipped"})


class DbtError(RuntimeError):
    """dbt exited with an error; the message names the failing models/tests and their messages."""

    def __init__(self, message: str, failed_nodes: list[str] | None = None) -> None:
        super().__init__(message)
        self.failed_nodes = failed_nodes or []


def dbt_executable() -> str:
    """The `dbt` installed next to this interpreter (the project's venv), else the one on PATH."""
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


def dbt_env(settings: Settings, database_url: str) -> dict[str, str]:
    """The environment variables profiles.yml reads (connection fields and the profiles folder)."""
    params = libpq_params(database_url)
    return {
        "PANTAO_DBT_HOST": params["host"],
        "PANTAO_DBT_PORT": params["port"],
        "PANTAO_DBT_USER": params["user"],
        "PANTAO_DBT_PASSWORD": params["password"],
        "PANTAO_DBT_DBNAME": params["dbname"],
        "DBT_PROFILES_DIR": str(DBT_PROFILES_DIR),
    }


def _vars_arg(settings: Settings) -> list[str]:
    return ["--vars", json.dumps(settings.dbt_vars)]


def _has_vars_flag(args: list[str]) -> bool:
    return any(a == "--vars" or a.startswith("--vars=") for a in args)


def failed_nodes(target_dir: Path = DEFAULT_TARGET_DIR) -> list[tuple[str, str, str]]:
    """(unique_id, status, message) of every node that failed in the last run, from run_results.json."""
    path = target_dir / "run_results.json"
    if not path.is_file():
        return []
    try:
        results = json.loads(path.read_text(encoding="utf-8")).get("results", [])
    except (OSError, ValueError):
        return []
    return [
        (r.get("unique_id", "?"), r.get("status", "?"), (r.get("message") or "").strip())
        for r in results
        if r.get("status") in FAILED_STATUSES
    ]


def run_dbt(args: list[str], settings: Settings, database_url: str, *, capture: bool = True,
            target_dir: Path | None = None) -> str:
    """Run `dbt <args>` on the project with the settings' vars; returns dbt's output.

    `target_dir` (default dbt_project/target) holds dbt's artifacts and logs; concurrent runs
    (tests, benchmarks) pass their own so they never read each other's run_results.json.
    Raises DbtError naming the failing nodes (from run_results.json) when dbt exits non-zero.
    """
    target = Path(target_dir) if target_dir is not None else DEFAULT_TARGET_DIR
    command = [dbt_executable(), *args]
    if args and not args[0].startswith("-"):  # a subcommand, not `dbt --version` / `dbt --help`
        command += ["--project-dir", str(DBT_PROJECT_DIR)]
        if not _has_vars_flag(args):
            command += _vars_arg(settings)
    env = {
        **os.environ,
        **dbt_env(settings, database_url),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
    }
    results_path = target / "run_results.json"
    started_mtime = results_path.stat().st_mtime if results_path.exists() else 0.0
    log.info("running dbt %s", " ".join(args))
    proc = subprocess.run(
        command, cwd=DBT_PROJECT_DIR, env=env, text=True,
        stdout=subprocess.PIPE if capture else None, stderr=subprocess.STDOUT if capture else None,
    )
    output = proc.stdout or ""
    if proc.returncode == 0:
        return output
    fresh = results_path.exists() and results_path.stat().st_mtime > started_mtime
    failures = failed_nodes(target) if fresh else []
    if failures:
        failed = [f for f in failures if f[1] != "skipped"]
        skipped = len(failures) - len(failed)
        lines = [f"  {uid} [{status}]: {message[:800]}" for uid, status, message in failed]
        if skipped:
            lines.append(f"  ({skipped} downstream node(s) skipped because of these)")
        raise DbtError(
            f"dbt {' '.join(args)} failed on {len(failed)} node(s):\n" + "\n".join(lines)
            + f"\nFull log: {target / 'logs' / 'dbt.log'}",
            [uid for uid, _, _ in failed],
        )
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
    except DbtError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
