"""classroom.py run in-process, as `classroom.main([...])`, with recording fakes for every
process it starts: the students' children (FakePopen answered by a FakeRunner), docker for
the capacity check and the mirror (FakeRunner), the tool check and Docker's view of a lab
(monkeypatched session functions), and a temporary project folder for rosters, stack files,
logs and handouts. The subprocess tests (test_classroom_cli.py) run the same paths as a
teacher does; these are the ones mutation testing can map to the code."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fakes import Answer, FakePopen, FakeRunner, fails, ok

import classroom
from k8s_lab import doctor, host_ports, mirror, session, status
from k8s_lab.exits import Exit, script_command
from k8s_lab.shell_form import class_command

PASSPHRASE = "passphrase-never-shown-4711"
GIB = 1024**3


def password(student: str) -> str:
    return f"pw-{student}-never-in-a-log"


def child_answer(argv: tuple[str, ...]) -> Answer:
    """What classroom_student prints: a phase, then its outputs at the slot's ports."""
    action, student = argv[3], argv[4]
    slot = int(argv[argv.index("--slot") + 1])
    outputs: dict[str, str] = {"ideUrl": f"http://127.0.0.1:{8444 + 100 * slot}"}
    if action == "up":
        outputs.update(idePassword=password(student), ingressUrl=f"http://127.0.0.1:{80 + 100 * slot}/", registry=f"localhost:{5001 + 100 * slot}")
        if student == "kim":
            outputs["ideCertificate"] = "self-signed"
    if action == "preview":
        outputs = {"changes": '{"create": 30}'}
    return ok(f"PHASE creating cluster\nRESULT {json.dumps(outputs)}\n")


@dataclass
class Teacher:
    """The project folder, the fakes, and what they recorded."""

    root: Path
    children: FakeRunner
    popen: FakePopen
    docker: FakeRunner
    prepared: list[tuple[str, bool]] = field(default_factory=list)
    kind_versions: list[list[str]] = field(default_factory=list)  # per prepare: the rows' kind releases
    taken: dict[tuple[str, int], list[tuple[str, int]]] = field(default_factory=dict)  # (bind, slot) -> taken
    asked_ports: list[tuple[str, int]] = field(default_factory=list)
    running: set[str] = field(default_factory=set)

    @property
    def roster(self) -> str:
        return str(self.root / "class.csv")

    def main(self, *words: str) -> int:
        return classroom.main(list(words), runner=self.docker, popen=self.popen)

    def student(self, name: str) -> tuple[str, ...]:
        """The argv of one student's child, after the interpreter."""
        (argv,) = [argv for argv in self.children.argvs if argv[4] == name]
        return argv

    def students(self) -> list[str]:
        return sorted(argv[4] for argv in self.children.argvs)


@pytest.fixture(autouse=True)
def no_real_docker(monkeypatch):
    """A Docker that never answers, should a fake be bypassed (a mutant that drops the runner
    given): no test here may start a container on the machine running it."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")


@pytest.fixture
def teacher(tmp_path, monkeypatch) -> Teacher:
    children = FakeRunner(child_answer)
    docker = FakeRunner({("docker", "info"): ok(json.dumps({"MemTotal": 64 * GIB, "OperatingSystem": "Debian GNU/Linux 12"}))})
    here = Teacher(tmp_path, children, FakePopen(children), docker)
    monkeypatch.setattr(classroom, "ROOT", tmp_path)
    monkeypatch.setenv(session.TOOLS_DIR_ENV, str(tmp_path / "tools"))
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path}/state")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", PASSPHRASE)

    def prepare(action, *, fetch, environ, layout, err=None, kind_versions=()):
        assert environ == dict(os.environ)  # this process's environment
        assert layout == session.tools_layout({session.TOOLS_DIR_ENV: str(tmp_path / "tools")})
        here.prepared.append((action, fetch))
        here.kind_versions.append(sorted(set(kind_versions)))
        return session.PreparedTools(path="/tools/bin:/usr/bin")

    def taken_ports(bind, ports):
        slot = (ports.ide - 8444) // 100
        here.asked_ports.append((bind, slot))
        return here.taken.get((bind, slot), [])

    monkeypatch.setattr(session, "prepare_tools", prepare)
    monkeypatch.setattr(session, "ide_container_exists", lambda student: student in here.running)
    monkeypatch.setattr(host_ports, "taken_ports", taken_ports)
    limits = {"/proc/sys/fs/inotify/max_user_watches": 524288, "/proc/sys/fs/inotify/max_user_instances": 512, "/proc/sys/kernel/pid_max": 4194304}
    monkeypatch.setattr(doctor, "read_int", limits.get)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no terminal
    monkeypatch.setenv("COLUMNS", "240")  # rich's tables, unwrapped
    (tmp_path / "class.csv").write_text("student\nkim\nlee\npark\n")
    return here


def write_stack_file(root: Path, student: str, settings: dict[str, str]) -> None:
    lines = ["config:"] + [f"  k8s-lab:{key}: {json.dumps(value)}" for key, value in settings.items()]
    (root / f"Pulumi.{student}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- who runs, with what ----------------------------------------------------------------------


def test_up_runs_every_student_with_its_slot_host_and_settings(teacher, capsys):
    (teacher.root / "class.csv").write_text(
        "student,slot,dockerHost,bindAddress,allowRemoteAccess\nkim,,,,\nlee,5,,,\npark,,ssh://t@lab2,0.0.0.0,true\n"
    )
    write_stack_file(teacher.root, "kim", {"slot": "3", "labCpus": "2"})
    code = teacher.main("up", teacher.roster, "--set", "labMemory=3g", "--workspace-root", "/labs", "--backend", "file:///class-state")
    assert code == Exit.OK, capsys.readouterr().err
    python = (sys.executable, "-m", "classroom_student", "up")
    assert teacher.student("kim") == (*python, "kim", "--slot", "3", "--backend", "file:///class-state", "--workspace-root", "/labs",
                                      "--set", "labMemory=3g")
    assert teacher.student("lee")[4:7] == ("lee", "--slot", "5")
    assert teacher.student("park")[4:9] == ("park", "--slot", "0", "--docker-host", "ssh://t@lab2")  # slots count per host
    assert teacher.prepared == [("up", True)] and teacher.kind_versions == [["v0.23.0"]]
    assert {call.env["PULUMI_BACKEND_URL"] for call in teacher.children.calls} == {"file:///class-state"}
    assert sorted(teacher.asked_ports) == [("127.0.0.1", 3), ("127.0.0.1", 5)]  # park's ports are on lab2
    assert teacher.popen.options[0]["cwd"] == teacher.root and teacher.popen.options[0]["stdin"] == subprocess.DEVNULL
    assert all(options["start_new_session"] for options in teacher.popen.options)  # the Watchdog stops its group


def test_the_children_get_the_tools_backend_and_passphrase(teacher, capsys):
    assert teacher.main("preview", teacher.roster) == Exit.OK
    envs = [call.env for call in teacher.children.calls]
    assert len(envs) == 3 and all(env == envs[0] for env in envs)
    env = envs[0]
    assert env["PATH"].split(os.pathsep)[:3] == [os.path.dirname(os.path.abspath(sys.executable)), "/tools/bin", "/usr/bin"]
    assert env["PULUMI_BACKEND_URL"] == f"file://{teacher.root}/state"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == PASSPHRASE and env[session.K8S_DELETE_UNREACHABLE_ENV] == "true"
    assert "--backend" not in teacher.student("kim")  # the environment's backend, not a flag
    out, err = capsys.readouterr()
    assert PASSPHRASE not in out + err


def test_no_fetch_and_a_tool_check_that_stops_the_class(teacher, monkeypatch, capsys):
    assert teacher.main("stop", teacher.roster, "--no-fetch") == Exit.OK
    assert teacher.prepared == [("stop", False)]
    monkeypatch.setattr(session, "prepare_tools", lambda action, **kwargs: 4)
    assert teacher.main("up", teacher.roster) == 4
    assert len(teacher.children.calls) == 3  # the stop's only


def test_stop_passes_idle_for_and_shows_what_was_decided(teacher, monkeypatch, capsys):
    teacher.children.answers = lambda argv: ok('RESULT {"idle": "idle for 3h: stopped"}\n')
    assert teacher.main("stop", teacher.roster, "--idle-for", "2h") == Exit.OK
    assert teacher.student("kim")[-2:] == ("--idle-for", "7200s")
    out = capsys.readouterr().out
    assert "idle for 3h: stopped" in out and "3 of 3 succeeded" in out and "classroom stop" in out


def test_a_preview_shows_the_changes_and_writes_no_handouts(teacher, capsys):
    assert teacher.main("preview", teacher.roster) == Exit.OK
    out = capsys.readouterr().out
    assert '{"create": 30}' in out.replace("\n", "") or '"create"' in out
    assert out.splitlines()[-1] == "3 of 3 succeeded"
    assert not (teacher.root / "handouts").exists()


def test_student_timeout_in_minutes_reaches_each_run(teacher, monkeypatch, capsys):
    seen = []
    real = classroom.run_child

    def spy(argv, log, report, env=None, timeout=None, popen=subprocess.Popen):
        seen.append(timeout)
        return real(argv, log, report, env, timeout, popen)

    monkeypatch.setattr(classroom, "run_child", spy)
    (teacher.root / "class.csv").write_text("student\nkim\n")
    for words, expected in ((), 90 * 60.0), (("--student-timeout", "0.5"), 30.0), (("--student-timeout", "0"), None):
        seen.clear()
        assert teacher.main("stop", teacher.roster, *words) == Exit.OK
        assert seen == [expected]


# --- the summary, the logs, the handouts ------------------------------------------------------


def failing_lee(argv: tuple[str, ...]) -> Answer:
    if argv[4] == "lee":
        return Answer(1, "PHASE creating cluster\nFAILED error: kind create failed: port 8544 is already allocated\n",
                      "Traceback (most recent call last):\n  ...\nRuntimeError: kind create failed\n")
    if argv[4] == "park":
        return Answer(3, "PHASE creating cluster\n", "noise\nk8s-lab: the IDE did not answer\n")
    return child_answer(argv)


def test_failed_students_are_named_with_why_and_their_log(teacher, tmp_path, capsys):
    teacher.children.answers = failing_lee
    logs = tmp_path / "elsewhere"
    assert teacher.main("preview", teacher.roster, "--logs", str(logs)) == Exit.FAILED
    out = capsys.readouterr().out
    assert "1 of 3 succeeded; failed: lee, park" in out
    lines = out.splitlines()
    at = lines.index("lee: error: kind create failed: port 8544 is already allocated")
    assert lines[at + 1] == f"  whole output: {logs / 'lee-preview.log'}"
    at = lines.index("park: k8s-lab: the IDE did not answer")  # no FAILED line: stderr's last words
    assert lines[at + 1] == f"  whole output: {logs / 'park-preview.log'}"
    text = (logs / "lee-preview.log").read_text()
    assert text.startswith(f"$ {shlex.join(teacher.student('lee'))}\n")
    assert "RuntimeError: kind create failed" in text and "FAILED error: kind create failed" in text
    assert stat.S_IMODE((logs / "lee-preview.log").stat().st_mode) == 0o600
    assert sorted(p.name for p in logs.iterdir()) == ["kim-preview.log", "lee-preview.log", "park-preview.log"]


def test_a_child_that_says_nothing_fails_with_its_exit_code(teacher, capsys):
    teacher.children.answers = lambda argv: Answer(7, "PHASE starting\n", "")
    (teacher.root / "class.csv").write_text("student\nkim\n")
    assert teacher.main("stop", teacher.roster) == Exit.FAILED
    assert "kim: exited with 7" in capsys.readouterr().out.splitlines()


def test_up_writes_owner_only_handouts_and_no_password_reaches_a_log_or_the_screen(teacher, capsys):
    assert teacher.main("up", teacher.roster) == Exit.OK
    out, err = capsys.readouterr()
    for student in ("kim", "lee", "park"):
        handout = teacher.root / "handouts" / f"{student}.md"
        assert password(student) in handout.read_text() and "docker push localhost:5" in handout.read_text()
        assert stat.S_IMODE(handout.stat().st_mode) == 0o600
        log = (teacher.root / "logs" / f"{student}-up.log").read_text()
        assert password(student) not in log and '"idePassword": "[secret]"' in log
        assert '"ideUrl": "http://127.0.0.1:' in log  # the rest of the result is kept
        assert password(student) not in out + err
    assert "http://127.0.0.1:80/" in (teacher.root / "handouts" / "kim.md").read_text()
    assert classroom_handout_warning() in (teacher.root / "handouts" / "kim.md").read_text()
    assert classroom_handout_warning() not in (teacher.root / "handouts" / "lee.md").read_text()
    assert "http://127.0.0.1:8444" in out and "3 of 3 succeeded" in out
    assert PASSPHRASE not in out + err


def test_the_live_table_goes_to_stderr(teacher, capsys):
    assert teacher.main("start", teacher.roster) == Exit.OK
    out, err = capsys.readouterr()
    assert "phase" in err and "elapsed" in err and "done" in err and re.search(r"│ \d+s +│", err)
    assert "phase" not in out and "classroom start" in out
    assert [line.split() for line in err.splitlines() if line.startswith("┃")] == [["┃", "student", "┃", "phase", "┃", "elapsed", "┃"]]


def status_answer(argv: tuple[str, ...]) -> Answer:
    student = argv[4]
    if student == "park":
        return Answer(1, "FAILED stack not found\n", "")
    repair = f"python lab.py start --stack {student}"
    report = status.Report(student, "stopped", "absent", "0 of 3", False, {"ide": False}, None, 6144.0, None, 2.0, None, [], repair)
    outputs = {"status": json.dumps(report.as_dict()), "ideUrl": "http://127.0.0.1:8444", "idePassword": password(student)}
    return ok(f"RESULT {json.dumps(outputs)}\n")


def classroom_handout_warning() -> str:
    from k8s_lab.handout import SELF_SIGNED_WARNING

    return next(line for line in SELF_SIGNED_WARNING if line.strip())


def test_status_json_is_json_alone_on_stdout(teacher, capsys):
    teacher.children.answers = status_answer
    assert teacher.main("status", teacher.roster, "--json") == Exit.FAILED
    out, err = capsys.readouterr()
    assert [(report["student"], report["state"]) for report in json.loads(out)] == [("kim", "stopped"), ("lee", "stopped"), ("park", "unknown")]
    assert "park: status unknown: stack not found (log: " in err and "park-status.log" in err
    assert "succeeded" not in out + err  # the status table replaces the run summary
    assert password("kim") not in out + err and password("kim") in (teacher.root / "handouts" / "kim.md").read_text()


def test_status_as_a_table_and_its_handouts(teacher, capsys):
    teacher.children.answers = status_answer
    assert teacher.main("status", teacher.roster) == Exit.FAILED
    out, _ = capsys.readouterr()
    assert "kim" in out and "stopped" in out and not out.lstrip().startswith("[")
    assert out.splitlines()[-2:] == ["Repair kim: python lab.py start --stack kim", "Repair lee: python lab.py start --stack lee"]
    assert sorted(p.name for p in (teacher.root / "handouts").iterdir()) == ["kim.md", "lee.md"]  # refreshed for who answered


def test_status_at_80_columns_is_lab_py_statuss_lines_every_value_whole(teacher, capsys, monkeypatch):
    """A rich table of ten columns cut every value at 80 columns (`stud…`, `abse…`): the class
    is lab.py status's lines, one lab after another, each problem whole below its lab."""
    teacher.children.answers = status_answer
    monkeypatch.setenv("COLUMNS", "80")
    assert teacher.main("status", teacher.roster) == Exit.FAILED
    assert capsys.readouterr().out.splitlines() == [
        "kim  stopped  IDE absent  nodes 0 of 3 Ready  API no  ports missing ide",
        "   memory - (cap 6144)  CPU - (cap 2)",
        "lee  stopped  IDE absent  nodes 0 of 3 Ready  API no  ports missing ide",
        "   memory - (cap 6144)  CPU - (cap 2)",
        "park  unknown  IDE -  nodes - Ready  API no",
        "   ports missing ide, live_server, http, https, api, registry  memory -  CPU -",
        "  - stack not found",
        "Repair kim: python lab.py start --stack kim",  # whole, to copy, whatever the width
        "Repair lee: python lab.py start --stack lee",
    ]


# --- before anything starts ------------------------------------------------------------------


def test_a_taken_port_stops_the_class_before_anything_starts(teacher, capsys):
    teacher.taken[("127.0.0.1", 1)] = [("ide", 8544), ("http", 180)]
    assert teacher.main("up", teacher.roster) == Exit.USAGE
    err = capsys.readouterr().err
    assert err.splitlines()[:2] == [
        "classroom: nothing was started:",
        "  - line 3: lee (slot 1) needs 127.0.0.1:8544 (ide), 127.0.0.1:180 (http), already in use; "
        "fix: give them a free slot in the roster's slot column, or stop what listens there",
    ]
    assert teacher.children.calls == []


def test_a_taken_port_of_an_open_lab_is_named_on_the_address_it_is_published_on(teacher, capsys):
    """bindAddress 0.0.0.0 publishes the registry on 127.0.0.1 (k8s_lab/exposure.py): the
    message names where the port is held, not 0.0.0.0."""
    (teacher.root / "class.csv").write_text("student,bindAddress,allowRemoteAccess\nkim,,\nlee,0.0.0.0,true\n")
    teacher.taken[("0.0.0.0", 1)] = [("ide", 8544), ("registry", 5101)]
    assert teacher.main("up", teacher.roster) == Exit.USAGE
    assert "  - line 3: lee (slot 1) needs 0.0.0.0:8544 (ide), 127.0.0.1:5101 (registry), already in use; " in capsys.readouterr().err


def test_a_lab_that_is_up_holds_its_own_ports(teacher, capsys):
    teacher.taken[("127.0.0.1", 1)] = [("ide", 8544)]
    teacher.running.add("lee")
    assert teacher.main("up", teacher.roster) == Exit.OK
    assert ("127.0.0.1", 1) not in teacher.asked_ports and len(teacher.children.calls) == 3
    assert ("127.0.0.1", 2) in teacher.asked_ports  # park, after lee, is still checked


def test_ports_are_checked_on_the_students_bind_address_and_only_for_up(teacher, capsys):
    write_stack_file(teacher.root, "kim", {"bindAddress": "0.0.0.0", "allowRemoteAccess": "true", "hostName": "t.lan"})
    teacher.taken[("0.0.0.0", 0)] = [("ide", 8444)]
    assert teacher.main("up", teacher.roster) == Exit.USAGE
    assert "line 2: kim (slot 0) needs 0.0.0.0:8444 (ide)" in capsys.readouterr().err
    teacher.asked_ports.clear()
    for action in ("preview", "start", "stop"):
        assert teacher.main(action, teacher.roster) == Exit.OK
    assert teacher.asked_ports == []


def test_remote_access_rules_hold_for_up_and_preview_only(teacher, capsys):
    for action in ("up", "preview"):
        assert teacher.main(action, teacher.roster, "--set", "bindAddress=0.0.0.0") == Exit.USAGE
        err = capsys.readouterr().err
        assert err.startswith("classroom: nothing was started:\n  - line 2: kim: bindAddress 0.0.0.0 publishes the IDE")
        assert "line 4: park:" in err
    assert teacher.children.calls == []
    assert teacher.main("stop", teacher.roster, "--set", "bindAddress=0.0.0.0") == Exit.OK


def test_a_stacks_own_settings_count_and_the_roster_overrides_them(teacher, capsys):
    write_stack_file(teacher.root, "kim", {"bindAddress": "0.0.0.0"})
    assert teacher.main("preview", teacher.roster) == Exit.USAGE  # the stack's bindAddress, without allowRemoteAccess
    assert "line 2: kim: bindAddress 0.0.0.0" in capsys.readouterr().err
    (teacher.root / "class.csv").write_text("student,bindAddress\nkim,127.0.0.1\n")
    assert teacher.main("preview", teacher.roster) == Exit.OK  # the roster's cell wins
    assert teacher.student("kim")[-2:] == ("--set", "bindAddress=127.0.0.1")


def test_a_roster_docker_host_overrides_the_stacks(teacher, capsys):
    write_stack_file(teacher.root, "kim", {"dockerHost": "ssh://old", "registryMirror": "http://127.0.0.1:5000"})
    (teacher.root / "class.csv").write_text("student,dockerHost,bindAddress,allowRemoteAccess\nkim,ssh://new,0.0.0.0,true\n")
    # the stack's mirror on this host would clash with a local slot 0; kim's lab is on ssh://new
    assert teacher.main("up", teacher.roster) == Exit.OK, capsys.readouterr().err
    assert [call.env.get("DOCKER_HOST") for call in teacher.docker.calls] == ["ssh://new"]


def test_a_mirror_on_a_local_students_ports_is_refused(teacher, capsys):
    assert teacher.main("up", teacher.roster, "--set", "registryMirror=http://127.0.0.1:5000") == Exit.USAGE
    assert "its registry.k8s.io cache's port 5001 is kim's registry port (slot 0)" in capsys.readouterr().err
    assert teacher.children.calls == []


def test_a_lab_on_every_interface_gets_this_machines_name_for_up_and_preview(teacher, capsys):
    remote = ("--set", "bindAddress=0.0.0.0", "--set", "allowRemoteAccess=true")
    assert teacher.main("up", teacher.roster, *remote) == Exit.OK
    assert teacher.student("kim")[-2:] == ("--set", f"hostName={socket.gethostname()}")
    teacher.children.calls.clear()
    assert teacher.main("preview", teacher.roster, *remote) == Exit.OK
    assert teacher.student("lee")[-2:] == ("--set", f"hostName={socket.gethostname()}")
    teacher.children.calls.clear()
    assert teacher.main("start", teacher.roster, *remote) == Exit.OK
    assert not any(word.startswith("hostName=") for word in teacher.student("kim"))


def test_a_class_too_big_for_docker_is_refused_unless_over_capacity(teacher, capsys):
    teacher.docker.answers = {("docker", "info"): ok(json.dumps({"MemTotal": 12 * GIB}))}
    for action in ("up", "start"):
        assert teacher.main(action, teacher.roster) == Exit.USAGE
        err = capsys.readouterr().err
        assert err.startswith("classroom: nothing was started:\n  - this host: 3 labs may use 20.0 GB at their caps")
    assert teacher.children.calls == []
    for action in ("up", "start"):
        assert teacher.main(action, teacher.roster, "--over-capacity") == Exit.OK
        err = capsys.readouterr().err
        assert err.startswith("classroom: warning (--over-capacity): this host: 3 labs may use 20.0 GB")
    assert len(teacher.children.calls) == 6
    teacher.docker.calls.clear()
    assert teacher.main("preview", teacher.roster) == Exit.OK and teacher.docker.calls == []  # preview starts nothing


def test_the_host_limits_are_read_on_this_machine_only(teacher, monkeypatch, capsys):
    monkeypatch.setattr(doctor, "read_int", {"/proc/sys/fs/inotify/max_user_watches": 8192, "/proc/sys/fs/inotify/max_user_instances": 512}.get)
    monkeypatch.setattr(sys, "platform", "linux")
    assert teacher.main("up", teacher.roster) == Exit.USAGE
    assert "fs.inotify.max_user_watches=8192" in capsys.readouterr().err
    assert teacher.docker.calls[0].argv == ("docker", "info", "--format", "{{json .}}")
    assert teacher.docker.calls[0].env == {}  # this machine's docker, as it is


def test_read_host_here_remote_and_on_docker_desktop(monkeypatch):
    limits = {"/proc/sys/fs/inotify/max_user_watches": 1, "/proc/sys/fs/inotify/max_user_instances": 2, "/proc/sys/kernel/pid_max": 3}
    monkeypatch.setattr(doctor, "read_int", limits.get)
    monkeypatch.setattr(sys, "platform", "linux")
    docker = FakeRunner({("docker", "info"): ok(json.dumps({"MemTotal": 8 * GIB, "OperatingSystem": "Ubuntu"}))})
    here = classroom.read_host("", docker)
    assert (here.name, here.memory_mb, here.docker_desktop) == ("this host", 8192.0, False)
    assert (here.inotify_watches, here.inotify_instances, here.pid_max) == (1, 2, 3)
    far = classroom.read_host("ssh://t@lab2", docker)
    assert (far.name, far.memory_mb, far.inotify_watches, far.pid_max) == ("ssh://t@lab2", 8192.0, None, None)
    assert docker.calls[-1].env["DOCKER_HOST"] == "ssh://t@lab2"
    desktop = FakeRunner({("docker", "info"): ok(json.dumps({"MemTotal": 4 * GIB, "OperatingSystem": "Docker Desktop"}))})
    inside = classroom.read_host("", desktop)
    assert inside.docker_desktop and inside.inotify_watches is None and inside.pid_max is None
    monkeypatch.setattr(sys, "platform", "darwin")
    assert classroom.read_host("", docker).inotify_watches is None
    silent = FakeRunner({("docker", "info"): fails("Cannot connect to the Docker daemon")})
    assert classroom.read_host("", silent).memory_mb is None
    assert not classroom.on_this_host("http://no-such-host.invalid:5010")


def test_an_unreadable_slot_in_a_stack_stops_the_class(teacher, capsys):
    write_stack_file(teacher.root, "lee", {"slot": "three"})
    assert teacher.main("up", teacher.roster) == Exit.USAGE
    assert "  - stack 'lee' has slot 'three', not a whole number" in capsys.readouterr().err
    assert teacher.children.calls == []


# --- destroy's question -----------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_destroy_without_yes_and_without_a_terminal_removes_nothing(teacher, capsys):
    assert teacher.main("destroy", teacher.roster) == Exit.USAGE
    assert capsys.readouterr().err == (
        "classroom: destroy removes the labs of 3 student(s) (kim, lee, park); their files stay. "
        "Nothing was removed: run again with --yes to confirm (there is no terminal to ask on)\n"
    )
    assert teacher.children.calls == [] and teacher.prepared == []


def test_destroy_names_the_first_five_of_a_big_class(teacher, capsys):
    (teacher.root / "class.csv").write_text("student\n" + "".join(f"s{i}\n" for i in range(7)))
    assert teacher.main("destroy", teacher.roster) == Exit.USAGE
    assert "labs of 7 student(s) (s0, s1, s2, s3, s4, …); their" in capsys.readouterr().err


def test_destroy_runs_with_yes_or_a_yes_on_a_terminal(teacher, monkeypatch, capsys):
    assert teacher.main("destroy", teacher.roster, "--yes") == Exit.OK
    assert teacher.students() == ["kim", "lee", "park"] and {argv[3] for argv in teacher.children.argvs} == {"destroy"}
    monkeypatch.setattr(sys, "stdin", Terminal("no\n"))
    assert teacher.main("destroy", teacher.roster) == Exit.USAGE
    assert "you did not answer 'yes'" in capsys.readouterr().err and len(teacher.children.calls) == 3
    monkeypatch.setattr(sys, "stdin", Terminal("YES\n"))
    assert teacher.main("destroy", teacher.roster) == Exit.OK
    assert "Type 'yes' to go on: " in capsys.readouterr().err and len(teacher.children.calls) == 6


# --- the command line ---------------------------------------------------------------------------


def test_a_bare_command_prints_its_help(capsys):
    assert classroom.main([]) == Exit.OK  # as lab.py: asking what there is, not a mistake
    out, err = capsys.readouterr()
    assert out.startswith("usage: classroom.py") and "Exit codes: 0 done; 1 the operation failed" in out and err == ""


def test_a_mistyped_verb_is_named_with_the_nearest_and_nothing_runs(teacher, capsys):
    assert teacher.main("stauts", "class.csv", "--json") == Exit.USAGE
    assert capsys.readouterr().err == (
        f"classroom: there is no verb 'stauts'; did you mean `{script_command('classroom.py', 'status', 'class.csv', '--json')}`? "
        f"({script_command('classroom.py', '--help')} explains each)\n"
    )
    assert teacher.main("zzz") == Exit.USAGE
    assert "the verbs are: up, preview, destroy, status, stop, start, mirror " in capsys.readouterr().err
    assert teacher.children.calls == [] and teacher.prepared == []


def test_bad_parallel_is_a_usage_error(teacher, capsys):
    with pytest.raises(SystemExit) as stopped:
        teacher.main("up", teacher.roster, "--parallel", "0")
    assert stopped.value.code == Exit.USAGE and "--parallel must be at least 1" in capsys.readouterr().err
    assert teacher.main("stop", teacher.roster, "--parallel", "1") == Exit.OK


def test_rosters_that_cannot_be_used(teacher, tmp_path, capsys):
    assert teacher.main("up", str(tmp_path / "nope.csv")) == Exit.USAGE
    assert capsys.readouterr().err == f"classroom: no roster at {tmp_path / 'nope.csv'}\n"
    assert teacher.main("up", str(tmp_path)) == Exit.USAGE  # a folder
    assert capsys.readouterr().err == f"classroom: cannot read {tmp_path}: Is a directory\n"
    (tmp_path / "empty.csv").write_text("student\n")
    assert teacher.main("up", str(tmp_path / "empty.csv")) == Exit.USAGE
    assert capsys.readouterr().err == f"classroom: {tmp_path / 'empty.csv'} lists no students\n"
    (tmp_path / "bad.csv").write_text("student,slot\nkim,1\nlee,1\n")
    assert teacher.main("up", str(tmp_path / "bad.csv")) == Exit.USAGE
    assert "line 3: slot 1 is already given on line 2" in capsys.readouterr().err
    assert teacher.children.calls == [] and teacher.prepared == []


def test_a_roster_in_another_encoding_is_named_and_used(teacher, capsys):
    (teacher.root / "class.csv").write_bytes("student,이름\nkim,김민수\n".encode("cp949"))
    assert teacher.main("stop", teacher.roster) == Exit.OK
    assert capsys.readouterr().err.startswith(f"classroom: read {teacher.roster} as CP949\n")  # stdout is data (status --json)
    (teacher.root / "class.csv").write_bytes("\ufeffstudent\nkim\n".encode())
    assert teacher.main("stop", teacher.roster) == Exit.OK
    assert "classroom: read" not in capsys.readouterr().out


# --- the mirror -------------------------------------------------------------------------------


def test_the_mirror_makes_its_caches_and_says_how_to_use_them(capsys):
    docker = FakeRunner({("docker", "inspect"): fails("No such object"), ("docker", "run"): ok("abc\n")})
    assert classroom.main(["mirror", "--port", "5010", "--host", "teacher.lan", "--bind", "10.0.0.5", "--image", "mirror.example/registry:9"],
                          runner=docker) == Exit.OK
    runs = [argv for argv in docker.argvs if argv[1] == "run"]
    assert len(runs) == 2 and all("mirror.example/registry:9" in argv for argv in runs)
    assert any("10.0.0.5:5010:5000" in " ".join(argv) for argv in runs)
    out = capsys.readouterr().out
    assert "caching https://registry-1.docker.io on port 5010" in out
    assert "--set registryMirror=http://teacher.lan:5010" in out


def test_the_mirror_names_this_host_and_says_when_docker_fails(capsys):
    docker = FakeRunner({("docker", "inspect"): ok("running\n")})
    assert classroom.main(["mirror"], runner=docker) == Exit.OK
    assert f"registryMirror=http://{socket.gethostname()}:5010" in capsys.readouterr().out
    broken = FakeRunner({("docker", "inspect"): fails("No such object"), ("docker", "run"): fails("pull access denied")})
    assert classroom.main(["mirror", "--port", "5010"], runner=broken) == Exit.FAILED
    out, err = capsys.readouterr()
    assert err.startswith("classroom: ") and "did not start: pull access denied" in err and "registryMirror" not in out


def test_the_mirror_refuses_a_port_of_the_slot_plan_before_docker(capsys):
    docker = FakeRunner({})
    assert classroom.main(["mirror", "--port", "8444"], runner=docker) == Exit.USAGE
    assert capsys.readouterr().err.startswith("classroom: port 8444 is slot 0's ide port")
    assert docker.calls == []


# --- the Watchdog, with real processes --------------------------------------------------------


def child(tmp_path: Path, body: str) -> list[str]:
    script = tmp_path / "child.py"
    script.write_text(body)
    return [sys.executable, str(script)]


def test_a_child_past_its_time_is_interrupted_and_reported(tmp_path):
    # It would end by itself after 5 s: a Watchdog that never interrupts it fails the test, not the suite's clock.
    # Python answers SIGINT with KeyboardInterrupt unless its parent ignored it (mutmut's workers do): as Pulumi would.
    argv = child(tmp_path, "import signal, time\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
                           "print('PHASE waiting', flush=True)\ntime.sleep(5)\n")
    phases: list[str] = []
    started = time.monotonic()
    with pytest.raises(classroom.StudentFailed) as caught:
        classroom.run_child(argv, tmp_path / "kim-up.log", phases.append, timeout=1.5)  # time to start, on a busy machine
    assert time.monotonic() - started < 4.5
    assert str(caught.value) == "did not finish in 0.025 min and was stopped; its log shows where it was"
    assert caught.value.log == str(tmp_path / "kim-up.log") and phases == ["waiting"]
    assert "KeyboardInterrupt" in (tmp_path / "kim-up.log").read_text()  # SIGINT, as Pulumi wants it


def test_a_child_that_ignores_the_interrupt_is_killed_with_its_group(tmp_path, monkeypatch):
    monkeypatch.setattr(classroom.Watchdog, "GRACE", 0.5)
    marker = tmp_path / "grandchild.pid"
    argv = child(tmp_path, (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "grandchild = subprocess.Popen([sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(30)'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        f"open({str(marker)!r}, 'w').write(str(grandchild.pid))\n"
        "print('PHASE stuck', flush=True)\n"
        "time.sleep(5)\n"
    ))
    with pytest.raises(classroom.StudentFailed, match="did not finish"):
        classroom.run_child(argv, tmp_path / "kim-up.log", lambda phase: None, timeout=1.5)
    grandchild = int(marker.read_text())
    for _ in range(30):  # SIGKILL reached the whole group: the grandchild (30 s of sleep) is gone, or a zombie
        try:
            state = Path(f"/proc/{grandchild}/stat").read_text().split(") ")[1][0]
        except (FileNotFoundError, ProcessLookupError):
            break
        if state == "Z":
            break
        time.sleep(0.1)
    else:
        os.kill(grandchild, signal.SIGKILL)
        pytest.fail("the grandchild outlived the Watchdog")


def test_a_watchdog_without_a_timeout_never_fires_and_a_gone_process_is_no_error(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    process.wait()
    with classroom.Watchdog(process, None) as idle:
        assert idle.timers == []
    assert not idle.fired
    idle.signal(signal.SIGINT)  # already reaped: ProcessLookupError, said nothing
    stopper = classroom.Watchdog(process, 30)
    stopper.stop()
    assert stopper.fired and len(stopper.timers) == 2 and stopper.timers[-1].interval == classroom.Watchdog.GRACE
    assert stopper.timers[-1].daemon and stopper.timers[-1].args == (signal.SIGKILL,)
    stopper.__exit__(None, None, None)  # cancels the kill to come
    assert all(timer.finished.is_set() for timer in stopper.timers)


def test_a_watchdog_cancels_its_timer_when_the_child_ends_in_time(tmp_path):
    argv = child(tmp_path, "print('RESULT {\"ideUrl\": \"http://h:8444\"}', flush=True)\n")
    assert classroom.run_child(argv, tmp_path / "kim-up.log", lambda phase: None, timeout=30) == {"ideUrl": "http://h:8444"}


# --- the details a teacher meets --------------------------------------------------------------


def test_a_slot_is_kept_whatever_the_order_of_the_stacks(teacher, capsys):
    write_stack_file(teacher.root, "park", {"slot": "10"})
    assert teacher.main("stop", teacher.roster) == Exit.OK
    assert [teacher.student(s)[6] for s in ("kim", "lee", "park")] == ["0", "1", "10"]


def test_logs_are_rewritten_each_run_and_made_owner_only(teacher, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rel" / "logs").mkdir(parents=True)
    old = tmp_path / "rel" / "logs" / "kim-stop.log"
    old.write_text("an older run\n")
    old.chmod(0o644)
    teacher.children.answers = failing_lee
    for _ in range(2):
        assert teacher.main("stop", teacher.roster, "--logs", "rel/logs/deeper/..") == Exit.FAILED
    text = old.read_text()
    assert text.count("$ ") == 1 and "an older run" not in text and stat.S_IMODE(old.stat().st_mode) == 0o600
    assert f"  whole output: {tmp_path / 'rel' / 'logs' / 'lee-stop.log'}" in capsys.readouterr().out.splitlines()
    assert teacher.main("stop", teacher.roster, "--logs", str(tmp_path / "a" / "b")) == Exit.FAILED  # folders made
    assert (tmp_path / "a" / "b" / "kim-stop.log").exists()


def test_parallel_reaches_the_runs(teacher, monkeypatch, capsys):
    seen = []
    real = classroom.run_all
    monkeypatch.setattr(classroom, "run_all", lambda students, job, parallel, progress: seen.append(parallel) or real(students, job, parallel, progress))
    assert teacher.main("stop", teacher.roster) == Exit.OK
    assert teacher.main("stop", teacher.roster, "--parallel", "2") == Exit.OK
    assert seen == [4, 2]


def test_a_passphrase_is_made_only_by_verbs_that_make_labs_and_its_notice_shown(teacher, monkeypatch, capsys):
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    asked = []

    def passphrase_env(environ, make=True):
        asked.append(make)
        return ({"PULUMI_CONFIG_PASSPHRASE_FILE": "/state/passphrase"}, "Made a passphrase in /state/passphrase") if make else ({}, None)

    monkeypatch.setattr(session, "passphrase_env", passphrase_env)
    assert teacher.main("up", teacher.roster) == Exit.OK
    err = capsys.readouterr().err
    assert "Made a passphrase in /state/passphrase" in err and "repository secret" not in err  # a file backend needs none
    assert teacher.children.calls[0].env["PULUMI_CONFIG_PASSPHRASE_FILE"] == "/state/passphrase"
    for words in (("start",), ("stop",), ("status",), ("destroy", "--yes"), ("preview",)):
        teacher.main(words[0], teacher.roster, *words[1:])
    assert asked == [True, False, False, False, False, True]


def test_main_reads_the_command_line_when_given_none(teacher, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["classroom.py", "stop", teacher.roster])
    assert classroom.main(runner=teacher.docker, popen=teacher.popen) == Exit.OK
    assert teacher.students() == ["kim", "lee", "park"]
    monkeypatch.setattr(sys, "argv", ["classroom.py"])
    assert classroom.main() == Exit.OK  # the help
    with pytest.raises(SystemExit) as stopped:
        classroom.main(["--"])  # no verb: argparse says so, never a traceback
    assert stopped.value.code == Exit.USAGE and "required: VERB" in capsys.readouterr().err


def test_the_summary_table_has_each_students_url_status_and_duration(teacher, capsys):
    teacher.children.answers = failing_lee
    assert teacher.main("start", teacher.roster) == Exit.FAILED
    out = capsys.readouterr().out
    assert [line.split() for line in out.splitlines() if line.startswith("┃")] == [["┃", "student", "┃", "URL", "┃", "status", "┃", "duration", "┃"]]
    rows = [line for line in out.splitlines() if line.startswith("│")]
    cells = [[cell.strip() for cell in row.strip("│").split("│")] for row in rows]
    assert all(re.fullmatch(r"\d+s", row[3]) for row in cells)  # whole seconds, however busy the machine
    assert [[*row[:3], row[3][-1]] for row in cells] == [
        ["kim", "http://127.0.0.1:8444", "ok", "s"],
        ["lee", "", "FAILED: error: kind create failed: port 8544 is already allocated", "s"],
        ["park", "", "FAILED: k8s-lab: the IDE did not answer", "s"],
    ]


def test_the_question_and_its_limits(capsys, monkeypatch):
    assert classroom.confirm_destroy(["a", "b", "c", "d", "e"], yes=False, stdin=Terminal("yes\n")) is None
    assert capsys.readouterr().err == "destroy removes the labs of 5 student(s) (a, b, c, d, e); their files stay. Type 'yes' to go on: "
    monkeypatch.setattr(sys, "stdin", None)  # pythonw, a service: no stdin at all
    assert classroom.confirm_destroy(["kim"], yes=False).endswith("run again with --yes to confirm (there is no terminal to ask on)")


def test_a_child_job_without_a_host_or_settings_for_a_student(tmp_path):
    children = FakeRunner(child_answer)
    job = classroom.child_job("stop", {"kim": 2}, {}, None, logs=tmp_path, popen=FakePopen(children))
    assert job("kim", lambda phase: None) == {"ideUrl": "http://127.0.0.1:8644"}
    assert children.argvs == [(sys.executable, "-m", "classroom_student", "stop", "kim", "--slot", "2")]


def test_a_failures_line_is_cut_to_one_screen_line(tmp_path):
    log = tmp_path / "kim-up.log"
    log.write_text("$ child\nerror: " + "x" * 500 + "\n")
    line = classroom.last_line(log)
    assert len(line) == classroom.DETAIL_CHARS == 240 and line.endswith("x…")
    log.write_text("$ child\n" + "y" * 240 + "\n")
    assert classroom.last_line(log) == "y" * 240
    log.write_text("$ child\nPHASE waiting\n")
    assert classroom.last_line(log) == ""
    log.write_bytes(b"$ child\nerror: caf\xff\n")
    assert classroom.last_line(log) == "error: caf\ufffd"


def test_the_mirror_binds_every_interface_with_the_pinned_image_by_default(capsys):
    from k8s_lab import registry

    docker = FakeRunner({("docker", "inspect"): fails("No such object"), ("docker", "run"): ok("abc\n")})
    assert classroom.main(["mirror"], runner=docker) == Exit.OK
    runs = [" ".join(argv) for argv in docker.argvs if argv[1] == "run"]
    assert len(runs) == 2 and all(run.endswith(f" {registry.IMAGE}") for run in runs)
    assert "-p 0.0.0.0:5010:5000" in runs[0] and "-p 0.0.0.0:5011:5000" in runs[1]


def test_the_mirror_stops_at_a_held_port_and_at_a_docker_that_cannot_run(capsys):
    from k8s_lab.runner import Result, RunError

    docker = FakeRunner({("docker", "inspect"): fails("No such object"), ("docker", "run"): ok()})
    with socket.socket() as holder:
        port = next(port for port in range(5010, 5100, 2) if not mirror.port_problems(port) and host_ports.can_bind_tcp("127.0.0.1", port))
        holder.bind(("127.0.0.1", port))
        holder.listen()
        assert classroom.main(["mirror", "--port", str(port), "--bind", "127.0.0.1"], runner=docker) == Exit.FAILED
    assert f"127.0.0.1:{port} is already in use" in capsys.readouterr().err
    assert not any(argv[1] == "run" for argv in docker.argvs)

    def missing(argv):
        raise RunError(Result(argv, 127, "", "docker: command not found"))

    assert classroom.main(["mirror"], runner=FakeRunner(missing)) == Exit.FAILED
    assert capsys.readouterr().err.startswith("classroom: ")


def test_watchdog_timers_are_daemons_cancelled_on_exit_and_a_minute_of_grace(tmp_path, monkeypatch):
    assert classroom.Watchdog.GRACE == 60.0  # Pulumi gets a minute to cancel cleanly before SIGKILL
    process = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    process.wait()
    with classroom.Watchdog(process, 30) as watchdog:
        (timer,) = watchdog.timers
        assert timer.daemon and timer.is_alive() and timer.interval == 30
    assert timer.finished.is_set() and watchdog.fired is False
    refused = []

    def killpg(pid, number):
        refused.append((pid, number))
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "killpg", killpg)
    watchdog.signal(signal.SIGKILL)  # a group we may not signal: said nothing, as a gone one
    assert refused == [(process.pid, signal.SIGKILL)]


def test_a_child_that_ends_well_without_a_result_is_ok_with_no_outputs(teacher, capsys):
    teacher.children.answers = lambda argv: ok("PHASE nothing to do\n")
    assert teacher.main("stop", teacher.roster) == Exit.OK
    assert "3 of 3 succeeded" in capsys.readouterr().out


def test_a_failed_childs_protocol_lines_are_not_its_last_words(teacher, capsys):
    teacher.children.answers = lambda argv: Answer(1, 'FAILED \nRESULT {"idePassword": "x"}\nPHASE late\n', "")
    assert teacher.main("stop", teacher.roster) == Exit.FAILED
    assert "kim: exited with 1" in capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(
    ("text", "error"),
    [(b"config:\n  k8s-lab:slot: \xff\n", "UnicodeDecodeError"), (b"- a list\n", "AttributeError"), (b"config: [unclosed\n", "ParserError")],
)
def test_a_stack_file_that_cannot_be_read_stops_the_class_naming_it(teacher, capsys, text, error):
    (teacher.root / "Pulumi.lee.yaml").write_bytes(text)
    assert teacher.main("stop", teacher.roster) == Exit.USAGE
    assert f"  - Pulumi.lee.yaml cannot be read ({error}: " in capsys.readouterr().err
    assert teacher.children.calls == []


def test_handouts_go_where_the_teacher_says(teacher, tmp_path, capsys):
    assert teacher.main("up", teacher.roster, "--handouts", str(tmp_path / "given")) == Exit.OK
    assert sorted(p.name for p in (tmp_path / "given").iterdir()) == ["kim.md", "lee.md", "park.md"]


def test_on_windows_the_watchdog_kills_the_child_alone(monkeypatch):
    killed = []
    child = type("Child", (), {"pid": 4242, "kill": lambda self: killed.append(True)})()
    monkeypatch.setattr(os, "killpg", lambda pid, number: pytest.fail("no process groups on Windows"))
    watchdog = classroom.Watchdog(child, None)
    with monkeypatch.context() as windows:
        windows.setattr(os, "name", "nt")
        watchdog.stop()
    assert killed == [True] and watchdog.fired and watchdog.timers == []


def test_every_problem_before_the_start_is_listed_at_once(teacher, capsys):
    teacher.docker.answers = {("docker", "info"): ok(json.dumps({"MemTotal": 8 * GIB}))}
    teacher.taken[("127.0.0.1", 1)] = [("ide", 8544)]
    (teacher.root / "class.csv").write_text("student,hostName\nkim,teacher.lan\nlee,\npark,\n")
    assert teacher.main("up", teacher.roster, "--set", "registryMirror=http://127.0.0.1:5000") == Exit.USAGE
    problems = [line for line in capsys.readouterr().err.splitlines() if line.startswith("  - ")]
    assert [problem.split(":")[0] for problem in problems] == ["  - line 2", "  - line 3", "  - registryMirror http", "  - this host"]
    assert "hostName teacher.lan names how laptops reach the lab, but bindAddress 127.0.0.1" in problems[0]


def test_a_remote_docker_host_on_loopback_is_refused(teacher, capsys):
    (teacher.root / "class.csv").write_text("student,dockerHost\nkim,ssh://t@lab2\n")
    assert teacher.main("preview", teacher.roster) == Exit.USAGE
    assert "line 2: kim: dockerHost ssh://t@lab2 is another machine, where bindAddress 127.0.0.1" in capsys.readouterr().err


def test_the_live_table_shows_each_students_phase_while_it_runs():
    from rich.console import Console

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)

    def job(student, report):
        report("creating cluster")
        deadline = time.monotonic() + 5
        while not re.search(rf"{student}\s*│\s*creating cluster\s*│", screen.getvalue()):  # seen before it ends
            if time.monotonic() > deadline:
                raise RuntimeError(f"the live table never showed {student}'s row")
            time.sleep(0.05)
        return {}

    outcomes = classroom.run_with_progress(["kim", "lee"], job, 2, console)
    assert [(o.student, o.ok, o.detail) for o in outcomes] == [("kim", True, ""), ("lee", True, "")]
    assert "done" in screen.getvalue()


def test_a_failure_without_a_log_is_one_line(capsys):
    from k8s_lab.orchestrate import Outcome

    classroom.show([Outcome("kim", False, 2.0, "could not start")], "up")
    assert capsys.readouterr().out.splitlines()[-2:] == ["0 of 1 succeeded; failed: kim", "kim: could not start"]


def test_a_child_that_says_bytes_that_are_not_utf8_is_read_anyway(tmp_path):
    argv = child(tmp_path, "import sys\nsys.stdout.buffer.write(b'PHASE caf\\xff\\n')\nsys.stdout.buffer.write(b'RESULT {}\\n')\n")
    phases: list[str] = []
    assert classroom.run_child(argv, tmp_path / "kim-up.log", phases.append) == {}
    assert phases == ["caf\ufffd"]


class Screen(io.StringIO):
    """A terminal's screen: what was written shows once it is flushed."""

    shown = ""

    def flush(self) -> None:
        self.shown = self.getvalue()


def test_the_question_is_on_the_screen_before_the_answer_is_read(monkeypatch):
    screen = Screen()
    monkeypatch.setattr(sys, "stderr", screen)  # the question is not data: stdout stays a pipe's (k8s_lab/cli.py)

    class Asking(Terminal):
        def readline(self, *args) -> str:
            assert screen.shown.endswith("Type 'yes' to go on: ")
            return super().readline()

    assert classroom.confirm_destroy(["kim"], yes=False, stdin=Asking("yes\n")) is None


# --- what the mutation run of classroom.py found unpinned ------------------------------------


def test_a_background_run_gets_its_interrupt_back_and_a_handler_of_its_own_is_kept():
    previous = signal.getsignal(signal.SIGINT)
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell starts `classroom.py up ... &`
        classroom.interruptible()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

        def own(number, frame):
            pass

        signal.signal(signal.SIGINT, own)
        classroom.interruptible()
        assert signal.getsignal(signal.SIGINT) is own
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_new_log_is_created_owner_only_not_made_so_afterwards(tmp_path, monkeypatch):
    # The mode is the file's from its first byte: the chmod after it is for a log that existed.
    monkeypatch.setattr(os, "chmod", lambda path, mode: None)
    argv = [sys.executable, "-m", "classroom_student", "stop", "kim", "--slot", "0"]
    classroom.run_child(argv, tmp_path / "kim-stop.log", lambda phase: None, popen=FakePopen(FakeRunner(child_answer)))
    assert stat.S_IMODE((tmp_path / "kim-stop.log").stat().st_mode) == 0o600


def test_a_childs_utf8_output_reaches_the_log_and_the_summary_whatever_the_locale(tmp_path, ascii_locale):
    # Pulumi and kind print UTF-8 (✔, box lines, a student's Korean error) on every system.
    folder = tmp_path / "김민수"  # a teacher's home folder, in the header line
    folder.mkdir()
    argv = child(folder, "import sys\nsys.stdout.buffer.write('PHASE \\u2714 cluster\\n'.encode())\nsys.stdout.flush()\n"
                         "sys.stderr.buffer.write('error: \\ud3ec\\ud2b8 \\u2717\\n'.encode())\nsys.exit(3)\n")  # an ASCII script
    phases: list[str] = []
    with pytest.raises(classroom.StudentFailed) as caught:
        classroom.run_child(argv, tmp_path / "kim-up.log", phases.append)
    assert phases == ["✔ cluster"] and str(caught.value) == "error: 포트 ✗"
    lines = (tmp_path / "kim-up.log").read_text(encoding="utf-8").splitlines()
    assert lines[0] == f"$ {shlex.join(argv)}" and sorted(lines[1:]) == ["PHASE ✔ cluster", "error: 포트 ✗"]


def test_a_failures_last_words_on_one_line_longer_than_the_tail_are_still_shown(tmp_path):
    log = tmp_path / "kim-up.log"
    log.write_text("$ child\n" + "z" * (classroom.TAIL_BYTES + 100) + "\n")
    assert classroom.last_line(log) == "z" * (classroom.DETAIL_CHARS - 1) + "…"


def test_a_mirror_is_on_this_host_by_loopback_or_by_this_hosts_own_address(monkeypatch):
    addresses = {"localhost": "127.0.0.1", "teacher-pc": "10.0.0.5", "lab2": "10.0.0.9"}

    def resolve(name):
        if name not in addresses:
            raise socket.gaierror(name)
        return addresses[name]

    monkeypatch.setattr(socket, "gethostname", lambda: "teacher-pc")
    monkeypatch.setattr(socket, "gethostbyname", resolve)
    assert classroom.on_this_host("http://localhost:5010")  # loopback, though not this host's own address
    assert classroom.on_this_host("http://teacher-pc:5010")
    assert not classroom.on_this_host("http://lab2:5010")
    assert not classroom.on_this_host("http://nowhere:5010")


def test_only_the_mirrors_the_class_names_are_checked_against_the_slots():
    from k8s_lab.roster import Entry

    entries = [Entry(2, "kim", 0, ""), Entry(3, "lee", 1, ""), Entry(4, "park", 2, "")]
    settings = {"kim": {"registryMirror": "http://teacher-pc:5010"}, "lee": {}, "park": {"registryMirror": ""}}
    asked: list[str] = []
    assert classroom.mirror_problems(entries, {"kim": 0, "lee": 1, "park": 2}, settings, lambda url: asked.append(url) or False) == []
    assert asked == ["http://teacher-pc:5010"]


def test_a_remote_docker_is_asked_with_this_machines_environment_and_its_desktop_is_seen():
    desktop = FakeRunner({("docker", "info"): ok(json.dumps({"MemTotal": 4 * GIB, "OperatingSystem": "Docker Desktop"}))})
    far = classroom.read_host("ssh://t@lab2", desktop)
    assert (far.name, far.memory_mb, far.docker_desktop) == ("ssh://t@lab2", 4096.0, True)
    assert desktop.calls[-1].env == dict(os.environ, DOCKER_HOST="ssh://t@lab2")  # PATH and the rest, to find ssh


def test_the_question_shortens_a_class_of_six_or_more(capsys):
    classroom.confirm_destroy(["a", "b", "c", "d", "e", "f"], yes=False, stdin=Terminal("no\n"))
    assert capsys.readouterr().err == "destroy removes the labs of 6 student(s) (a, b, c, d, e, …); their files stay. Type 'yes' to go on: "


def test_status_json_is_indented_and_an_unknown_status_without_a_log_is_one_plain_line(capsys):
    from k8s_lab.orchestrate import Outcome

    report = status.Report("kim", "stopped", "absent", "0 of 3", False, {"ide": False}, None, 6144.0, None, 2.0, None, [], [])
    classroom.show_status([Outcome("kim", True, 1.0, outputs={"status": json.dumps(report.as_dict())}), Outcome("lee", False, 1.0, "stack not found")], True)
    out, err = capsys.readouterr()
    assert out.startswith('[\n  {\n    "student": "kim",\n') and json.loads(out)[0] == report.as_dict()
    assert json.loads(out)[1] | {"ports_bound": {}} == status.Report(
        "lee", "unknown", "-", "-", False, {}, None, None, None, None, None, ["stack not found"], None).as_dict()  # every student
    assert err == "lee: status unknown: stack not found\n"


def test_a_handout_is_titled_with_its_student(tmp_path):
    from k8s_lab.orchestrate import Outcome

    outputs = {"ideUrl": "http://127.0.0.1:8444", "idePassword": password("kim")}
    classroom.write_handouts([Outcome("kim", True, 1.0, outputs=outputs), Outcome("lee", False, 1.0, "failed")], tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["kim.md"]
    assert (tmp_path / "kim.md").read_text().splitlines()[0] == "# kim's practice lab"


def test_the_mirror_refuses_a_port_with_each_problem_on_its_own_line(capsys):
    docker = FakeRunner({})
    assert classroom.main(["mirror", "--port", "8443"], runner=docker) == Exit.USAGE
    fix = f"fix: {class_command('mirror', '--port', '5010')}, or another port off the slot plan"
    assert capsys.readouterr().err.splitlines() == [
        f"classroom: port 8443 is slot 80's https port (the docker.io cache's); {fix}",
        f"classroom: port 8444 is slot 0's ide port (the registry.k8s.io cache's); {fix}",
    ]
    assert docker.calls == []


def test_a_parallel_below_one_is_a_usage_error_saying_so(teacher, capsys):
    with pytest.raises(SystemExit) as stopped:
        teacher.main("up", teacher.roster, "--parallel", "0")
    assert stopped.value.code == Exit.USAGE
    assert capsys.readouterr().err.splitlines()[-1] == "classroom.py: error: --parallel must be at least 1"


def test_a_shared_backend_names_the_secrets_pull_request_previews_need(monkeypatch):
    monkeypatch.setattr(session, "workspace_env", lambda env, make=True: ({"PULUMI_CONFIG_PASSPHRASE_FILE": "/state/passphrase"}, None))
    env, notices = classroom.class_env({"PATH": "/usr/bin"}, "s3://class-state", session.PreparedTools(path="/tools/bin"))
    assert env["PULUMI_BACKEND_URL"] == "s3://class-state"
    assert notices == [
        "The class's stack secrets use the passphrase in /state/passphrase. For pull-request previews "
        "(.github/workflows/preview.yml) store it as the repository secret PULUMI_CONFIG_PASSPHRASE, and "
        "s3://class-state as PULUMI_BACKEND_URL."
    ]


def test_a_bug_in_classroom_py_is_one_line_exit_70_and_its_traceback_in_a_log(teacher, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(session, "LOG_DIR", tmp_path / "bug-logs")
    monkeypatch.setattr(classroom, "run_class", lambda *args: {}["ideUrl"])  # a KeyError of ours
    assert teacher.main("status", teacher.roster) == Exit.INTERNAL
    out, err = capsys.readouterr()
    (log,) = (tmp_path / "bug-logs").iterdir()
    assert out == "" and err == f"classroom: stopped on an error k8s-lab does not expect (KeyError: 'ideUrl'); details in {log}\n"
    assert log.name.startswith("classroom-status-") and "Traceback (most recent call last)" in log.read_text()


def test_ctrl_c_is_exit_130_without_a_traceback(teacher, monkeypatch, capsys):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(classroom, "run_class", interrupted)
    assert teacher.main("stop", teacher.roster) == Exit.INTERRUPTED
    assert capsys.readouterr().err == "classroom: interrupted.\n"


def test_a_class_on_the_maintained_row_gets_its_kind_before_anyone_starts(teacher, capsys):
    """kubernetesVersion from the roster (a column) and --set: each row's kind release is
    checked and fetched once, before the students' runs."""
    (teacher.root / "class.csv").write_text("student,kubernetesVersion\nkim,1.36\nlee,\n")
    write_stack_file(teacher.root, "park", {"kubernetesVersion": "1.36"})
    code = teacher.main("up", teacher.roster, "--set", "kubernetesVersion=1.29")
    assert code == Exit.OK, capsys.readouterr().err
    assert teacher.kind_versions == [["v0.23.0", "v0.32.0"]]
    assert teacher.student("kim")[-2:] == ("--set", "kubernetesVersion=1.36")
    assert teacher.student("lee")[-2:] == ("--set", "kubernetesVersion=1.29")


def test_a_class_on_the_maintained_row_is_refused_on_a_cgroup_v1_host_before_anyone_starts(teacher, capsys):
    teacher.docker.answers[("docker", "info")] = ok(json.dumps({"MemTotal": 64 * GIB, "OperatingSystem": "CentOS 7", "CgroupVersion": "1"}))
    (teacher.root / "class.csv").write_text("student,kubernetesVersion\nkim,1.36\nlee,1.29\n")
    assert teacher.main("up", teacher.roster) == Exit.USAGE
    err = capsys.readouterr().err
    assert "kim: kubernetesVersion 1.36 does not run on this host" in err and "lee:" not in err
    assert "the roster's kubernetesVersion column, or --set kubernetesVersion=1.29" in err
    assert "Rows that run here: 1.29" in err and teacher.children.calls == []
