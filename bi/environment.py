"""`.venv-bi/`: Superset's own virtual environment, created on first use and pinned by constraints.txt.

Superset pins SQLAlchemy < 2, pandas < 2.2 and numpy < 2.3, which Dagster cannot live with, so
it never shares `.venv/`. The environment is rebuilt when requirements.txt or constraints.txt
change (their hash is kept in the stamp file), and a file lock keeps two `pantao bi up` (or a
test session and a developer) from installing at the same time.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import shutil
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
BI_DIR = REPO_ROOT / "bi"
VENV = REPO_ROOT / ".venv-bi"
REQUIREMENTS = BI_DIR / "requirements.txt"
CONSTRAINTS = BI_DIR / "constraints.txt"
STAMP = VENV / ".installed"
INSTALL_TIMEOUT_SECONDS = 1800


class BiEnvironmentError(RuntimeError):
    """Superset's environment could not be created; the message says where the log is."""


def python() -> Path:
    return VENV / "bin" / "python"


def executable(name: str) -> Path:
    return VENV / "bin" / name


def _wanted_stamp() -> str:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes() + b"\0" + CONSTRAINTS.read_bytes())
    return digest.hexdigest()


def is_installed() -> bool:
    try:
        return STAMP.read_text().strip() == _wanted_stamp() and python().exists()
    except OSError:
        return False


def _base_python() -> str:
    """The interpreter behind the running one (a venv made from a venv's python is fine, but this is cleaner)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def ensure_installed(log_file: Path) -> bool:
    """Create or update `.venv-bi/` if needed; True when it installed something. Output goes to `log_file`."""
    if is_installed():
        return False
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with (REPO_ROOT / ".venv-bi.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be installing: wait for it
        if is_installed():
            return False
        log.info("installing Superset into %s (first use: a few minutes); log: %s", VENV, log_file)
        if VENV.exists() and not python().exists():
            shutil.rmtree(VENV)  # a half-created environment from an interrupted first run
        steps = [
            [_base_python(), "-m", "venv", str(VENV)] if not python().exists() else None,
            [str(python()), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
            [str(python()), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS), "-c", str(CONSTRAINTS)],
        ]
        with log_file.open("a", encoding="utf-8") as out:
            for cmd in filter(None, steps):
                out.write(f"$ {' '.join(cmd)}\n")
                out.flush()
                try:
                    subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=True,
                                   timeout=INSTALL_TIMEOUT_SECONDS)
                except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                    raise BiEnvironmentError(
                        f"installing Superset into {VENV} failed ({exc}); see {log_file}. "
                        "Is PyPI reachable? Remove .venv-bi/ and run `pantao bi up` again."
                    ) from None
        STAMP.write_text(_wanted_stamp() + "\n")
    return True
