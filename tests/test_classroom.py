"""The classroom: roster, stable slots, parallel runs, handouts, and the command line."""

import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8s_lab.handout import render_handout, write_handout
from k8s_lab.orchestrate import Progress, exit_code, run_all
from k8s_lab.roster import Entry, RosterError, allocate_slots, parse_roster

ROOT = Path(__file__).resolve().parent.parent


def test_roster_with_optional_columns():
    entries = parse_roster("student,slot,dockerHost\nkim,,\nlee,5,ssh://teacher@lab2\n\npark,,\n")
    assert [(e.line, e.student, e.slot, e.docker_host) for e in entries] == [
        (2, "kim", None, ""),
        (3, "lee", 5, "ssh://teacher@lab2"),
        (5, "park", None, ""),
    ]
    assert [e.student for e in parse_roster("\ufeffstudent\nkim\n")] == ["kim"]  # Excel's BOM


def test_every_roster_problem_is_reported_with_its_line():
    text = "student,slot\nKim,\nlee,1\nlee,2\npark,1\nchoi,x\njung,999\n"
    with pytest.raises(RosterError) as caught:
        parse_roster(text)
    problems = caught.value.problems
    assert problems == [
        "line 2: student 'Kim' is not usable: it must be lowercase letters, digits and '-', starting and ending with a letter or digit; "
        "did you mean 'kim'?",
        "line 4: student 'lee' is listed twice (first on line 3)",
        "line 5: slot 1 is already given on line 3",
        "line 6: slot 'x' is not a whole number (0..570)",
        "line 7: slot 999 is outside 0..570",
    ]


def test_same_slot_on_different_docker_hosts_is_fine():
    entries = parse_roster("student,slot,dockerHost\nkim,1,ssh://a\nlee,1,ssh://b\n")
    assert [e.slot for e in entries] == [1, 1]


def test_bad_header():
    with pytest.raises(RosterError, match="line 1: the header"):
        parse_roster("name,slot\nkim,1\n")
    with pytest.raises(RosterError, match="unknown column 'email'"):
        parse_roster("student,email\nkim,k@x\n")


def test_allocation_keeps_existing_and_fills_the_lowest_free():
    entries = [Entry(2, "kim", None, ""), Entry(3, "lee", None, ""), Entry(4, "park", 0, ""), Entry(5, "choi", None, "ssh://b")]
    assert allocate_slots(entries, {"lee": 7}) == {"park": 0, "lee": 7, "kim": 1, "choi": 0}


names = st.sampled_from([f"s{i}" for i in range(25)])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), names), min_size=1, max_size=40))
def test_adding_or_removing_students_never_moves_a_kept_one(operations):
    roster: list[str] = []
    slots: dict[str, int] = {}  # what the stacks' config holds between runs
    for add, student in operations:
        if add and student not in roster:
            roster.append(student)
        elif not add and student in roster:
            roster.remove(student)
            slots.pop(student, None)  # their stack is destroyed and removed
        entries = [Entry(i + 2, s, None, "") for i, s in enumerate(roster)]
        allocated = allocate_slots(entries, slots)
        for kept in roster:
            if kept in slots:
                assert allocated[kept] == slots[kept], f"{kept} moved"
        assert len(set(allocated.values())) == len(allocated)  # no shared slot on one host
        slots = dict(allocated)


def test_parallel_runs_are_bounded_and_a_failure_stops_nobody():
    running, peak = 0, 0
    lock = threading.Lock()

    def job(student, report):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        report("working")
        time.sleep(0.05)
        with lock:
            running -= 1
        if student == "s3":
            raise RuntimeError("kind create failed: port 80 is already allocated")
        return {"ideUrl": f"http://127.0.0.1/{student}"}

    students = [f"s{i}" for i in range(8)]
    progress = Progress()
    outcomes = run_all(students, job, parallel=3, progress=progress)
    assert peak == 3
    assert [o.student for o in outcomes] == students
    failed = [o for o in outcomes if not o.ok]
    assert [(o.student, o.detail) for o in failed] == [("s3", "kind create failed: port 80 is already allocated")]
    assert all(o.outputs["ideUrl"].endswith(o.student) for o in outcomes if o.ok)
    assert exit_code(outcomes) == 1
    assert dict((s, p) for s, p, _ in progress.snapshot())["s3"] == "failed"
    assert exit_code([o for o in outcomes if o.ok]) == 0


class FailedWithLog(Exception):
    log = "/class/logs/park-up.log"


def test_the_display_sees_each_phase_and_each_outcome_keeps_its_reason_log_and_time():
    progress = Progress()
    seen = {}

    def job(student, report):
        seen[student] = [(s, p) for s, p, _ in progress.snapshot()]
        report("creating cluster")
        seen[f"{student} reported"] = dict((s, p) for s, p, _ in progress.snapshot())[student]
        if student == "lee":
            raise RuntimeError()  # no message: its kind is the reason
        if student == "park":
            raise FailedWithLog("kind create failed")
        return {"ideUrl": "http://h:8444"}

    before = time.monotonic()
    kim, lee, park = run_all(["kim", "lee", "park"], job, parallel=1, progress=progress)
    elapsed = time.monotonic() - before
    assert seen["kim"] == [("kim", "starting"), ("lee", "waiting"), ("park", "waiting")]  # one at a time
    assert seen["kim reported"] == seen["lee reported"] == "creating cluster"
    assert [(s, p) for s, p, _ in progress.snapshot()] == [("kim", "done"), ("lee", "failed"), ("park", "failed")]
    assert (kim.ok, kim.outputs, kim.detail, kim.log) == (True, {"ideUrl": "http://h:8444"}, "", "")
    assert (lee.ok, lee.detail, lee.log) == (False, "RuntimeError", "")
    assert (park.ok, park.detail, park.log) == (False, "kind create failed", "/class/logs/park-up.log")
    assert all(0 <= outcome.seconds <= elapsed for outcome in (kim, lee, park))
    with pytest.raises(ValueError, match="^parallel must be at least 1$"):
        run_all(["kim"], job, parallel=0)


def test_handout_content_and_permissions(tmp_path):
    text = render_handout("kim", "http://127.0.0.1:8444", "pw-123456", "localhost:5001", "http://127.0.0.1:80/")
    for needle in ("http://127.0.0.1:8444", "`pw-123456`", "kubectl get nodes", "docker push localhost:5001/app:1", "Ingress"):
        assert needle in text
    path = write_handout(tmp_path / "handouts", "kim", text)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    write_handout(tmp_path / "handouts", "kim", text)  # rewritten: back to owner-only
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


HANDOUT = ROOT / "tests" / "fixtures" / "handout-kim.md"


def test_a_handout_reads_as_reviewed_in_tests_fixtures():
    """What a student reads, every line of it: the addresses, the browser's warning right after
    them, kubectl, their files, and their own images. A change here is a change students see:
    review the fixture with it."""
    text = render_handout("kim", "https://lab2:8444", "pw-123456", "lab2:5001", "http://lab2:80/", "self-signed")
    assert text == HANDOUT.read_text(encoding="utf-8")
    plain = render_handout("kim", "https://lab2:8444", "pw-123456", None, None, "given")
    assert plain.splitlines()[-1] == "Your files live in `/code/cloud-cicd-src`; they stay when the lab is removed."


def test_a_handout_is_never_readable_by_others_not_even_while_written(tmp_path, monkeypatch):
    import os

    from k8s_lab import handout

    modes = []
    chmod = os.chmod
    monkeypatch.setattr(handout.os, "chmod", lambda path, mode: modes.append(stat.S_IMODE(os.stat(path).st_mode)) or chmod(path, mode))
    umask = os.umask(0o022)  # the usual one: a file made without a mode would be world-readable
    try:
        path = write_handout(tmp_path / "class" / "handouts", "kim", "pw-123456 \u00e9\n")  # its folders are made
    finally:
        os.umask(umask)
    assert modes == [0o600] and path.read_bytes() == "pw-123456 \u00e9\n".encode("utf-8")


def classroom(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "classroom.py"), *args], capture_output=True, text=True, cwd=cwd)


def test_cli_help():
    result = classroom("--help")
    assert result.returncode == 0
    for action in ("up", "preview", "destroy", "status"):
        assert action in result.stdout
    assert "--parallel" in classroom("up", "--help").stdout


def test_cli_refuses_a_bad_roster_before_running_anything(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("student,slot\nkim,1\nlee,1\n")
    result = classroom("up", str(roster))
    assert result.returncode == 2
    assert "line 3: slot 1 is already given on line 2" in result.stderr and "nothing was run" in result.stderr


def test_cli_missing_roster_and_bad_parallel(tmp_path):
    missing = classroom("status", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "no roster at" in missing.stderr
    roster = tmp_path / "class.csv"
    roster.write_text("student\nkim\n")
    bad = classroom("up", str(roster), "--parallel", "0")
    assert bad.returncode == 2 and "--parallel must be at least 1" in bad.stderr


def test_cli_has_stop_start_and_status_json():
    help_text = classroom("--help").stdout
    assert "stop" in help_text and "start" in help_text
    assert "--json" in classroom("status", "--help").stdout


def test_class_status_is_one_table_of_every_student_and_names_who_could_not_be_asked(capsys):
    import json as json_module

    import classroom as classroom_module
    from k8s_lab import status
    from k8s_lab.orchestrate import Outcome

    def report(student, state, repair):
        return status.Report(student, state, "healthy", "3 of 3", True, {"ide": True}, 2200.0, 6144.0, 5.0, 2.0, None, [], repair)

    outcomes = [
        Outcome("kim", True, 1.0, "", {"status": json_module.dumps(report("kim", "running", None).as_dict())}),
        Outcome("lee", True, 1.0, "", {"status": json_module.dumps(report("lee", "stopped", "python lab.py start --stack lee").as_dict())}),
        Outcome("park", False, 1.0, "stack not found"),
    ]
    classroom_module.show_status(outcomes, as_json=True)
    out, err = capsys.readouterr()
    assert [(r["student"], r["state"]) for r in json_module.loads(out)] == [("kim", "running"), ("lee", "stopped"), ("park", "unknown")]
    assert "park: status unknown: stack not found" in err
    classroom_module.show_status(outcomes, as_json=False)
    out, _ = capsys.readouterr()
    assert "python lab.py start --stack lee" in out and "kim" in out


def test_cli_mirror_needs_no_roster():
    help_text = classroom("mirror", "--help").stdout
    assert "--port" in help_text and "--host" in help_text and "roster" not in help_text


def test_a_handout_with_a_password_of_any_alphabet_is_utf8_whatever_the_locale(tmp_path, ascii_locale):
    # idePassword may be any text of 12 characters or more; Windows' cp1252 cannot write Hangul.
    text = render_handout("kim", "http://127.0.0.1:8444", "비밀번호-안전한-암호-2024", None, None)
    assert write_handout(tmp_path, "kim", text).read_bytes() == text.encode("utf-8")
