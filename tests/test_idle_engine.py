"""Idle stop on a real Docker Engine: an IDE stand-in (a busybox container whose `curl` answers
/healthz as code-server v4.93.1 does) is read through a real `docker inspect` (its
StartedAt as Docker prints it, its own clock) and `docker exec`, and stopped or kept."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from k8s_lab import verbs
from k8s_lab.names import LabNames

# code-server and curl stand-in in one: "curl <url>" prints what /healthz would answer, kept
# in /www/healthz, or fails as `curl -f` does on an error. (HTTP itself is exercised against a
# real server in tests/test_idle.py; busybox-static's wget crashes on name lookup here.)
FAKE_CURL = '#!/bin/sh\ntest -f /www/healthz || { echo "curl: (22) The requested URL returned error: 404" >&2; exit 22; }\ncat /www/healthz\n'


@pytest.fixture
def stand_in_ide(docker_client, base_image):
    names = LabNames(f"k8slabidle-{uuid.uuid4().hex[:6]}")
    container = docker_client.containers.run(
        base_image, ["sh", "-c", "busybox mkdir -p /www && exec sleep 3600"], name=names.ide_container, detach=True
    )
    setup = (
        "busybox ln -s busybox /bin/date && busybox ln -s busybox /bin/chmod"
        f" && cat > /bin/curl <<'EOF'\n{FAKE_CURL}EOF\nchmod 755 /bin/curl"
    )
    assert container.exec_run(["sh", "-c", setup]).exit_code == 0

    def heartbeat(age_seconds: float | None) -> None:
        last = 0 if age_seconds is None else int((time.time() - age_seconds) * 1000)
        body = json.dumps({"status": "expired", "lastHeartbeat": last})
        assert container.exec_run(["sh", "-c", f"echo '{body}' > /www/healthz"]).exit_code == 0

    try:
        yield names, container, heartbeat
    finally:
        container.remove(force=True)


def target(names: LabNames) -> verbs.LabTarget:
    return verbs.LabTarget(names, workers=0, slot=0, bind_address="127.0.0.1", docker_env={})


@pytest.mark.engine
def test_an_idle_ide_is_stopped_and_one_in_use_kept(stand_in_ide):
    names, container, heartbeat = stand_in_ide
    said: list[str] = []
    heartbeat(90)
    assert verbs.stop_if_idle(target(names), 5 * 60, log=said.append) == 0
    container.reload()
    assert container.status == "running" and said[-1].endswith("idle for 1m, less than 5m")

    heartbeat(None)  # nobody since the container started, seconds ago
    verbs.stop_if_idle(target(names), 5 * 60, log=said.append)
    container.reload()
    assert container.status == "running" and "idle for 0m" in said[-1]

    heartbeat(2 * 3600 + 30)
    assert verbs.stop_if_idle(target(names), 2 * 3600, log=said.append) == 0, said
    container.reload()
    assert container.status == "exited", said
    assert "idle for 2h 00m (since its last browser activity), at least 2h 00m: stopping it" in said[-2]


@pytest.mark.engine
def test_an_ide_without_an_answer_is_kept(stand_in_ide):
    names, container, _ = stand_in_ide  # no /www/healthz: curl -f fails
    said: list[str] = []
    verbs.stop_if_idle(target(names), 5 * 60, log=said.append)
    container.reload()
    assert container.status == "running" and said[0].startswith(f"lab {names.student!r} kept running: idle time unknown")
