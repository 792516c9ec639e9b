"""The lint and type gate .ci/run runs before the tests (settings in pyproject.toml): it
runs ruff and mypy before pytest, and each of them can fail on what it is meant to catch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PYPROJECT = ROOT / "pyproject.toml"


def run(tool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ci_run_lints_and_type_checks_before_the_tests():
    script = (ROOT / ".ci" / "run").read_text()
    pytest_at = script.index("venv/bin/python -m pytest")
    assert -1 < script.index("venv/bin/ruff check .") < pytest_at
    assert -1 < script.index("venv/bin/mypy") < pytest_at
    dev = (ROOT / "requirements-dev.txt").read_text()
    assert "ruff" in dev and "mypy" in dev


def test_ruff_reports_unused_imports_bugbear_and_complexity(tmp_path: Path):
    branches = "\n".join(f"    if x == {n}:\n        return {n}" for n in range(11))
    source = tmp_path / "bad.py"
    source.write_text(f"import os\n\n\ndef f(x=[]):\n    return x\n\n\ndef g(x):\n{branches}\n    return -1\n")
    done = run("ruff", "check", "--config", str(PYPROJECT), "--output-format", "concise", "--no-cache", str(source))
    assert done.returncode != 0
    for rule in ("F401", "B006", "C901"):
        assert rule in done.stdout, done.stdout


def test_mypy_reports_a_type_error_with_the_projects_settings(tmp_path: Path):
    source = tmp_path / "bad.py"
    source.write_text("def f() -> int:\n    return 'one'\n")
    done = run("mypy", "--config-file", str(PYPROJECT), "--no-incremental", str(source))
    assert done.returncode != 0 and "[return-value]" in done.stdout, done.stdout
