"""k8s_lab.power's decisions without Docker: what counts as stopped, the start order, the health wait."""

import pytest

from k8s_lab import power
from k8s_lab.kind_lifecycle import Kind, LifecycleError
from fakes import FakeRunner, ok


def test_stopped_means_present_and_nothing_running():
    assert power.LabParts({"kim-ide": "exited"}, {}, {"kim-control-plane": "exited"}).stopped
    assert not power.LabParts({"kim-ide": "running"}, {}, {"kim-control-plane": "exited"}).stopped
    assert power.LabParts({"kim-ide": "running"}, {}, {"kim-control-plane": "exited"}).partly_stopped
    assert not power.LabParts({}, {}, {}).stopped  # nothing there is not a stopped lab


def test_control_plane_starts_first():
    nodes = {"kim-worker2": "exited", "kim-control-plane": "exited", "kim-worker": "exited"}
    assert power.node_order(nodes) == ["kim-control-plane", "kim-worker", "kim-worker2"]


def Health(answers):
    """A Kind whose `docker inspect` of the IDE's health says each of `answers` in turn."""
    said = iter(answers)
    return Kind("kind", "docker", runner=FakeRunner(lambda argv: ok(next(said) + "\n")))


def test_wait_healthy_waits_through_starting():
    power.wait_healthy(Health(["starting", "starting", "healthy"]), "kim-ide", timeout=60, sleep=lambda s: None, clock=lambda: 0)


def test_an_ide_that_stays_unhealthy_is_named_with_where_to_look():
    clock = iter([0, 1, 99])
    with pytest.raises(LifecycleError, match=r"kim-ide is unhealthy after start.*docker logs kim-ide"):
        power.wait_healthy(Health(["unhealthy", "unhealthy"]), "kim-ide", timeout=5, sleep=lambda s: None, clock=lambda: next(clock))


def test_an_ide_that_exits_fails_at_once():
    with pytest.raises(LifecycleError, match="kim-ide is exited"):
        power.wait_healthy(Health(["exited"]), "kim-ide", timeout=60, sleep=lambda s: None, clock=lambda: 0)
