"""classroom.py as a teacher runs it, as a subprocess, on a copy of the project whose
per-student child is a stand-in (no Pulumi, kind or Docker here): tools found or refused in
one line, a failing student's whole output in its log with no pipe deadlock, ports and
capacity checked before anything starts, destroy confirmed, handouts with the class's host.
Never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from k8s_lab import tools
from k8s_lab.exits import Exit

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120  # seconds; a deadlock fails the test instead of hanging the suite

STAND_IN = '''
"""Stand-in for classroom_student: PHASE lines, then RESULT; or 1 MB on stderr and exit 1."""
import json, os, shutil, sys
ACTIONS = ("up", "preview", "destroy", "status", "stop", "start")
if __name__ == "__main__":
    action, student = sys.argv[1], sys.argv[2]
    with open(os.environ["STAND_IN_RECORD"], "a", encoding="utf-8") as record:
        record.write(json.dumps({"argv": sys.argv[1:], "pulumi": shutil.which("pulumi"),
                                 "backend": os.environ.get("PULUMI_BACKEND_URL"),
                                 "passphrase_file": os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")}) + "\\n")
    print("PHASE creating cluster", flush=True)
    if student in os.environ.get("STAND_IN_HANG", "").split(","):
        import subprocess, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])  # a Pulumi CLI that never ends
        time.sleep(600)
    if student in os.environ.get("STAND_IN_FLOOD", "").split(","):
        for _ in range(1024):
            sys.stderr.write("kind create: " + "x" * 1010 + "\\n")
        sys.stderr.write("error: kind create failed: port 8444 is already allocated\\n")
        sys.exit(1)
    if action in os.environ.get("STAND_IN_NEEDS_FILE", "status").split(","):  # as FileStack: the settings file or no lab
        if not os.path.exists(f"Pulumi.{student}.yaml"):
            print(f"FAILED no lab here (no Pulumi.{student}.yaml)", flush=True)
            sys.exit(1)
    if action == "status":
        from k8s_lab.status import Report
        report = Report(student, "running", "healthy", "3 of 3", True, {"ide": True}, None, None, None, None, None)
        print("RESULT " + json.dumps({"status": json.dumps(report.as_dict())}), flush=True)
        sys.exit(0)
    slot = int(sys.argv[sys.argv.index("--slot") + 1])
    # As the program's outputs: at the stack's hostName when it has one.
    host = ([a.split("=", 1)[1] for a in sys.argv if a.startswith("hostName=")] or ["127.0.0.1"])[-1]
    print("RESULT " + json.dumps({"ideUrl": f"http://{host}:{8444 + 100 * slot}", "idePassword": "pw-" + student,
                                  "ingressUrl": f"http://{host}:{80 + 100 * slot}/"}), flush=True)
'''

FAKE_DOCKER = '''#!/bin/sh
# docker as the classroom asks it: the daemon answers, MemTotal from FAKE_MEM, no containers.
if [ "$1" = "version" ]; then echo "24.0.7"; fi
if [ "$1" = "info" ]; then
  case "$3" in
    *json*) echo "{\\"MemTotal\\": ${FAKE_MEM:-68719476736}, \\"OperatingSystem\\": \\"Debian GNU/Linux\\"}" ;;
    *) echo "24.0.7" ;;
  esac
fi
exit 0
'''


# The pinned versions (k8s_lab/tools.py), as `kind version` and `pulumi version` print them.
FAKE_KIND = f"#!/bin/sh\necho 'kind {tools.KIND_VERSION} go1.22.2 linux/amd64'\n"
FAKE_PULUMI = f"#!/bin/sh\necho 'v{tools.PULUMI_VERSION}'\n"


def fake_tool(folder: Path, name: str, body: str = "#!/bin/sh\nexit 0\n") -> None:
    path = folder / name
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def project(tmp_path):
    """A copy of classroom.py and k8s_lab/ with the stand-in child, fake tools on PATH and a
    clean environment (no PULUMI_* of the machine running the tests)."""
    root = tmp_path / "class"
    root.mkdir()
    shutil.copy(ROOT / "classroom.py", root)
    shutil.copytree(ROOT / "k8s_lab", root / "k8s_lab", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "classroom_student.py").write_text(STAND_IN)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_tool(bin_dir, "docker", FAKE_DOCKER)
    fake_tool(bin_dir, "kind", FAKE_KIND)
    fake_tool(bin_dir, "pulumi", FAKE_PULUMI)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "K8S_LAB_TOOLS_DIR": str(tmp_path / "tools"),
        "STAND_IN_RECORD": str(tmp_path / "record.jsonl"),
    }
    (root / "class.csv").write_text("student\nkim\nlee\npark\n")
    return root, env, bin_dir


def run(project, *args, extra_env=None, stdin=subprocess.DEVNULL, preexec_fn=None):
    root, env, _ = project
    result = subprocess.run(
        [sys.executable, "classroom.py", *args], cwd=root, env={**env, **(extra_env or {})},
        capture_output=True, text=True, timeout=TIMEOUT, stdin=stdin, preexec_fn=preexec_fn,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def records(project) -> list[dict]:
    path = Path(project[1]["STAND_IN_RECORD"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_without_pulumi_and_without_fetching_it_says_so_in_one_line(project):
    (project[2] / "pulumi").unlink()
    result = run(project, "preview", "class.csv", "--no-fetch")
    assert result.returncode == Exit.NOT_READY  # lab.py's code for a missing tool
    lines = result.stderr.splitlines()
    assert lines[0] == "k8s-lab cannot start yet:"
    assert lines[1].startswith("- pulumi is missing (creates and removes the lab). Get it:") and len(lines) == 2
    assert records(project) == []  # no student started


def test_a_class_runs_with_one_backend_and_passphrase_made_once(project):
    result = run(project, "preview", "class.csv")
    assert result.returncode == 0, result.stderr
    seen = records(project)
    assert sorted(r["argv"][1] for r in seen) == ["kim", "lee", "park"]
    assert {r["pulumi"] for r in seen} == {str(project[2] / "pulumi")}
    root = project[0]
    assert {r["backend"] for r in seen} == {"file://" + (root / ".pulumi-state").resolve().as_posix()}
    assert {r["passphrase_file"] for r in seen} == {str(root / ".pulumi-state" / "passphrase")}
    assert "3 of 3 succeeded" in result.stdout
    assert sorted(p.name for p in (root / "logs").iterdir()) == ["kim-preview.log", "lee-preview.log", "park-preview.log"]


def test_a_student_with_a_megabyte_of_errors_is_reported_with_its_log_and_nothing_hangs(project):
    result = run(project, "preview", "class.csv", "--parallel", "2", extra_env={"STAND_IN_FLOOD": "lee"})
    assert result.returncode == 1
    log = project[0] / "logs" / "lee-preview.log"
    assert log.stat().st_size > 1024 * 1024
    assert "2 of 3 succeeded; failed: lee" in result.stdout
    assert "lee: error: kind create failed: port 8444 is already allocated" in result.stdout
    assert f"whole output: {log}" in result.stdout.replace("\n", "")  # rich may wrap; the plain lines do not
    text = log.read_text()
    assert text.startswith("$ ") and "PHASE creating cluster" in text and text.count("kind create: ") == 1024
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_handouts_name_the_classes_host_and_are_never_world_readable(project):
    result = run(project, "up", "class.csv", "--over-capacity", "--set", "bindAddress=0.0.0.0", "--set", "allowRemoteAccess=true",
                 "--set", "hostName=teacher.school.lan")
    assert result.returncode == 0, result.stderr
    text = (project[0] / "handouts" / "kim.md").read_text()
    assert "http://teacher.school.lan:8444" in text and "http://teacher.school.lan:80/" in text and "127.0.0.1" not in text
    assert "http://teacher.school.lan:8444" in result.stdout  # the teacher's table says the same
    lee = next(r["argv"] for r in records(project) if r["argv"][1] == "lee")
    assert lee[-6:] == ["--set", "bindAddress=0.0.0.0", "--set", "allowRemoteAccess=true", "--set", "hostName=teacher.school.lan"]  # into lee's stack


def test_a_lab_on_every_interface_without_a_host_name_gets_this_machines(project):
    result = run(project, "up", "class.csv", "--over-capacity", "--set", "bindAddress=0.0.0.0", "--set", "allowRemoteAccess=true")
    assert result.returncode == 0, result.stderr
    kim = next(r["argv"] for r in records(project) if r["argv"][1] == "kim")
    assert kim[-2:] == ["--set", f"hostName={socket.gethostname()}"]  # so its URL and certificate name what a laptop opens
    assert f"http://{socket.gethostname()}:8444" in (project[0] / "handouts" / "kim.md").read_text()


def test_a_host_name_on_loopback_is_refused_before_anything_starts(project):
    result = run(project, "up", "class.csv", "--over-capacity", "--set", "hostName=teacher.school.lan")
    assert result.returncode == 2
    assert "line 2: kim: hostName teacher.school.lan names how laptops reach the lab, but bindAddress 127.0.0.1" in result.stderr
    assert "bindAddress 0.0.0.0 and allowRemoteAccess true" in result.stderr and records(project) == []


def test_remote_access_without_allow_is_refused_before_anything_starts(project):
    result = run(project, "up", "class.csv", "--over-capacity", "--set", "bindAddress=0.0.0.0")
    assert result.returncode == 2
    assert "line 2: kim: bindAddress 0.0.0.0 publishes the IDE" in result.stderr and "allowRemoteAccess" in result.stderr
    assert records(project) == []


def test_a_taken_port_stops_the_class_before_anything_starts(project):
    (project[0] / "class.csv").write_text("student,slot\nkim,300\nlee,301\n")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 8444 + 100 * 301))
        holder.listen()
        result = run(project, "up", "class.csv", "--over-capacity")
    assert result.returncode == 2
    assert "classroom: nothing was started:\n" in result.stderr  # after capacity warnings, if this host has any
    assert "line 3: lee (slot 301) needs 127.0.0.1:38544 (ide), already in use" in result.stderr
    assert "kim" not in result.stderr and records(project) == []


def test_a_class_too_big_for_the_host_is_refused_with_what_fits(project):
    result = run(project, "up", "class.csv", extra_env={"FAKE_MEM": str(12 * 1024**3)})  # 12 GB; 3 x 6g + 2 GB is 20
    assert result.returncode == 2
    assert "this host: 3 labs may use 20.0 GB at their caps" in result.stderr
    assert "Docker has 12.0 GB: 1 fit" in result.stderr and "--set labMemory=3g: 3 fit" in result.stderr
    assert records(project) == []
    smaller = run(project, "up", "class.csv", "--set", "labMemory=3g", extra_env={"FAKE_MEM": str(12 * 1024**3)})
    assert "labs may use" not in smaller.stderr


def test_destroy_asks_and_never_waits_on_a_missing_terminal(project):
    result = run(project, "destroy", "class.csv")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith("classroom: destroy removes the labs of 3 student(s) (kim, lee, park)")
    assert "--yes" in result.stderr and records(project) == []
    assert run(project, "destroy", "class.csv", "--yes").returncode == 0
    assert len(records(project)) == 3


def test_a_korean_excel_roster_is_read_and_a_broken_one_named_in_one_line(project):
    root = project[0]
    (root / "class.csv").write_bytes("student,이름\nkim,김민수\n".encode("cp949"))
    result = run(project, "preview", "class.csv")
    assert result.returncode == 0 and "read class.csv as CP949" in result.stderr
    (root / "class.csv").write_bytes(b"student\nkim\n\xff\xff\n")
    result = run(project, "preview", "class.csv")
    assert result.returncode == 2
    assert result.stderr.splitlines()[1] == (
        "  - line 3: byte 0xff is not UTF-8, UTF-16 or CP949 text; in Excel: File > Save As > 'CSV UTF-8 (Comma delimited) (*.csv)'"
    )


def test_the_mirror_refuses_ports_of_the_slot_plan(project):
    result = run(project, "mirror", "--port", "5000")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "classroom: port 5000 is often held by macOS's AirPlay Receiver (the docker.io cache's); "
        "fix: venv/bin/python classroom.py mirror --port 5010, or another port off the slot plan",
        "classroom: port 5001 is slot 0's registry port (the registry.k8s.io cache's); "
        "fix: venv/bin/python classroom.py mirror --port 5010, or another port off the slot plan",
    ]


def ignore_interrupts():
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("started", [None, ignore_interrupts], ids=["from a terminal", "as a background job"])
def test_a_student_that_never_ends_is_stopped_with_its_group_and_reported(project, started):
    # A background job (`classroom.py up ... &`) starts with SIGINT ignored: the children still get the interrupt.
    result = run(project, "preview", "class.csv", "--student-timeout", "0.05", extra_env={"STAND_IN_HANG": "kim"}, preexec_fn=started)
    assert result.returncode == 1
    assert "kim: did not finish in 0.05 min and was stopped; its log shows where it was" in result.stdout
    assert "2 of 3 succeeded; failed: kim" in result.stdout
    assert "KeyboardInterrupt" in (project[0] / "logs" / "kim-preview.log").read_text()  # SIGINT first, as Pulumi wants


def test_a_pulumi_fetched_into_the_tools_folder_is_the_one_every_student_runs(project):
    root, env, bin_dir = project
    (bin_dir / "pulumi").unlink()
    tools_pulumi = Path(env["K8S_LAB_TOOLS_DIR"]) / "pulumi" / "bin"
    tools_pulumi.mkdir(parents=True)
    fake_tool(tools_pulumi, "pulumi", FAKE_PULUMI)  # what lab.py up fetched earlier
    result = run(project, "preview", "class.csv", "--no-fetch")
    assert result.returncode == 0, result.stderr
    assert {r["pulumi"] for r in records(project)} == {str(tools_pulumi / "pulumi")}


def test_stop_needs_no_pulumi_and_makes_no_passphrase(project):
    (project[2] / "pulumi").unlink()
    (project[2] / "kind").unlink()
    result = run(project, "stop", "class.csv", "--no-fetch")
    assert result.returncode == 0, result.stderr
    assert len(records(project)) == 3 and not (project[0] / ".pulumi-state" / "passphrase").exists()


@pytest.mark.parametrize(("encoding", "read_as"), [("utf-8-sig", None), ("cp949", "CP949"), ("utf-16", "UTF-16")])
def test_status_json_is_every_roster_student_alone_on_stdout_in_every_excel_encoding(project, encoding, read_as):
    root = project[0]
    (root / "class.csv").write_bytes("student,이름\nkim,김민수\nlee,이서연\npark,박지훈\n".encode(encoding))
    (root / "Pulumi.kim.yaml").write_text("config:\n  k8s-lab:slot: '0'\n")
    result = run(project, "status", "class.csv", "--json")
    assert result.returncode == Exit.FAILED  # two labs absent: not "every lab runs with no problem"
    reports = json.loads(result.stdout)  # nothing else on stdout: the encoding note and the live table are on stderr
    assert [(r["student"], r["state"]) for r in reports] == [("kim", "running"), ("lee", "absent"), ("park", "absent")]
    assert reports[1]["problems"] == ["no lab here (no Pulumi.lee.yaml)"]
    assert reports[1]["repair"] == "venv/bin/python classroom.py up class.csv"  # the class's up, not lab.py's
    assert "phase" in result.stderr and (read_as is None or f"classroom: read class.csv as {read_as}" in result.stderr)


def test_a_class_with_no_lab_here_is_exit_3_with_the_classroom_command_that_makes_them(project):
    result = run(project, "status", "class.csv")
    assert result.returncode == Exit.NO_SUCH_LAB  # as lab.py status for a lab that does not exist: a dead class shows
    assert "Repair park: venv/bin/python classroom.py up class.csv" in result.stdout
    stop = run(project, "stop", "class.csv", extra_env={"STAND_IN_NEEDS_FILE": "stop"})
    assert stop.returncode == Exit.NO_SUCH_LAB
    assert "kim: no lab here (no Pulumi.kim.yaml): `venv/bin/python classroom.py up class.csv` makes it" in stop.stdout
    assert "lab.py" not in stop.stdout + stop.stderr


def test_the_over_capacity_warning_does_not_suggest_over_capacity(project):
    result = run(project, "up", "class.csv", "--over-capacity", extra_env={"FAKE_MEM": str(12 * 1024**3)})
    assert result.returncode == Exit.OK, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("classroom: warning")]  # this host's inotify, too
    assert any(w.startswith("classroom: warning (--over-capacity): this host: 3 labs may use 20.0 GB at their caps") for w in warnings)
    assert all(warning.count("--over-capacity") == 1 for warning in warnings)
    assert any("add memory (caps are limits" in warning for warning in warnings)


def test_destroy_removes_the_handouts_of_the_labs_it_removed(project):
    root = project[0]
    assert run(project, "up", "class.csv", "--over-capacity").returncode == Exit.OK
    assert sorted(p.name for p in (root / "handouts").iterdir()) == ["kim.md", "lee.md", "park.md"]
    result = run(project, "destroy", "class.csv", "--yes", extra_env={"STAND_IN_FLOOD": "lee"})  # lee's destroy fails
    assert result.returncode == Exit.FAILED
    assert [p.name for p in (root / "handouts").iterdir()] == ["lee.md"]  # lee's lab is still there, so is its handout
    assert f"classroom: removed {root / 'handouts' / 'kim.md'}: that lab is gone" in result.stderr


def test_a_loopback_handout_says_it_opens_only_on_this_machine_in_the_rosters_language(project):
    root = project[0]
    (root / "class.csv").write_bytes("student,이름\nkim,김민수\n".encode("cp949"))
    assert run(project, "up", "class.csv", "--over-capacity").returncode == Exit.OK
    korean = (root / "handouts" / "kim.md").read_text(encoding="utf-8")
    assert korean.startswith("# kim의 실습환경\n") and "- 비밀번호: `pw-kim`" in korean
    assert "이 주소는 실습환경이 실행 중인 컴퓨터에서만 열립니다 (주소의 127.0.0.1: " in korean
    assert run(project, "up", "class.csv", "--over-capacity", "--lang", "en").returncode == Exit.OK
    english = (root / "handouts" / "kim.md").read_text(encoding="utf-8")
    assert english.startswith("# kim's practice lab\n") and "These addresses open only on the computer the lab runs on" in english
