"""A student's path, run the way a student runs it: `venv/bin/python lab.py VERB` in a fresh
copy of the project (no .tools/, no .pulumi-state/, no stack files), with stand-in `pulumi`,
`kind` and `docker` (tests/stand_ins/) as the only programs on PATH. For every verb: its
exit code and first line, and never a traceback. The stand-ins answer only the calls lab.py
and Pulumi's Automation API make; the real tools are exercised by the e2e tests."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT
from k8s_lab.exits import Exit

pytestmark = pytest.mark.skipif(os.name == "nt", reason="the stand-ins are scripts with a #! line")

OUTPUTS = {
    "ideUrl": {"value": "http://127.0.0.1:8444", "secret": False},
    "idePassword": {"value": "stand-in-password-1", "secret": True},
    "clusterName": {"value": "kim", "secret": False},
    "hostKubeconfig": {
        "value": "apiVersion: v1\nkind: Config\nclusters:\n- name: kind-kim\n  cluster: {server: 'https://127.0.0.1:6443'}\n"
        "users:\n- name: kind-kim\n  user: {token: stand-in-token}\ncontexts:\n- name: kind-kim\n  context: {cluster: kind-kim, user: kind-kim}\n"
        "current-context: kind-kim\n",
        "secret": True,
    },
}


def fresh_copy(destination: Path) -> Path:
    """The project's files as a clone has them (tracked and new, nothing ignored), as they
    are now in this checkout."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not name.startswith("tests/"):
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    # The venv the README's install step makes; here, the one running the tests.
    (destination / "venv").symlink_to(Path(sys.executable).parent.parent)
    return destination


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def first_line(self) -> str:
        return next((line for line in (self.out + "\n" + self.err).splitlines() if line.strip()), "")


class Student:
    def __init__(self, tmp: Path, tools: tuple[str, ...] = ("pulumi", "kind", "docker")):
        self.tmp = tmp
        self.project = fresh_copy(tmp / "k8s-lab")
        self.bin = tmp / "bin"
        self.bin.mkdir()
        for tool in tools:
            text = (ROOT / "tests" / "stand_ins" / tool).read_text()
            script = self.bin / tool
            script.write_text(text.replace("#!/usr/bin/env python3", f"#!{sys.executable}", 1))
            script.chmod(0o755)
        self.env = {
            "PATH": str(self.bin),
            "HOME": str(tmp / "home"),
            "USER": "kim",
            "K8S_LAB_TOOLS_DIR": str(tmp / "tools"),
            "KUBECONFIG": str(tmp / "home" / ".kube" / "config"),
            "STAND_IN_CALLS": str(tmp / "calls"),
            "LANG": "C.UTF-8",
        }

    def lab(self, *args: str, interpreter: tuple[str, ...] = ("venv/bin/python",), **env: str) -> Run:
        result = subprocess.run(
            [*interpreter, "lab.py", *args],
            cwd=self.project,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        run = Run(result.returncode, result.stdout, result.stderr)
        assert "Traceback" not in run.out + run.err, (args, run)
        return run


@pytest.fixture
def student(tmp_path) -> Student:
    return Student(tmp_path)


WITHOUT_A_LAB = [
    ((), Exit.OK, r"^usage: lab.py"),
    (("--help",), Exit.OK, r"^usage: lab.py"),
    (("--version",), Exit.OK, r"^k8s-lab \(checkout .*\), Python 3\.\d+.*; pins kind v0\.23\.0"),
    (("stauts",), Exit.USAGE, r"^k8s-lab: there is no verb 'stauts'; did you mean `venv/bin/python lab.py status`\?"),
    (("up", "--no-such-option"), Exit.USAGE, r"^usage: lab.py"),
    (("check",), Exit.OK, r"^docker +v27\.0\.0 +\S+/bin/docker +used$"),
    (("list",), Exit.NO_SUCH_LAB, r"^No labs on this machine yet\. Make one: venv/bin/python lab.py up$"),
    (("info",), Exit.NO_SUCH_LAB, r"^k8s-lab: there is no lab named 'kim' on this machine \(there is none yet\)\. Make it with: venv/bin/python lab.py up$"),
    (("password", "--stack", "kmi"), Exit.NO_SUCH_LAB, r"^k8s-lab: there is no lab named 'kmi'"),
    (("kubeconfig",), Exit.NO_SUCH_LAB, r"^k8s-lab: there is no lab named 'kim'"),
    (("config", "slot"), Exit.NO_SUCH_LAB, r"^k8s-lab: there is no lab named 'kim'"),
    (("config", "slot", "--unset"), Exit.NO_SUCH_LAB, r"^k8s-lab: there is no lab named 'kim'"),
    (("config",), Exit.NO_SUCH_LAB, r"^k8s-lab: there is no lab named 'kim'"),
    (("config", "slot", "300000"), Exit.USAGE, r"^k8s-lab: slot = '300000': .*nothing was stored$"),
    (("config", "slto", "3"), Exit.USAGE, r"^k8s-lab: 'slto' is not a k8s-lab setting; did you mean slot\?"),
    (("status",), Exit.NO_SUCH_LAB, r"^k8s-lab: there is no lab named 'kim'"),
    (("stop",), Exit.NO_SUCH_LAB, r"^k8s-lab: there is no lab named 'kim'"),
    (("start", "--stack", "kmi"), Exit.NO_SUCH_LAB, r"^k8s-lab: there is no lab named 'kmi'"),
    (("destroy", "--stack", "kmi", "--yes"), Exit.NO_SUCH_LAB, r"^k8s-lab: there is no lab named 'kmi'"),
    (("destroy",), Exit.USAGE, r"^k8s-lab: destroy removes lab 'kim' .* run: venv/bin/python lab.py destroy --stack kim --yes$"),
]


@pytest.mark.parametrize("args, code, first", WITHOUT_A_LAB, ids=lambda value: " ".join(value) if isinstance(value, tuple) else None)
def test_every_verb_on_a_fresh_clone(student, args, code, first):
    run = student.lab(*args)
    assert (run.code, bool(re.search(first, run.first_line))) == (code, True), run
    # A verb that selects a lab never makes one (`destroy --stack kmi` once did).
    assert not list(student.project.glob("Pulumi.k*.yaml"))
    assert "stack init" not in (student.tmp / "calls").read_text() if (student.tmp / "calls").exists() else True


def test_a_lab_through_its_life(student):
    # preview makes the stack (as up does), and the passphrase of this machine's lab secrets.
    preview = student.lab("preview")
    assert preview.code == Exit.OK and preview.first_line.startswith("Made a passphrase for this machine's lab secrets in ")
    assert "pulumi stack init kim" in (student.tmp / "calls").read_text()
    never_up = student.lab("info")
    assert never_up.code == Exit.FAILED
    assert never_up.first_line == "k8s-lab: lab 'kim' has not been brought up yet (or was destroyed). Bring it up: venv/bin/python lab.py up"
    assert student.lab("password").code == Exit.FAILED

    assert student.lab("config", "slot", "3").first_line == "slot set for lab kim; `venv/bin/python lab.py up --stack kim` applies it."
    bad = student.lab("config", "slot", "300000")
    assert bad.code == Exit.USAGE and bad.first_line.startswith("k8s-lab: slot = '300000': ") and "nothing was stored" in bad.err
    named = student.lab("config", "hostName", "http://teacher.school.lan")  # a URL, not the host's name
    assert named.code == Exit.USAGE and named.first_line.startswith("k8s-lab: hostName = 'http://teacher.school.lan': is not a host name")
    listing = student.lab("config")
    assert listing.code == Exit.OK and listing.first_line.split() == ["student", "(default:", "the", "stack", "name)"]
    assert re.search(r"^slot +3$", listing.out, re.M)

    up = student.lab("up", STAND_IN_OUTPUTS=json.dumps(OUTPUTS))
    assert up.code == Exit.OK, up
    assert "idePlatform: linux/amd64 (the Docker host's, stored in stack kim's config)" in up.out.splitlines()
    assert "IDE:        http://127.0.0.1:8444" in up.out and "stand-in-password-1" not in up.out
    assert student.lab("info").first_line == "IDE:        http://127.0.0.1:8444"
    assert student.lab("password").out == "stand-in-password-1\n"
    assert student.lab("kubeconfig").first_line == "apiVersion: v1"
    merged = student.lab("kubeconfig", "--merge")
    kubeconfig = Path(student.env["KUBECONFIG"])
    assert merged.code == Exit.OK and merged.first_line.startswith(f"Context k8s-lab-kim is in {kubeconfig}")
    assert "current-context: k8s-lab-kim" in kubeconfig.read_text() and oct(kubeconfig.stat().st_mode)[-3:] == "600"
    listed = student.lab("list")
    assert listed.code == Exit.OK and listed.out.splitlines()[1].split()[0] == "kim"

    # stop, start and status read the lab's settings file: the stand-in Docker has none of its containers.
    status = student.lab("status")
    assert status.code == Exit.FAILED and status.out.splitlines()[-1] == "Repair kim: venv/bin/python lab.py up --stack kim"
    as_json = json.loads(student.lab("status", "--json").out)
    assert as_json["state"] == "absent" and as_json["last_change"] == "update succeeded 2026-01-01 00:00"  # from the Pulumi CLI at hand
    stop = student.lab("stop")
    assert stop.code == Exit.FAILED and stop.first_line.startswith("k8s-lab: there is no lab of 'kim' in this Docker to stop")
    assert student.lab("start").code == Exit.FAILED

    assert student.lab("destroy").code == Exit.USAGE
    destroyed = student.lab("destroy", "--yes")
    assert destroyed.code == Exit.OK and destroyed.out.splitlines()[-1].startswith("The lab is gone")
    assert student.lab("info").code == Exit.FAILED


def test_a_failed_up_prints_its_summary_and_the_log_with_all_of_it(student):
    run = student.lab("up", STAND_IN_UP_ERROR="docker:index:Network lab-net: network with name kim-net already exists")
    assert run.code == Exit.FAILED
    lines = [line for line in run.err.splitlines() if line.startswith("k8s-lab:")]  # after the doctor's warnings
    assert lines[0] == "k8s-lab: error: docker:index:Network lab-net: network with name kim-net already exists"
    log = re.search(r"Pulumi's whole output is in (\S+)$", lines[-1])
    assert log and Path(log.group(1)).is_file() and "**failed**" in Path(log.group(1)).read_text()
    assert Path(log.group(1)).parent == student.project / ".pulumi-state" / "logs"
    assert len(lines) <= 4  # a summary, not the whole output again


def test_up_on_a_cgroup_v1_host_refuses_the_maintained_row_before_anything_is_made(student):
    """kubernetesVersion 1.36 (kubelet 1.36 refuses cgroup v1) on a Docker that reports
    cgroup v1: `up` says so first, with the rows that run there, and makes nothing."""
    shutil.copy2(student.bin / "kind", student.bin / "kind-v0.32.0")  # the row's kind, as `up` would fetch it
    assert student.lab("preview").code == Exit.OK  # makes the stack (and its settings file)
    assert student.lab("config", "kubernetesVersion", "1.36").code == Exit.OK
    check = student.lab("check", "--no-fetch")
    assert re.search(r"^kind-v0.32.0 +v0\.32\.0 +\S+/bin/kind-v0.32.0 +used$", check.out, re.M), check
    assert "lab 'kim': kubernetesVersion 1.36" in check.out
    calls = student.tmp / "calls"
    before = calls.read_text().count("pulumi up") if calls.exists() else 0
    run = student.lab("up", "--no-fetch", STAND_IN_CGROUP_VERSION="1")
    assert run.code == Exit.USAGE, run
    assert run.first_line.startswith("k8s-lab: kubernetesVersion 1.36 does not run on this host: its Docker uses cgroup v1")
    assert "Rows that run here: 1.29" in run.first_line
    assert calls.read_text().count("pulumi up") == before  # nothing was made
    doctor = student.lab("doctor", STAND_IN_CGROUP_VERSION="1")
    assert doctor.code == Exit.FAILED and "[problem] kubernetesVersion 1.36 does not run on this host" in doctor.out


def test_doctor_works_offline_with_docker_only(tmp_path):
    student = Student(tmp_path, tools=("docker",))
    run = student.lab("doctor")
    assert run.code in (Exit.OK, Exit.FAILED)  # FAILED: this host has a problem, which the doctor names
    assert not re.search(r"fetching|could not reach", run.out + run.err, re.I)
    assert not (tmp_path / "tools").exists()
    # Reading a lab needs the Pulumi CLI, which only up, preview, destroy and check --fetch fetch.
    (student.project / "Pulumi.kim.yaml").write_text("encryptionsalt: v1:stand-in-salt\n")
    info = student.lab("info")
    assert info.code == Exit.NOT_READY and "pulumi is missing" in info.err and not (tmp_path / "tools").exists()


def test_a_daemon_the_ide_cannot_be_built_for_stops_up_with_the_fix(student):
    run = student.lab("up", STAND_IN_DOCKER_PLATFORM="linux/arm")
    assert run.code == Exit.USAGE, run
    said = [line for line in run.err.splitlines() if line.startswith("k8s-lab:")]  # after the doctor's warnings
    assert said == [
        "k8s-lab: the lab's Docker host runs linux/arm; the IDE image is built for linux/amd64 or linux/arm64 only. "
        "Fix: use a Docker host of one of those, or set ideImage to a prebuilt image for it"
    ]
    assert "Traceback" not in run.err and "pulumi up" not in (student.tmp / "calls").read_text()


def test_docker_down_is_said_with_the_daemons_reason_not_a_template_error(student):
    run = student.lab("up", STAND_IN_DOCKER_DOWN="1")
    assert run.code == Exit.NOT_READY
    assert "Cannot connect to the Docker daemon" in run.err and "template" not in run.err


def test_outside_the_venv_says_how_to_run_it(student):
    # A Python without the lab's packages (-S: no site-packages), as `python3 lab.py` on a fresh system.
    system_python = shutil.which("python3", path="/usr/bin:/bin")
    if not system_python or Path(system_python).resolve() == Path(sys.executable).resolve():
        pytest.skip("no Python besides the venv's here")
    run = student.lab("status", interpreter=(system_python, "-S"))
    assert run.code == Exit.WRONG_PYTHON, run
    assert run.first_line.startswith("k8s-lab: this Python") and "venv/bin/python lab.py status" in run.first_line


def test_a_bad_setting_in_the_labs_file_is_named_not_a_traceback(student):
    (student.project / "Pulumi.kim.yaml").write_text("config:\n  k8s-lab:slot: banana\n")
    for verb in ("status", "stop", "start", "doctor"):
        run = student.lab(verb)
        assert run.code == Exit.USAGE, (verb, run)
        assert run.first_line.startswith("k8s-lab: this lab's settings are invalid: slot = 'banana': is not a whole number. Fix: ")


def test_python_too_old_is_told_before_anything_needs_a_newer_one():
    import ast

    from k8s_lab import exits

    for path in ("lab.py", "k8s_lab/__init__.py", "k8s_lab/exits.py", "k8s_lab/cli.py"):  # what runs before the version check
        ast.parse((ROOT / path).read_text(encoding="utf-8"), feature_version=(3, 8))
    message = exits.python_problem((3, 8))
    assert message and "needs Python 3.10 or newer; this is Python 3.8" in message and "-m venv venv" in message
    assert exits.python_problem((3, 10)) is None and exits.python_problem((3, 13)) is None
    source = (ROOT / "lab.py").read_text(encoding="utf-8")
    assert source.index("cli.require_python()") < re.search(r"from k8s_lab import .*session", source).start()


def test_hints_name_the_venvs_python_for_the_os_and_the_checkout(tmp_path):
    from k8s_lab.exits import lab_command

    assert lab_command("up", windows=False, cwd=ROOT) == "venv/bin/python lab.py up"
    assert lab_command("up", windows=True, cwd=ROOT) == "venv\\Scripts\\python lab.py up"
    assert lab_command("up", windows=False, cwd=tmp_path) == f"{ROOT}/venv/bin/python {ROOT}/lab.py up"


@pytest.mark.parametrize("version", ["3.8", "3.9"])
def test_an_older_python_is_told_what_it_needs(student, version):
    # A real interpreter, not pyenv's shim (a bash script, and the test's PATH has no bash).
    found = sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python")) + [Path(p) for p in [shutil.which(f"python{version}")] if p]
    older = next((str(path) for path in found if "shims" not in str(path)), None)
    if not older:
        pytest.skip(f"no Python {version} here (the ast check above covers the syntax)")
    run = student.lab("up", interpreter=(older,))
    assert run.code == Exit.WRONG_PYTHON
    assert run.first_line.startswith(f"k8s-lab needs Python 3.10 or newer; this is Python {version} ")


def test_settings_of_a_lab_not_made_yet_are_stored_and_up_makes_it_with_them(student):
    """Issue 27: a student whose port 80 is taken picks a slot before the first `up`."""
    for key, value in (("slot", "3"), ("labMemory", "6g"), ("bindAddress", "0.0.0.0")):
        run = student.lab("config", key, value, "--stack", "newlab")
        assert run.code == Exit.OK, run
        assert run.out.splitlines()[-2:] == [
            f"{key} set for lab newlab; `venv/bin/python lab.py up --stack newlab` applies it.",
            "Lab 'newlab' is not made yet: its settings are stored (Pulumi.newlab.yaml), "
            "and `venv/bin/python lab.py up --stack newlab` makes it with them.",
        ]
    import yaml

    stored = yaml.safe_load((student.project / "Pulumi.newlab.yaml").read_text())["config"]
    assert stored == {"k8s-lab:slot": "3", "k8s-lab:labMemory": "6g", "k8s-lab:bindAddress": "0.0.0.0"}
    again = student.lab("config", "slot", "4", "--stack", "newlab")
    assert again.code == Exit.OK and "is not made yet" in again.out
    assert student.lab("config", "labMemory", "--stack", "newlab").out == "6g\n"
    assert student.lab("status", "--stack", "newlab").code == Exit.FAILED  # a lab with settings, not yet made: absent

    home = student.tmp / "home" / "labs"
    up = student.lab("up", "--stack", "newlab", "--workspace-root", str(home), STAND_IN_OUTPUTS=json.dumps(OUTPUTS))
    assert up.code == Exit.OK, up
    made = student.lab("config", "slot", "4", "--stack", "newlab")  # a lab made: no word of a new one
    assert made.code == Exit.OK and made.out.splitlines() == ["slot set for lab newlab; `venv/bin/python lab.py up --stack newlab` applies it."]
    calls = (student.tmp / "calls").read_text().splitlines()
    assert calls.count("pulumi stack init newlab") == 1 and any(call.startswith("pulumi up ") and "--stack newlab" in call for call in calls)
    # What the first `up` writes itself (workspaceRoot, idePlatform) it still writes; the
    # program ran with what was stored.
    expected = {"k8s-lab:slot": "4", "k8s-lab:labMemory": "6g", "k8s-lab:bindAddress": "0.0.0.0",
                "k8s-lab:workspaceRoot": str(home), "k8s-lab:idePlatform": "linux/amd64"}
    assert yaml.safe_load((student.project / "Pulumi.newlab.yaml").read_text())["config"] == expected
    state = json.loads((student.project / ".pulumi-state" / "stand-in-stacks.json").read_text())
    assert state["newlab"]["config_at_up"] == expected


@pytest.mark.parametrize("verb", [("status",), ("stop",), ("start",), ("destroy", "--yes"), ("info",), ("password",), ("config", "slot")])
def test_a_mistyped_name_is_still_refused_once_a_lab_has_settings(student, verb):
    assert student.lab("config", "slot", "3", "--stack", "newlab").code == Exit.OK
    run = student.lab(*verb, "--stack", "nwelab")
    assert run.code == Exit.NO_SUCH_LAB, run
    assert run.first_line.startswith("k8s-lab: there is no lab named 'nwelab' on this machine (the labs here: newlab)")
    assert not (student.project / "Pulumi.nwelab.yaml").exists()


NO_LAB_YET = [("info",), ("password",), ("kubeconfig",), ("config", "slot"), ("config",), ("list",), ("destroy", "--yes", "--stack", "nosuch")]


@pytest.mark.parametrize("args", NO_LAB_YET, ids=" ".join)
@pytest.mark.parametrize("tools", [("docker",), ()], ids=["docker only", "no tools"])
def test_a_fresh_clone_without_pulumi_says_no_lab_yet_and_fetches_nothing(tmp_path, args, tools):
    """Issue 28: the user has no lab yet; that, not "pulumi is missing", is the answer (exit
    3, not 4), and destroy fetches neither kind nor the Pulumi CLI to say it."""
    student = Student(tmp_path, tools=tools)
    run = student.lab(*args)
    assert run.code == Exit.NO_SUCH_LAB, run
    assert "missing" not in run.out + run.err and not re.search(r"fetch", run.out + run.err, re.I)
    assert not (tmp_path / "tools").exists()
