"""k8s_lab.power's decisions without Docker: what counts as stopped, the start order, the health wait."""

import itertools

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
    power.wait_healthy(Health(["starting", "starting", "healthy"]), "kim-ide", timeout=60, repair="the repair", sleep=lambda s: None, clock=itertools.count().__next__)


def test_an_ide_that_stays_unhealthy_is_named_with_where_to_look():
    clock = iter([0, 1, 99])
    with pytest.raises(LifecycleError, match=r"kim-ide is unhealthy after start.*docker logs kim-ide"):
        power.wait_healthy(Health(["unhealthy", "unhealthy"]), "kim-ide", timeout=5, repair="the repair", sleep=lambda s: None, clock=lambda: next(clock))


def test_an_ide_that_exits_fails_at_once():
    with pytest.raises(LifecycleError, match="kim-ide is exited"):
        power.wait_healthy(Health(["exited"]), "kim-ide", timeout=60, repair="the repair", sleep=lambda s: None, clock=itertools.count().__next__)


# ---- stop and start with a recording fake runner: the exact calls, in order -------------------

from k8s_lab.kind_lifecycle import NODE_READY_QUERY  # noqa: E402
from k8s_lab.names import LabNames  # noqa: E402
from fakes import fails, in_turn  # noqa: E402
from test_kind_lifecycle_calls import ALL_READY, PS, READY, nodes  # noqa: E402
from k8s_lab.exits import lab_command

LAB = lab_command()  # `venv/bin/python lab.py` as the messages name it

NAMES = LabNames("kim")
STATE = ("docker", "inspect", "--format", "{{.State.Status}}")
HEALTH = ("docker", "inspect", "--format", power.HEALTH_FORMAT, "kim-ide")
PROVE = ("docker", "exec", "kim-ide", "kubectl", "--kubeconfig=/config/.kube/config", "get", "nodes", "-o", "name", "--request-timeout=20s")
SEEN_ALL = ok("node/kim-control-plane\nnode/kim-worker\nnode/kim-worker2\n")
ALL_EXITED = nodes(kim_control_plane="exited", kim_worker="exited", kim_worker2="exited")
ALL_UP = nodes(kim_control_plane="running", kim_worker="running", kim_worker2="running")


def lab(ide="running", registry="running", cluster=ALL_UP, extra=None) -> Kind:
    """A Kind whose docker sees the IDE and registry in these states (None: absent) and these nodes."""
    answers = {
        (*STATE, "kim-ide"): ok(ide + "\n") if ide else fails("Error: No such object: kim-ide"),
        (*STATE, "kim-registry"): ok(registry + "\n") if registry else fails("Error: No such object: kim-registry"),
        PS: cluster,
        ("docker", "stop"): ok(),
        ("docker", "start"): ok(),
        READY: ALL_READY,
        HEALTH: ok("healthy\n"),
        PROVE: SEEN_ALL,
        **(extra or {}),
    }
    return Kind("kind", "docker", runner=FakeRunner(in_turn(answers)))


def argvs(kind: Kind):
    return kind.runner.argvs


def quiet(_):
    pass


def test_the_ides_kubeconfig_path_is_the_one_the_lab_writes():
    assert PROVE[4] == f"--kubeconfig={power.ide_container.KUBECONFIG_FILE}"


def test_stop_stops_ide_registry_then_workers_and_the_control_plane_last_in_one_call():
    kind = lab()
    said = []
    assert power.stop(kind, NAMES, log=said.append) == ["kim-ide", "kim-registry", "kim-worker2", "kim-worker", "kim-control-plane"]
    assert argvs(kind) == [(*STATE, "kim-ide"), (*STATE, "kim-registry"), PS,
                           ("docker", "stop", "kim-ide", "kim-registry", "kim-worker2", "kim-worker", "kim-control-plane")]
    assert said == [f"lab 'kim' stopped (5 containers); everything is kept. `{LAB} start --stack kim` brings it back"]


def test_stop_leaves_stopped_containers_alone_and_a_stopped_lab_makes_no_call():
    kind = lab(registry="exited", cluster=nodes(kim_control_plane="running", kim_worker="exited"))
    assert power.stop(kind, NAMES, log=quiet) == ["kim-ide", "kim-control-plane"]
    assert argvs(kind)[-1] == ("docker", "stop", "kim-ide", "kim-control-plane")
    kind = lab(ide="exited", registry="exited", cluster=ALL_EXITED)
    said = []
    assert power.stop(kind, NAMES, log=said.append) == []
    assert not any(argv[:2] == ("docker", "stop") for argv in argvs(kind))
    assert said == [f"lab 'kim' stopped (0 containers); everything is kept. `{LAB} start --stack kim` brings it back"]


def test_stop_without_a_lab_says_how_to_make_one():
    with pytest.raises(LifecycleError, match=rf"^there is no lab of 'kim' in this Docker to stop. `{LAB} up --stack kim` makes it$"):
        power.stop(lab(ide=None, registry=None, cluster=ok("")), NAMES)


def test_a_failed_docker_stop_is_an_error():
    with pytest.raises(LifecycleError, match="docker stop kim-ide"):
        power.stop(lab(extra={("docker", "stop"): fails("daemon gone")}), NAMES, log=quiet)


def test_start_brings_nodes_first_waits_then_registry_and_ide_then_proves_the_kubeconfig():
    kind = lab(ide="exited", registry="exited", cluster=ALL_EXITED, extra={READY: [fails("refused"), ALL_READY], HEALTH: [ok("starting"), ok("healthy")]})
    said = []
    slept = []
    power.start(kind, NAMES, workers=2, timeout=60, log=said.append, sleep=slept.append)
    assert argvs(kind) == [
        (*STATE, "kim-ide"), (*STATE, "kim-registry"), PS,
        ("docker", "start", "kim-control-plane", "kim-worker", "kim-worker2"),
        READY, READY,
        ("docker", "start", "kim-registry", "kim-ide"),
        HEALTH, HEALTH,
        PROVE,
    ]
    assert slept == [2, 2]
    assert said == [
        "kind cluster 'kim': all 3 nodes Ready",
        "IDE 'kim-ide' is healthy",
        "the IDE's kubeconfig reaches https://kim-control-plane:6443 and sees every node",
    ]


def test_start_of_a_running_lab_starts_nothing_and_still_checks_everything():
    kind = lab()
    power.start(kind, NAMES, workers=2, log=quiet, sleep=quiet)
    assert not any(argv[:2] == ("docker", "start") for argv in argvs(kind))
    assert argvs(kind)[-3:] == [READY, HEALTH, PROVE]


def test_start_starts_only_what_is_stopped():
    kind = lab(registry="exited", cluster=nodes(kim_control_plane="running", kim_worker="exited", kim_worker2="running"))
    power.start(kind, NAMES, workers=2, log=quiet, sleep=quiet)
    assert [argv for argv in argvs(kind) if argv[:2] == ("docker", "start")] == [("docker", "start", "kim-worker"), ("docker", "start", "kim-registry")]


def test_a_lab_without_a_registry_starts():
    kind = lab(registry=None, ide="exited")
    power.start(kind, NAMES, workers=2, log=quiet, sleep=quiet)
    assert ("docker", "start", "kim-ide") in argvs(kind)


@pytest.mark.parametrize(
    "ide, cluster, missing",
    [
        (None, ALL_EXITED, "kim-ide"),
        ("exited", nodes(kim_control_plane="exited", kim_worker="exited"), "kim-worker2"),
        (None, ok(""), "kim-control-plane, kim-worker, kim-worker2, kim-ide"),
    ],
)
def test_start_names_what_is_missing_and_starts_nothing(ide, cluster, missing):
    kind = lab(ide=ide, cluster=cluster)
    with pytest.raises(LifecycleError) as raised:
        power.start(kind, NAMES, workers=2, sleep=quiet)
    assert str(raised.value) == f"lab 'kim' lacks {missing}: `{LAB} up --stack kim` makes what is missing again"
    assert len(argvs(kind)) == 3  # looked, nothing started


def test_start_needs_every_node_of_the_labs_size():
    kind = lab(cluster=nodes(kim_control_plane="running", kim_worker="running"))
    power.start(kind, NAMES, workers=1, log=quiet, sleep=quiet, extra={}) if False else None
    with pytest.raises(LifecycleError, match="lacks kim-worker2"):
        power.start(kind, NAMES, workers=2, sleep=quiet)


def test_nodes_that_stay_not_ready_fail_start_before_the_ide_is_touched():
    kind = lab(ide="exited", extra={READY: fails("refused")})
    times = iter([0, 0, 100])
    with pytest.raises(LifecycleError, match="nodes not Ready after 5s"):
        power.wait_until_ready(kind, "kim", 2, timeout=5, sleep=quiet, clock=lambda: next(times))
    kind = lab(ide="exited", extra={READY: fails("refused")})
    with pytest.raises(LifecycleError, match="nodes not Ready after 0s"):
        power.start(kind, NAMES, workers=2, timeout=0, sleep=quiet)
    assert ("docker", "start", "kim-ide") not in argvs(kind)


@pytest.mark.parametrize(
    "answer, detail",
    [
        (fails("dial tcp: lookup kim-control-plane: no such host"), "dial tcp: lookup kim-control-plane: no such host"),
        (ok("node/kim-control-plane\nnode/kim-worker\n"), "node/kim-worker"),  # a node short
        (ok(""), "no answer"),
        (ok("node/kim-control-plane\nnode/kim-worker\nnode/kim-worker2\nnode/other\n"), "node/other"),
    ],
)
def test_a_kubeconfig_that_does_not_see_every_node_fails_start(answer, detail):
    with pytest.raises(LifecycleError) as raised:
        power.start(lab(extra={PROVE: answer}), NAMES, workers=2, log=quiet, sleep=quiet)
    assert str(raised.value) == f"the IDE's kubeconfig does not reach the cluster after start ({detail}). `{LAB} up --stack kim` writes it again"


def test_health_is_the_check_or_the_state_or_missing():
    assert power.health(lab(), "kim-ide") == "healthy"
    assert power.health(lab(extra={HEALTH: fails("No such object")}), "kim-ide") == "missing"


def test_a_container_without_a_health_check_is_healthy_when_running():
    power.wait_healthy(lab(extra={HEALTH: ok("running\n")}), "kim-ide", timeout=60, repair="the repair", sleep=quiet, clock=itertools.count().__next__)


@pytest.mark.parametrize("status", ["missing", "dead"])
def test_an_ide_that_is_gone_or_dead_fails_at_once(status):
    kind = lab(extra={HEALTH: ok(status) if status != "missing" else fails("No such object")})
    with pytest.raises(LifecycleError, match=f"^kim-ide is {status} after start \\(waited up to 60s\\)"):
        power.wait_healthy(kind, "kim-ide", timeout=60, repair="the repair", sleep=quiet, clock=itertools.count().__next__)
    assert len(argvs(kind)) == 1


def test_lab_parts_reads_each_container_and_the_nodes():
    parts = power.lab_parts(lab(registry=None, cluster=nodes(kim_control_plane="exited")), NAMES)
    assert parts == power.LabParts({"kim-ide": "running"}, {}, {"kim-control-plane": "exited"})
    assert not parts.stopped and parts.partly_stopped
    assert not power.LabParts({"kim-ide": "running"}, {}, {"kim-control-plane": "running"}).partly_stopped


def test_the_ready_query_is_kinds_own():
    assert NODE_READY_QUERY[:3] == ["kubectl", "--kubeconfig=/etc/kubernetes/admin.conf", "get"]


def test_an_ide_that_stays_starting_fails_exactly_at_the_deadline():
    times = iter([100, 100, 130])  # deadline 130: asked at 100, then at 130 it gives up
    kind = lab(extra={HEALTH: ok("starting")})
    with pytest.raises(LifecycleError) as raised:
        power.wait_healthy(kind, "kim-ide", timeout=30, sleep=quiet, clock=lambda: next(times), repair="the repair")
    assert str(raised.value) == (
        "kim-ide is starting after start (waited up to 30s). Look with `docker logs kim-ide`; "
        "`the repair` makes it again if it stays so"
    )
    assert len(argvs(kind)) == 2


def test_start_waits_ten_minutes_by_default(monkeypatch):
    waited = []
    monkeypatch.setattr(power, "wait_until_ready", lambda kind, cluster, workers, timeout, sleep: waited.append(timeout))
    monkeypatch.setattr(power, "wait_healthy", lambda kind, container, timeout, sleep, repair: waited.append(timeout))
    power.start(lab(), NAMES, workers=2, log=quiet, sleep=quiet)
    assert waited == [600, 600]


def test_an_unhealthy_ide_after_start_names_its_labs_up():
    """The repair of `start` names the lab's --stack: classroom.py start shows it to a teacher."""
    with pytest.raises(LifecycleError) as raised:
        power.wait_healthy(Health(["exited"]), "lee-ide", timeout=60, repair=power.fix("up", LabNames("lee")), sleep=lambda s: None)
    assert f"`{lab_command('up', '--stack', 'lee')}` makes it again" in str(raised.value)
