"""A stack is a function of its config: the same stack evaluated by different machines
(another project folder, another interpreter path, another home folder, Windows) gives
byte-identical resource inputs, and a Windows student's stack evaluates on Linux.

Each machine is a separate process: a copy of the project in its own folder, run by an
interpreter reached through another path, with another HOME, and one that believes it is
on Windows (`sys.platform = "win32"` before the program runs)."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow

PROJECT_PARTS = ("__main__.py", "Pulumi.yaml", "components", "k8s_lab", "ide", "tests")
EVALUATE = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
from lab_mocks import evaluate
from bench.run import canonical_graph
if sys.argv[3] == "win32":  # after the imports (asyncio would load its Windows parts)
    import sysconfig
    sysconfig.get_config_vars()  # loaded now, by this platform's name
    sys.platform = "win32"
lab = evaluate(json.loads(sys.argv[2]), stack="kim", preview=True)
print(json.dumps(canonical_graph(lab), sort_keys=True, default=lambda v: type(v).__name__))
"""


def copy_project(target: Path) -> Path:
    for part in PROJECT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / part)
    shutil.copytree(ROOT / "bench", target / "bench", ignore=shutil.ignore_patterns("__pycache__"))
    return target


def evaluate_as(project: Path, config: dict, *, python: str, home: Path, platform: str = "") -> str:
    # The packages this venv has, for an interpreter reached outside it.
    packages = os.pathsep.join(site.getsitepackages())
    env = {**os.environ, "HOME": str(home), "USERPROFILE": str(home), "PYTHONPATH": packages}
    env.pop("PULUMI_CONFIG", None)
    done = subprocess.run(
        [python, "-c", EVALUATE, str(project), json.dumps(config), platform],
        capture_output=True,
        text=True,
        cwd=project,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def machines(tmp_path_factory):
    """(project folder, interpreter, home) for three machines."""
    other_python_dir = tmp_path_factory.mktemp("other-venv") / "bin"
    other_python_dir.mkdir()
    other_python = other_python_dir / "python"
    other_python.symlink_to(sys.executable)  # the same interpreter, reached by another path
    return [
        (ROOT, sys.executable, tmp_path_factory.mktemp("home-teacher")),
        (copy_project(tmp_path_factory.mktemp("pr-runner-checkout")), str(other_python), tmp_path_factory.mktemp("home-runner")),
        (copy_project(tmp_path_factory.mktemp("student-laptop")), sys.executable, tmp_path_factory.mktemp("home-student")),
    ]


STACKS = {
    "linux student": {"workspaceRoot": "/home/kim/k8s-lab", "slot": "3"},
    "windows student": {"workspaceRoot": r"C:\Users\lee\k8s-lab", "ideEnv": '["EDITOR=vim"]'},
}


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_every_machine_evaluates_identical_inputs(machines, stack):
    config = STACKS[stack]
    graphs = [evaluate_as(project, config, python=python, home=home) for project, python, home in machines]
    project, python, home = machines[0]
    graphs.append(evaluate_as(project, config, python=python, home=home, platform="win32"))
    assert all(graph == graphs[0] for graph in graphs[1:]), "a machine changed the stack's inputs"
    resources = json.loads(graphs[0])["resources"]
    assert len(resources) > 15
    for resource in resources:  # and no machine path leaked in anywhere
        text = json.dumps(resource["inputs"])
        for machine_part in (str(ROOT), sys.executable, str(home), os.path.expanduser("~")):
            assert machine_part not in text, (resource["name"], machine_part)


def test_a_windows_stack_keeps_its_windows_folders_on_linux(machines):
    project, python, home = machines[1]
    graph = json.loads(evaluate_as(project, STACKS["windows student"], python=python, home=home))
    devices = sorted(
        r["inputs"]["driverOpts"]["device"] for r in graph["resources"] if r["inputs"].get("driverOpts", {}).get("o") == "bind"
    )
    assert devices == [r"C:\Users\lee\k8s-lab\kim\src", r"C:\Users\lee\k8s-lab\kim\vscode"]
