"""The main job, end to end, as a new user runs it — on a small scale, in a temporary data directory."""

import os
import re
import subprocess
import sys

import pytest

from pantao.stack import LocalStack

pytestmark = pytest.mark.slow


@pytest.fixture
def demo_dir(tmp_path):
    data_dir = tmp_path / "pantao"
    yield data_dir
    LocalStack(data_dir).down()


def run_demo(data_dir, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "KAFKA_", "TELEGRAM_", "PBX_"))}
    env["PANTAO_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "pantao.cli", "demo", "--days", "4", "--restaurants", "3", "--seed", "5", *args],
        capture_output=True, text=True, env=env, timeout=900, cwd=data_dir.parent,
    )


def test_demo_runs_end_to_end_and_its_figures_match_the_simulator(demo_dir):
    result = run_demo(demo_dir)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    figure_lines = [line for line in out.splitlines() if "simulator truth" in line or "DIFFERS" in line]
    assert len(figure_lines) == 10
    assert all("= simulator truth" in line for line in figure_lines)
    orders = re.search(r"^\s+orders\s+(\d+)", out, re.M)
    assert orders and int(orders.group(1)) > 0
    report = re.search(r"Daily report:\s+(\S+report\.html)", out)
    assert report, out
    html = open(report.group(1), encoding="utf-8").read()
    assert "<img" in html


def test_demo_can_run_twice_on_the_same_stack(demo_dir):
    assert run_demo(demo_dir).returncode == 0
    second = run_demo(demo_dir)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    assert "DIFFERS" not in second.stdout
