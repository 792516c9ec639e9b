"""k8s_lab/exits.py: the exit codes and the commands every hint names, in this process (the
same checks in tests/test_user_path.py run lab.py as a student does, which mutmut cannot see)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from k8s_lab import exits
from k8s_lab.exits import Exit


def test_the_exit_codes_are_the_ones_readme_and_scripts_rely_on():
    assert {code.name: int(code) for code in Exit} == {
        "OK": 0, "FAILED": 1, "USAGE": 2, "NO_SUCH_LAB": 3, "NOT_READY": 4, "WRONG_PYTHON": 5, "INTERNAL": 70, "INTERRUPTED": 130,
    }
    assert list(exits.MEANING) == list(Exit)


def test_the_readme_table_has_a_row_per_code_in_order():
    table = exits.readme_table()
    lines = table.splitlines()
    assert lines[:2] == ["| code | meaning |", "| --- | --- |"]
    assert lines[2] == "| 0 | done |" and lines[-1] == "| 130 | interrupted (Ctrl-C) |"
    assert len(lines) == 2 + len(Exit) and table.endswith("|\n")


def test_the_venvs_python_is_named_for_the_os(monkeypatch):
    assert exits.venv_python(windows=False) == "venv/bin/python"
    assert exits.venv_python(windows=True) == "venv\\Scripts\\python"
    monkeypatch.setattr(exits, "os", SimpleNamespace(name="nt"))
    assert exits.venv_python() == "venv\\Scripts\\python"
    assert exits.install_command() == f"cd {exits.ROOT}; py -3 -m venv venv; venv\\Scripts\\python -m pip install -r requirements.txt"
    assert exits.lab_command("up", cwd=exits.ROOT) == "venv\\Scripts\\python lab.py up"
    root = exits.ROOT
    assert exits.lab_command("up", cwd=root / "k8s_lab") == f"{root}\\venv\\Scripts\\python {root}\\lab.py up"
    monkeypatch.setattr(exits, "os", SimpleNamespace(name="posix"))
    assert exits.venv_python() == "venv/bin/python"
    assert exits.install_command() == f"cd {exits.ROOT} && python3 -m venv venv && venv/bin/python -m pip install -r requirements.txt"
    assert exits.lab_command("up", cwd=exits.ROOT) == "venv/bin/python lab.py up"


def test_install_command_for_each_system(monkeypatch, tmp_path):
    """From any folder, in the project's: PowerShell 5.1 has no `&&`, so `;` there; a
    checkout path with spaces quoted for each shell."""
    root = exits.ROOT
    assert exits.install_command(windows=False) == f"cd {root} && python3 -m venv venv && venv/bin/python -m pip install -r requirements.txt"
    assert exits.install_command(windows=True) == f"cd {root}; py -3 -m venv venv; venv\\Scripts\\python -m pip install -r requirements.txt"
    monkeypatch.setattr(exits, "ROOT", tmp_path / "내 프로젝트")
    assert exits.install_command(windows=False).startswith(f"cd '{tmp_path}/내 프로젝트' && python3 ")
    assert exits.install_command(windows=True).startswith(f"cd '{tmp_path}/내 프로젝트'; py -3 ")
    assert "&&" not in exits.install_command(windows=True)


def test_lab_command_from_the_project_folder_and_from_elsewhere(tmp_path, monkeypatch):
    root = exits.ROOT
    assert exits.lab_command("up", "--stack", "kim", windows=False, cwd=root) == "venv/bin/python lab.py up --stack kim"
    assert exits.lab_command(windows=False, cwd=root) == "venv/bin/python lab.py"
    assert exits.lab_command("up", windows=False, cwd=tmp_path) == f"{root}/venv/bin/python {root}/lab.py up"
    assert exits.lab_command("up", windows=True, cwd=tmp_path) == f"{root}\\venv\\Scripts\\python {root}\\lab.py up"
    # A path that leads into the project folder another way is the project folder.
    assert exits.lab_command("up", windows=False, cwd=root / "k8s_lab" / "..") == "venv/bin/python lab.py up"
    monkeypatch.chdir(tmp_path)
    assert exits.lab_command("list", windows=False) == f"{root}/venv/bin/python {root}/lab.py list"
    monkeypatch.chdir(root)
    assert exits.lab_command("list", windows=False) == "venv/bin/python lab.py list"


def test_an_old_python_is_told_the_version_it_needs_and_how_to_make_the_venv(monkeypatch):
    monkeypatch.setattr(exits, "os", SimpleNamespace(name="posix"))
    message = exits.python_problem((3, 9))
    assert message == (
        f"k8s-lab needs Python 3.10 or newer; this is Python 3.9 ({sys.executable}). "
        "Install a newer Python (https://www.python.org/downloads/), then make the venv with it: "
        f"cd {exits.ROOT} && python3 -m venv venv && venv/bin/python -m pip install -r requirements.txt"
    )
    assert "this is Python 3.8.1 " in exits.python_problem((3, 8, 1))
    assert exits.python_problem((3, 10)) is None and exits.python_problem((4, 0)) is None
    assert exits.python_problem() is None  # the Python running the tests is new enough


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder with a venv, and lab.py run as `lab.py up --stack kim`. (`exits.os` is
    replaced, not `os.name`: pathlib reads os.name too.)"""
    monkeypatch.setattr(exits, "ROOT", tmp_path)
    monkeypatch.setattr(exits, "os", SimpleNamespace(name="posix"))
    monkeypatch.setattr(sys, "argv", ["lab.py", "up", "--stack", "kim"])
    monkeypatch.chdir(tmp_path)
    venv_python = tmp_path / "venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text("")
    return venv_python


def test_a_python_other_than_the_venvs_is_told_to_use_the_venv(project):
    message = exits.missing_package_problem("pulumi", executable="/usr/bin/python3")
    assert message == (
        "k8s-lab: this Python (/usr/bin/python3) is not the project's venv (it lacks pulumi). "
        "Run lab.py with the venv's Python: venv/bin/python lab.py up --stack kim"
    )


def test_the_venvs_own_python_without_the_packages_is_told_to_install_them(project):
    message = exits.missing_package_problem("pulumi", executable=str(project))
    assert message == (
        "k8s-lab: the Python packages the lab needs are not installed (no pulumi). "
        f"Make the venv once: cd {project.parent.parent.parent} && "
        "python3 -m venv venv && venv/bin/python -m pip install -r requirements.txt; then: venv/bin/python lab.py up --stack kim"
    )


def test_no_venv_at_all_is_told_to_make_one(project):
    project.unlink()
    message = exits.missing_package_problem("yaml", executable="/usr/bin/python3")
    assert message.startswith("k8s-lab: the Python packages the lab needs are not installed (no yaml). Make the venv once")


def test_the_venv_of_windows_is_looked_for_under_scripts(project, monkeypatch):
    windows_python = project.parent.parent / "Scripts" / "python.exe"
    windows_python.parent.mkdir()
    windows_python.write_text("")
    project.unlink()
    monkeypatch.setattr(exits, "os", SimpleNamespace(name="nt"))
    assert "is not the project's venv" in exits.missing_package_problem("yaml", executable="/usr/bin/python3")
    assert "are not installed" in exits.missing_package_problem("yaml", executable=str(windows_python))


def test_the_running_python_is_the_default_executable(project, monkeypatch):
    assert "is not the project's venv" in exits.missing_package_problem("yaml")  # pytest's Python is not tmp_path's venv
    assert Path(sys.executable).resolve() != project.resolve()
