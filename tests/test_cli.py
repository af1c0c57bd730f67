"""The `pantao` command line as app/cli.py assembles it from the packages that own the commands."""

from __future__ import annotations

import re

from click.testing import CliRunner

from app.cli import cli

COMMANDS = {"bi", "bot", "dbt", "demo", "export", "ingest", "metrics", "prepare", "report", "run", "simulate", "stack",
            "ui", "users"}


def _listed(output: str) -> dict[str, str]:
    """Command -> summary, from the Commands section of a --help page (summaries may wrap)."""
    section = output.split("Commands:\n", 1)[1]
    entries: dict[str, str] = {}
    for line in section.splitlines():
        match = re.match(r"^  (\S+)\s+(.*)$", line)
        if match:
            name = match.group(1)
            entries[name] = match.group(2)
        elif line.strip() and entries:
            entries[name] += " " + line.strip()
    return entries


def test_help_lists_every_command_with_its_whole_first_sentence():
    result = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    listed = _listed(result.output)
    assert set(listed) == COMMANDS
    assert listed["dbt"] == "Run dbt (build, test, ...) on the project against the configured (or embedded) database."
    assert not any(summary.endswith("...") for summary in listed.values()), listed


def test_report_send_from_notifications_joins_the_report_group():
    result = CliRunner().invoke(cli, ["report", "--help"])
    assert set(_listed(result.output)) == {"build", "show", "send"}
    send = CliRunner().invoke(cli, ["report", "send", "--help"])
    assert "--force" in send.output and "--date" in send.output


def test_pantao_users_changes_reach_the_bi_account_sync():
    """access/ cannot import bi/ (it sits above it): the composition wires the sync in."""
    from access.cli import USER_CHANGE_HOOKS
    from bi.cli import follow_user_change

    assert USER_CHANGE_HOOKS.count(follow_user_change) == 1
