"""pantao/files.py: what pantao writes under PANTAO_DATA_DIR is private, whatever the process's umask."""

import os
import stat
import subprocess
import sys

import pytest

from pantao.files import open_private, private_dir, write_private_text


@pytest.fixture
def loose_umask():
    """The umask of a process not started by the `pantao` command (a test runner, a bare dagster-daemon)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_dir_makes_every_missing_folder_0700(tmp_path, loose_umask):
    target = private_dir(tmp_path / "a" / "b" / "c")
    assert [mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", target)] == [0o700, 0o700, 0o700]


def test_private_dir_takes_group_and_other_read_and_write_away_from_an_existing_folder(tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    folder.chmod(0o775)
    private_dir(folder)
    assert mode(folder) == 0o710  # a group x may stay (the embedded PostgreSQL's group); nothing is listable


def test_open_private_creates_0600_and_narrows_a_file_that_was_readable(tmp_path, loose_umask):
    fresh = write_private_text(tmp_path / "new.txt", "x")
    old = tmp_path / "old.log"
    old.write_text("before\n")
    old.chmod(0o644)
    with open_private(old, "a") as fh:
        fh.write("after\n")
    assert mode(fresh) == 0o600 and mode(old) == 0o600
    assert old.read_text() == "before\nafter\n"
    with pytest.raises(ValueError, match="for writing"):
        open_private(old, "r")


def test_the_pantao_command_runs_with_a_private_umask(tmp_path):
    """Every process the CLI starts (Dagster, dbt, the simulator's writer) inherits it."""
    probe = "import os, sys; from app.cli import cli; sys.argv = ['pantao', 'stack', '--help']; " \
            "cli(standalone_mode=False); print(oct(os.umask(0)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("0o77")
