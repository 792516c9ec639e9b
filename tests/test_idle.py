"""Idle stop: a lab whose IDE has had no browser activity for --idle-for is stopped, one in
use is kept, one whose idle time cannot be read is kept with a message.

The stand-in code-server is a real HTTP (or HTTPS, self-signed) server on 127.0.0.1 that
answers /healthz as code-server v4.93.1 does (src/node/routes/health.ts) with a heartbeat of
a chosen age. The probe script k8s_lab.idle runs in the IDE container is run here for real,
by `sh` and `curl`, pointed at the stand-in instead of localhost:8443."""

from __future__ import annotations

import http.server
import json
import shutil
import ssl
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import tls_pairs

from k8s_lab import idle, idle_probe, verbs
from k8s_lab.names import LabNames
from k8s_lab.runner import ProcessRunner
from fakes import Answer, FakeRunner, fails, ok

ROOT = Path(__file__).resolve().parent.parent
STARTED = "2026-12-01T08:00:00.123456789Z"
STARTED_EPOCH = 1796112000.123456789


@contextmanager
def stand_in_code_server(heartbeat_age: float | None, certificate: tuple[Path, Path] | None = None):
    """/healthz with lastHeartbeat `heartbeat_age` seconds ago (None: 0, no activity since start)."""

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            last = 0 if heartbeat_age is None else int((time.time() - heartbeat_age) * 1000)
            alive = heartbeat_age is not None and heartbeat_age < 60
            body = json.dumps({"status": "alive" if alive else "expired", "lastHeartbeat": last}).encode()
            self.send_response(200 if self.path == "/healthz" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    if certificate:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*certificate)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def docker_in_front_of(port: int, state: str = "running") -> FakeRunner:
    """`docker inspect` says the IDE's state; `docker exec <ide> sh -c SCRIPT` runs SCRIPT
    here, against the stand-in's port instead of code-server's."""
    here = ProcessRunner()

    def answer(argv: tuple[str, ...]) -> Answer | None:
        argv = ("docker", *argv[1:]) if Path(argv[0]).name == "docker" else argv  # verbs finds docker on PATH
        if argv[:2] == ("docker", "inspect"):
            return ok(f"{state} {STARTED}\n")
        if argv[:3] == ("docker", "exec", "kim-ide") and argv[3:5] == ("sh", "-c"):
            script = argv[5].replace("localhost:8443", f"127.0.0.1:{port}")
            done = here.run(["sh", "-c", script], timeout=20, check=False)
            return Answer(done.returncode, done.stdout, done.stderr)
        return None

    return FakeRunner(answer)


def lab() -> verbs.LabTarget:
    return verbs.LabTarget(LabNames("kim"), workers=2, slot=0, bind_address="127.0.0.1", docker_env={})


@pytest.fixture
def stops(monkeypatch):
    stopped: list[str] = []
    monkeypatch.setattr(verbs, "stop", lambda target, log=print, err=print: stopped.append(target.names.student) or 0)
    return stopped


needs_curl = pytest.mark.skipif(not shutil.which("curl"), reason="the probe script runs curl")


@needs_curl
def test_an_ide_idle_longer_than_the_limit_is_stopped(stops):
    said: list[str] = []
    with stand_in_code_server(heartbeat_age=3 * 3600 + 30) as port:
        code = verbs.stop_if_idle(lab(), 2 * 3600, log=said.append, runner=docker_in_front_of(port))
    assert code == 0 and stops == ["kim"]
    assert said == ["lab 'kim' idle for 3h 00m (since its last browser activity), at least 2h 00m: stopping it"]


@needs_curl
def test_an_ide_in_use_is_kept(stops):
    said: list[str] = []
    with stand_in_code_server(heartbeat_age=30) as port:
        code = verbs.stop_if_idle(lab(), 2 * 3600, log=said.append, runner=docker_in_front_of(port))
    assert code == 0 and stops == []
    assert said == ["lab 'kim' kept running: idle for 0m, less than 2h 00m"]


@needs_curl
def test_an_ide_just_under_the_limit_is_kept(stops):
    with stand_in_code_server(heartbeat_age=2 * 3600 - 120) as port:
        verbs.stop_if_idle(lab(), 2 * 3600, log=lambda line: None, runner=docker_in_front_of(port))
    assert stops == []


@needs_curl
def test_no_heartbeat_since_start_counts_from_the_containers_start(stops):
    """lastHeartbeat 0: nobody opened the IDE since it started (STARTED, long ago)."""
    said: list[str] = []
    with stand_in_code_server(heartbeat_age=None) as port:
        verbs.stop_if_idle(lab(), 2 * 3600, log=said.append, runner=docker_in_front_of(port))
    assert stops == ["kim"] and "no browser activity since the IDE started" in said[0]


@needs_curl
def test_an_ide_that_does_not_answer_is_kept_and_the_message_says_why(stops):
    with stand_in_code_server(heartbeat_age=3 * 3600) as port:
        pass  # closed: nothing answers on its port now
    said: list[str] = []
    code = verbs.stop_if_idle(lab(), 2 * 3600, log=said.append, runner=docker_in_front_of(port))
    assert code == 0 and stops == []
    assert said[0].startswith("lab 'kim' kept running: idle time unknown (code-server's /healthz did not answer")
    assert "curl" in said[0]  # curl's own words say what failed


@contextmanager
def redirect_to_https(https_port: int):
    """Plain HTTP answered as code-server does when it serves TLS: a redirect to https."""

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(302)
            self.send_header("Location", f"https://127.0.0.1:{https_port}{self.path}")
            self.end_headers()
            self.wfile.write(b"Found. Redirecting to https")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def self_signed(tmp_path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    pem_cert, pem_key = tls_pairs.pair("localhost")
    cert.write_text(pem_cert, encoding="ascii")
    key.write_text(pem_key, encoding="ascii")
    return cert, key


@needs_curl
@pytest.mark.skipif(not shutil.which("openssl"), reason="makes the stand-in's certificate")
def test_an_ide_served_over_https_only_is_read(self_signed, stops):
    with stand_in_code_server(heartbeat_age=3 * 3600, certificate=self_signed) as port:
        reading = idle_probe.read_idle(docker_in_front_of(port), "docker", "kim-ide")
    assert reading.known and 3 * 3600 - 5 <= reading.idle_seconds <= 3 * 3600 + 5


@needs_curl
@pytest.mark.skipif(not shutil.which("openssl"), reason="makes the stand-in's certificate")
def test_an_ide_that_redirects_http_to_https_as_code_server_does_is_read(self_signed, stops):
    with stand_in_code_server(heartbeat_age=3 * 3600, certificate=self_signed) as https_port, redirect_to_https(https_port) as port:
        reading = idle_probe.read_idle(docker_in_front_of(port), "docker", "kim-ide")
    assert reading.known and 3 * 3600 - 5 <= reading.idle_seconds <= 3 * 3600 + 5, reading


def test_a_stopped_ide_is_not_stopped_again(stops):
    said: list[str] = []
    verbs.stop_if_idle(lab(), 7200, log=said.append, runner=docker_in_front_of(1, state="exited"))
    assert stops == [] and "the IDE is not running" in said[0] and "kim-ide is exited" in said[0]


def test_a_missing_ide_or_a_silent_docker_is_unknown():
    gone = FakeRunner({("docker", "inspect"): fails("Error: No such object: kim-ide")})
    assert idle_probe.read_idle(gone, "docker", "kim-ide") == idle.Reading(None, running=False, note="there is no container kim-ide")
    down = FakeRunner({("docker", "inspect"): fails("Cannot connect to the Docker daemon at unix:///var/run/docker.sock.")})
    reading = idle_probe.read_idle(down, "docker", "kim-ide")
    assert reading.running and not reading.known and "Cannot connect to the Docker daemon" in reading.note
    assert idle.decide("kim", reading, 7200).message.startswith("lab 'kim' kept running: idle time unknown (docker did not answer")
    silent = FakeRunner({("docker", "inspect"): ok(f"running {STARTED}"), ("docker", "exec"): fails("Error response from daemon: container is restarting")})
    reading = idle_probe.read_idle(silent, "docker", "kim-ide")
    assert not reading.known and reading.running and "container is restarting" in reading.note


def test_the_probe_goes_to_the_labs_docker_host():
    fake = FakeRunner({("docker", "inspect"): ok(f"running {STARTED}"), ("docker", "exec"): ok('1796119200\n{"lastHeartbeat":0}')})
    reading = idle_probe.read_idle(fake, "docker", "kim-ide", {"DOCKER_HOST": "ssh://teacher@lab2"})
    assert [call.env for call in fake.calls] == [{"DOCKER_HOST": "ssh://teacher@lab2"}] * 2
    assert fake.argvs[1][:5] == ("docker", "exec", "kim-ide", "sh", "-c")
    # Both clocks are the Docker host's: its `date` and the container's StartedAt.
    assert reading.idle_seconds == pytest.approx(1796119200 - STARTED_EPOCH)


def test_what_docker_or_code_server_said_is_the_reason_and_no_call_can_hang():
    from k8s_lab.runner import Result, RunError

    hung = RunError(Result(("docker",), -1, "", ""), "timed out after 30 s")

    def raising(argv):
        raise hung

    said = "Warning: ignored\nerror during connect: ssh: handshake failed\nCannot connect to the Docker daemon\n"
    assert idle_probe.read_idle(FakeRunner(raising), "docker", "kim-ide") == idle.Reading(
        None, note=f"docker did not answer: {hung}")
    assert idle_probe.read_idle(FakeRunner({("docker", "inspect"): fails(said)}), "docker", "kim-ide") == idle.Reading(
        None, note="docker did not answer: error during connect: ssh: handshake failed | Cannot connect to the Docker daemon")
    stopped = FakeRunner({("docker", "inspect"): ok(f"exited {STARTED}")})
    assert idle_probe.read_idle(stopped, "docker", "kim-ide") == idle.Reading(None, running=False, note="kim-ide is exited")

    def probe_raises(argv):
        return ok(f"running {STARTED}") if argv[1] == "inspect" else raising(argv)

    assert idle_probe.read_idle(FakeRunner(probe_raises), "docker", "kim-ide") == idle.Reading(
        None, note=f"could not ask code-server: {hung}")
    exec_fails = FakeRunner({("docker", "inspect"): ok(f"running {STARTED}"), ("docker", "exec"): fails(said)})
    assert idle_probe.read_idle(exec_fails, "docker", "kim-ide") == idle.Reading(
        None, note="code-server's /healthz did not answer: error during connect: ssh: handshake failed | Cannot connect to the Docker daemon")
    assert [call.timeout for call in exec_fails.calls] == [idle_probe.TIMEOUT_SECONDS] * 2 == [30, 30]
    silent = FakeRunner({("docker", "inspect"): ok(f"running {STARTED}"), ("docker", "exec"): fails("")})
    assert idle_probe.read_idle(silent, "docker", "kim-ide") == idle.Reading(None, note="code-server's /healthz did not answer")
    # A reading is a reading, whatever the exit status that came with it.
    noisy = FakeRunner({("docker", "inspect"): ok(f"running {STARTED}"),
                        ("docker", "exec"): Answer(1, '1796119200\n{"lastHeartbeat":0}', "curl: (7) refused")})
    assert idle_probe.read_idle(noisy, "docker", "kim-ide").idle_seconds == pytest.approx(1796119200 - STARTED_EPOCH)


# ---- the rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [("2h", 7200), ("90m", 5400), ("1h30m", 5400), ("1d", 86400), (" 2H ", 7200), ("5m", 300)])
def test_durations(text, seconds):
    assert idle.parse_duration(text) == seconds


@pytest.mark.parametrize(("text", "why"), [("2", "not a duration"), ("soon", "not a duration"), ("", "not a duration"),
                                           ("h", "not a duration"), ("4m", "shorter than 5m"), ("0h", "shorter than 5m")])
def test_bad_durations_say_what_to_use(text, why):
    with pytest.raises(ValueError, match=why):
        idle.parse_duration(text)


def test_probe_output_is_read():
    started = idle.parse_started(STARTED)
    assert started == pytest.approx(STARTED_EPOCH)
    assert idle.read_probe('1000\n{"status":"expired","lastHeartbeat":400000}\n', started).idle_seconds == 600
    assert idle.read_probe('1000\n{"status":"alive","lastHeartbeat":999000}', started).idle_seconds == 1
    assert idle.read_probe('1000\n{"lastHeartbeat":2000000}', started).idle_seconds == 0  # a clock step back is not negative
    assert idle.read_probe("1000\n", started).note == "code-server's /healthz did not answer"
    assert "answered something else" in idle.read_probe("1000\n<html>", started).note
    assert "not a time" in idle.read_probe('1000\n{"lastHeartbeat":"soon"}', started).note
    assert "not a time" in idle.read_probe('1000\n{"lastHeartbeat":true}', started).note
    assert not idle.read_probe('1000\n{"lastHeartbeat":0}', None).known
    assert idle.read_inspect(f"running {STARTED}\n") == ("running", started)
    assert idle.parse_started("0001-01-01T00:00:00Z") is not None and idle.parse_started("never") is None


def test_decisions():
    assert idle.decide("kim", idle.Reading(7200), 7200).stop
    assert not idle.decide("kim", idle.Reading(7199), 7200).stop
    assert not idle.decide("kim", idle.Reading(None, note="x"), 60).stop
    assert not idle.decide("kim", idle.Reading(99999, running=False), 60).stop
    assert idle.describe(3720) == "1h 02m" and idle.describe(59) == "0m"


def test_a_bad_idle_for_says_its_fix_to_argparse():
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match=r"^'soon' is not a duration; use e.g. 2h, 90m or 1h30m$"):
        idle.duration_argument("soon")


def test_docker_start_times_are_read_as_python_3_10_reads_them(monkeypatch):
    from datetime import datetime

    class Python310(datetime):
        """Python 3.10 (pyproject's target) reads no `Z` suffix; 3.11 does."""

        @classmethod
        def fromisoformat(cls, text):
            if text.endswith(("Z", "z")):
                raise ValueError(f"Invalid isoformat string: {text!r}")
            return datetime.fromisoformat(text)

    monkeypatch.setattr(idle, "datetime", Python310)
    assert idle.parse_started(STARTED) == pytest.approx(STARTED_EPOCH)


def test_what_the_probe_cannot_read_is_said_and_a_fresh_start_is_not_idle():
    long = "<html>" + "x" * 200
    assert idle.read_probe(f"1000\n{long}", 1.0) == idle.Reading(
        None, note=f"code-server's /healthz answered something else: {long[:80]!r}")
    assert idle.read_probe('1000\n{"lastHeartbeat":0}', None) == idle.Reading(
        None, note="no browser activity since code-server started, and its start time is unknown")
    assert idle.read_probe('1000\n{"lastHeartbeat":0}', 1000.0) == idle.Reading(0.0, note="no browser activity since the IDE started")


def test_every_decision_says_why():
    assert idle.decide("kim", idle.Reading(None, running=False, note="kim-ide is exited"), 7200) == idle.Decision(
        False, "lab 'kim': the IDE is not running; nothing to stop for idleness (kim-ide is exited)")
    assert idle.decide("kim", idle.Reading(None, note="docker did not answer"), 7200) == idle.Decision(
        False, "lab 'kim' kept running: idle time unknown (docker did not answer)")
    assert idle.decide("kim", idle.Reading(3720, note="since its last browser activity"), 7200) == idle.Decision(
        False, "lab 'kim' kept running: idle for 1h 02m, less than 2h 00m")
    assert idle.decide("kim", idle.Reading(7200, note="since its last browser activity"), 7200) == idle.Decision(
        True, "lab 'kim' idle for 2h 00m (since its last browser activity), at least 2h 00m: stopping it")


# ---- as users run it -----------------------------------------------------------------------


@pytest.mark.parametrize("script", ["lab.py", "classroom.py"])
def test_a_bad_idle_for_is_a_usage_error_naming_the_flag(script, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student\nkim\n", encoding="utf-8")
    argv = [sys.executable, str(ROOT / script), "stop", *([str(roster)] if script == "classroom.py" else []), "--idle-for", "3m"]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--idle-for: '3m' is shorter than 5m" in done.stderr and "use 5m or more" in done.stderr


def test_classroom_passes_the_limit_to_each_student():
    import classroom

    argv = classroom.child_argv("stop", "kim", 0, "", None, None, 7200)
    assert argv[-2:] == ["--idle-for", "7200s"] and idle.parse_duration(argv[-1]) == 7200
    assert "--idle-for" not in classroom.child_argv("stop", "kim", 0, "", None, None)


def test_a_students_child_reports_the_decision_to_the_teachers_table(monkeypatch):
    import types

    import classroom_student
    from k8s_lab import session

    monkeypatch.setattr(session, "stack_settings", lambda stack: {"student": "kim", "slot": "3"})
    seen: list[tuple[str, int]] = []

    def decided(target, idle_for, log, err):
        seen.append((target.names.student, idle_for))
        log("lab 'kim' kept running: idle for 3m, less than 2h 00m")
        return 0

    monkeypatch.setattr(verbs, "stop_if_idle", decided)
    phases: list[str] = []
    outputs = classroom_student.power_one("stop", types.SimpleNamespace(name="kim"), phases.append, 7200)
    assert outputs == {"idle": "lab 'kim' kept running: idle for 3m, less than 2h 00m"} and phases == [outputs["idle"]]
    assert seen == [("kim", 7200)]
