"""pantao.processes.ProcessGroup: children in one group that never outlive the process that started them.

Real processes throughout: a small parent script owns the group, and the tests kill it (and its
guard) the hard way. `pantao ui` builds on this; tests/test_ui_stop.py checks the real UI.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import psutil
import pytest

from pantao.processes import ProcessGroup, group_members

PARENT = textwrap.dedent("""
    import sys, time
    from pantao.processes import ProcessGroup
    group = ProcessGroup(grace_seconds=float(sys.argv[1]))
    group.start(["sh", "-c", sys.argv[2]])
    print(group.pgid, flush=True)
    time.sleep(600)
""")


def wait_until(condition, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, message()
        time.sleep(0.1)


@pytest.fixture
def parent() -> Iterator:
    """Start the parent script; yields (its Popen, the group's pgid). Kills whatever is left after."""
    started: list[tuple[subprocess.Popen, int]] = []

    def start(grace: float, child_cmd: str, members: int) -> tuple[subprocess.Popen, int]:
        proc = subprocess.Popen([sys.executable, "-c", PARENT, str(grace), child_cmd], stdout=subprocess.PIPE,
                                text=True, start_new_session=True)
        pgid = int(proc.stdout.readline())
        started.append((proc, pgid))
        wait_until(lambda: len(group_members(pgid)) >= members, 30,
                   lambda: f"the group has {group_members(pgid)}, expected {members} processes")
        return proc, pgid

    yield start
    for proc, pgid in started:
        for member in [*group_members(pgid), *group_members(proc.pid)]:
            member.kill()
        proc.kill()
        proc.wait()


def test_children_run_in_a_group_of_their_own_led_by_the_guard():
    group = ProcessGroup(grace_seconds=5)
    try:
        child = group.start(["sleep", "300"])
        assert group.pgid not in (None, os.getpgrp())
        assert os.getpgid(child.pid) == group.pgid
        assert "pantao.processes guard" in " ".join(psutil.Process(group.pgid).cmdline())
        assert [p.pid for p in group.members()] == [child.pid]
    finally:
        group.stop()


def test_stop_interrupts_the_group_and_kills_what_ignores_it_then_releases_the_guard():
    group = ProcessGroup(grace_seconds=1)
    polite = group.start(["sleep", "300"])
    # a non-interactive shell runs `&` jobs with SIGINT ignored: the grandchild needs the SIGKILL
    stubborn = group.start(["sh", "-c", "sleep 301 & wait"])
    names = lambda: sorted(p.name() for p in group.members())  # noqa: E731
    wait_until(lambda: names() == ["sh", "sleep", "sleep"], 10, lambda: f"members: {names()}")
    guard_pid = group.pgid
    names = group.stop()
    assert sorted(names) == ["sh", "sleep", "sleep"]
    assert polite.returncode == -signal.SIGINT  # stopped by the interrupt, not killed
    assert stubborn.returncode is not None
    assert group_members(guard_pid) == []
    assert not psutil.pid_exists(guard_pid) or psutil.Process(guard_pid).status() == psutil.STATUS_ZOMBIE


def test_a_parent_killed_with_sigkill_leaves_no_process_of_its_group(parent):
    proc, pgid = parent(grace=1, child_cmd="sleep 302 & sleep 303", members=4)  # guard, sh, two sleeps
    proc.kill()
    proc.wait()
    wait_until(lambda: not group_members(pgid), 30, lambda: f"left behind: {group_members(pgid)}")


def test_children_get_sigterm_when_the_parent_dies_even_if_the_guard_was_killed_first(parent):
    proc, pgid = parent(grace=30, child_cmd="exec sleep 304", members=2)  # guard, sleep
    child = next(p for p in group_members(pgid) if p.pid != pgid)
    os.kill(pgid, signal.SIGKILL)  # the guard first: only PR_SET_PDEATHSIG is left to act
    proc.kill()
    proc.wait()
    wait_until(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, 10,
               lambda: f"{child} outlived its parent")


def test_stop_twice_is_harmless_and_finds_nothing_the_second_time():
    group = ProcessGroup(grace_seconds=5)
    group.start(["sleep", "305"])
    assert group.stop() == ["sleep"]
    assert group.stop() == []
