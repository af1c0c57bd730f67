"""What under a folder other users could read: the check behind "everything under PANTAO_DATA_DIR
is 0600 / 0700" (pantao/files.py), shared by the stack, demo and export tests."""

from __future__ import annotations

import stat
from pathlib import Path


def exposed(root: Path) -> list[str]:
    """Paths under `root` (itself included) that a group or other users may read or write, or that
    others may enter. A folder's group `x` is allowed: it lets only the embedded PostgreSQL's
    system group pass through to its data folder when pantao runs as root, and lists nothing."""
    found = []
    for path in (root, *sorted(root.rglob("*"))):
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            continue
        allowed = 0o010 if stat.S_ISDIR(st.st_mode) else 0
        if st.st_mode & 0o077 & ~allowed:
            found.append(f"{stat.filemode(st.st_mode)} {path.relative_to(root)}")
    return found
