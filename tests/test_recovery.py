"""Recovery paths: what lab.py repairs, how it finds out, and the program's part in it."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from k8s_lab import session
from k8s_lab import commands, drift, repair
from k8s_lab.drift import Presence
from k8s_lab.runner import Result, RunError
from k8s_lab.shell_form import lab_command
from fakes import FakeRunner, fails, ok
from lab_mocks import evaluate

COMMAND = "command:local:Command"


@pytest.fixture(scope="module")
def default_lab(tmp_path_factory):
    return evaluate({"workspaceRoot": str(tmp_path_factory.mktemp("labs"))}, stack="kim", preview=True)


@pytest.mark.parametrize("what", [repair.CLUSTER_COMMAND, repair.BUILT_IMAGE])
def test_repair_urns_are_the_programs(default_lab, what):
    _, type_, name = what
    assert repair.child_urn("kim", what) == default_lab.one(type_, name).urn


def test_repair_urn_of_a_pulled_image_is_the_programs(tmp_path):
    pulled = evaluate({"workspaceRoot": str(tmp_path), "ideImage": "registry.example.com/ide:1"}, stack="kim", preview=True)
    assert repair.child_urn("kim", repair.PULLED_IMAGE) == pulled.one("docker:index/remoteImage:RemoteImage", "ide-image-pulled").urn


def findings(**kwargs):
    base = dict(cluster_missing=False, ide_missing=False, image_missing=False, prebuilt_image=False)
    return repair.Findings(**{**base, **kwargs})


def test_a_healthy_lab_needs_no_repair():
    assert not repair.plan("kim", findings())
    assert repair.plan("kim", findings()) == repair.Repair()


def test_a_cluster_deleted_by_hand_replaces_the_cluster_command():
    plan = repair.plan("kim", findings(cluster_missing=True))
    assert plan.replace == [repair.child_urn("kim", repair.CLUSTER_COMMAND)]
    assert plan.refresh and "kind cluster is gone" in plan.reasons[0]


def test_a_pruned_image_is_built_or_pulled_again():
    assert repair.plan("kim", findings(image_missing=True)).replace == [repair.child_urn("kim", repair.BUILT_IMAGE)]
    pulled = repair.plan("kim", findings(image_missing=True, prebuilt_image=True))
    assert pulled.replace == [repair.child_urn("kim", repair.PULLED_IMAGE)] and "pulled again" in pulled.reasons[0]


def test_a_docker_reset_refreshes_and_replaces_both():
    plan = repair.plan("kim", findings(cluster_missing=True, ide_missing=True, image_missing=True))
    assert plan.refresh and len(plan.replace) == 2 and len(plan.reasons) == 3


def test_look_for_repairs_asks_docker_only_for_a_deployed_stack(monkeypatch):
    asked = []
    monkeypatch.setattr(drift, "probe", lambda names, env=None: asked.append(names.student) or Presence(cluster=False, ide=True))
    monkeypatch.setattr(drift, "image_present", lambda ref, env=None: asked.append(ref) or False)
    assert not session.look_for_repairs("kim", {}, deployed=False) and asked == []
    plan = session.look_for_repairs("kim", {"student": "lee"}, deployed=True)
    assert asked[0] == "lee" and asked[1].startswith("k8s-lab-ide:")
    assert plan.replace == [repair.child_urn("kim", repair.CLUSTER_COMMAND), repair.child_urn("kim", repair.BUILT_IMAGE)]
    asked.clear()
    session.look_for_repairs("kim", {"ideImage": "registry.example.com/ide:1"}, deployed=True)
    assert asked[1] == "registry.example.com/ide:1"


def test_look_for_repairs_does_nothing_when_docker_does_not_answer(monkeypatch):
    monkeypatch.setattr(drift, "probe", lambda names, env=None: None)
    monkeypatch.setattr(drift, "image_present", lambda ref, env=None: None)
    assert not session.look_for_repairs("kim", {}, deployed=True)


def test_image_present_reads_dockers_answer(monkeypatch):
    monkeypatch.setattr(drift.shutil, "which", lambda name: "/usr/bin/docker")

    def docker(answer):
        return FakeRunner({("docker", "image", "inspect", "--format", "{{.Id}}", "ide:1"): answer})

    runner = docker(ok("sha256:1\n"))
    assert drift.image_present("ide:1", {"DOCKER_HOST": "ssh://h"}, runner=runner) is True
    assert runner.calls[-1].env == {"DOCKER_HOST": "ssh://h"}
    assert drift.image_present("ide:1", runner=docker(fails("Error: No such image: ide:1"))) is False
    assert drift.image_present("ide:1", runner=docker(fails("Cannot connect to the Docker daemon"))) is None


class FakeConfigValue:
    def __init__(self, value):
        self.value, self.secret = value, False


class FakeStack:
    name = "kim"

    def __init__(self, config=None):
        self.config = {f"k8s-lab:{k}": FakeConfigValue(v) for k, v in (config or {}).items()}
        self.written = {}

    def get_all_config(self):
        return self.config

    def set_config(self, key, value):
        self.written[key] = value.value
        self.config[f"k8s-lab:{key}"] = FakeConfigValue(value.value)


def test_first_up_stores_the_workspace_root_once(tmp_path, capsys):
    stack = FakeStack()
    assert session.store_workspace_root(stack, None, home=tmp_path) is None
    assert stack.written == {"workspaceRoot": str(tmp_path / "k8s-lab")}
    assert "stored in stack kim's config" in capsys.readouterr().out
    stack.written.clear()
    assert session.store_workspace_root(stack, None, home=tmp_path / "elsewhere") is None
    assert stack.written == {}  # the stored one is kept: a stack is a function of its config


def test_an_explicit_workspace_root_is_stored_resolved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stack = FakeStack({"workspaceRoot": "/old/place"})
    assert session.store_workspace_root(stack, "labs", home=tmp_path) is None
    assert stack.written == {"workspaceRoot": str(tmp_path / "labs")}


def test_an_unwritable_workspace_root_stops_up_with_the_fix(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    problem = session.store_workspace_root(FakeStack(), str(blocker / "labs"), home=tmp_path)
    assert "is a file, not a folder" in problem and "--workspace-root" in problem


def test_another_docker_host_needs_no_folder_here(tmp_path):
    stack = FakeStack({"dockerHost": "ssh://teacher@lab2"})
    assert session.store_workspace_root(stack, None, home=tmp_path) is None and stack.written == {}


# --- the Docker host's platform, stored once (the IDE image's build.platform) -------------


def test_first_up_stores_the_daemons_platform_once(capsys):
    asked = []
    stack = FakeStack()
    assert session.store_ide_platform(stack, ask=lambda host: asked.append(host) or "linux/arm64") is None
    assert stack.written == {"idePlatform": "linux/arm64"} and asked == [""]
    assert capsys.readouterr().out == "idePlatform: linux/arm64 (the Docker host's, stored in stack kim's config)\n"
    stack.written.clear()
    # Stored: a later up on another machine (an amd64 runner, say) keeps it and asks nothing.
    assert session.store_ide_platform(stack, ask=lambda host: asked.append(host) or "linux/amd64") is None
    assert stack.written == {} and asked == [""]


def test_a_remote_docker_host_is_asked_for_its_own_platform():
    asked = []
    stack = FakeStack({"dockerHost": "ssh://teacher@lab2"})
    assert session.store_ide_platform(stack, ask=lambda host: asked.append(host) or "linux/amd64") is None
    assert asked == ["ssh://teacher@lab2"] and stack.written == {"idePlatform": "linux/amd64"}


def test_a_daemon_that_does_not_answer_stores_nothing():
    stack = FakeStack()
    assert session.store_ide_platform(stack, ask=lambda host: None) is None and stack.written == {}


def test_a_daemon_the_image_cannot_be_built_for_stops_up_with_the_fix():
    stack = FakeStack()
    problem = session.store_ide_platform(stack, ask=lambda host: "windows/amd64")
    assert problem.startswith("the lab's Docker host runs windows/amd64; the IDE image is built for linux/amd64 or linux/arm64 only. Fix: ")
    assert "ideImage" in problem and stack.written == {}


def test_the_daemons_platform_is_the_servers_not_the_clients(monkeypatch):
    calls = []

    def run(argv, **kwargs):
        calls.append((argv, kwargs["env"].get("DOCKER_HOST")))
        return subprocess.CompletedProcess(argv, 0, stdout="linux/arm64\n", stderr="")

    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert session.daemon_platform("tcp://lab2:2376", run=run) == "linux/arm64"
    assert session.daemon_platform("", run=run) == "linux/arm64"
    assert calls == [
        (["docker", "version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"], "tcp://lab2:2376"),
        (["docker", "version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"], None),
    ]


@pytest.mark.parametrize("outcome", [OSError("no docker"), subprocess.TimeoutExpired("docker", 60), 1])
def test_no_answer_from_the_daemon_is_no_platform(outcome):
    def run(argv, **kwargs):
        if isinstance(outcome, Exception):
            raise outcome
        return subprocess.CompletedProcess(argv, outcome, stdout="linux/\n", stderr="Cannot connect")

    assert session.daemon_platform("", run=run) is None


def test_the_commands_python_is_the_venv_that_runs_lab(tmp_path):
    venv_bin = tmp_path / "venv" / "bin"
    path = session.path_with_interpreter(f"/usr/bin{os.pathsep}{venv_bin}", str(venv_bin / "python"))
    assert path.split(os.pathsep) == [str(venv_bin), "/usr/bin"]
    assert session.interpreter_problem(path, which=lambda name, path: None).startswith("the lab's commands run `python`")
    assert session.interpreter_problem(path, which=lambda name, path: "/x/python") is None


def test_the_program_sees_the_providers_path_without_the_venv_pulumi_added():
    program_path = os.pathsep.join(["/p/venv/bin", "/usr/bin"])
    assert commands.provider_path(program_path, "/p/venv/bin/python") == "/usr/bin"
    activated = os.pathsep.join(["/p/venv/bin", "/p/venv/bin", "/usr/bin"])
    assert commands.provider_path(activated, "/p/venv/bin/python") == os.pathsep.join(["/p/venv/bin", "/usr/bin"])
    seen = []
    problem = commands.interpreter_problem(program_path, "/p/venv/bin/python", which=lambda n, path: seen.append(path), windows=False)
    assert seen == ["/usr/bin"]
    assert problem == (
        "the lab's commands run `python -m k8s_lab.kind_lifecycle`, and Pulumi's command provider finds no `python` on its "
        "PATH. Put the project's venv first on PATH before `pulumi up` (source venv/bin/activate), or run "
        f"`{lab_command('up', windows=False)}` with the venv's python, which does it for you"
    )
    # PowerShell: no activate script (it needs an execution policy), no `&&` (issue 28).
    on_windows = commands.interpreter_problem(program_path, "/p/venv/bin/python", which=lambda n, path: None, windows=True)
    assert '($env:Path = "$PWD\\venv\\Scripts;$env:Path")' in on_windows and "activate" not in on_windows
    assert f"`{lab_command('up', windows=True)}`" in on_windows


def test_an_update_without_python_stops_before_anything_is_registered(tmp_path, monkeypatch):
    from pulumi.runtime import settings

    monkeypatch.setattr(commands, "interpreter_problem", lambda *a, **k: "no python here")
    with pytest.raises(RuntimeError, match="no python here"):
        evaluate({"workspaceRoot": str(tmp_path)}, stack="kim")
    assert settings.SETTINGS.monitor.recorded == []
    evaluate({"workspaceRoot": str(tmp_path)}, stack="kim", preview=True)  # a preview only warns


def test_secret_ide_env_stays_out_of_the_environment(tmp_path):
    lab_ = evaluate(
        {"workspaceRoot": str(tmp_path), "ideEnv": json.dumps(["GITHUB_TOKEN=ghp_verysecret", "EDITOR=vim"])},
        stack="kim",
        secret_keys=("idePassword", "ideEnv"),
    )
    ide = lab_.one("docker:index/container:Container", "ide-container")
    assert "ghp_verysecret" not in json.dumps(ide.inputs["envs"])
    assert "FILE__GITHUB_TOKEN=/run/secrets/ide-env-GITHUB_TOKEN" in ide.inputs["envs"]
    uploads = {u["file"]: u for u in ide.inputs["uploads"]}
    assert uploads["/run/secrets/ide-env-GITHUB_TOKEN"] == {
        "file": "/run/secrets/ide-env-GITHUB_TOKEN",
        "content": "ghp_verysecret",
        "permissions": "0400",
    }
    assert ide.input_is_secret("uploads")


def test_plain_ide_env_stays_plain(tmp_path):
    lab_ = evaluate({"workspaceRoot": str(tmp_path), "ideEnv": '["EDITOR=vim"]'}, stack="kim")
    ide = lab_.one("docker:index/container:Container", "ide-container")
    assert ide.inputs["envs"][-1] == "EDITOR=vim" and len(ide.inputs["uploads"]) == 2


def test_image_present_asks_the_exact_question_bounded_in_time(monkeypatch):
    monkeypatch.setattr(drift.shutil, "which", lambda name: "/usr/bin/docker" if name == "docker" else None)
    runner = FakeRunner({("docker",): fails("Error response from daemon: No such image: ide:1")})
    assert drift.image_present("ide:1", runner=runner) is False
    (call,) = runner.calls
    assert call.argv == ("docker", "image", "inspect", "--format", "{{.Id}}", "ide:1") and call.timeout == 30 and call.env == {}

    def hangs(argv):
        raise RunError(Result(argv, 124), "did not finish in 30 s")

    assert drift.image_present("ide:1", runner=FakeRunner(hangs)) is None
    monkeypatch.setattr(drift.shutil, "which", lambda name: None)
    assert drift.image_present("ide:1", runner=runner) is None and len(runner.calls) == 1  # no docker: not asked


def test_warn_if_lost_asks_about_this_student_and_warns_only_when_lost(monkeypatch):
    from k8s_lab.names import LabNames

    asked = []
    monkeypatch.setattr(drift, "probe", lambda names, env=None: asked.append((names.student, env)) or Presence(cluster=False, ide=True))
    warnings = []
    assert drift.warn_if_lost(LabNames("kim"), {"DOCKER_HOST": "ssh://h"}, "urn:x", warnings.append) is True
    assert asked == [("kim", {"DOCKER_HOST": "ssh://h"})] and "urn:x" in warnings[0] and "'kim'" in warnings[0]
    monkeypatch.setattr(drift, "probe", lambda names, env=None: Presence(cluster=True, ide=True))
    assert drift.warn_if_lost(LabNames("kim"), {}, "urn:x", warnings.append) is False and len(warnings) == 1


def test_provider_path_drops_only_a_leading_venv_folder():
    path = os.pathsep.join(["/usr/bin", "/p/venv/bin"])
    assert commands.provider_path(path, "/p/venv/bin/python") == path
    assert commands.provider_path("", "/p/venv/bin/python") == ""


@pytest.mark.engine
def test_a_removed_image_is_seen_as_missing_and_planned_for_a_rebuild(docker_client, base_image):
    """On a real engine: what `docker image prune -a` leaves is what lab.py's repair sees."""
    tag = "k8s-lab-test/ide:repair-probe"
    docker_client.images.get(base_image).tag(tag)
    try:
        assert drift.image_present(tag) is True
    finally:
        docker_client.images.remove(tag)
    assert drift.image_present(tag) is False
    plan = repair.plan("kim", repair.Findings(cluster_missing=False, ide_missing=False, image_missing=True, prebuilt_image=False))
    assert plan.replace == [repair.child_urn("kim", repair.BUILT_IMAGE)] and plan.refresh
