"""Child processes that die with their parent, even when the parent is killed with SIGKILL.

A `kill -9` skips every cleanup, so a child that waits on its parent (a queue it feeds, a pipe
it reads) would otherwise live on and spin. On Linux the kernel can send the child a signal when
its parent dies (`prctl(PR_SET_PDEATHSIG)`); `parent_gone` is the portable fallback a child's
loop checks now and then.

PR_SET_PDEATHSIG fires when the *thread* that created the child ends, so the creating thread must
outlive the child (the landing's does: it waits for its readers before it returns).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send `sig` to this process when its parent dies; exit now if it already
    has (it may have died before this call). Returns whether the kernel took the request."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)  # the running program: its libc has prctl
            armed = libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
        except (OSError, AttributeError) as exc:
            log.warning("prctl(PR_SET_PDEATHSIG) is not available (%s); relying on parent checks", exc)
    if parent_gone(parent_pid):
        os._exit(1)  # the parent died before we could ask: nobody is left to read what we would make
    return armed


def parent_gone(parent_pid: int) -> bool:
    """True when the process that started this one has ended (this one was re-parented)."""
    return os.getppid() != parent_pid
