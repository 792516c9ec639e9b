"""kubernetesVersion: the table of rows (k8s_lab/versions.py) and what a row changes in a
stack, under Pulumi's mocks: the node image, the kind binary the commands use, the way in,
the IDE's kubectl; the seed's row is the stack as it always was."""

from __future__ import annotations

import datetime
import json
import re

import pytest
import yaml

from k8s_lab import gateway, ide_image, kind_config, tools, versions
from k8s_lab.config import DEFAULT_NODE_IMAGE, ConfigError
from k8s_lab.exits import lab_command
from lab_mocks import evaluate
from readback_model import MODEL, step

COMMAND = "command:local:Command"
IMAGE = "docker:index/image:Image"
CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
MAINTAINED = "1.36"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PINNED_NODE = re.compile(r"^kindest/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$")


# ---- the table ------------------------------------------------------------------------------


@pytest.mark.parametrize("minor", sorted(versions.ROWS))
def test_every_row_is_pinned_whole(minor):
    row = versions.ROWS[minor]
    assert _PINNED_NODE.match(row.node_image) and versions.node_image_minor(row.node_image) == minor
    assert row.kubectl_minor == f"v{minor}" and row.kubectl_version.startswith(f"{minor}.")
    assert row.manifests and all(_SHA256.match(m.sha256) and m.url.startswith("https://raw.githubusercontent.com/") for m in row.manifests)
    # Every manifest comes from a tag, never a branch.
    assert all(re.search(r"/(v\d+\.\d+\.\d+|controller-v\d+\.\d+\.\d+)/", m.url) for m in row.manifests)
    # kind's binary: pinned for every platform, or checked against the release's .sha256sum
    # at run time (tools.kind_expected_sha256) where no citable value was found.
    pinned = tools.KIND_SHA256.get(row.kind_version, {})
    assert all(_SHA256.match(sha) for sha in pinned.values())
    assert set(pinned) <= {f"kind-{os_}-{arch}" for os_, arch in tools.KIND_PLATFORMS}


def test_the_seed_row_is_todays_lab():
    from k8s_lab import ingress

    seed = versions.ROWS[versions.SEED]
    assert versions.SEED == "1.29" and seed.node_image == DEFAULT_NODE_IMAGE and seed.kind_version == tools.KIND_VERSION
    assert [(m.url, m.sha256) for m in seed.manifests] == [(ingress.MANIFEST_URL, ingress.MANIFEST_SHA256)]
    assert seed.ide_build_args(ide_image.BUILD_ARGS) == ide_image.BUILD_ARGS  # the IDE's tag does not move


def test_the_maintained_row_is_kind_v0_32_0s_with_every_binary_pinned():
    row = versions.ROWS[MAINTAINED]
    assert row.kind_version == "v0.32.0" and row.way_in == "gateway-api"
    assert set(tools.KIND_SHA256["v0.32.0"]) == {f"kind-{os_}-{arch}" for os_, arch in tools.KIND_PLATFORMS}
    assert row.end_of_life >= datetime.date(2027, 1, 1) and not row.runs_on_cgroup_v1
    names = [m.url.rsplit("/", 1)[-1] for m in row.manifests]
    # The standard channel's CRDs first, then NGF's CRDs, then its control plane.
    assert names[0] == "gateway.networking.k8s.io_gatewayclasses.yaml" and names[-2:] == ["crds.yaml", "deploy.yaml"]
    assert all("/gateway-api/v1.5.1/config/crd/standard/" in m.url for m in row.manifests[:-2])


# ---- the setting ----------------------------------------------------------------------------


def test_an_unknown_version_is_refused_with_the_rows_and_nothing_is_registered(workspace_root):
    with pytest.raises(ConfigError) as refused:
        evaluate({"workspaceRoot": workspace_root, "kubernetesVersion": "1.30"}, stack="alice")
    text = str(refused.value)
    assert "kubernetesVersion = '1.30'" in text and "1.29 (the seed), 1.36" in text and "pulumi config set kubernetesVersion 1.36" in text
    from pulumi.runtime import settings

    assert settings.SETTINGS.monitor.recorded == []


def test_a_node_image_of_another_minor_than_the_row_is_refused(workspace_root):
    with pytest.raises(ConfigError, match=r"nodeImage = .*is Kubernetes 1.29, but kubernetesVersion 1.36 runs kind v0.32.0"):
        evaluate({"workspaceRoot": workspace_root, "kubernetesVersion": MAINTAINED, "nodeImage": DEFAULT_NODE_IMAGE}, stack="alice")


def _as_data(evaluation) -> list[str]:
    return sorted(json.dumps([r.type, r.name, r.inputs], sort_keys=True, default=str) for r in evaluation.resources)


def test_a_stack_without_the_setting_is_the_seed_rows(workspace_root):
    unset = evaluate({"workspaceRoot": workspace_root}, stack="alice")
    seed = evaluate({"workspaceRoot": workspace_root, "kubernetesVersion": "1.29"}, stack="alice")
    assert _as_data(unset) == _as_data(seed)


# ---- the maintained row's stack ---------------------------------------------------------------


@pytest.fixture(scope="module")
def maintained(tmp_path_factory):
    root = tmp_path_factory.mktemp("ws")
    return evaluate({"workspaceRoot": str(root), "kubernetesVersion": MAINTAINED}, stack="alice")


def test_the_cluster_runs_the_rows_node_image_with_the_rows_kind(maintained):
    row = versions.ROWS[MAINTAINED]
    cluster = maintained.one(COMMAND, "cluster-cluster").inputs
    config = yaml.safe_load(cluster["stdin"])
    assert {node["image"] for node in config["nodes"]} == {row.node_image}
    # The registry mirror and local registry: containerd's config_path, on this row too.
    assert config["containerdConfigPatches"] == [kind_config.CONTAINERD_PATCH] and "config_path" in kind_config.CONTAINERD_PATCH
    # Every command that runs kind names the row's release (Kind.locate finds kind-v0.32.0).
    commands = [r.inputs for r in maintained.by_type(COMMAND)]
    assert commands and all(c["environment"].get(versions.KIND_VERSION_ENV) == "v0.32.0" for c in commands)


def test_the_seed_rows_commands_name_no_kind_release(workspace_root):
    lab = evaluate({"workspaceRoot": workspace_root}, stack="alice")
    assert all(versions.KIND_VERSION_ENV not in r.inputs["environment"] for r in lab.by_type(COMMAND))


def test_the_way_in_is_the_gateway_api_pinned_then_the_labs_gateway(maintained):
    row = versions.ROWS[MAINTAINED]
    command = maintained.one(COMMAND, "ingress-manifest")
    assert command.parent.endswith("k8s-lab:index:GatewayApi::ingress")
    words = command.inputs["create"].split()
    assert words[words.index("--url") + 1 :: 4] == [m.url for m in row.manifests]
    assert words[words.index("--sha256") + 1 :: 4] == [m.sha256 for m in row.manifests]
    assert words[-1] == "--stdin" and command.inputs["delete"] == command.inputs["create"] + " --remove"
    assert "ingress-nginx" not in command.inputs["create"]
    objects = list(yaml.safe_load_all(command.inputs["stdin"]))
    assert [o["kind"] for o in objects] == ["NginxProxy", "Gateway"]
    assert command.inputs["triggers"] == ["cluster-cluster-id/network-network-id"]
    assert command.deleted_with == maintained.one(COMMAND, "cluster-cluster").urn and command.delete_before_replace


def test_the_labs_gateway_listens_where_kind_publishes_the_slot(maintained):
    """The Gateway's data plane sits on the ingress-ready node with hostPorts 80/443,
    which the kind config maps to the slot's http/https ports."""
    proxy, gw = gateway.objects()
    deployment = proxy["spec"]["kubernetes"]["deployment"]
    assert deployment["pod"]["nodeSelector"] == {"ingress-ready": "true"}
    assert {(p["port"], p["containerPort"]) for p in deployment["container"]["hostPorts"]} == {(80, 80), (443, 443)}
    config = yaml.safe_load(maintained.one(COMMAND, "cluster-cluster").inputs["stdin"])
    mapped = {m["containerPort"] for m in config["nodes"][0]["extraPortMappings"]}
    assert mapped == {80, 443} and "ingress-ready=true" in config["nodes"][0]["kubeadmConfigPatches"][0]
    assert gw["spec"]["gatewayClassName"] == "nginx" and gw["spec"]["listeners"][0]["port"] == 80
    assert gw["spec"]["infrastructure"]["parametersRef"]["name"] == proxy["metadata"]["name"]
    assert gw["metadata"]["namespace"] == proxy["metadata"]["namespace"] == gateway.NAMESPACE
    assert maintained.exports["ingressUrl"].value == "http://127.0.0.1:80/"


def test_the_ide_is_built_with_the_rows_kubectl(maintained, workspace_root):
    built = maintained.one(IMAGE, "ide-image-built").inputs
    assert built["build"]["args"]["KUBECTL_MINOR"] == "v1.36" and built["build"]["args"]["KUBECTL_VERSION"] == "1.36.1"
    seed = evaluate({"workspaceRoot": workspace_root}, stack="alice").one(IMAGE, "ide-image-built").inputs
    assert seed["build"]["args"]["KUBECTL_MINOR"] == "v1.29"
    assert built["imageName"] != seed["imageName"]  # the content tag follows the row


# ---- changing the row -------------------------------------------------------------------------


def test_switching_rows_replaces_the_cluster_and_keeps_the_workspace(workspace_root):
    """What `preview` shows for 1.29 -> 1.36, as the providers diff (tests/readback_model.py):
    the cluster (and what lives in it, and the IDE with its new kubectl) is replaced; the
    student's volumes are the same."""
    before = evaluate({"workspaceRoot": workspace_root}, stack="alice", preview=True)
    after = evaluate({"workspaceRoot": workspace_root, "kubernetesVersion": MAINTAINED}, stack="alice", preview=True)
    old = {r.urn: r for r in before.resources if r.custom}

    def plan(resource) -> str:
        if resource.urn not in old:
            return "create"
        return step(MODEL[resource.type], resource.replace_on_changes, old[resource.urn].inputs, resource.inputs)

    steps = {r.name: plan(r) for r in after.resources if r.custom}
    assert steps["cluster-cluster"] == "replace"
    assert steps["workspace-src"] == steps["workspace-vscode"] == "same"
    assert steps["ingress-manifest"] == "create"  # a GatewayApi's, in place of the IngressNginx's
    assert steps["ide-container"] == "replace"  # new image; its volumes are the same two
    ide_volumes = {v.get("volumeName") for v in after.one(CONTAINER, "ide-container").inputs["volumes"]}
    assert {"alice-src", "alice-vscode"} <= ide_volumes


# ---- host checks ------------------------------------------------------------------------------


def test_cgroup_v1_refuses_the_maintained_row_and_names_the_rows_that_run():
    problem = versions.cgroup_v1_problem(MAINTAINED, "1", "lee")
    assert problem and "kubernetesVersion 1.36 does not run on this host" in problem
    assert "Rows that run here: 1.29" in problem and lab_command("config", "kubernetesVersion", "1.29", "--stack", "lee") in problem
    assert versions.cgroup_v1_problem(MAINTAINED, "2", "lee") is None
    assert versions.cgroup_v1_problem("1.29", "1", "lee") is None


def test_end_of_life_is_said_with_how_to_move():
    note = versions.end_of_life_note("1.29", datetime.date(2026, 12, 4), "lee")
    assert note and "past its end of life (2025-02-28)" in note
    assert f"`{lab_command('config', 'kubernetesVersion', '1.36', '--stack', 'lee')}` then `{lab_command('up', '--stack', 'lee')}`" in note
    assert versions.end_of_life_note(MAINTAINED, datetime.date(2026, 12, 4), "lee") is None
    assert "update k8s-lab" in (versions.end_of_life_note(MAINTAINED, datetime.date(2028, 1, 1), "lee") or "")
