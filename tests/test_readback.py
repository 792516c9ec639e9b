"""The second `up` under mocks: every golden stack (and stacks with caps set, or the maintained
kubernetesVersion row), its inputs
turned into what the real providers store (tests/readback_model.py), diffed as the
providers diff. A real second `up` changes nothing, on hosts with and without swap
accounting, so here: no replace, no update, and no set property the model does not know."""

from __future__ import annotations

import pytest
import tls_pairs

from golden_record import STACKS
from lab_mocks import evaluate
from readback_model import CONTAINER, HOSTS, MODEL, Host, docker_update_memory, nano_to_decimal_string, parse_cpus, second_up, step

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


@pytest.mark.parametrize("host", HOSTS, ids=[h.name for h in HOSTS])
@pytest.mark.parametrize("name", sorted(ALL))
def test_a_second_up_changes_nothing(evaluations, name, host):
    changes, unmodelled = second_up(evaluations[name].resources, host)
    assert not unmodelled, f"{name}: set but not in tests/readback_model.py MODEL: {sorted(set(unmodelled))}"
    assert not changes, f"{name} on a host with {host.name}:\n" + "\n".join(map(str, changes))


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
