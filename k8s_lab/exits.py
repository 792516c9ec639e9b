"""lab.py's exit codes, in one place (README's "Exit codes" lists them), and how to run
lab.py on this machine, for every hint that names a command.

Both are read before anything else of the lab is imported (a too old Python, a Python
without the venv's packages), so this module uses the standard library only, and only
syntax Python 3.8 still reads.
"""

from __future__ import annotations

import enum
import os
import sys
from pathlib import Path

from k8s_lab import shell_form

ROOT = Path(__file__).resolve().parent.parent
MIN_PYTHON = (3, 10)  # pulumi's own Requires-Python (>=3.10 since 3.x of 2025) and pyproject's target


class Exit(enum.IntEnum):
    OK = 0
    FAILED = 1  # the operation ran and failed (Pulumi, stop/start), or status/doctor found a problem
    USAGE = 2  # a mistyped verb or option, a bad setting value, a refused confirmation
    NO_SUCH_LAB = 3  # the --stack named no lab of this machine
    NOT_READY = 4  # this machine lacks what the verb needs: docker, kind or the Pulumi CLI, a running Docker
    WRONG_PYTHON = 5  # Python too old, or one without the lab's packages (not the venv)
    INTERNAL = 70  # a bug in k8s-lab: the details are in a log file, never on screen
    INTERRUPTED = 130  # Ctrl-C


MEANING = {
    Exit.OK: "done",
    Exit.FAILED: "the operation failed, or status/doctor found a problem (the message says which)",
    Exit.USAGE: "a mistyped verb or option, a bad setting value, or destroy not confirmed",
    Exit.NO_SUCH_LAB: "no lab of that name on this machine (the message lists those there are)",
    Exit.NOT_READY: "docker, kind or the Pulumi CLI is missing, or Docker does not answer",
    Exit.WRONG_PYTHON: "Python older than 3.10, or not the venv's Python",
    Exit.INTERNAL: "a bug in k8s-lab (the message names the log with the details)",
    Exit.INTERRUPTED: "interrupted (Ctrl-C)",
}


def venv_python(windows: bool | None = None) -> str:
    """The venv's interpreter as the user types it from the project folder."""
    return shell_form.venv_python(os.name == "nt" if windows is None else windows)


def lab_command(*args: str, windows: bool | None = None, cwd: Path | None = None) -> str:
    """`venv/bin/python lab.py ARGS` (venv\\Scripts\\python on Windows) as typed in the
    project folder; from elsewhere, with the project's folder in front of both; quoted for
    this system's shell (k8s_lab/shell_form.py)."""
    return script_command("lab.py", *args, windows=windows, cwd=cwd)


def script_command(script: str, *args: str, windows: bool | None = None, cwd: Path | None = None) -> str:
    """lab_command for either program of the project (lab.py, classroom.py)."""
    windows = os.name == "nt" if windows is None else windows
    return shell_form.join(shell_form.script_argv(script, args, windows, cwd, ROOT), windows)


def install_command(windows: bool | None = None) -> str:
    """The commands that make the venv, for this system's shell, from any folder."""
    windows = os.name == "nt" if windows is None else windows
    python = ["py", "-3"] if windows else ["python3"]
    steps = [
        shell_form.join(["cd", str(ROOT)], windows),
        shell_form.join([*python, "-m", "venv", "venv"], windows),
        shell_form.join([shell_form.venv_python(windows), "-m", "pip", "install", "-r", "requirements.txt"], windows),
    ]
    return shell_form.sequence(steps, windows)


def python_problem(version: tuple[int, ...] = tuple(sys.version_info[:2])) -> str | None:
    if version >= MIN_PYTHON:
        return None
    have = ".".join(str(part) for part in version)
    need = ".".join(str(part) for part in MIN_PYTHON)
    return (
        f"k8s-lab needs Python {need} or newer; this is Python {have} ({sys.executable}). "
        f"Install a newer Python (https://www.python.org/downloads/), then make the venv with it: {install_command()}"
    )


def missing_package_problem(module: str, executable: str = sys.executable, script: str = "lab.py") -> str:
    """What to say when this Python, running `script`, lacks a package the lab needs."""
    venv = ROOT / ("venv/Scripts/python.exe" if os.name == "nt" else "venv/bin/python")
    if venv.exists() and Path(executable).resolve() != venv.resolve():
        return (
            f"k8s-lab: this Python ({executable}) is not the project's venv (it lacks {module}). "
            f"Run {script} with the venv's Python: {script_command(script, *sys.argv[1:])}"
        )
    return (
        f"k8s-lab: the Python packages the lab needs are not installed (no {module}). "
        f"Make the venv once: {install_command()}; then: {script_command(script, *sys.argv[1:])}"
    )


def readme_table() -> str:
    """README's exit code table (tests/test_user_path.py holds README to it)."""
    rows = ["| code | meaning |", "| --- | --- |"]
    rows += [f"| {int(code)} | {meaning} |" for code, meaning in MEANING.items()]
    return "\n".join(rows) + "\n"
