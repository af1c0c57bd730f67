""".ci/system-packages: the Debian packages `make test` / `make demo` need, checked and installed.

The machine's packages are never removed here (other people use them): the "missing" paths run
with the checked files pointed elsewhere (PANTAO_SYSTEM_PACKAGES), as a real unprivileged user,
and, for the install path, with a stand-in apt-get that records what it was asked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / ".ci" / "system-packages"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder the unprivileged user can read too (pytest's tmp_path is private to root).

    What the test writes inside must be readable too, whatever umask an earlier test left on this
    process (`pantao`'s CLI sets 077 for its private files), so the umask is 022 while it runs.
    """
    previous = os.umask(0o022)
    path = Path(tempfile.mkdtemp(prefix="pantao-syspkg-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        os.umask(previous)
        shutil.rmtree(path, ignore_errors=True)


def built_venv(folder: Path) -> Path:
    """A folder that passes for a built venv (its bin/python is executable), so ensurepip is not asked."""
    python = folder / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    return folder


@pytest.fixture(autouse=True)
def venv_exists(shared_dir, monkeypatch):
    monkeypatch.setenv("VENV", str(built_venv(shared_dir / "venv")))


def run_script(profile: str, tmp_path: Path, *, checks: str | None = None, as_nobody: bool = False,
               apt_get: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    if checks is not None:
        full_env["PANTAO_SYSTEM_PACKAGES"] = checks
    if apt_get is not None:
        full_env["PANTAO_APT_GET"] = str(apt_get)
    prefix = NOBODY if as_nobody and os.geteuid() == 0 else []
    return subprocess.run([*prefix, "bash", str(SCRIPT), profile], capture_output=True, text=True,
                          env=full_env, cwd="/", timeout=60)


def standin_apt_get(tmp_path: Path, *, creates: list[Path], exit_code: int = 0) -> tuple[Path, Path]:
    """An apt-get that records its arguments and "installs" by creating the checked files."""
    calls = tmp_path / "apt-calls"
    script = tmp_path / "apt-get"
    touches = " ".join(f"'{path}'" for path in creates)
    script.write_text(
        "#!/bin/sh\n"
        f"echo \"$*\" >> '{calls}'\n"
        f"if [ {exit_code} -ne 0 ]; then echo 'E: Unable to locate package nosuch' >&2; exit {exit_code}; fi\n"
        f"case \"$*\" in *install*) for f in {touches}; do printf '#!/bin/sh\\n' > \"$f\"; chmod +x \"$f\"; done;; esac\n"
    )
    script.chmod(0o755)
    return script, calls


def test_nothing_happens_when_every_checked_file_is_there(tmp_path):
    result = run_script("test", tmp_path, checks="coreutils=/bin/ls,/bin/cat")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_a_user_without_root_gets_one_line_naming_the_packages_and_the_command(tmp_path):
    result = run_script("test", tmp_path, as_nobody=True,
                        checks=f"prometheus=/bin/ls,{tmp_path}/no/promtool chromium={tmp_path}/no/chromium")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "missing system packages for make test: prometheus chromium" in lines[0]
    assert "apt-get install -y prometheus chromium" in lines[0]


def test_the_default_list_names_prometheus_promtool_and_chromium(tmp_path):
    """Whatever this machine has, an unprivileged run names exactly the packages whose files are absent."""
    expected = [package for package, paths in (("prometheus", ["/usr/bin/prometheus", "/usr/bin/promtool"]),
                                                ("chromium", ["/usr/bin/chromium"]))
                if not all(os.access(path, os.X_OK) for path in paths)]
    result = run_script("test", tmp_path, as_nobody=True)
    if expected:
        assert result.returncode == 1
        assert f"make test: {' '.join(expected)};" in result.stderr
    else:
        assert (result.returncode, result.stderr) == (0, "")


def test_the_demo_needs_no_package_the_tests_need(tmp_path):
    result = run_script("demo", tmp_path, as_nobody=True)
    assert (result.returncode, result.stderr) == (0, "")


def test_a_python_without_ensurepip_asks_for_python3_venv_before_the_venv_exists(tmp_path, shared_dir):
    shadow = shared_dir / "shadow"
    (shadow / "ensurepip").mkdir(parents=True)
    (shadow / "ensurepip" / "__init__.py").write_text("raise ImportError('no ensurepip in this Python')\n")
    env = {"PYTHONPATH": str(shadow), "VENV": str(tmp_path / "no-venv-yet")}
    result = run_script("demo", tmp_path, as_nobody=True, checks="", env=env)
    assert result.returncode == 1
    assert "missing system packages for make demo: python3-venv;" in result.stderr
    env["VENV"] = str(shared_dir / "venv")  # once the venv exists, ensurepip no longer matters
    assert run_script("demo", tmp_path, as_nobody=True, checks="", env=env).returncode == 0


def test_an_unknown_profile_is_refused_with_the_usage(tmp_path):
    result = run_script("tests", tmp_path)
    assert result.returncode == 2
    assert "usage:" in result.stderr and "test|demo" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the script installs only as root; the unprivileged path is tested above")
def test_root_installs_only_the_missing_packages_then_checks_again(tmp_path):
    promtool = tmp_path / "promtool"
    apt_get, calls = standin_apt_get(tmp_path, creates=[promtool])
    result = run_script("test", tmp_path, apt_get=apt_get, checks=f"prometheus=/bin/ls,{promtool} coreutils=/bin/ls")
    assert result.returncode == 0, result.stderr
    assert calls.read_text().splitlines() == [
        "-o DPkg::Lock::Timeout=600 update -qq",
        "-o DPkg::Lock::Timeout=600 install -y -qq prometheus",
    ]
    assert "installed: prometheus" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the script installs only as root; the unprivileged path is tested above")
def test_root_is_told_what_failed_when_apt_get_cannot_install(tmp_path):
    apt_get, _ = standin_apt_get(tmp_path, creates=[], exit_code=100)
    result = run_script("test", tmp_path, apt_get=apt_get, checks=f"chromium={tmp_path}/chromium")
    assert result.returncode == 1
    assert "E: Unable to locate package" in result.stderr
    assert "could not install system packages for make test: chromium" in result.stderr
    assert "apt-get update && apt-get install -y chromium" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the script installs only as root; the unprivileged path is tested above")
def test_root_is_told_which_file_is_still_missing_after_an_install(tmp_path):
    apt_get, _ = standin_apt_get(tmp_path, creates=[])
    result = run_script("test", tmp_path, apt_get=apt_get, checks=f"chromium={tmp_path}/chromium")
    assert result.returncode == 1
    assert f"chromium: {tmp_path}/chromium is missing" in result.stderr


def test_make_test_and_make_demo_check_the_packages_before_anything_else():
    for target in ("test", "demo"):
        # --no-print-directory: under `make test` this make is nested and would print "Entering directory"
        planned = subprocess.run(["make", "-n", "--no-print-directory", target], capture_output=True, text=True,
                                 cwd=REPO_ROOT, timeout=30, check=True).stdout.splitlines()
        assert planned[0].endswith(f"bash .ci/system-packages {target}"), planned


def test_ci_runs_the_readme_command_which_checks_the_packages():
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    assert "apt-get" not in ci  # one list: .ci/system-packages, through make test
