"""The test session's dbt fork server (tests/dbt_forkserver.py) behaves as the real dbt executable
does for everything the product relies on: output, exit codes, signals, and a dbt killed with the
process that started it. Each scenario runs both ways and compares."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from pantao.db import libpq_params
from pantao.dbt_runner import DBT_EXECUTABLE_VAR
from tests.dbt_forkserver import ForkServer

PROJECT = """
name: forkcheck
version: "1.0"
profile: forkcheck
config-version: 2
macro-paths: ["macros"]
"""
PROFILES = """
forkcheck:
  target: default
  outputs:
    default:
      type: postgres
      host: "{{ env_var('FC_HOST') }}"
      port: "{{ env_var('FC_PORT') | as_number }}"
      user: "{{ env_var('FC_USER') }}"
      password: "{{ env_var('FC_PASSWORD') }}"
      dbname: "{{ env_var('FC_DBNAME') }}"
      schema: public
      threads: 1
      application_name: "{{ env_var('FC_APP') }}"
"""
MACROS = """
{% macro nap(seconds) %}
  {% do run_query("select pg_sleep(" ~ seconds ~ ")") %}
  {% do log("slept " ~ seconds, info=True) %}
{% endmacro %}
{% macro fail_now() %}
  {{ exceptions.raise_compiler_error("failing on purpose") }}
{% endmacro %}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("forkcheck")
    (root / "macros").mkdir()
    (root / "dbt_project.yml").write_text(PROJECT, encoding="utf-8")
    (root / "profiles.yml").write_text(PROFILES, encoding="utf-8")
    (root / "macros" / "m.sql").write_text(MACROS, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def executables(tmp_path_factory) -> dict[str, str]:
    """The real dbt and this module's own fork server's client (not the session's: a test stops it)."""
    from pantao.dbt_runner import dbt_executable

    saved = os.environ.pop(DBT_EXECUTABLE_VAR, None)
    try:
        real = dbt_executable()
    finally:
        if saved is not None:
            os.environ[DBT_EXECUTABLE_VAR] = saved
    server = ForkServer(tmp_path_factory.mktemp("forkserver"), real)
    yield {"real": real, "forked": str(server.client), "server": server}
    server.stop()


def _env(project: Path, url: str, app: str) -> dict[str, str]:
    params = libpq_params(url)
    env = {k: v for k, v in os.environ.items() if k != DBT_EXECUTABLE_VAR}
    kind = app.split("_")[1]  # one target folder per executable: its later runs parse partially, as in a session
    env.update(DBT_PROFILES_DIR=str(project), DBT_TARGET_PATH=str(project / f"target-{kind}"),
               DBT_LOG_PATH=str(project / f"logs-{kind}"), DBT_SEND_ANONYMOUS_USAGE_STATS="false",
               DBT_USE_COLORS="false", FC_HOST=params["host"], FC_PORT=params["port"], FC_USER=params["user"],
               FC_DBNAME=params["dbname"], FC_APP=app, FC_PASSWORD=params["password"],
               # the server ends a session whose client died within 0.2 s, even inside pg_sleep
               PGOPTIONS="-c client_connection_check_interval=200")
    return env


def _run(executable: str, args: list[str], project: Path, url: str, app: str) -> subprocess.CompletedProcess:
    return subprocess.run([executable, *args, "--project-dir", str(project)], cwd=project, capture_output=True,
                          text=True, env=_env(project, url, app), timeout=120)


def _napping(url: str, app: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("select count(*) from pg_stat_activity where application_name = %s "
                            "and query like %s and pid <> pg_backend_pid()", (app, "%pg_sleep%")).fetchone()[0] > 0


def _start_nap(executable: str, project: Path, url: str, app: str, seconds: int) -> subprocess.Popen:
    process = subprocess.Popen([executable, "run-operation", "nap", "--args", f"{{seconds: {seconds}}}",
                                "--project-dir", str(project)], cwd=project, env=_env(project, url, app),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not _napping(url, app):
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "dbt never reached its pg_sleep"
        time.sleep(0.2)
    return process


def _gone(url: str, app: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _napping(url, app):
            return True
        time.sleep(0.2)
    return False


def test_output_and_exit_codes_are_the_real_dbts(executables, project, fresh_database_url):
    for args, code in ((["run-operation", "nap", "--args", "{seconds: 0}"], 0),
                       (["run-operation", "fail_now"], 1),
                       (["not-a-command"], 2)):
        real = _run(executables["real"], args, project, fresh_database_url, "fc_real")
        forked = _run(executables["forked"], args, project, fresh_database_url, "fc_forked")
        assert (real.returncode, forked.returncode) == (code, code), (args, real.stdout, forked.stdout)
        for marker in ("slept 0", "failing on purpose", "No such command"):
            assert (marker in real.stdout + real.stderr) == (marker in forked.stdout + forked.stderr), \
                (marker, real.stdout + real.stderr, forked.stdout + forked.stderr)
    # each invocation starts clean: the second sees none of the first's state (a fresh process's flags)
    again = _run(executables["forked"], ["run-operation", "nap", "--args", "{seconds: 0}"], project,
                 fresh_database_url, "fc_forked")
    assert again.returncode == 0 and "slept 0" in again.stdout


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_client_ends_dbt_as_it_ends_the_real_one(executables, project, fresh_database_url, signum):
    # dbt takes a stop signal when its query returns (psycopg2 blocks in C meanwhile), so the nap is short;
    # a signal the client did not pass on would leave dbt (holding the output pipe) to finish its nap and log it
    codes = {}
    for kind in ("real", "forked"):
        app = f"fc_{kind}_{signum.name.lower()}"
        process = _start_nap(executables[kind], project, fresh_database_url, app, seconds=3)
        process.send_signal(signum)
        output = process.communicate(timeout=60)[0]
        codes[kind] = process.returncode
        assert "slept 3" not in output, output
        assert _gone(fresh_database_url, app), f"{kind} dbt still sleeping after {signum.name}"
    assert codes["forked"] == codes["real"] != 0, codes


def test_dbt_dies_with_a_killed_client(executables, project, fresh_database_url):
    import psutil

    server = psutil.Process(executables["server"].process.pid)
    process = _start_nap(executables["forked"], project, fresh_database_url, "fc_killed", seconds=60)
    forked = server.children(recursive=True)
    assert forked, "no forked dbt under the server while it sleeps"
    process.kill()
    process.wait(timeout=30)
    _, alive = psutil.wait_procs(forked, timeout=30)
    assert alive == [], f"dbt outlived the client that started it: {alive}"
    assert _gone(fresh_database_url, "fc_killed", timeout=10), "the killed client's query still runs"


def test_the_real_dbt_runs_when_the_server_is_down(executables, project, fresh_database_url):
    executables["server"].stop()
    result = _run(executables["forked"], ["run-operation", "nap", "--args", "{seconds: 0}"], project,
                  fresh_database_url, "fc_fallback")
    assert result.returncode == 0 and "slept 0" in result.stdout, result.stdout + result.stderr
