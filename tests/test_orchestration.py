"""lab.py's and classroom.py's orchestration with stand-ins for the Automation API's stacks
and workspaces: what they write, what they refuse, what they pass to Pulumi."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import pytest

import classroom
import classroom_student
import lab
from k8s_lab import session
from k8s_lab import repair
from k8s_lab.orchestrate import Outcome
from k8s_lab.roster import RosterError


def value(text, secret=False):
    return SimpleNamespace(value=text, secret=secret)


class FakeStack:
    def __init__(self, name="kim", config=None, outputs=None):
        self.name = name
        self.config = {f"k8s-lab:{k}": value(v) for k, v in (config or {}).items()}
        self._outputs = outputs or {}
        self.ups: list[dict] = []

    def get_all_config(self):
        return dict(self.config)

    def set_config(self, key, config_value):
        self.config[f"k8s-lab:{key}"] = value(config_value.value, config_value.secret)

    def outputs(self):
        return self._outputs

    def up(self, **kwargs):
        self.ups.append(kwargs)


@pytest.fixture
def quiet_docker(monkeypatch):
    """No port is taken and Docker shows a healthy lab unless a test says otherwise."""
    monkeypatch.setattr(session, "ide_container_exists", lambda student: False)
    monkeypatch.setattr("k8s_lab.host_ports.taken_ports", lambda bind, ports: [])
    monkeypatch.setattr(session, "look_for_repairs", lambda name, config, deployed: repair.Repair())


def test_up_stores_the_folder_then_runs_pulumi(tmp_path, quiet_docker, monkeypatch):
    monkeypatch.setattr("k8s_lab.workspace.default_root", lambda home=None: str(tmp_path / "k8s-lab"))
    stack = FakeStack()
    assert lab.run_up(stack, None) == 0
    assert stack.config["k8s-lab:workspaceRoot"].value == str(tmp_path / "k8s-lab")
    assert stack.ups == [{"on_output": print, "replace": None, "refresh": None}]


def test_up_stops_before_pulumi_when_a_port_is_taken(tmp_path, quiet_docker, monkeypatch, capsys):
    monkeypatch.setattr("k8s_lab.host_ports.taken_ports", lambda bind, ports: [("ide", ports.ide)])
    stack = FakeStack(config={"workspaceRoot": str(tmp_path), "slot": "3"})
    assert lab.run_up(stack, None) == 2
    assert stack.ups == [] and "8744" in capsys.readouterr().err


def test_a_bad_slot_is_left_to_the_program_to_name(tmp_path, quiet_docker):
    stack = FakeStack(config={"workspaceRoot": str(tmp_path), "slot": "many"})
    assert lab.run_up(stack, None) == 0 and len(stack.ups) == 1  # the program refuses it with its fix


def test_up_passes_the_repair_to_pulumi(tmp_path, quiet_docker, monkeypatch, capsys):
    plan = repair.plan("kim", repair.Findings(cluster_missing=True, ide_missing=False, image_missing=True, prebuilt_image=False))
    seen = []
    monkeypatch.setattr(session, "look_for_repairs", lambda name, config, deployed: seen.append(deployed) or plan)
    stack = FakeStack(config={"workspaceRoot": str(tmp_path)}, outputs={"ideUrl": value("http://x")})
    assert lab.run_up(stack, None) == 0
    assert seen == [True]
    assert stack.ups[0]["replace"] == plan.replace and stack.ups[0]["refresh"] is True
    assert capsys.readouterr().out.count("Repairing:") == 2


def write_stack_file(root, student, config):
    lines = ["config:"] + [f"  {key}: {value}" for key, value in config.items()]
    (root / f"Pulumi.{student}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_existing_slots_reads_each_stacks_own_slot(tmp_path):
    write_stack_file(tmp_path, "kim", {"k8s-lab:slot": '"3"', "k8s-lab:allowRemoteAccess": "true", "k8s-lab:idePassword": "\n    secure: v1:abc"})
    write_stack_file(tmp_path, "lee", {"k8s-lab:student": "lee"})
    stacks = {s: classroom.stack_file_settings(s, tmp_path) for s in ("kim", "lee", "new")}
    assert stacks == {"kim": {"slot": "3", "allowRemoteAccess": "true"}, "lee": {"student": "lee"}, "new": {}}  # no secret read
    assert classroom.existing_slots(stacks) == {"kim": 3}


def test_an_unreadable_slot_stops_the_class_instead_of_moving_the_student(tmp_path):
    with pytest.raises(RosterError, match="stack 'kim' has slot 'three'"):
        classroom.existing_slots({"kim": {"slot": "three"}})
    (tmp_path / "Pulumi.kim.yaml").write_text("config: [unclosed\n")
    with pytest.raises(RosterError, match="Pulumi.kim.yaml cannot be read"):
        classroom.stack_file_settings("kim", tmp_path)


def test_configure_stack_writes_the_roster_and_keeps_a_password(tmp_path):
    stack = FakeStack(config={"idePassword": "already-set"})
    classroom_student.configure_stack(stack, "kim", 4, "ssh://teacher@lab2", str(tmp_path))
    assert {k: v.value for k, v in stack.config.items()} == {
        "k8s-lab:idePassword": "already-set",
        "k8s-lab:student": "kim",
        "k8s-lab:slot": "4",
        "k8s-lab:dockerHost": "ssh://teacher@lab2",
        "k8s-lab:workspaceRoot": str(tmp_path),
    }
    fresh = FakeStack()
    classroom_student.configure_stack(fresh, "lee", 0, "", str(tmp_path))
    assert fresh.config["k8s-lab:idePassword"].secret and len(fresh.config["k8s-lab:idePassword"].value) >= 16


def fake_child(tmp_path, body: str):
    """A stand-in for the per-student child process: prints what the real one prints."""
    script = tmp_path / "child.py"
    script.write_text(body)
    return [sys.executable, str(script)]


def test_child_phases_and_results_reach_the_parent(tmp_path, monkeypatch):
    argv = fake_child(tmp_path, 'print("PHASE creating cluster", flush=True)\nprint("RESULT " + \'{"ideUrl": "http://h:8444"}\')\n')
    monkeypatch.setattr(classroom, "child_argv", lambda *args, **kwargs: argv)
    phases = []
    job = classroom.child_job("up", {"kim": 0}, {}, None, logs=tmp_path / "logs")
    assert job("kim", phases.append) == {"ideUrl": "http://h:8444"}
    assert phases == ["creating cluster"]
    assert "PHASE creating cluster" in (tmp_path / "logs" / "kim-up.log").read_text()


def test_a_failing_child_fails_with_its_last_words(tmp_path, monkeypatch):
    argv = fake_child(tmp_path, 'import sys\nprint("noise", file=sys.stderr)\nsys.exit("k8s-lab: port 8444 is taken")\n')
    monkeypatch.setattr(classroom, "child_argv", lambda *args, **kwargs: argv)
    with pytest.raises(classroom.StudentFailed) as caught:
        classroom.child_job("up", {"kim": 0}, {}, None, logs=tmp_path)("kim", lambda phase: None)
    assert str(caught.value) == "k8s-lab: port 8444 is taken" and caught.value.log == str(tmp_path / "kim-up.log")
    assert "noise" in (tmp_path / "kim-up.log").read_text()


def test_handouts_are_written_for_those_who_succeeded(tmp_path):
    outcomes = [
        Outcome("kim", True, 1.0, outputs={"ideUrl": "http://h:8444", "idePassword": "pw-kim-123", "registry": "localhost:5001"}),
        Outcome("lee", False, 1.0, detail="failed"),
        Outcome("park", True, 1.0, outputs={"changes": json.dumps({"update": 1})}),  # a preview: no password
    ]
    classroom.write_handouts(outcomes, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["kim.md"]
    text = (tmp_path / "kim.md").read_text()
    assert "http://h:8444" in text and "pw-kim-123" in text and "localhost:5001" in text
    assert (tmp_path / "kim.md").stat().st_mode & 0o077 == 0


def test_the_student_child_is_a_module_entry_not_a_hidden_verb():
    import subprocess

    from conftest import ROOT

    argv = classroom.child_argv("up", "kim", 3, "ssh://h", "file:///s", "/labs")
    assert argv[1:] == ["-m", "classroom_student", "up", "kim", "--slot", "3", "--docker-host", "ssh://h",
                        "--backend", "file:///s", "--workspace-root", "/labs"]
    helped = subprocess.run([sys.executable, "-m", "classroom_student", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert helped.returncode == 0 and "RESULT" in helped.stdout
    verbs = subprocess.run([sys.executable, "classroom.py", "--help"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "_one" not in verbs and "SUPPRESS" not in verbs


def test_configure_stack_writes_the_rosters_settings(tmp_path):
    stack = FakeStack(config={"idePassword": "already-set"})
    classroom_student.configure_stack(stack, "kim", 4, "", str(tmp_path), {"bindAddress": "0.0.0.0", "allowRemoteAccess": "true"})
    assert stack.config["k8s-lab:bindAddress"].value == "0.0.0.0" and stack.config["k8s-lab:allowRemoteAccess"].value == "true"


def test_a_failing_student_child_says_one_line_and_keeps_the_rest(monkeypatch, capsys):
    noisy = "\n".join(["Updating (kim):", *(f"  line {i}" for i in range(500)), "error: update failed", "  exit status 1"])

    def failing(*args, **kwargs):
        from pulumi.automation import CommandResult
        from pulumi.automation.errors import CommandError

        raise CommandError(CommandResult(stdout=noisy, stderr="", code=255))  # as a failed `pulumi up` raises it

    monkeypatch.setattr(classroom_student, "run_one", failing)
    monkeypatch.setattr(classroom_student, "backend_env", lambda backend: {})
    assert classroom_student.main(["up", "kim", "--slot", "0", "--set", "labMemory=3g"]) == 1
    out, err = capsys.readouterr()
    assert out == "FAILED error: update failed\n"
    assert "Traceback" not in err and "line 499" in err  # the whole of it, for the student's log; a Pulumi error is no bug


def test_the_child_runs_the_pulumi_of_the_tools_folder_when_path_finds_that_one(tmp_path, monkeypatch):
    from k8s_lab import tools

    layout = session.tools_layout({session.TOOLS_DIR_ENV: str(tmp_path)})
    opened = []
    monkeypatch.setattr(session, "open_tools_pulumi", lambda found: opened.append(found) or "tools-pulumi")
    environ = {session.TOOLS_DIR_ENV: str(tmp_path), "PATH": "/nonexistent"}
    assert classroom_student.pulumi_command(environ) is None  # nothing in the folder: PATH's pulumi
    pulumi = layout.pulumi_root / "bin" / "pulumi"
    pulumi.parent.mkdir(parents=True)
    pulumi.write_text("#!/bin/sh\n")
    pulumi.chmod(0o755)
    assert tools.in_tools(tools.find_tool("pulumi", layout, "/nonexistent"), layout)
    assert classroom_student.pulumi_command(environ) == "tools-pulumi" and opened == [layout]


def test_a_failures_line_is_stderrs_even_when_phases_were_copied_after_it(tmp_path):
    log = tmp_path / "kim-up.log"
    log.write_text("$ child\n" + "x\n" * 5000 + "error: kind create failed\nPHASE creating cluster\nPHASE waiting\n")
    assert classroom.last_line(log) == "error: kind create failed"


def test_stop_start_and_status_children_read_the_settings_file_and_need_no_pulumi(tmp_path, monkeypatch):
    monkeypatch.setattr(classroom_student, "ROOT", tmp_path)
    write_stack_file(tmp_path, "kim", {"k8s-lab:student": "kim", "k8s-lab:slot": '"3"', "k8s-lab:idePassword": "\n    secure: v1:abc"})
    environ = {"PATH": str(tmp_path / "empty"), session.TOOLS_DIR_ENV: str(tmp_path / "tools")}  # no Pulumi CLI anywhere
    stack = classroom_student.open_stack("stop", "kim", environ)
    assert session.stack_settings(stack) == {"student": "kim", "slot": "3"}
    assert stack.outputs() == {} and stack.history() == []
    with pytest.raises(classroom_student.Refusal, match=r"^no lab here \(no Pulumi.lee.yaml\)$"):  # classroom.py adds its command
        session.stack_settings(classroom_student.open_stack("start", "lee", environ))
