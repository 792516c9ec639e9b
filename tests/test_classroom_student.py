"""classroom_student, the child classroom.py runs per student, without Pulumi or Docker: a
stand-in stack for the Automation API and a recording fake runner for Docker. What it says
to the parent (PHASE lines, then one RESULT line), what it asks of the stack, and how a
failure ends (a non-zero exit with the reason, never a secret)."""

import dataclasses
import json
import os
from types import SimpleNamespace

import pytest

import classroom_student
from k8s_lab import repair, session, status, verbs
from fakes import FakeRunner, fails, in_turn, ok
from test_orchestration import FakeStack, value
from test_power import ALL_EXITED
from test_verbs import IDLE, IDLE_THREE_HOURS, lab_answers, running_lab
from k8s_lab.exits import Exit, lab_command
from k8s_lab.runner import Result, RunError
from pulumi.automation import CommandResult
from pulumi.automation.errors import CommandError

LAB = lab_command()  # `venv/bin/python lab.py` as the messages name it

PASSWORD = "pw-Secret-123"


class Stack(FakeStack):
    """FakeStack plus preview, destroy and history, and events for `up` to report."""

    def __init__(self, name="kim", config=None, outputs=None, events=()):
        super().__init__(name, config, outputs)
        self.events = events
        self.done: list[str] = []

    def up(self, **kwargs):
        super().up(**kwargs)
        for event in self.events:
            kwargs["on_event"](event)

    def preview(self, diff, on_event):
        assert diff is True
        self.done.append("preview")
        return SimpleNamespace(change_summary={"same": 9, "create": 2, "update": 1})

    def destroy(self, on_event):
        self.done.append("destroy")

    def history(self, page_size):
        return []


def pre_event(op, urn):
    metadata = SimpleNamespace(op=SimpleNamespace(value=op), urn=urn)
    return SimpleNamespace(resource_pre_event=SimpleNamespace(metadata=metadata))


OUTPUTS = {"ideCertificate": value("-----BEGIN CERTIFICATE-----"), "ideUrl": value("http://h:8444"), "idePassword": value(PASSWORD, secret=True), "registry": value("localhost:5001"),
           "ingressUrl": value("http://h:8080"), "kubeconfig": value("apiVersion: v1 secret-token")}


@pytest.fixture
def automation(monkeypatch, tmp_path):
    """auto.create_or_select_stack hands out this stand-in stack and records how it was asked.
    The project's tools folder is an empty one of the test's: a Pulumi CLI that `lab.py up`
    fetched into the checkout's .tools/ must not decide how the stand-in is opened."""
    from pulumi import automation as auto

    monkeypatch.setattr(session, "TOOLS_DIR", tmp_path / "tools")
    made = {}

    def create_or_select_stack(stack_name, work_dir, opts):
        made.update(stack_name=stack_name, work_dir=work_dir, env=opts.env_vars)
        return made["stack"]

    monkeypatch.setattr(auto, "create_or_select_stack", create_or_select_stack)
    through_pulumi = classroom_student.open_stack

    def open_stack(action, student, env):
        # stop, start and status read the settings file (FileStack): the stand-in stands for it
        return made["stack"] if action in classroom_student.SETTINGS_ONLY else through_pulumi(action, student, env)

    monkeypatch.setattr(classroom_student, "open_stack", open_stack)
    return made


@pytest.fixture
def docker(monkeypatch):
    """verbs.target gives labs a fake runner; returns a setter for its answers."""
    monkeypatch.setattr(verbs.shutil, "which", lambda name, **kwargs: name)
    real = verbs.target
    fake = FakeRunner()

    def target(stack_name, config):
        return dataclasses.replace(real(stack_name, config), runner=fake)

    monkeypatch.setattr(verbs, "target", target)

    def answer(answers):
        fake.answers = in_turn(answers)
        return fake

    return answer


def phases(out: str) -> list[str]:
    return [line.removeprefix("PHASE ") for line in out.splitlines() if line.startswith("PHASE ")]


def test_up_configures_repairs_and_reports_each_step(automation, monkeypatch, capsys, tmp_path):
    plan = repair.plan("kim", repair.Findings(cluster_missing=True, ide_missing=False, image_missing=False, prebuilt_image=False))
    asked = []
    monkeypatch.setattr(session, "look_for_repairs", lambda name, settings, deployed: asked.append((name, settings["slot"], deployed)) or plan)
    automation["stack"] = stack = Stack(outputs=OUTPUTS, events=[pre_event("CREATE", "urn:pulumi:kim::k8s-lab::command:local:Command::kim-cluster"),
                                                                 SimpleNamespace(resource_pre_event=None)])
    result = classroom_student.run_one("up", "kim", 3, "ssh://t@lab2", {"PULUMI_BACKEND_URL": "file:///state"}, str(tmp_path))
    assert automation["stack_name"] == "kim" and automation["work_dir"] == str(classroom_student.ROOT)
    assert automation["env"] == {"PULUMI_BACKEND_URL": "file:///state"}
    assert {k: v.value for k, v in stack.config.items() if k != "k8s-lab:idePassword"} == {
        "k8s-lab:student": "kim", "k8s-lab:slot": "3", "k8s-lab:dockerHost": "ssh://t@lab2", "k8s-lab:workspaceRoot": str(tmp_path)}
    assert asked == [("kim", "3", True)]
    assert stack.ups == [{"on_event": stack.ups[0]["on_event"], "replace": plan.replace, "refresh": True}]
    assert phases(capsys.readouterr().out) == ["selecting stack", "repairing: " + "; ".join(plan.reasons), "create kim-cluster"]
    assert result == {"ideUrl": "http://h:8444", "idePassword": PASSWORD, "registry": "localhost:5001", "ingressUrl": "http://h:8080",
                      "ideCertificate": "-----BEGIN CERTIFICATE-----"}  # the handout's pieces; never the kubeconfig


def test_up_without_a_repair_passes_none_to_pulumi(automation, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(session, "look_for_repairs", lambda name, settings, deployed: repair.Repair())
    automation["stack"] = stack = Stack()
    classroom_student.run_one("up", "kim", 0, "", {}, str(tmp_path))
    assert stack.ups[0]["replace"] is None and stack.ups[0]["refresh"] is None
    assert "k8s-lab:dockerHost" not in stack.config
    assert phases(capsys.readouterr().out) == ["selecting stack"]


def test_preview_configures_and_reports_the_changes_only(automation, capsys, tmp_path):
    automation["stack"] = stack = Stack()
    assert classroom_student.run_one("preview", "kim", 1, "", {}, str(tmp_path)) == {"changes": json.dumps({"create": 2, "update": 1})}
    assert stack.done == ["preview"] and stack.config["k8s-lab:slot"].value == "1"


def test_destroy_touches_no_config(automation):
    automation["stack"] = stack = Stack(config={"slot": "2"})
    assert classroom_student.run_one("destroy", "kim", 5, "ssh://x", {}) == {}
    assert stack.done == ["destroy"] and stack.config["k8s-lab:slot"].value == "2"


def test_stop_goes_through_the_labs_docker_and_reports_phases(automation, docker, capsys):
    automation["stack"] = Stack(config={"slot": "2", "dockerHost": "ssh://t@lab2"})
    fake = docker(lab_answers())
    assert classroom_student.run_one("stop", "kim", 2, "", {}) == {}
    assert fake.argvs[-1] == ("docker", "stop", "kim-ide", "kim-registry", "kim-worker2", "kim-worker", "kim-control-plane")
    assert {call.env["DOCKER_HOST"] for call in fake.calls} == {"ssh://t@lab2"}
    assert phases(capsys.readouterr().out)[-1].startswith("lab 'kim' stopped (5 containers)")


def test_a_failed_start_is_an_error_with_the_reason(automation, docker):
    automation["stack"] = Stack()
    docker(lab_answers(ide=None))
    with pytest.raises(RuntimeError, match=rf"^k8s-lab: lab 'kim' lacks kim-ide: `{LAB} up --stack kim` makes what is missing again$"):
        classroom_student.run_one("start", "kim", 0, "", {})


def test_status_adds_the_labs_status_to_the_outputs_without_secrets_from_docker(automation, docker, monkeypatch):
    monkeypatch.setattr(status, "api_answers", lambda host, port: True)
    automation["stack"] = Stack(config={"slot": "1"}, outputs=OUTPUTS)
    docker(running_lab())
    result = classroom_student.run_one("status", "kim", 1, "", {})
    assert set(result) == {"ideUrl", "idePassword", "registry", "ingressUrl", "ideCertificate", "status"}  # the handout needs the password
    report = json.loads(result["status"])
    assert report["state"] == "running" and report["nodes_ready"] == "3 of 3"
    assert "PASSWORD" not in result["status"] and "secret-token" not in json.dumps(result)


def test_main_prints_one_result_line_last(monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(classroom_student, "backend_env", lambda backend: {"PULUMI_BACKEND_URL": backend})
    monkeypatch.setattr(classroom_student, "run_one", lambda *args: seen.append(args) or {"ideUrl": "http://h"})
    argv = ["up", "kim", "--slot", "3", "--docker-host", "ssh://h", "--backend", "file:///s", "--workspace-root", "/w"]
    assert classroom_student.main(argv) == 0
    assert seen == [("up", "kim", 3, "ssh://h", {"PULUMI_BACKEND_URL": "file:///s"}, "/w", {}, None)]
    assert capsys.readouterr().out.splitlines()[-1] == 'RESULT {"ideUrl": "http://h"}'


def test_main_refuses_an_unknown_action(capsys):
    with pytest.raises(SystemExit) as exited:
        classroom_student.main(["remove", "kim", "--slot", "1"])
    assert exited.value.code == 2 and "invalid choice: 'remove'" in capsys.readouterr().err


def test_backend_env_names_the_backend_the_tools_and_this_python(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("PULUMI_BACKEND_URL", "file:///from-env")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
    monkeypatch.setenv("PATH", "/usr/bin")
    env = classroom_student.backend_env("file:///class")
    assert env["PULUMI_BACKEND_URL"] == "file:///class" and env[session.K8S_DELETE_UNREACHABLE_ENV] == "true"
    folders = env["PATH"].split(os.pathsep)
    assert folders[0] == os.path.dirname(os.path.abspath(classroom_student.sys.executable)) and "/usr/bin" in folders
    assert "PULUMI_CONFIG_PASSPHRASE" not in env  # the user's own passphrase wins, read from the environment
    assert classroom_student.backend_env(None)["PULUMI_BACKEND_URL"] == "file:///from-env"
    assert capsys.readouterr().err == ""


def test_backend_env_passes_a_new_passphrase_notice_to_stderr(monkeypatch, capsys):
    monkeypatch.setattr(session, "workspace_env", lambda environ: ({"PULUMI_BACKEND_URL": "file:///s"}, "Made a passphrase"))
    classroom_student.backend_env(None)
    assert capsys.readouterr().err == "Made a passphrase\n"


def test_a_failed_docker_reaches_the_parent_as_the_reason(automation, docker):
    automation["stack"] = Stack()
    docker({("docker",): fails("Cannot connect to the Docker daemon at unix:///var/run/docker.sock")})
    with pytest.raises(RuntimeError, match="Cannot connect to the Docker daemon"):
        classroom_student.run_one("stop", "kim", 0, "", {})


def test_status_of_a_lab_with_docker_down_still_answers(automation, docker, monkeypatch):
    monkeypatch.setattr(status, "api_answers", lambda host, port: False)
    automation["stack"] = Stack(outputs={})
    docker({("docker", "ps"): ok(""), ("docker", "inspect"): fails("Cannot connect")})
    assert json.loads(classroom_student.run_one("status", "kim", 0, "", {})["status"])["state"] == "absent"


# ---- what mutation testing showed unpinned ------------------------------------------------------


def test_every_line_to_the_parent_is_flushed_at_once(automation, monkeypatch, tmp_path):
    printed = []
    monkeypatch.setattr("builtins.print", lambda *args, **kwargs: printed.append((args, kwargs)))
    monkeypatch.setattr(classroom_student, "backend_env", lambda backend: {})
    automation["stack"] = Stack()
    classroom_student.main(["destroy", "kim", "--slot", "1"])
    assert printed == [(("PHASE selecting stack",), {"flush": True}), (("RESULT {}",), {"flush": True})]


def test_several_repairs_are_one_phase_line(automation, monkeypatch, capsys, tmp_path):
    plan = repair.plan("kim", repair.Findings(cluster_missing=True, ide_missing=True, image_missing=False, prebuilt_image=False))
    monkeypatch.setattr(session, "look_for_repairs", lambda name, settings, deployed: plan)
    automation["stack"] = Stack(outputs=OUTPUTS)
    classroom_student.run_one("up", "kim", 0, "", {}, str(tmp_path))
    assert phases(capsys.readouterr().out)[1] == (
        "repairing: the kind cluster is gone: it is made again, and the IDE gets its new credentials; the IDE container is gone: it is made again"
    )


@pytest.mark.parametrize("action", ["preview", "destroy"])
def test_preview_and_destroy_report_each_resource(action, automation, capsys, tmp_path):
    event = pre_event("DELETE" if action == "destroy" else "SAME", "urn:pulumi:kim::k8s-lab::docker:index/container:Container::kim-ide")

    class Reporting(Stack):
        def preview(self, diff, on_event):
            on_event(event)
            return super().preview(diff, on_event)

        def destroy(self, on_event):
            on_event(event)
            super().destroy(on_event)

    automation["stack"] = Reporting()
    classroom_student.run_one(action, "kim", 0, "", {}, str(tmp_path))
    assert phases(capsys.readouterr().out)[-1] == ("delete kim-ide" if action == "destroy" else "same kim-ide")


def test_status_names_the_stack_in_the_repair_and_the_last_change(automation, docker, monkeypatch):
    monkeypatch.setattr(status, "api_answers", lambda host, port: False)
    import datetime

    class Updated(Stack):
        def history(self, page_size):
            return [SimpleNamespace(kind="update", result="failed", end_time=datetime.datetime(2026, 12, 1, 8, 30))]

    automation["stack"] = Updated(name="kim-2026")
    docker({("docker", "ps"): ok(""), ("docker", "inspect"): ok("[]")})
    report = json.loads(classroom_student.run_one("status", "kim-2026", 0, "", {})["status"])
    assert report["repair"] == f"{LAB} up --stack kim-2026" and report["last_change"] == "update failed 2026-12-01 08:30"


def test_the_child_refuses_a_missing_slot_and_passes_no_docker_host_as_empty(monkeypatch, capsys):
    with pytest.raises(SystemExit) as exited:
        classroom_student.main(["up", "kim"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.startswith("usage: python -m classroom_student") and "--slot" in err
    seen = []
    monkeypatch.setattr(classroom_student, "backend_env", lambda backend: {})
    monkeypatch.setattr(classroom_student, "run_one", lambda *args: seen.append(args) or {})
    classroom_student.main(["status", "kim", "--slot", "0"])
    assert seen == [("status", "kim", 0, "", {}, None, {}, None)]


def test_a_new_password_is_twenty_characters_of_randomness(tmp_path):
    stack, other = FakeStack(), FakeStack()
    classroom_student.configure_stack(stack, "kim", 0, "", str(tmp_path))
    classroom_student.configure_stack(other, "kim", 0, "", str(tmp_path))
    password = stack.config["k8s-lab:idePassword"].value
    assert len(password) == 20 and password != other.config["k8s-lab:idePassword"].value


def test_an_unusable_workspace_root_stops_the_child_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(session, "store_workspace_root", lambda stack, root: f"workspaceRoot {root!r} is not writable")
    with pytest.raises(RuntimeError, match=r"^workspaceRoot '/nope' is not writable$"):
        classroom_student.configure_stack(FakeStack(), "kim", 0, "", "/nope")


def test_backend_env_without_a_path_still_finds_this_python(monkeypatch):
    monkeypatch.setenv("PULUMI_BACKEND_URL", "file:///s")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
    monkeypatch.delenv("PATH")
    folders = classroom_student.backend_env(None)["PATH"].split(os.pathsep)
    assert folders[0] == os.path.dirname(os.path.abspath(classroom_student.sys.executable)) and "XXXX" not in folders


# ---- stop --idle-for in the child: the RESULT or FAILED line the teacher's table shows ------------------

IDLE_DECISION = "lab 'kim' idle for 3h 00m (no browser activity since the IDE started), at least 2h 00m: stopping it"


def idle_stop(monkeypatch, capsys) -> tuple[int, list[str]]:
    monkeypatch.setattr(classroom_student, "backend_env", lambda backend: {})
    code = classroom_student.main(["stop", "kim", "--slot", "1", "--idle-for", "2h"])
    return code, capsys.readouterr().out.splitlines()


def test_an_idle_lab_stopped_by_the_child_reports_the_decision_not_the_stop(automation, docker, monkeypatch, capsys):
    automation["stack"] = Stack(config={"slot": "1"})
    fake = docker(lab_answers(extra=IDLE_THREE_HOURS))
    code, lines = idle_stop(monkeypatch, capsys)
    assert code == 0 and fake.argvs[-1][:2] == ("docker", "stop")
    assert lines[1] == f"PHASE {IDLE_DECISION}" and lines[-1] == "RESULT " + json.dumps({"idle": IDLE_DECISION})


def test_an_unknown_idle_time_in_the_child_keeps_the_lab_and_says_why_with_exit_zero(automation, docker, monkeypatch, capsys):
    automation["stack"] = Stack(config={"slot": "1"})
    fake = docker({IDLE: fails("Cannot connect to the Docker daemon at unix:///var/run/docker.sock.")})
    code, lines = idle_stop(monkeypatch, capsys)
    kept = "lab 'kim' kept running: idle time unknown (docker did not answer: Cannot connect to the Docker daemon at unix:///var/run/docker.sock.)"
    assert code == 0 and fake.argvs == [IDLE]  # nothing is stopped
    assert lines == ["PHASE selecting stack", f"PHASE {kept}", "RESULT " + json.dumps({"idle": kept})]


def test_an_idle_stop_that_fails_in_the_child_is_exit_one_and_one_failed_line(automation, docker, monkeypatch, capsys):
    automation["stack"] = Stack(config={"slot": "1"})
    docker(lab_answers(ide=None, registry=None, cluster=ok(""), extra=IDLE_THREE_HOURS))
    code, lines = idle_stop(monkeypatch, capsys)
    assert code == 1 and lines[1] == f"PHASE {IDLE_DECISION}"
    assert lines[-1] == f"FAILED k8s-lab: there is no lab of 'kim' in this Docker to stop. `{LAB} up --stack kim` makes it"
    assert not any(line.startswith("RESULT") for line in lines)


def test_start_with_an_idle_limit_starts_and_asks_nothing_of_idleness(automation, docker):
    automation["stack"] = Stack(config={"slot": "1"})
    fake = docker(lab_answers(ide="exited", registry="exited", cluster=ALL_EXITED))
    assert classroom_student.run_one("start", "kim", 1, "", {}, idle_for=7200) == {}
    assert IDLE not in fake.argvs and ("docker", "start", "kim-control-plane", "kim-worker", "kim-worker2") in fake.argvs


def test_one_line_keeps_240_characters_and_cuts_a_longer_line_to_239_and_an_ellipsis():
    assert classroom_student.one_line(RuntimeError("a" * 240)) == "a" * 240
    assert classroom_student.one_line(RuntimeError("b" * 241)) == "b" * 239 + "…"
    assert classroom_student.one_line(ValueError("")) == "ValueError"


def test_every_set_from_the_roster_reaches_the_run_split_at_its_first_equals(monkeypatch):
    seen = []
    monkeypatch.setattr(classroom_student, "backend_env", lambda backend: {})
    monkeypatch.setattr(classroom_student, "run_one", lambda *args: seen.append(args) or {})
    classroom_student.main(["up", "kim", "--slot", "0", "--set", "workers=3", "--set", "hostName=a=b"])
    assert seen[0][6] == {"workers": "3", "hostName": "a=b"}


def test_a_failed_line_is_flushed_at_once(monkeypatch):
    printed = []
    monkeypatch.setattr("builtins.print", lambda *args, **kwargs: printed.append((args, kwargs)))
    monkeypatch.setattr(classroom_student, "backend_env", lambda backend: {})
    monkeypatch.setattr(classroom_student, "run_one", lambda *args: (_ for _ in ()).throw(RuntimeError("docker is down")))
    monkeypatch.setattr(classroom_student.traceback, "print_exc", lambda: None)
    assert classroom_student.main(["stop", "kim", "--slot", "0"]) == Exit.INTERNAL  # a RuntimeError of no kind we know: a bug
    assert printed == [(("FAILED docker is down",), {"flush": True})]


def failing_child(monkeypatch, error: Exception) -> None:
    monkeypatch.setattr(classroom_student, "backend_env", lambda backend: {})
    monkeypatch.setattr(classroom_student, "run_one", lambda *args: (_ for _ in ()).throw(error))


@pytest.mark.parametrize("error", [
    classroom_student.Refusal("no lab here (no Pulumi.kim.yaml)"),
    CommandError(CommandResult(stdout="Updating (kim)\n", stderr="error: kind create failed: port 8444 is taken\n", code=255)),
    RunError(Result(("docker", "stop", "k8s-lab-kim"), 1, "", "Error response from daemon: no such container")),
], ids=["no lab here", "a Pulumi error", "docker's answer"])
def test_a_refusal_is_its_reason_in_the_log_exit_1_and_no_traceback(monkeypatch, capsys, error):
    failing_child(monkeypatch, error)
    assert classroom_student.main(["status", "kim", "--slot", "0"]) == Exit.FAILED
    out, err = capsys.readouterr()
    assert out == f"FAILED {classroom_student.one_line(error)}\n"
    assert "Traceback" not in err and err.startswith("classroom_student: ") and str(error) in err  # all of Pulumi's output


def test_a_bug_is_a_traceback_in_the_log_and_exit_70(monkeypatch, capsys):
    failing_child(monkeypatch, KeyError("ideUrl"))
    assert classroom_student.main(["status", "kim", "--slot", "0"]) == Exit.INTERNAL
    out, err = capsys.readouterr()
    assert out == "FAILED 'ideUrl'\n" and err.startswith("Traceback (most recent call last):") and "KeyError: 'ideUrl'" in err


def test_a_broken_pulumi_on_path_costs_the_handout_not_the_status(tmp_path, capsys, monkeypatch):
    # `pulumi version` fails (a half-installed CLI): status needs no Pulumi, so the stack has no outputs
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "pulumi").write_text("#!/bin/sh\necho 'pulumi: broken install' >&2\nexit 1\n")
    (tmp_path / "bin" / "pulumi").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")  # the Automation API finds it there
    environ = {"PATH": str(tmp_path / "bin"), session.TOOLS_DIR_ENV: str(tmp_path / "tools"), "HOME": str(tmp_path)}
    assert classroom_student.FileStack("kim", environ).outputs() == {}
    # the words: "Command '['pulumi', 'version']' returned non-zero exit status 1", now in the log only
    assert "the Pulumi CLI at hand failed: Command '['pulumi', 'version']' returned non-zero" in capsys.readouterr().err


# ---- the settings-file stack (stop, start, status): its outputs through a Pulumi CLI at hand, never fetched ----


def stand_in_pulumi(folder) -> None:
    """An executable `pulumi` for shutil.which to find; the Automation API's side is faked."""
    folder.mkdir(parents=True, exist_ok=True)
    pulumi = folder / "pulumi"
    pulumi.write_text("#!/bin/sh\nexit 0\n")
    pulumi.chmod(0o755)


@pytest.fixture
def selected(monkeypatch):
    """auto.select_stack hands out a stack with the lab's outputs and records how it was asked."""
    from pulumi import automation as auto

    asked = []

    def select_stack(stack_name, work_dir, opts):
        asked.append({"stack_name": stack_name, "work_dir": work_dir, "env": opts.env_vars, "pulumi_command": opts.pulumi_command})
        return SimpleNamespace(outputs=lambda: {"ideUrl": value("http://h:8444")})

    monkeypatch.setattr(auto, "select_stack", select_stack)
    return asked


def test_the_settings_file_stacks_outputs_come_from_the_pulumi_on_the_environs_path(tmp_path, selected):
    stand_in_pulumi(tmp_path / "bin")
    environ = {"PATH": str(tmp_path / "bin"), session.TOOLS_DIR_ENV: str(tmp_path / "tools")}
    outputs = classroom_student.FileStack("kim", environ).outputs()
    assert outputs == {"ideUrl": value("http://h:8444")} and type(outputs) is dict
    assert selected == [{"stack_name": "kim", "work_dir": str(classroom_student.ROOT), "env": environ, "pulumi_command": None}]


def test_the_settings_file_stacks_outputs_come_from_the_tools_folders_pulumi_when_path_has_none(tmp_path, selected, monkeypatch):
    layout = session.tools_layout({session.TOOLS_DIR_ENV: str(tmp_path / "tools")})
    stand_in_pulumi(layout.pulumi_bin_dir)
    opened = []
    monkeypatch.setattr(session, "open_tools_pulumi", lambda found: opened.append(found) or "tools-pulumi")
    environ = {"PATH": str(tmp_path / "empty"), session.TOOLS_DIR_ENV: str(tmp_path / "tools")}
    assert classroom_student.FileStack("kim", environ).outputs() == {"ideUrl": value("http://h:8444")}
    assert opened == [layout] and [ask["pulumi_command"] for ask in selected] == ["tools-pulumi"]


def test_the_settings_file_stack_looks_for_pulumi_on_the_environs_path_not_the_processs(tmp_path, selected, monkeypatch):
    stand_in_pulumi(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # this process would find one
    environ = {"PATH": str(tmp_path / "empty"), session.TOOLS_DIR_ENV: str(tmp_path / "tools")}
    assert classroom_student.FileStack("kim", environ).outputs() == {} and selected == []  # never fetched, never asked


def test_the_settings_file_stacks_config_is_as_pulumi_gives_it_prefixed_and_not_secret(tmp_path, monkeypatch):
    from test_orchestration import write_stack_file

    monkeypatch.setattr(classroom_student, "ROOT", tmp_path)
    write_stack_file(tmp_path, "kim", {"k8s-lab:slot": '"3"', "k8s-lab:idePassword": "\n    secure: v1:abc"})
    config = classroom_student.FileStack("kim", {}).get_all_config()
    assert {key: (item.value, item.secret) for key, item in config.items()} == {"k8s-lab:slot": ("3", False)}


def test_pulumi_command_reads_the_tools_folder_from_the_environ_not_the_process(tmp_path, monkeypatch):
    here = session.tools_layout({session.TOOLS_DIR_ENV: str(tmp_path / "process-tools")})
    stand_in_pulumi(here.pulumi_bin_dir)
    monkeypatch.setenv(session.TOOLS_DIR_ENV, str(tmp_path / "process-tools"))  # this process's folder has one
    monkeypatch.setattr(session, "open_tools_pulumi", lambda found: "tools-pulumi")
    assert classroom_student.pulumi_command({"PATH": "", session.TOOLS_DIR_ENV: str(tmp_path / "tools")}) is None


def test_the_rosters_settings_reach_the_students_stack_on_up(automation, monkeypatch, tmp_path):
    monkeypatch.setattr(session, "look_for_repairs", lambda name, settings, deployed: repair.Repair())
    automation["stack"] = stack = Stack()
    classroom_student.run_one("up", "kim", 0, "", {}, str(tmp_path), {"workers": "3", "labMemory": "4g"})
    assert stack.config["k8s-lab:workers"].value == "3" and stack.config["k8s-lab:labMemory"].value == "4g"


def test_stop_reads_the_settings_file_and_never_asks_pulumi(tmp_path, monkeypatch, docker):
    """run_one itself, without the automation fixture: stop opens the settings file, not a Pulumi stack."""
    from pulumi import automation as auto
    from test_orchestration import write_stack_file

    monkeypatch.setattr(auto, "create_or_select_stack", lambda **kwargs: pytest.fail(f"Pulumi was asked: {kwargs}"))
    monkeypatch.setattr(classroom_student, "ROOT", tmp_path)
    write_stack_file(tmp_path, "kim", {"k8s-lab:slot": '"2"'})
    fake = docker(lab_answers())
    assert classroom_student.run_one("stop", "kim", 2, "", {"PATH": str(tmp_path / "empty")}) == {}
    assert fake.argvs[-1][:2] == ("docker", "stop")


def test_a_settings_file_stack_looks_for_pulumi_where_the_child_was_told(tmp_path, selected, monkeypatch):
    stand_in_pulumi(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # this process finds none
    environ = {"PATH": str(tmp_path / "bin"), session.TOOLS_DIR_ENV: str(tmp_path / "tools")}
    assert classroom_student.open_stack("status", "kim", environ).outputs() == {"ideUrl": value("http://h:8444")}
    assert [ask["env"] for ask in selected] == [environ]


def test_a_pulumi_stack_runs_the_tools_folders_pulumi(tmp_path, monkeypatch):
    from pulumi import automation as auto

    layout = session.tools_layout({session.TOOLS_DIR_ENV: str(tmp_path / "tools")})
    stand_in_pulumi(layout.pulumi_bin_dir)
    monkeypatch.setattr(session, "open_tools_pulumi", lambda found: "tools-pulumi")
    asked = []
    monkeypatch.setattr(auto, "create_or_select_stack", lambda stack_name, work_dir, opts: asked.append(opts) or Stack())
    environ = {"PATH": str(tmp_path / "empty"), session.TOOLS_DIR_ENV: str(tmp_path / "tools")}
    classroom_student.open_stack("up", "kim", environ)
    assert [(opts.env_vars, opts.pulumi_command) for opts in asked] == [(environ, "tools-pulumi")]
