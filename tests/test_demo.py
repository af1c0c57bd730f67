"""The main job, end to end, as a new user runs it — on a small scale, in a temporary data directory."""

import os
import re
import subprocess
import sys

import pytest

from pantao.stack import LocalStack
from tests.private_files import exposed

pytestmark = pytest.mark.slow


@pytest.fixture
def demo_dir(tmp_path):
    data_dir = tmp_path / "pantao"
    yield data_dir
    LocalStack(data_dir).down()


def run_demo(data_dir, extra_env=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "KAFKA_", "TELEGRAM_", "PBX_"))}
    env["PANTAO_DATA_DIR"] = str(data_dir)
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "pantao.cli", "demo", "--days", "4", "--restaurants", "3", "--seed", "5"],
        capture_output=True, text=True, env=env, timeout=1800, cwd=data_dir.parent,
    )


def assert_demo_ok(result):
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    figure_lines = [line for line in out.splitlines() if "simulator truth" in line or "DIFFERS" in line]
    assert len(figure_lines) == 10, out
    assert all("= simulator truth" in line for line in figure_lines), out
    orders = re.search(r"^\s+orders\s+(\d+)", out, re.M)
    assert orders and int(orders.group(1)) > 0
    report = re.search(r"Daily report:\s+(\S+report\.html)", out)
    assert report, out
    with open(report.group(1), encoding="utf-8") as fh:
        assert "<img" in fh.read()
    return out


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
