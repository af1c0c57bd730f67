"""`pantao run` prepares the Dagster home and refuses what it cannot do with a message saying why."""

import pytest
import yaml
from click.testing import CliRunner

from orchestration.cli import run_command
from tests.conftest import REPO_ROOT


@pytest.fixture
def cli_env(tmp_path, fresh_database_url, monkeypatch):
    """The command exports DAGSTER_HOME and friends into its process; monkeypatch restores them."""
    values = {"DATABASE_URL": fresh_database_url, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
              "PANTAO_DATA_DIR": str(tmp_path / "data"), "PANTAO_DAGSTER_PG_URL": "", "DAGSTER_HOME": ""}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return tmp_path / "data"


def test_run_for_a_day_without_a_partition_names_the_valid_range(cli_env, monkeypatch):
    monkeypatch.setenv("REPORTS_START_DATE", "2024-01-01")
    result = CliRunner().invoke(run_command, ["--date", "1999-01-01"])
    assert result.exit_code == 1
    assert "1999-01-01 has no report partition" in result.output
    assert "from 2024-01-01" in result.output


def test_run_prepares_dagster_home_from_the_repository_dagster_yaml(cli_env):
    CliRunner().invoke(run_command, ["--date", "1999-01-01"])
    copied = yaml.safe_load((cli_env / "dagster_home" / "dagster.yaml").read_text())
    assert copied == yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    assert copied["run_storage"]["class"] == "PantaoRunStorage"
