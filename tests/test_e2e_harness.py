"""The e2e harness's own parts that need no tools: the report hook's diagnostics that time
out, the poller read after `up`, and the Ingress created while ingress-nginx's admission
webhook warms up (issue 27's smaller items)."""

from __future__ import annotations

import subprocess
import time
from types import SimpleNamespace

import conftest
import test_e2e


def test_diagnostics_that_time_out_end_that_report_not_the_session(monkeypatch, tmp_path, capsys):
    def times_out(argv, **kwargs):
        raise subprocess.TimeoutExpired(argv, kwargs.get("timeout"))

    monkeypatch.setenv("K8S_LAB_E2E_DIAGNOSTICS", str(tmp_path))
    monkeypatch.setattr(conftest.subprocess, "run", times_out)
    item = SimpleNamespace(name="test_first_up", get_closest_marker=lambda name: name == "e2e" or None)
    conftest.e2e_diagnostics(item, "a failure seen for the first time in this test")
    assert "e2e diagnostics for test_first_up gave up: TimeoutExpired" in capsys.readouterr().err


def test_the_poller_is_read_after_its_last_poll(monkeypatch):
    """`up` returned while the poller was inside its last poll: finish() waits for it, so
    the answer that poll got is not lost (read right after stop.set(), it was None)."""

    def slow_answer(url: str) -> bool:
        time.sleep(0.5)
        return True

    monkeypatch.setattr(test_e2e, "answers", slow_answer)
    poll = test_e2e.FirstAnswer("http://127.0.0.1:1")
    poll.start()
    time.sleep(0.1)  # the poll is under way
    poll.finish()
    assert not poll.is_alive() and poll.seconds is not None and poll.seconds >= 0.5


def attempts(*answers: tuple[int, str]):
    said = list(answers)
    calls: list[int] = []

    def create() -> subprocess.CompletedProcess:
        calls.append(1)
        code, stderr = said.pop(0) if len(said) > 1 else said[0]
        return subprocess.CompletedProcess(["kubectl"], code, "", stderr)

    return create, calls


WEBHOOK = (1, 'Error from server (InternalError): Internal error occurred: failed calling webhook "validate.nginx.ingress.kubernetes.io": connect: connection refused')


def test_the_ingress_is_created_again_while_the_webhook_warms_up():
    create, calls = attempts(WEBHOOK, WEBHOOK, (0, ""))
    pauses: list[float] = []
    assert test_e2e.until_admitted(create, sleep=pauses.append).returncode == 0
    assert len(calls) == 3 and pauses == [5, 5]


def test_another_failure_is_not_retried_and_the_webhook_is_waited_for_a_bounded_time():
    create, calls = attempts((1, 'error: failed to create ingress: ingresses.networking.k8s.io "app" already exists'))
    assert test_e2e.until_admitted(create, sleep=lambda _: None).returncode == 1 and len(calls) == 1
    create, calls = attempts(WEBHOOK)
    pauses: list[float] = []
    assert test_e2e.until_admitted(create, attempts=24, pause=5, sleep=pauses.append).returncode == 1
    assert len(calls) == 24 and sum(pauses) == 115  # about two minutes, then the failure is the test's
