"""The main job, end to end, as a new user runs it — on a small scale, in a temporary data directory;
and the pieces of its output, each checked on its own."""

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.demo import FIGURES, _progress_line, print_where_to_look, published_summary, simulated_summary
from pantao import runfiles
from pantao.dbt_runner import DBT_EXECUTABLE_VAR
from pantao.stack import Endpoints, LocalStack
from tests.conftest import PANTAO_CLI
from tests.private_files import exposed


@pytest.fixture
def demo_dir(tmp_path):
    data_dir = tmp_path / "pantao"
    yield data_dir
    LocalStack(data_dir).down()


def run_demo(data_dir, extra_env=None):
    # the demo runs as on a user's machine: the real dbt executable, not the session's fork server
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "KAFKA_", "TELEGRAM_", "PBX_", DBT_EXECUTABLE_VAR))}
    env["PANTAO_DATA_DIR"] = str(data_dir)
    env.update(extra_env or {})
    return subprocess.run(
        [*PANTAO_CLI, "demo", "--days", "4", "--restaurants", "3", "--seed", "5"],
        capture_output=True, text=True, env=env, timeout=1800, cwd=data_dir.parent,
    )


def assert_demo_ok(result):
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    figure_lines = [line for line in out.splitlines() if "simulator truth" in line or "DIFFERS" in line]
    assert len(figure_lines) == len(FIGURES) == 11, out
    assert all("= simulator truth" in line for line in figure_lines), out
    orders = re.search(r"^\s+orders, not cancelled\s+([\d,]+)", out, re.M)
    assert orders and int(orders.group(1).replace(",", "")) > 0
    assert re.search(r"^\s+orders cancelled\s+[\d,]+\s+= simulator truth", out, re.M), out
    assert re.search(r"^\s+[\d,]+ orders \([\d,]+ not cancelled, [\d,]+ cancelled\)", out, re.M), out
    # the asset list is summarised by layer, never cut; no link to a UI that does not run
    assert re.search(r"^\s+materialized \d+ assets: raw \d+, .*marts \d+", out, re.M), out
    assert "Dagster UI:     not running; `.venv/bin/pantao ui` starts it" in out
    assert "/runs/" not in out and ":3000" not in out, out
    report = re.search(r"Daily report:\s+(\S+report\.html)", out)
    assert report, out
    with open(report.group(1), encoding="utf-8") as fh:
        assert "<img" in fh.read()
    return out


@pytest.mark.slow
def test_demo_runs_end_to_end_twice_and_its_figures_match_the_simulator(demo_dir):
    first = assert_demo_ok(run_demo(demo_dir))
    # a second run on the same (still running) stack starts from a clean slate and agrees again;
    # production-looking settings in the environment are ignored rather than wiped
    second = assert_demo_ok(run_demo(demo_dir, {"DATABASE_URL": "postgresql://prod@db.invalid:5432/crm"}))
    assert "ignores DATABASE_URL" in second
    figures = lambda out: [ln for ln in out.splitlines() if "simulator truth" in ln]  # noqa: E731
    assert figures(first) == figures(second)
    # everything the run left under the data folder (simulator files, reports, Dagster's home, logs,
    # the stack's state and the database) is its owner's only
    assert exposed(demo_dir) == []
    # the DSNs it prints name the superuser's password file, never the password
    password = (demo_dir / "postgres" / "pantao_superuser.pgpass").read_text().strip().rsplit(":", 1)[1]
    assert "pantao_superuser.pgpass" in first and password not in first + second


def test_the_simulated_orders_are_split_into_cancelled_and_not():
    truth = {"daily": {"2026-11-28": {"chain": {"orders_count": 10, "cancelled_orders_count": 2}},
                       "2026-11-29": {"chain": {"orders_count": 1200, "cancelled_orders_count": 3}}},
             "counts": {"calls": 1500, "customers": 40}}
    assert simulated_summary(truth) == "1,215 orders (1,210 not cancelled, 5 cancelled), 1,500 calls, 40 customers"


def test_published_messages_are_named_by_what_they_carry_with_the_bad_ones_counted():
    said = published_summary({"orders": 10, "feedback": 4}, {"orders": "o-topic", "feedback": "f-topic"},
                             {"malformed": {"kafka:orders": 2, "kafka:feedback": 1, "pbx_cdr:file": 7},
                              "duplicates": {"orders": 3, "feedback": 0}})
    assert said == ("10 order events to topic o-topic, 4 ratings to topic f-topic\n"
                    "    of which 3 malformed (to be quarantined) and 3 duplicates (to be counted once)")


def test_the_run_summary_lists_assets_by_layer_and_drops_the_ui_link():
    line = "materialized 5 assets: raw/orders, raw/pbx_cdr, staging/stg_orders, marts/orders, csv_extracts\n"
    assert _progress_line(line) == "    materialized 5 assets: raw 2, staging 1, marts 1, csv_extracts"
    assert _progress_line("details: http://127.0.0.1:3000/runs/abc\n") is None
    assert _progress_line("checks: 3 passed, 0 failed\n") == "    checks: 3 passed, 0 failed"


def test_the_ui_link_is_printed_only_while_pantao_ui_runs(make_settings, capsys):
    settings = make_settings()
    endpoints = Endpoints("postgresql://postgres@127.0.0.1:5999/pantao", "127.0.0.1:5998")
    print_where_to_look(settings, endpoints, dt.date(2026, 11, 29), "run-1")
    assert "Dagster UI:     not running; `.venv/bin/pantao ui` starts it (this run: run-1)" in capsys.readouterr().out
    # this test process stands in for a running `pantao ui` registered at another port; its command
    # line names its interpreter (a pytest-xdist worker's does not name pytest)
    entry = runfiles.register(settings.data_dir, "ui", address="http://127.0.0.1:3999",
                              cmd_hint=Path(sys.executable).name)
    try:
        print_where_to_look(settings, endpoints, dt.date(2026, 11, 29), "run-1")
    finally:
        runfiles.unregister(settings.data_dir, entry)
    assert f"Dagster UI:     http://127.0.0.1:3999/runs/run-1   (`pantao ui` runs, pid {entry.pid})" in capsys.readouterr().out
