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

from conftest import ROOT, clone_this_repository
from k8s_lab import ide_image
from provider_check import Client, check_image

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


# --- what pulumi-docker's Check adds: build.contextDigest, build.dockerfile, build.platform ---
# The inputs above are what the program sends; the provider's Check then hashes the build
# context and fills in the platform on the machine running Pulumi (tests/provider_check.py,
# with its source lines). Each machine here is a real `git clone` of this repository (what is
# committed: a student's checkout), evaluated by its own copy of the program.

IMAGE = "docker:index/image:Image"
STORED = {"workspaceRoot": "/home/kim/k8s-lab", "idePlatform": "linux/amd64"}  # as lab.py up stores them
CHECKOUTS = {
    # name: (git options, umask, the Pulumi machine, sys.platform the program sees)
    "linux amd64 runner": ((), 0o022, Client("linux", "amd64"), ""),
    "windows student, core.autocrlf=true": (("-c", "core.autocrlf=true"), 0o022, Client("windows", "amd64"), "win32"),
    "linux student, umask 002": ((), 0o002, Client("linux", "amd64"), ""),
    "apple silicon student": ((), 0o022, Client("darwin", "arm64"), ""),
}


@pytest.fixture(scope="module")
def checkouts(tmp_path_factory):
    """name -> (clone, the modes of its ide/ files as cloned, Pulumi machine, sys.platform)."""
    made = {}
    for name, (options, umask, client, platform) in CHECKOUTS.items():
        clone = clone_this_repository(tmp_path_factory.mktemp("checkout") / "k8s-lab", *options, umask=umask)
        modes = {p.name: p.stat().st_mode & 0o777 for p in (clone / "ide").iterdir()}
        made[name] = (clone, modes, client, platform)
    return made


def checked_image(clone: Path, config: dict, client: Client, platform: str, home: Path) -> dict:
    graph = json.loads(evaluate_as(clone, config, python=sys.executable, home=home, platform=platform))
    (image,) = [r for r in graph["resources"] if r["type"] == IMAGE]
    return check_image(image["inputs"], clone, client)


def test_the_provider_checks_the_same_image_inputs_on_every_checkout(checkouts, tmp_path):
    checked = {name: checked_image(clone, STORED, client, platform, tmp_path) for name, (clone, _, client, platform) in checkouts.items()}
    runner = checked["linux amd64 runner"]
    assert runner["build"]["dockerfile"] == "ide/Dockerfile" and runner["build"]["platform"] == "linux/amd64"
    assert len(runner["build"]["contextDigest"]) == 64
    for name, inputs in checked.items():
        assert inputs == runner, name


def test_without_a_stored_platform_the_pulumi_machine_decides_it(checkouts, tmp_path):
    """Why idePlatform is stored: left to Check, an Apple Silicon laptop's `up` and the amd64
    runner's preview disagree (and a remote amd64 daemon would get an arm64 image)."""
    unstored = {"workspaceRoot": STORED["workspaceRoot"]}
    clone, _, client, platform = checkouts["apple silicon student"]
    laptop = checked_image(clone, unstored, client, platform, tmp_path)
    clone, _, client, platform = checkouts["linux amd64 runner"]
    runner = checked_image(clone, unstored, client, platform, tmp_path)
    assert (laptop["build"]["platform"], runner["build"]["platform"]) == ("linux/arm64", "linux/amd64")


def test_a_crlf_checkout_gets_lf_in_the_build_context(checkouts):
    clone = checkouts["windows student, core.autocrlf=true"][0]
    assert b"\r\n" in (clone / "README.md").read_bytes()  # autocrlf took effect where the rules allow it
    for path in ide_image.context_files(clone / "ide"):
        assert b"\r\n" not in path.read_bytes(), path.name


def test_the_program_settles_the_modes_a_umask_gave(checkouts):
    clone, cloned_modes, _, _ = checkouts["linux student, umask 002"]
    assert cloned_modes["Dockerfile"] == 0o775  # what git made under umask 002
    for path in ide_image.context_files(clone / "ide"):  # after the program ran in this clone
        assert path.stat().st_mode & 0o777 == ide_image.CONTEXT_MODE, path.name
