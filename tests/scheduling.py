"""How `make test` spreads the suite over the CPU cores (pytest-xdist, a pytest plugin).

`make test` runs `pytest -n <cores> --dist loadgroup --no-loadscope-reorder`: each worker is a
pytest process of its own, with its own embedded PostgreSQL and Kafka broker (tests/conftest.py),
and takes one *group* of tests at a time. A group is a test file, or several files that share a
session-scoped database that is expensive to build (`GROUPS`): those run on one worker, so the
database is built once, not once per worker. The groups are handed out longest first (`ORDER`,
from the `--durations` of a whole run), so the last group a worker takes is a short one and
both cores stay busy to the end.

Run alone (`pytest tests/test_x.py`, no `-n`), the markers change nothing.
Tests that look at the whole machine (processes, ports) already scope themselves to what they
started (their own DAGSTER_HOME, data folder or pid), so two workers never see each other's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# Files sharing a session fixture that runs dbt: one worker builds it once.
GROUPS: dict[str, tuple[str, ...]] = {
    # `access_server`: the access mini warehouse built once per server (18 and the machine's 15),
    # and the machine's PostgreSQL 15 roles touched by one worker at a time
    "access_servers": ("test_access_hardening", "test_access_matrix", "test_access_users"),
    # `long_warehouse`: five weeks and a day, built once
    "long_warehouse": ("test_access_my_interactions", "test_reports_periods", "test_reports_periods_oracle",
                       "test_staffing_oracle"),
    # `bi_stack`: one Superset server
    "superset": ("test_bi_access", "test_bi_browser"),
    # `simulated_warehouse_copy(..., PLANTED_SIM)`: one build, a copy each
    "planted_sim": ("test_marts_data_issues", "test_marts_outliers"),
    # `small_warehouse`: the monitoring tests' template database
    "small_warehouse": ("test_monitoring_dashboards", "test_monitoring_exporter", "test_monitoring_prometheus",
                        "test_monitoring_tally"),
}

# Groups (a GROUPS key or a file name) started first, longest first; the rest follow in file order.
ORDER: tuple[str, ...] = (
    "access_servers",
    "test_orchestration_pipeline",
    "test_orchestration_recovery",
    "small_warehouse",
    "test_demo",
    "long_warehouse",
    "superset",
    "planted_sim",
    "test_marts_incremental_plans",
    "test_marts_incremental",
    "test_pbx_real_data",
    "test_wap",
    "test_marts_oracle",
    "test_reports_oracle",
)

_GROUP_OF = {module: group for group, modules in GROUPS.items() for module in modules}


def group_of(item: pytest.Item) -> str:
    module = Path(str(item.fspath)).stem
    return _GROUP_OF.get(module, module)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its group, before xdist reads the marks."""
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group_of(item)))


class LongestFirst:
    """Orders the groups longest first, after pytest ordered the tests for its fixtures (stable:
    within a group, and among the groups ORDER does not name, the order stays pytest's)."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        rank = {group: position for position, group in enumerate(ORDER)}
        items.sort(key=lambda item: rank.get(group_of(item), len(ORDER)))


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(LongestFirst(), "pantao-longest-first")
