"""No update ever remakes a cluster silently (k8s_lab.kind_lifecycle.remake_refusal): the
stack's cluster identity is the cluster command's ID and the lab network's ID, and an
update run keeps the command's ID, so a remake is allowed only where the network is new."""

from __future__ import annotations

import pytest

from k8s_lab import kind_lifecycle as kl
from k8s_lab import limits

PREVIOUS = "cp-1111 net-aaaa"


def test_a_healthy_cluster_with_the_same_control_plane_is_kept():
    assert kl.remake_refusal(PREVIOUS, "cp-1111", "net-aaaa") is None


@pytest.mark.parametrize("control_plane", [None, "cp-2222"], ids=["gone, stopped or NotReady", "remade outside the stack"])
def test_a_remake_on_the_same_network_stops_the_update(control_plane):
    refusal = kl.remake_refusal(PREVIOUS, control_plane, "net-aaaa")
    assert refusal and "identity" in refusal


def test_a_remake_on_a_new_network_changes_the_identity_and_goes_on():
    # A Docker reset, then `up --refresh`: the network is made anew, so is the identity.
    assert kl.remake_refusal(PREVIOUS, None, "net-bbbb") is None


def test_a_state_from_before_the_network_was_recorded_never_remakes():
    assert kl.remake_refusal("cp-1111", "cp-1111", "net-aaaa") is None
    assert kl.remake_refusal("cp-1111", None, "net-bbbb")


def test_the_create_prints_the_control_plane_and_its_network():
    assert kl.identity_line("cp-1111", "net-aaaa") == PREVIOUS
    assert kl.identity_line("cp-1111", None) == "cp-1111"


def test_a_cap_turned_off_that_docker_update_cannot_lift_is_named():
    caps = {"k-control-plane": (2234 * 2**20, 2_000_000_000), "k-worker": (1117 * 2**20, 2_000_000_000)}
    assert kl.caps_that_stay(limits.Shares(cpus="2"), caps) == ["k-control-plane", "k-worker"]
    assert kl.caps_that_stay(limits.Shares(2000, 2000, 1000, None), caps) == ["k-control-plane", "k-worker"]
    assert kl.caps_that_stay(limits.Shares(1675, 2234, 1117, "1.5"), caps) == []
    assert kl.caps_that_stay(limits.Shares(), {"k-control-plane": (0, 0)}) == []


class FakeKind(kl.Kind):
    """Answers the create's questions from a dict; records what it was asked to run."""

    def __init__(self, nodes: dict[str, str], ready: bool, control_plane: str, caps: tuple[int, int] = (0, 0)):
        super().__init__("kind", "docker")
        self.nodes, self.ready, self.cp, self.caps, self.ran = nodes, ready, control_plane, caps, []

    def node_containers(self, cluster):
        return dict(self.nodes)

    def node_readiness(self, cluster):
        return {name: self.ready for name in self.nodes} if self.ready else None

    def run(self, argv, stdin=None, check=True):
        self.ran.append(list(argv))
        out = self.cp if "{{.Id}}" in argv else " ".join(map(str, self.caps))
        return kl.Result(tuple(argv), 0, out, "")


NODES = {"k-control-plane": "exited", "k-worker": "exited"}


def test_an_update_run_on_a_stopped_lab_stops_and_names_the_repair_without_touching_it():
    kind = FakeKind(NODES, ready=False, control_plane="cp-1111")
    with pytest.raises(kl.LifecycleError) as error:
        kl.create(kind, "k", "", 1, 5, log=lambda _: None, previous=PREVIOUS, network_id="net-aaaa")
    assert "python lab.py start" in str(error.value) and "--replace" in str(error.value)
    assert not any(argv[:2] in (["kind", "delete"], ["kind", "create"]) for argv in kind.ran)


def test_an_update_run_that_turns_caps_off_stops_instead_of_lying():
    running = {name: "running" for name in NODES}
    kind = FakeKind(running, ready=True, control_plane="cp-1111", caps=(2234 * 2**20, 0))
    with pytest.raises(kl.LifecycleError, match="cannot lift"):
        kl.create(kind, "k", "", 1, 5, log=lambda _: None, shares=limits.Shares(), previous=PREVIOUS, network_id="net-aaaa")


def test_a_cap_that_stays_names_every_node_holding_one():
    running = {name: "running" for name in NODES}
    kind = FakeKind(running, ready=True, control_plane="cp-1111", caps=(2234 * 2**20, 0))
    with pytest.raises(kl.LifecycleError) as error:
        kl.create(kind, "k", "", 1, 5, log=lambda _: None, shares=limits.Shares(), previous=PREVIOUS, network_id="net-aaaa")
    assert str(error.value) == (
        "cluster 'k': a cap turned off stays on k-control-plane, k-worker (`docker update` cannot lift it); "
        f"the cluster must be made anew. {kl.remake_repair('k')}"
    )
