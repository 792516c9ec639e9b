"""The second `up` under mocks: every golden stack (and stacks with caps set, or the maintained
kubernetesVersion row), its inputs
turned into what the real providers store (tests/readback_model.py), diffed as the
providers diff. A real second `up` changes nothing, on hosts with and without swap
accounting, with and without the daemon's default network options, with and without memory
and CPU cgroups (where those are absent and caps are set, doctor and `up` refuse the host
first), so here: no replace, no update, and no set property the model does not know."""

from __future__ import annotations

import pytest
import tls_pairs

from golden_record import STACKS
from lab_mocks import evaluate
from k8s_lab import limits
from readback_model import (
    CONTAINER, DEFAULT_NETWORK_OPTS, HOSTS, MODEL, Host, create_failures, create_fails, docker_update_memory,
    nano_to_decimal_string, parse_cpus, refreshed_while_stopped, second_up, step,
)

CAPS_STACKS: dict[str, dict[str, str]] = {
    "caps-fraction": {"workspaceRoot": "/home/kim/k8s-lab", "labMemory": "4g", "labCpus": "1.5"},
    "caps-ten-cpus": {"workspaceRoot": "/home/kim/k8s-lab", "labMemory": "8192m", "labCpus": "10"},
    "caps-off": {"workspaceRoot": "/home/kim/k8s-lab", "labMemory": "0", "labCpus": "0"},
    "mirror": {"workspaceRoot": "/home/kim/k8s-lab", "registryMirror": "http://teacher:5000"},
    # The maintained version row: kind v0.32.0's node image, the Gateway API way in.
    "kubernetes-1.36": {"workspaceRoot": "/home/kim/k8s-lab", "kubernetesVersion": "1.36"},
    "kubernetes-1.36-mirror": {"workspaceRoot": "/home/kim/k8s-lab", "kubernetesVersion": "1.36", "registryMirror": "http://teacher:5000"},
    "https-host-name": {  # the self-signed certificate made for hostName
        "workspaceRoot": "/home/kim/k8s-lab", "bindAddress": "0.0.0.0", "allowRemoteAccess": "true", "hostName": "teacher.school.lan",
    },
    "https-given": {
        "workspaceRoot": "/home/kim/k8s-lab", "bindAddress": "0.0.0.0", "allowRemoteAccess": "true", "mountDockerSocket": "false",
        "ideTlsCert": tls_pairs.pair("lab2")[0],
        "ideTlsKey": tls_pairs.pair("lab2")[1],
    },
}
SECRET_KEYS = ("idePassword", "ideTlsKey")
ALL = {**{name: config for name, (_, config) in STACKS.items()}, **CAPS_STACKS}


def stack_of(name: str) -> str:
    return STACKS[name][0] if name in STACKS else "kim"


@pytest.fixture(scope="module")
def evaluations():
    return {
        name: evaluate(config, stack=stack_of(name), preview=True, secret_keys=tuple(key for key in SECRET_KEYS if key in config))
        for name, config in ALL.items()
    }


def test_the_model_covers_every_property_the_program_sets(evaluations):
    """Coverage: properties modelled / properties the golden and caps stacks set."""
    set_properties = {
        (r.type, key) for evaluation in evaluations.values() for r in evaluation.resources if r.custom for key in r.inputs
    }
    modelled = {(type_, key) for type_, rules in MODEL.items() for key in rules}
    missing = set_properties - modelled
    assert not missing, f"not modelled: {sorted(missing)}"
    assert len(set_properties) >= 40, "the stacks set fewer properties than expected: is the walk broken?"


@pytest.mark.parametrize(
    "nano, text",
    [(0, "0"), (1_000_000_000, "1.0"), (1_500_000_000, "1.5"), (2_000_000_000, "2.0"), (2_250_000_000, "2.25"),
     (10_000_000_000, "10."), (50_000_000, "0.1"), (250_000_000, "0.25")],
)
def test_nano_cpus_read_back_as_the_provider_writes_them(nano, text):
    # The first five are tpd helpers_test.go TestNanoInt64ToDecimalString's cases.
    assert nano_to_decimal_string(nano) == text


def test_cpus_parse_like_the_docker_cli():
    assert parse_cpus("1.5") == 1_500_000_000
    with pytest.raises(ValueError):
        parse_cpus("0.0000000001")


def test_the_model_sees_the_defects_it_was_built_for():
    """The model is not a mirror of the program: the inputs the program used to send
    (cpus "2", memorySwap = memory) are changes on a real second `up`."""

    class Old:
        type = "docker:index/container:Container"
        urn = "urn:pulumi:kim::k8s-lab::ide-container"
        custom = True
        inputs = {"cpus": "2", "memory": 1675, "memorySwap": 1675}

    changes, _ = second_up([Old()], Host(swap_accounting=False))
    assert {(c.property, c.replace) for c in changes} == {("cpus", True), ("memorySwap", False)}


def ide_container(config: dict[str, str]):
    return evaluate(config, stack="kim", preview=True).one(CONTAINER, "ide-container")


@pytest.mark.parametrize(
    "before, after",
    [({"labMemory": "6g"}, {"labMemory": "0"}), ({"labMemory": "6g"}, {"labMemory": "3g"}), ({"labMemory": "3g"}, {"labMemory": "6g"})],
    ids=["switched off", "lowered", "raised"],
)
def test_a_changed_memory_cap_is_the_cap_the_ide_runs_with(before, after):
    """State and the live container agree after the `up` that changed the cap: an
    in-place update cannot switch a cap off (moby ignores Memory=0), so it must replace."""
    host = Host(swap_accounting=False)
    old = ide_container({"workspaceRoot": "/w", **before})
    new = ide_container({"workspaceRoot": "/w", **after})
    rules = MODEL[CONTAINER]
    state = {key: rules[key].stored(value, host) for key, value in old.inputs.items()}
    live_memory = int(old.inputs.get("memory") or 0)
    what = step(rules, new.replace_on_changes, state, new.inputs)
    live_after = int(new.inputs.get("memory") or 0) if what == "replace" else docker_update_memory(live_memory, new.inputs)
    assert live_after == int(new.inputs.get("memory") or 0), f"{what}: the IDE runs with {live_after} MB, state says {new.inputs.get('memory')}"


# ---- model v2: host kinds, a refresh of a stopped lab, the health check ---------------------------


@pytest.mark.parametrize("host", HOSTS, ids=[h.name for h in HOSTS])
@pytest.mark.parametrize("name", sorted(ALL))
def test_every_stack_comes_up_on_every_host_kind_or_is_refused_before(evaluations, name, host):
    """On each host kind the first `up` creates everything and the second changes nothing,
    or `lab.py doctor`/`up` refuse the host, naming the setting and its fix, before Pulumi runs."""
    config = ALL[name]
    refusals = limits.host_problems(config.get("labMemory"), config.get("labCpus"), host.facts)
    if refusals:
        assert not host.cgroups, f"{name}: refused on a host with cgroups: {refusals}"
        assert all(str(p).endswith("(no cap)") and p.key in ("labMemory", "labCpus") for p in refusals)
        return
    assert not create_failures(evaluations[name].resources, host), f"{name} on {host.name}: Docker refuses the create"
    changes, unmodelled = second_up(evaluations[name].resources, host)
    assert not unmodelled, f"{name}: set but not in tests/readback_model.py MODEL: {sorted(set(unmodelled))}"
    assert not changes, f"{name} on a host with {host.name}:\n" + "\n".join(map(str, changes))


def test_a_host_without_cgroups_is_refused_with_caps_and_served_without():
    no_cgroups = Host(False, (), False, "no cgroups").facts
    refused = limits.host_problems(None, None, no_cgroups)  # the defaults: 6g, 2 CPUs
    assert [str(p) for p in refused] == [
        "labMemory = '6g': this Docker host has no memory cgroup (docker info MemoryLimit false: rootless Docker without "
        "cgroup delegation, some WSL and NAS setups): Docker drops the cap and every `up` would replace the IDE. "
        "Fix: pulumi config set labMemory 0 (no cap)",
        "labCpus = '2': this Docker host has no CPU CFS scheduler (docker info CpuCfsQuota false: rootless Docker without "
        "cgroup delegation, some WSL and NAS setups): Docker refuses to create the containers. Fix: pulumi config set labCpus 0 (no cap)",
    ]
    assert limits.host_problems("0", "0", no_cgroups) == []
    assert limits.host_problems(None, None, {}) == []  # Docker did not answer: nothing is known, nothing refused


def test_more_cpus_than_the_host_has_is_refused():
    facts = {"MemoryLimit": True, "CpuCfsQuota": True, "NCPU": 2}
    assert [p.fix for p in limits.host_problems(None, "4", facts)] == ["[[set labCpus 2]] (or less, or 0 for no cap)"]  # a fix template (k8s_lab/shell_form.py)
    assert limits.host_problems(None, "2", facts) == []


def test_the_model_sees_what_each_new_host_axis_does_to_the_old_program():
    """What the program used to send, on the new host kinds: network options read back with
    the daemon's defaults (a replace), a memory cap dropped by Docker (a replace through
    replace_on_changes), and a CPU cap Docker refuses to create."""

    class Old:
        def __init__(self, type_, inputs, replace_on_changes=()):
            self.type, self.inputs, self.replace_on_changes = type_, inputs, list(replace_on_changes)
            self.urn, self.name, self.custom, self.ignore_changes = f"urn::{type_}", "old", True, []

    network = Old("docker:index/network:Network", {"options": {"com.docker.network.enable_ipv6": "false"}})
    ide = Old(CONTAINER, {"memory": 1675, "memorySwap": -1, "cpus": "2.0"}, ["memory", "memorySwap"])
    changes, _ = second_up([network, ide], Host(True, DEFAULT_NETWORK_OPTS, False, "no cgroups, options"))
    assert {(c.property, c.replace) for c in changes} == {("options", True), ("memory", True)}
    assert create_failures([ide], Host(cgroups=False)) == ["old: " + create_fails({"cpus": "2.0"}, Host(cgroups=False))]


def container_state(resource, host: Host) -> dict:
    rules = MODEL[CONTAINER]
    return {key: rules[key].stored(value, host) for key, value in resource.inputs.items()}


@pytest.mark.parametrize("which", ["ide-container", "registry-container"])
def test_a_refresh_of_a_stopped_lab_then_up_keeps_the_container(which):
    """`pulumi refresh` while the lab is stopped stores no ports and must_run false (tpd
    funcs.go:797-823); the next `up` starts the container again (Update :998-1012), it
    does not replace it."""
    container = evaluate({"workspaceRoot": "/w"}, stack="kim", preview=True).one(CONTAINER, which)
    state = refreshed_while_stopped(container_state(container, HOSTS[0]))
    assert state["ports"] == [] and state["mustRun"] is False
    trigger = container.replacement_trigger
    what = step(MODEL[CONTAINER], container.replace_on_changes, state, container.inputs, container.ignore_changes, (trigger, trigger))
    assert what == "update", f"{which}: {what} after a refresh of the stopped lab"


def test_a_changed_slot_still_replaces_the_ide_through_its_trigger():
    old = evaluate({"workspaceRoot": "/w"}, stack="kim", preview=True).one(CONTAINER, "ide-container")
    new = evaluate({"workspaceRoot": "/w", "slot": "3"}, stack="kim", preview=True).one(CONTAINER, "ide-container")
    state = container_state(old, HOSTS[0])
    triggers = (old.replacement_trigger, new.replacement_trigger)
    assert step(MODEL[CONTAINER], new.replace_on_changes, state, new.inputs, new.ignore_changes, triggers) == "replace"


def test_a_changed_health_check_replaces_the_ide():
    """The provider's Update never sends a health check to Docker (tpd funcs.go:1016-1017
    lists what it updates), so an in-place update would leave Docker with the old one."""
    ide = evaluate({"workspaceRoot": "/w"}, stack="kim", preview=True).one(CONTAINER, "ide-container")
    state = container_state(ide, HOSTS[0])
    inputs = {**ide.inputs, "healthcheck": {**ide.inputs["healthcheck"], "interval": "10s"}}
    trigger = ide.replacement_trigger
    assert step(MODEL[CONTAINER], ide.replace_on_changes, state, inputs, ide.ignore_changes, (trigger, trigger)) == "replace"


def test_code_server_and_the_registry_get_a_grace_period_on_stop():
    lab = evaluate({"workspaceRoot": "/w"}, stack="kim", preview=True)
    graces = {which: lab.one(CONTAINER, which).inputs.get("destroyGraceSeconds") for which in ("ide-container", "registry-container")}
    assert graces == {"ide-container": 30, "registry-container": 10}


def test_a_changed_local_registry_hosting_configmap_is_replaced():
    """pulumi-kubernetes makes ConfigMap `data` a replace field unless enableConfigMapMutable
    (k8s diff.go:32-33, default false); the program sets no such provider option."""
    lab = evaluate({"workspaceRoot": "/w"}, stack="kim", preview=True)
    configmap = lab.one("kubernetes:core/v1:ConfigMap")
    assert "enableConfigMapMutable" not in lab.one("pulumi:providers:kubernetes").inputs
    rules = MODEL["kubernetes:core/v1:ConfigMap"]
    inputs = {**configmap.inputs, "data": {"localRegistryHosting.v1": "host: localhost:5301\n"}}
    assert step(rules, [], configmap.inputs, inputs) == "replace"

