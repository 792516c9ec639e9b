"""lab.py and classroom.py side by side, run as a user runs them (subprocesses in a fresh
copy of the project, tests/test_user_path.py's Student): one shell (k8s_lab/cli.py), so a
bare command, a mistyped verb, a Python without the venv, an older Python and a missing
tool get the same exit code and a first line of the same shape from both."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from k8s_lab.exits import Exit
from test_user_path import Run, Student

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the stand-ins are scripts with a #! line")

# (script, the words after the verb, the name that starts its messages)
PROGRAMS = [("lab.py", (), "k8s-lab"), ("classroom.py", ("class.csv",), "classroom")]


def run(student: Student, script: str, *args: str, interpreter: tuple[str, ...] = ("venv/bin/python",)) -> Run:
    (student.project / "class.csv").write_text("student\nkim\n", encoding="utf-8")
    result = subprocess.run(
        [*interpreter, script, *args], cwd=student.project, env=student.env, capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL,
    )
    answer = Run(result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in answer.out + answer.err, answer
    return answer


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> Student:
    return Student(tmp_path_factory.mktemp("shell"))


@pytest.mark.parametrize(("script", "after", "name"), PROGRAMS)
def test_a_bare_command_prints_the_help_and_exits_zero(student, script, after, name):
    answer = run(student, script)
    assert answer.code == Exit.OK and answer.err == ""
    assert answer.first_line.startswith(f"usage: {script} ") and "Exit codes: 0 done; 1 the operation failed" in answer.out


@pytest.mark.parametrize(("script", "after", "name"), PROGRAMS)
def test_a_mistyped_verb_names_the_nearest(student, script, after, name):
    answer = run(student, script, "stauts", *after)
    assert answer.code == Exit.USAGE and answer.out == ""
    meant = " ".join(["venv/bin/python", script, "status", *after])
    assert answer.first_line == f"{name}: there is no verb 'stauts'; did you mean `{meant}`? (venv/bin/python {script} --help explains each)"


@pytest.mark.parametrize(("script", "after", "name"), PROGRAMS)
def test_outside_the_venv_says_how_to_run_it(student, script, after, name):
    # A Python without the lab's packages (-S: no site-packages), as `python3 classroom.py` on a fresh system.
    system_python = shutil.which("python3", path="/usr/bin:/bin")
    if not system_python or Path(system_python).resolve() == Path(sys.executable).resolve():
        pytest.skip("no Python besides the venv's here")
    answer = run(student, script, "status", *after, interpreter=(system_python, "-S"))
    assert answer.code == Exit.WRONG_PYTHON and answer.out == ""
    assert re.fullmatch(
        rf"k8s-lab: this Python \(\S+\) is not the project's venv \(it lacks \S+\)\. "
        rf"Run {re.escape(script)} with the venv's Python: {re.escape(' '.join(['venv/bin/python', script, 'status', *after]))}",
        answer.first_line,
    ), answer.first_line


@pytest.mark.parametrize(("script", "words"), [("lab.py", ("doctor",)), ("classroom.py", ("status", "nosuch.csv"))])
def test_outside_the_venv_is_said_first_whatever_the_verb_would_check(student, script, words):
    system_python = shutil.which("python3", path="/usr/bin:/bin")
    if not system_python or Path(system_python).resolve() == Path(sys.executable).resolve():
        pytest.skip("no Python besides the venv's here")
    answer = run(student, script, *words, interpreter=(system_python, "-S"))
    assert answer.code == Exit.WRONG_PYTHON and "is not the project's venv" in answer.first_line  # not "no roster at nosuch.csv"


def older_python(version: str) -> str | None:
    # A real interpreter, not pyenv's shim (a bash script, and the test's PATH has no bash).
    found = sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python")) + [Path(p) for p in [shutil.which(f"python{version}")] if p]
    return next((str(path) for path in found if "shims" not in str(path)), None)


@pytest.mark.parametrize("version", ["3.8", "3.9"])
@pytest.mark.parametrize(("script", "after", "name"), PROGRAMS)
def test_an_older_python_is_told_what_it_needs(student, script, after, name, version):
    older = older_python(version)
    if not older:
        pytest.skip(f"no Python {version} here (test_what_runs_first_reads_as_python_3_8 covers the syntax)")
    answer = run(student, script, "up", *after, interpreter=(older,))
    assert answer.code == Exit.WRONG_PYTHON and answer.out == ""
    assert answer.first_line.startswith(f"k8s-lab needs Python 3.10 or newer; this is Python {version} ")
    assert "-m venv venv" in answer.first_line


def test_what_runs_first_reads_as_python_3_8():
    """Everything a program runs before its version check parses on 3.8, and the check
    comes before any of the lab's other imports."""
    for path in ("lab.py", "classroom.py", "k8s_lab/__init__.py", "k8s_lab/exits.py", "k8s_lab/cli.py"):
        ast.parse((ROOT / path).read_text(encoding="utf-8"), feature_version=(3, 8))
    for script in ("lab.py", "classroom.py"):
        source = (ROOT / script).read_text(encoding="utf-8")
        assert source.index("cli.require_python()") < source.index("with cli.venv_imports(")
        first = re.search(r"^\s*(from k8s_lab import (?!cli\b)|from classroom_student|import (?!sys\b))", source, re.M)
        assert first and source.index("cli.require_python()") < first.start(), script


@pytest.mark.parametrize(("script", "words"), [("lab.py", ("up", "--no-fetch")), ("classroom.py", ("preview", "class.csv", "--no-fetch"))])
def test_a_missing_tool_is_exit_4_with_the_programs_own_fix(tmp_path, script, words):
    student = Student(tmp_path, tools=("docker", "kind"))
    answer = run(student, script, *words)
    assert answer.code == Exit.NOT_READY
    assert answer.err.splitlines()[:1] == ["k8s-lab cannot start yet:"]
    said = re.search(r"Get it: `([^`]*)` fetches the Pulumi CLI", answer.err)
    assert said and said.group(1).endswith(" ".join([script, *words[:-1]]))
    assert script == "lab.py" or "lab.py" not in answer.err  # a teacher running lab.py up would make a lab of their own


@pytest.mark.parametrize(("script", "after", "name"), PROGRAMS)
def test_an_older_python_is_refused_before_any_import_of_the_lab_also_where_none_is_installed(student, script, after, name):
    """The same check where no real 3.9 is at hand (a CI runner): this Python, saying it is
    3.9 before the program runs, is refused before the program imports anything of the lab's."""
    pretend = (
        "import runpy, sys; sys.version_info = (3, 9, 18, 'final', 0); "
        f"sys.argv = [{script!r}, 'up', *{list(after)!r}]; runpy.run_path({script!r}, run_name='__main__')"
    )
    answer = run(student, script, interpreter=("venv/bin/python", "-c", pretend, "--"))
    assert answer.code == Exit.WRONG_PYTHON and answer.out == ""
    assert answer.first_line.startswith("k8s-lab needs Python 3.10 or newer; this is Python 3.9 ")
