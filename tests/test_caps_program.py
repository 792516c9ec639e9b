"""The caps and the mirror in the program: nothing changes for a stack that has none, and
each component takes them when given (k8s_lab.limits)."""

import json
from pathlib import Path

import pulumi

from components import IdeContainer, IdeContainerArgs, KindCluster, KindClusterArgs
from k8s_lab import ide_image, limits
from k8s_lab.config import DEFAULT_NODE_IMAGE
from k8s_lab.names import LabNames
from k8s_lab.ports import ports_for_slot
from lab_mocks import evaluate, run_under_mocks

# Every resource's URN and inputs of a default stack, recorded from the program before the
# caps existed (commit bb4d37a), in an update and a preview: with labMemory and labCpus 0
# (the documented off switch) a stack is exactly what it was. The caps are on by default
# (tests/golden/defaults.json shows them).
BEFORE = Path(__file__).parent / "fixtures" / "default_stack_kim.json"
# The IDE image's tag then: it follows the build context, which issue #31 changed (modes,
# .dockerignore, the Dockerfile's chmod); tests/test_ide_image.py pins how the tag follows it.
RECORDED_IDE_IMAGE = "k8s-lab-ide:dd48e50fe0211108"
NAMES = LabNames("kim")


def without_later_fixes(inputs: dict) -> dict:
    """Inputs less what issue #18 added to every stack, caps or not: PYTHONSAFEPATH off in
    each command's environment (k8s_lab.commands.PYTHON_ENVIRONMENT) and the kubernetes
    provider's upsertExistingObjects (components/cluster_bootstrap.py); and what issue #31
    added: the IDE's and the registry's destroyGraceSeconds (a grace period on stop), and the
    IDE image's new tag."""
    inputs = {key: value for key, value in inputs.items() if key not in ("upsertExistingObjects", "destroyGraceSeconds")}
    inputs = {key: RECORDED_IDE_IMAGE if value == ide_image.image_name() else value for key, value in inputs.items()}
    environment = {k: v for k, v in (inputs.get("environment") or {}).items() if k != "PYTHONSAFEPATH"}
    if "environment" in inputs:
        inputs = {k: v for k, v in inputs.items() if k != "environment"} | ({"environment": environment} if environment else {})
    return inputs


def fingerprint() -> dict:
    out = {}
    for preview in (False, True):
        config = {"workspaceRoot": "/home/kim/k8s-lab", "labMemory": "0", "labCpus": "0"}
        lab = evaluate(config, stack="kim", preview=preview)
        out["preview" if preview else "update"] = {r.urn: without_later_fixes(r.inputs) for r in lab.resources}
    return json.loads(json.dumps(out, sort_keys=True, default=str))


def test_a_stack_with_the_caps_off_and_no_mirror_registers_exactly_what_it_did_before():
    before = json.loads(BEFORE.read_text())
    now = fingerprint()
    assert sorted(now["update"]) == sorted(before["update"])  # same URNs: nothing replaced or renamed
    for mode in ("update", "preview"):
        changed = [urn for urn in before[mode] if now[mode].get(urn) != before[mode][urn]]
        assert changed == [], changed


def ide_program(**caps):
    def program():
        IdeContainer(
            "ide",
            IdeContainerArgs(
                names=NAMES, image="img:1", network_name="kind-kim", src_volume="kim-src", vscode_volume="kim-vscode",
                password="p" * 12, kubeconfig="apiVersion: v1\n", ports=ports_for_slot(0), bind_address="127.0.0.1",
                timezone="UTC", extra_env=(), extra_env_secret=False, mount_docker_socket=True, **caps,
            ),
        )

    return program


def test_ide_gets_its_memory_cap_and_cpus_as_the_provider_reads_them_back():
    ide = run_under_mocks(ide_program(memory_mb=1675, cpus="2")).one("docker:index/container:Container")
    container = ide.inputs
    assert (container["memory"], container["memorySwap"], container["cpus"]) == (1675, -1, "2.0")
    assert set(ide.replace_on_changes) == {"memory", "memorySwap", "healthcheck"}
    uncapped = run_under_mocks(ide_program()).one("docker:index/container:Container").inputs
    assert not {"memory", "memorySwap", "cpus"} & set(uncapped)


def test_cluster_command_carries_the_nodes_shares():
    def program():
        KindCluster(
            "c",
            KindClusterArgs(
                names=NAMES, network_name="kind-kim", network_id="n1", node_image=DEFAULT_NODE_IMAGE, workers=2,
                bind_address="127.0.0.1", ports=ports_for_slot(0), namespace="kim", caps=limits.shares(6144, "2", 2),
            ),
        )
        pulumi.export("x", 1)

    create = run_under_mocks(program).one("command:local:Command", "c-cluster").inputs["create"]
    assert create.endswith("--workers 2 --control-plane-memory 2234 --worker-memory 1117 --cpus 2")


def test_a_mirror_adds_one_hosts_command_per_upstream_and_nothing_else():
    def program(mirror):
        def run():
            KindCluster(
                "c",
                KindClusterArgs(
                    names=NAMES, network_name="kind-kim", network_id="n1", node_image=DEFAULT_NODE_IMAGE, workers=1,
                    bind_address="127.0.0.1", ports=ports_for_slot(0), namespace="kim", mirror=mirror,
                ),
            )
        return run

    plain = run_under_mocks(program(None))
    mirrored = run_under_mocks(program("http://teacher:5000"))
    added = {r.name for r in mirrored.resources} - {r.name for r in plain.resources}
    assert added == {"c-mirror-docker-io", "c-mirror-registry-k8s-io"}
    create = mirrored.one("command:local:Command", "c-mirror-registry-k8s-io").inputs["create"]
    assert create.endswith("--directory /etc/containerd/certs.d/registry.k8s.io --endpoint http://teacher:5001")
