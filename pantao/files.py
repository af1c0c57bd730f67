"""Files under PANTAO_DATA_DIR are private to the user who runs pantao: 0600 files, 0700 folders.

They hold what the system protects elsewhere (customer phones in simulator output, operator
names in extracts and reports, the database superuser's password, logs). Two layers keep them
private: the `pantao` command sets a 077 umask for itself and every process it starts (Dagster,
dbt, the broker), and code that creates files under the data folder uses the helpers below, so
the modes hold even when a library function runs in a process with a looser umask.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

PRIVATE_UMASK = 0o077
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def use_private_umask() -> int:
    """Files and folders this process (and its children) create are its user's only; returns the old umask."""
    return os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Create `path` and any missing parents as 0700 folders; an existing `path` loses group and other
    read and write bits."""
    path = Path(path)
    missing = []
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            pass  # created meanwhile by a concurrent writer
        os.chmod(folder, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask
    st = path.stat()
    if st.st_mode & 0o067 and st.st_uid == os.geteuid():
        # a group `x` bit may stay: it lets the embedded PostgreSQL's own system user (its group
        # only) pass through to its data folder when pantao runs as root; it lists nothing
        os.chmod(path, st.st_mode & 0o7710)
    return path


def open_private(path: Path, mode: str = "w", **kwargs: Any) -> IO:
    """`open()` for a file only its owner may read: created 0600, and narrowed to 0600 if it existed."""
    if not any(flag in mode for flag in "wax"):
        raise ValueError(f"open_private is for writing; got mode {mode!r}")
    flags = os.O_WRONLY | os.O_CREAT
    flags |= os.O_APPEND if "a" in mode else os.O_EXCL if "x" in mode else os.O_TRUNC
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def write_private_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    with open_private(path, "w", encoding=encoding) as fh:
        fh.write(text)
    return path

