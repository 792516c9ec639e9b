"""The whole program under Pulumi's mocks: what it asks Docker, kind and random for,
in which order, and what it keeps secret."""

import json
import os

import pytest
import tls_pairs
import yaml
from pulumi.runtime import rpc

from k8s_lab import kind_config
from k8s_lab.config import DEFAULT_NODE_IMAGE, ConfigError
from lab_mocks import FAKE_IMAGE_ID, GENERATED_PASSWORD, evaluate

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
NETWORK = "docker:index/network:Network"
IMAGE = "docker:index/image:Image"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
COMMAND = "command:local:Command"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
K8S_PROVIDER = "pulumi:providers:kubernetes"
NAMESPACE = "kubernetes:core/v1:Namespace"
CONFIGMAP = "kubernetes:core/v1:ConfigMap"
CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile"
PRIVATE_KEY_MARKER = "LS0tLS1QUklWQVRFLUtFWS0tLS0tU0VDUkVU"  # client-key-data of the fake kubeconfig


@pytest.fixture
def lab(workspace_root):
    return evaluate({"workspaceRoot": workspace_root}, stack="alice")


def test_one_stack_creates_the_seeds_resources(lab):
    custom = sorted((r.type, r.name) for r in lab.resources if r.custom)
    assert custom == sorted(
        [
            (IMAGE, "ide-image-built"),
            (VOLUME, "workspace-src"),
            (VOLUME, "workspace-vscode"),
            (NETWORK, "network-network"),
            (COMMAND, "cluster-cluster"),
            (COMMAND, "cluster-kubeconfig"),
            (RANDOM_PASSWORD, "ide-password-generated"),
            (CONTAINER, "ide-container"),
            (REMOTE_IMAGE, "registry-image"),
            (VOLUME, "registry-data"),
            (CONTAINER, "registry-container"),
            (COMMAND, "registry-node-hosts"),
            (K8S_PROVIDER, "bootstrap-provider"),
            (NAMESPACE, "bootstrap-namespace"),
            (CONFIGMAP, "bootstrap-local-registry-hosting"),
            (COMMAND, "ingress-manifest"),
        ]
    )
    # Nothing fetches the ingress manifest while the program is evaluated.
    assert not lab.by_type(CONFIG_FILE)


def test_every_resource_belongs_to_a_lab_component(lab):
    components = {r.urn: r for r in lab.resources if r.type.startswith("k8s-lab:")}
    assert sorted(c.type for c in components.values()) == sorted(
        f"k8s-lab:index:{n}"
        for n in (
            "IdeImage",
            "Workspace",
            "LabNetwork",
            "KindCluster",
            "IdePassword",
            "IdeContainer",
            "LocalRegistry",
            "ClusterBootstrap",
            "IngressNginx",
        )
    )
    for resource in lab.resources:
        if not resource.type.startswith("k8s-lab:"):
            assert resource.parent in components, f"{resource.name} is not parented to a component"


def test_workspace_volumes_bind_the_student_folders(lab, workspace_root):
    volumes = {v.inputs["name"]: v.inputs for v in lab.by_type(VOLUME) if v.name.startswith("workspace-")}
    assert set(volumes) == {"alice-src", "alice-vscode"}
    for name, folder in (("alice-src", "src"), ("alice-vscode", "vscode")):
        assert volumes[name]["driver"] == "local"
        assert volumes[name]["driverOpts"] == {
            "type": "none",
            "o": "bind",
            "device": os.path.join(workspace_root, "alice", folder),
        }
        assert os.path.isdir(os.path.join(workspace_root, "alice", folder))  # made during `up`


def test_preview_touches_no_folder(workspace_root):
    evaluate({"workspaceRoot": workspace_root}, stack="alice", preview=True)
    assert os.listdir(workspace_root) == []


def test_network_is_made_like_kinds(lab):
    network = lab.one(NETWORK).inputs
    assert network["name"] == "kind-alice"
    assert network["driver"] == "bridge"
    assert network["ipv6"] is False
    # IPv6 off as Docker stores it; no MTU unless configured: nothing is read from the
    # evaluating machine's Docker.
    assert network["options"] == {
        "com.docker.network.bridge.enable_ip_masquerade": "true",
        "com.docker.network.enable_ipv6": "false",
    }
    assert lab.invokes == []


def test_network_mtu_comes_from_config(workspace_root):
    network = evaluate({"workspaceRoot": workspace_root, "networkMtu": "1450"}, stack="alice").one(NETWORK).inputs
    assert network["options"]["com.docker.network.driver.mtu"] == "1450"


def test_cluster_command(lab):
    cluster = lab.one(COMMAND, "cluster-cluster")
    inputs = cluster.inputs
    # No path of this machine: `python` by name, run where Pulumi starts its providers (the
    # project folder), so a `destroy` from another checkout or venv finds it too.
    # The nodes' shares of labMemory (6g by default) and labCpus, applied after create.
    caps = "--control-plane-memory 2234 --worker-memory 1117 --cpus 2"
    assert inputs["create"] == f"python -m k8s_lab.kind_lifecycle create --name alice --workers 2 {caps}"
    assert inputs["delete"] == "python -m k8s_lab.kind_lifecycle delete --name alice"
    assert "dir" not in inputs
    assert inputs["environment"] == {"KIND_EXPERIMENTAL_DOCKER_NETWORK": "kind-alice", "K8S_LAB_NETWORK_ID": "network-network-id", "PYTHONSAFEPATH": ""}
    config = yaml.safe_load(inputs["stdin"])
    assert config["name"] == "alice"
    assert [n["role"] for n in config["nodes"]] == ["control-plane", "worker", "worker"]
    assert {n["image"] for n in config["nodes"]} == {DEFAULT_NODE_IMAGE}
    assert config["networking"]["serviceSubnet"] == "10.120.0.0/16"
    assert config["networking"]["podSubnet"] == "10.110.0.0/16"
    # A changed config must replace the cluster, and the old one must go first.
    assert inputs["stdin"] in inputs["triggers"]
    assert "kind-alice" in inputs["triggers"]
    assert cluster.delete_before_replace


def test_cluster_config_change_changes_the_triggers(workspace_root):
    two = evaluate({"workspaceRoot": workspace_root}, stack="alice").one(COMMAND, "cluster-cluster")
    one = evaluate({"workspaceRoot": workspace_root, "workers": "1"}, stack="alice").one(COMMAND, "cluster-cluster")
    assert two.inputs["triggers"] != one.inputs["triggers"]
    assert two.inputs["stdin"] != one.inputs["stdin"]


def test_kubeconfig_command_keeps_its_output_secret_and_quiet(lab):
    read = lab.one(COMMAND, "cluster-kubeconfig")
    assert read.inputs["create"] == "python -m k8s_lab.kind_lifecycle kubeconfig --name alice"
    assert read.inputs["logging"] == "none"
    assert read.inputs["addPreviousOutputInEnv"] is False
    assert read.additional_secret_outputs == ["stdout"]
    # Re-read when the cluster command is replaced (a new ID) or the network made anew; an
    # update of the cluster command keeps its ID, so its preview replaces nothing downstream.
    assert read.inputs["triggers"] == ["cluster-cluster-id/network-network-id"]
    assert lab.depends_on(read, lab.one(COMMAND, "cluster-cluster"))


def test_ide_container(lab):
    ide = lab.one(CONTAINER, "ide-container")
    inputs = ide.inputs
    assert inputs["name"] == "alice-ide"
    assert inputs["image"].startswith("k8s-lab-ide:")
    assert inputs["envs"][:5] == [
        "TZ=Asia/Seoul",
        "PUID=0",
        "PGID=0",
        "FILE__PASSWORD=/run/secrets/code-server-password",
        "DEFAULT_WORKSPACE=/code",
    ]
    assert inputs["workingDir"] == "/code"
    assert sorted((p["internal"], p["external"], p["ip"]) for p in inputs["ports"]) == [
        (5500, 5500, "127.0.0.1"),
        (8443, 8444, "127.0.0.1"),
    ]
    mounts = {v["containerPath"]: v for v in inputs["volumes"]}
    assert mounts["/config"]["volumeName"] == "alice-vscode"
    assert mounts["/code/cloud-cicd-src"]["volumeName"] == "alice-src"
    assert mounts["/var/run/docker.sock"]["hostPath"] == "/var/run/docker.sock"
    assert [n["name"] for n in inputs["networksAdvanced"]] == ["kind-alice"]
    assert inputs["restart"] == "unless-stopped"
    assert inputs["healthcheck"]["tests"] == ["CMD", "curl", "-fsS", "http://localhost:8443/healthz"]
    assert inputs["wait"] is True and inputs["waitTimeout"] >= 120
    assert inputs["mustRun"] is True
    assert ide.delete_before_replace


def test_code_server_always_gets_a_password(lab):
    ide = lab.one(CONTAINER, "ide-container").inputs
    password_file = next(e.split("=", 1)[1] for e in ide["envs"] if e.startswith("FILE__PASSWORD="))
    uploads = {u["file"]: u for u in ide["uploads"]}
    assert uploads[password_file]["content"] == GENERATED_PASSWORD
    assert uploads[password_file]["permissions"] == "0400"
    assert not any(e.startswith(("PASSWORD=", "HASHED_PASSWORD=")) for e in ide["envs"])


def test_in_network_kubeconfig_is_uploaded(lab):
    uploads = {u["file"]: u for u in lab.one(CONTAINER, "ide-container").inputs["uploads"]}
    kubeconfig = yaml.safe_load(uploads["/config/.kube/config"]["content"])
    assert kubeconfig["clusters"][0]["cluster"]["server"] == "https://alice-control-plane:6443"
    assert kubeconfig["contexts"][0]["context"]["namespace"] == "alice"  # the student's namespace
    assert uploads["/config/.kube/config"]["permissions"] == "0600"


def test_dependencies(lab):
    network = lab.one(NETWORK)
    cluster = lab.one(COMMAND, "cluster-cluster")
    read = lab.one(COMMAND, "cluster-kubeconfig")
    image = lab.one(IMAGE)
    ide = lab.one(CONTAINER, "ide-container")
    volumes = [v for v in lab.by_type(VOLUME) if v.name.startswith("workspace-")]
    assert lab.depends_on(cluster, network)
    assert lab.depends_on(read, cluster)
    for needed in [image, network, read, *volumes]:
        assert lab.depends_on(ide, needed), f"the IDE does not wait for {needed.name}"
    # Independent work runs in parallel: the image build and the volumes never wait for the cluster.
    for independent in [image, *volumes, network]:
        assert not lab.depends_on(independent, cluster), independent.name
    assert not lab.depends_on(cluster, image)


def test_stack_outputs_and_their_secrecy(lab):
    exports = lab.exports
    assert set(exports) == {
        "ingressUrl",
        "registry",
        "ideUrl",
        "idePassword",
        "kubeconfig",
        "hostKubeconfig",
        "clusterName",
        "networkName",
        "ideContainer",
    }
    assert exports["ideUrl"].value == "http://127.0.0.1:8444" and not exports["ideUrl"].secret
    for name in ("idePassword", "kubeconfig", "hostKubeconfig"):
        assert exports[name].secret, name
    assert exports["idePassword"].value == GENERATED_PASSWORD
    assert yaml.safe_load(exports["hostKubeconfig"].value)["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6550"
    assert yaml.safe_load(exports["kubeconfig"].value)["clusters"][0]["cluster"]["server"] == "https://alice-control-plane:6443"
    assert exports["ingressUrl"].value == "http://127.0.0.1:80/" and exports["registry"].value == "localhost:5001"
    assert (exports["clusterName"].value, exports["networkName"].value, exports["ideContainer"].value) == (
        "alice",
        "kind-alice",
        "alice-ide",
    )


def _plain_parts(value):
    """Every leaf of `value` that is not under a secret marker."""
    if rpc.is_rpc_secret(value):
        return []
    if isinstance(value, dict):
        return [p for v in value.values() for p in _plain_parts(v)]
    if isinstance(value, list):
        return [p for v in value for p in _plain_parts(v)]
    return [value]


def test_no_secret_reaches_any_input_in_plain_text(workspace_root):
    lab = evaluate({"workspaceRoot": workspace_root, "idePassword": "Configured-Pa55word"}, stack="alice")
    for resource in lab.resources:
        plain = json.dumps(_plain_parts(resource.raw_inputs), default=str)
        assert "Configured-Pa55word" not in plain, resource.name
        assert PRIVATE_KEY_MARKER not in plain, resource.name
    # ...while the secrets are really there, marked secret.
    assert lab.one(CONTAINER, "ide-container").input_is_secret("uploads")
    assert "Configured-Pa55word" in json.dumps(lab.one(CONTAINER, "ide-container").inputs["uploads"])


def test_configured_password_is_used_and_nothing_is_generated(workspace_root):
    lab = evaluate({"workspaceRoot": workspace_root, "idePassword": "Configured-Pa55word"}, stack="alice")
    assert lab.by_type(RANDOM_PASSWORD) == []
    uploads = {u["file"]: u for u in lab.one(CONTAINER, "ide-container").inputs["uploads"]}
    assert uploads["/run/secrets/code-server-password"]["content"] == "Configured-Pa55word"
    assert lab.exports["idePassword"].secret and lab.exports["idePassword"].value == "Configured-Pa55word"


def test_prebuilt_image_is_pulled_not_built(workspace_root):
    lab = evaluate({"workspaceRoot": workspace_root, "ideImage": "registry.example.com/class/ide:1"}, stack="alice")
    assert lab.by_type(IMAGE) == []
    pulled = lab.one(REMOTE_IMAGE, "ide-image-pulled")
    assert pulled.inputs["name"] == "registry.example.com/class/ide:1"
    assert pulled.inputs["keepLocally"] is True  # other stacks on the host share it
    assert lab.one(CONTAINER, "ide-container").inputs["image"] == FAKE_IMAGE_ID
    assert lab.depends_on(lab.one(CONTAINER, "ide-container"), pulled)


def test_docker_socket_can_be_left_out(workspace_root):
    lab = evaluate({"workspaceRoot": workspace_root, "mountDockerSocket": "false"}, stack="alice")
    paths = [v["containerPath"] for v in lab.one(CONTAINER, "ide-container").inputs["volumes"]]
    assert "/var/run/docker.sock" not in paths and "/config" in paths


def test_student_slot_and_bind_address_flow_everywhere(workspace_root):
    lab = evaluate(
        {"workspaceRoot": workspace_root, "student": "bob", "slot": "3", "bindAddress": "0.0.0.0", "allowRemoteAccess": "true", "ideEnv": '["EDITOR=vim"]'},
        stack="class-stack-7",
    )
    ide = lab.one(CONTAINER, "ide-container").inputs
    assert ide["name"] == "bob-ide"
    assert sorted((p["internal"], p["external"], p["ip"]) for p in ide["ports"]) == [
        (5500, 5800, "0.0.0.0"),
        (8443, 8744, "0.0.0.0"),
    ]
    assert ide["envs"][-1] == "EDITOR=vim"
    config = yaml.safe_load(lab.one(COMMAND, "cluster-cluster").inputs["stdin"])
    assert [m["hostPort"] for m in config["nodes"][0]["extraPortMappings"]] == [380, 743]
    assert lab.exports["ideUrl"].value == "https://127.0.0.1:8744"  # bound beyond loopback: HTTPS
    assert {v.inputs["name"] for v in lab.by_type(VOLUME)} == {"bob-src", "bob-vscode", "bob-registry-data"}


def test_bad_config_registers_nothing(workspace_root):
    with pytest.raises(ConfigError, match="slot = 'many'"):
        evaluate({"workspaceRoot": workspace_root, "slot": "many"}, stack="alice")
    # Nothing was asked of any provider, and no folder was made.
    from pulumi.runtime import settings

    assert settings.SETTINGS.monitor.recorded == []
    assert os.listdir(workspace_root) == []


def test_a_crlf_ide_folder_registers_nothing(workspace_root, tmp_path, monkeypatch):
    from k8s_lab import ide_image

    crlf = tmp_path / "ide"
    crlf.mkdir()
    (crlf / "Dockerfile").write_bytes(b"FROM scratch\r\n")
    (crlf / ".dockerignore").write_bytes(b"*\n!Dockerfile\n")
    monkeypatch.setattr(ide_image, "IDE_DIR", crlf)
    with pytest.raises(ide_image.ContextProblem, match=r"Dockerfile has Windows \(CRLF\) line endings.*Fix: "):
        evaluate({"workspaceRoot": workspace_root}, stack="alice")
    from pulumi.runtime import settings

    assert settings.SETTINGS.monitor.recorded == []
    # A prebuilt image needs no ide/ folder at all.
    assert evaluate({"workspaceRoot": workspace_root, "ideImage": "registry.example.com/class/ide:1"}, stack="alice").by_type(REMOTE_IMAGE)


def test_the_image_is_built_for_the_stored_platform(workspace_root):
    from k8s_lab import ide_image

    image = evaluate({"workspaceRoot": workspace_root, "idePlatform": "linux/arm64"}, stack="alice").one(IMAGE)
    assert image.inputs["build"]["platform"] == "linux/arm64"
    assert image.inputs["imageName"] == ide_image.image_name(platform="linux/arm64") != ide_image.image_name()
    unstored = evaluate({"workspaceRoot": workspace_root}, stack="alice").one(IMAGE)
    assert "platform" not in unstored.inputs["build"]  # left to the provider: the Pulumi machine's (plain pulumi up)


def test_plaintext_password_config_registers_nothing(workspace_root):
    with pytest.raises(ConfigError, match="idePassword"):
        evaluate({"workspaceRoot": workspace_root, "idePassword": "long-enough-pw"}, stack="alice", secret_keys=())


def test_two_evaluations_give_identical_inputs(workspace_root):
    first = evaluate({"workspaceRoot": workspace_root}, stack="alice")
    second = evaluate({"workspaceRoot": workspace_root}, stack="alice")
    as_data = lambda ev: sorted(json.dumps([r.type, r.name, r.inputs], sort_keys=True, default=str) for r in ev.resources)
    assert as_data(first) == as_data(second)


def test_kind_config_in_the_command_is_the_renderers(lab, workspace_root):
    stdin = lab.one(COMMAND, "cluster-cluster").inputs["stdin"]
    expected = kind_config.to_yaml(
        kind_config.render_kind_config(
            cluster_name="alice",
            node_image=DEFAULT_NODE_IMAGE,
            workers=2,
            bind_address="127.0.0.1",
            http_port=80,
            https_port=443,
            api_port=6550,
        )
    )
    assert stdin == expected


def test_a_lost_cluster_is_warned_about_and_changes_no_input(workspace_root, monkeypatch):
    """What this machine's Docker shows never becomes an input (a PR runner's Docker would
    change the preview): the program warns with the repair, lab.py up replaces (k8s_lab.repair)."""
    import pulumi

    from k8s_lab.drift import Presence

    warnings = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, resource=None, *a, **k: warnings.append(message))
    healthy = evaluate({"workspaceRoot": workspace_root}, presence=Presence(cluster=True, ide=True))
    assert warnings == []
    lost = evaluate({"workspaceRoot": workspace_root}, presence=Presence(cluster=False, ide=True))
    inputs = lambda ev: sorted(json.dumps([r.type, r.name, r.inputs], sort_keys=True, default=str) for r in ev.resources)
    assert inputs(lost) == inputs(healthy)
    (warning,) = warnings
    assert "lab.py up" in warning
    assert "pulumi up --replace 'urn:pulumi:alice::k8s-lab::k8s-lab:index:KindCluster$command:local:Command::cluster-cluster'" in warning


def test_local_registry(lab):
    registry = lab.one(CONTAINER, "registry-container")
    inputs = registry.inputs
    assert inputs["name"] == "alice-registry"
    assert inputs["ports"] == [{"internal": 5000, "external": 5001, "ip": "127.0.0.1", "protocol": "tcp"}] or [
        (p["internal"], p["external"], p["ip"]) for p in inputs["ports"]
    ] == [(5000, 5001, "127.0.0.1")]
    assert [n["name"] for n in inputs["networksAdvanced"]] == ["kind-alice"]
    assert inputs["volumes"] == [{"volumeName": "alice-registry-data", "containerPath": "/var/lib/registry"}]
    assert lab.one(REMOTE_IMAGE, "registry-image").inputs == {"name": "registry:2.8.3", "keepLocally": True}
    assert registry.delete_before_replace
    hosts = lab.one(COMMAND, "registry-node-hosts")
    assert "registry-hosts --name alice --directory /etc/containerd/certs.d/localhost:5001 --endpoint http://alice-registry:5000" in hosts.inputs["create"]
    assert hosts.inputs["triggers"] == ["cluster-cluster-id/network-network-id"]  # again for a remade cluster
    assert lab.depends_on(hosts, lab.one(COMMAND, "cluster-cluster")) and lab.depends_on(hosts, registry)
    config = yaml.safe_load(lab.one(COMMAND, "cluster-cluster").inputs["stdin"])
    assert 'config_path = "/etc/containerd/certs.d"' in config["containerdConfigPatches"][0]


def test_kubernetes_bootstrap(lab):
    provider = lab.one(K8S_PROVIDER)
    assert provider.input_is_secret("kubeconfig") and provider.additional_secret_outputs == ["kubeconfig"]
    # A cluster that is gone: refresh and delete drop its objects instead of failing.
    assert provider.inputs["deleteUnreachable"] == "true"  # provider config travels as JSON text
    # Replaced exactly when the cluster is new (not whenever the kubeconfig read re-runs).
    assert provider.inputs["clusterIdentifier"] == "cluster-cluster-id/network-network-id"
    cluster = lab.one(COMMAND, "cluster-cluster")
    for type_ in (NAMESPACE, CONFIGMAP):
        resource = lab.one(type_)
        assert lab.depends_on(resource, cluster), f"{resource.name} does not wait for the cluster's nodes"
        assert resource.provider.startswith(provider.urn)
        assert resource.deleted_with == cluster.urn, f"{resource.name} would be deleted from a cluster that goes anyway"
    assert lab.one(NAMESPACE).inputs["metadata"]["name"] == "alice"
    # A renamed namespace leaves the old one (the student's work) in the cluster.
    assert lab.one(NAMESPACE).retain_on_delete and not lab.one(CONFIGMAP).retain_on_delete
    configmap = lab.one(CONFIGMAP).inputs
    assert configmap["metadata"] == {"name": "local-registry-hosting", "namespace": "kube-public"}
    assert yaml.safe_load(configmap["data"]["localRegistryHosting.v1"]) == {
        "host": "localhost:5001",
        "help": "https://kind.sigs.k8s.io/docs/user/local-registry/",
    }


def test_ingress_manifest_is_applied_during_up_pinned_by_checksum(lab):
    from k8s_lab import ingress

    manifest = lab.one(COMMAND, "ingress-manifest")
    pinned = f"--name alice --url {ingress.MANIFEST_URL} --sha256 {ingress.MANIFEST_SHA256}"
    assert manifest.inputs["create"] == f"python -m k8s_lab.kind_lifecycle manifest {pinned}"
    assert manifest.inputs["delete"] == f"python -m k8s_lab.kind_lifecycle manifest {pinned} --remove"
    assert manifest.inputs["triggers"] == ["cluster-cluster-id/network-network-id"]  # again on a new cluster
    assert manifest.deleted_with == lab.one(COMMAND, "cluster-cluster").urn
    assert "controller-v1.11.3" in ingress.MANIFEST_URL and len(ingress.MANIFEST_SHA256) == 64


def test_registry_and_ingress_can_be_turned_off_and_the_cluster_stays(lab, workspace_root):
    cluster = lab.one(COMMAND, "cluster-cluster").inputs
    without_registry = evaluate({"workspaceRoot": workspace_root, "registry": "false"}, stack="alice")
    assert not [r for r in without_registry.resources if "registry" in r.name]
    assert without_registry.one(COMMAND, "cluster-cluster").inputs == cluster  # no replacement, work kept
    assert without_registry.by_type(NAMESPACE) and not without_registry.by_type(CONFIGMAP)
    without_ingress = evaluate({"workspaceRoot": workspace_root, "ingress": "false"}, stack="alice")
    assert not [r for r in without_ingress.resources if r.name.startswith("ingress")]
    assert without_ingress.by_type(CONFIGMAP) and "ingressUrl" not in without_ingress.exports
    assert without_ingress.one(COMMAND, "cluster-cluster").inputs == cluster


def test_namespace_exists_with_ingress_and_registry_off(workspace_root):
    """The IDE's kubeconfig defaults to the student's namespace: it must exist."""
    lab = evaluate({"workspaceRoot": workspace_root, "ingress": "false", "registry": "false"}, stack="alice")
    assert lab.one(NAMESPACE).inputs["metadata"]["name"] == "alice"


def test_namespace_setting(workspace_root):
    lab = evaluate({"workspaceRoot": workspace_root, "namespace": "team-a"}, stack="alice")
    assert lab.one(NAMESPACE).inputs["metadata"]["name"] == "team-a"
    uploads = {u["file"]: u for u in lab.one(CONTAINER, "ide-container").inputs["uploads"]}
    assert yaml.safe_load(uploads["/config/.kube/config"]["content"])["contexts"][0]["context"]["namespace"] == "team-a"


def test_another_docker_host(workspace_root):
    lab = evaluate(
        {
            "workspaceRoot": workspace_root,
            "dockerHost": "ssh://teacher@lab2",
            "bindAddress": "0.0.0.0",
            "allowRemoteAccess": "true",
        },
        stack="alice",
    )
    provider = lab.one("pulumi:providers:docker", "docker-host")
    assert provider.inputs["host"] == "ssh://teacher@lab2"
    # Every Docker object, and the bridge lookup, goes to that host.
    for resource in lab.resources:
        if resource.type.startswith("docker:"):
            assert resource.provider.startswith(provider.urn), resource.name
    assert all(call.provider.startswith(provider.urn) for call in lab.invokes)
    # The kind and docker CLIs in the commands are pointed there too.
    for name in ("cluster-cluster", "cluster-kubeconfig", "registry-node-hosts"):
        assert lab.one(COMMAND, name).inputs["environment"]["DOCKER_HOST"] == "ssh://teacher@lab2", name
    # The student's folders are not on lab2: plain volumes there, kept on destroy.
    for volume in (v for v in lab.by_type(VOLUME) if v.name.startswith("workspace-")):
        assert "driverOpts" not in volume.inputs and volume.retain_on_delete
    assert not os.listdir(workspace_root)
    # Addresses name the host; the API is reachable (and certified) under its name.
    assert lab.exports["ideUrl"].value == "https://lab2:8444"
    assert lab.exports["ingressUrl"].value == "http://lab2:80/"
    config = yaml.safe_load(lab.one(COMMAND, "cluster-cluster").inputs["stdin"])
    assert config["networking"]["apiServerAddress"] == "0.0.0.0"
    sans = yaml.safe_load(config["nodes"][0]["kubeadmConfigPatches"][1])["apiServer"]["certSANs"]
    assert "lab2" in sans and "localhost" in sans
    host_kubeconfig = yaml.safe_load(lab.exports["hostKubeconfig"].value)
    assert host_kubeconfig["clusters"][0]["cluster"]["server"] == "https://lab2:6550"


def test_local_docker_has_no_explicit_provider_and_binds_folders(lab):
    assert lab.by_type("pulumi:providers:docker") == []
    # Bind volumes are removed by destroy: the files stay in the folders.
    assert not any(v.retain_on_delete for v in lab.by_type(VOLUME))
    assert "DOCKER_HOST" not in lab.one(COMMAND, "cluster-cluster").inputs["environment"]


def test_the_ide_waits_for_nothing_it_does_not_need(lab):
    """What keeps `up` as short as the seed's own chain (bench/run.py's critical path): the
    IDE is ready once its image, folders, network and kubeconfig are; the registry, the
    objects inside the cluster and ingress-nginx come up beside it."""
    ide = lab.one(CONTAINER, "ide-container")
    for name, type_ in (
        ("registry-container", CONTAINER),
        ("registry-node-hosts", COMMAND),
        ("ingress-manifest", COMMAND),
        ("bootstrap-namespace", NAMESPACE),
        ("bootstrap-local-registry-hosting", CONFIGMAP),
        ("bootstrap-provider", K8S_PROVIDER),
    ):
        assert not lab.depends_on(ide, lab.one(type_, name)), f"the IDE waits for {name}"


# ---- HTTPS beyond loopback --------------------------------------------------------------

TEST_CERT, TEST_KEY = tls_pairs.pair("lab2")
KEY_BODY = TEST_KEY.splitlines()[1]  # a line of the secret
REMOTE = {"bindAddress": "0.0.0.0", "allowRemoteAccess": "true"}


def test_an_ide_beyond_loopback_serves_a_self_signed_certificate_over_https(workspace_root):
    lab = evaluate({"workspaceRoot": workspace_root, **REMOTE, "slot": "2"}, stack="alice")
    ide = lab.one(CONTAINER, "ide-container").inputs
    uploads = {u["file"]: u for u in ide["uploads"]}
    config = yaml.safe_load(uploads["/run/secrets/code-server-https.yaml"]["content"])
    assert config == {"cert": True, "cert-host": "127.0.0.1"}  # code-server makes it (cli.ts setDefaults)
    assert "CODE_SERVER_CONFIG=/run/secrets/code-server-https.yaml" in ide["envs"]
    assert ide["healthcheck"]["tests"] == ["CMD", "curl", "-fsSk", "https://localhost:8443/healthz"]
    assert lab.exports["ideUrl"].value == "https://127.0.0.1:8644" and lab.exports["ideCertificate"].value == "self-signed"
    assert not {"/run/secrets/code-server-https.crt", "/run/secrets/code-server-https.key"} & set(uploads)


def test_the_host_name_is_the_ides_and_ingresss_host_and_the_certificates_name(workspace_root):
    lab = evaluate({"workspaceRoot": workspace_root, **REMOTE, "slot": "2", "hostName": "teacher.school.lan"}, stack="alice")
    ide = lab.one(CONTAINER, "ide-container").inputs
    uploads = {u["file"]: u for u in ide["uploads"]}
    config = yaml.safe_load(uploads["/run/secrets/code-server-https.yaml"]["content"])
    assert config == {"cert": True, "cert-host": "teacher.school.lan"}  # the name in the students' address bar
    assert lab.exports["ideUrl"].value == "https://teacher.school.lan:8644"
    assert lab.exports["ingressUrl"].value == "http://teacher.school.lan:280/"
    # Published as before: on bindAddress; the registry is pushed to from this machine, by its own address.
    assert {p["ip"] for p in ide["ports"]} == {"0.0.0.0"}
    assert "teacher.school.lan" not in lab.exports["registry"].value


def test_the_teachers_certificate_is_served_and_its_key_stays_secret(workspace_root):
    lab = evaluate(
        {"workspaceRoot": workspace_root, **REMOTE, "ideTlsCert": TEST_CERT, "ideTlsKey": TEST_KEY},
        stack="alice", secret_keys=("idePassword", "ideTlsKey"),
    )
    ide = lab.one(CONTAINER, "ide-container")
    uploads = {u["file"]: u for u in ide.inputs["uploads"]}
    assert yaml.safe_load(uploads["/run/secrets/code-server-https.yaml"]["content"]) == {
        "cert": "/run/secrets/code-server-https.crt", "cert-key": "/run/secrets/code-server-https.key"}
    assert uploads["/run/secrets/code-server-https.crt"] == {
        "content": TEST_CERT, "file": "/run/secrets/code-server-https.crt", "permissions": "0444"}
    assert uploads["/run/secrets/code-server-https.key"]["permissions"] == "0400"
    assert uploads["/run/secrets/code-server-https.key"]["content"] == TEST_KEY
    for resource in lab.resources:
        assert KEY_BODY not in json.dumps(_plain_parts(resource.raw_inputs), default=str), resource.name
    assert lab.exports["ideCertificate"].value == "given"


def test_a_given_certificate_is_served_on_loopback_too(workspace_root):
    lab = evaluate({"workspaceRoot": workspace_root, "ideTlsCert": TEST_CERT, "ideTlsKey": TEST_KEY},
                   stack="alice", secret_keys=("idePassword", "ideTlsKey"))
    assert lab.exports["ideUrl"].value == "https://127.0.0.1:8444"


def test_a_loopback_lab_stays_plain_http(lab):
    ide = lab.one(CONTAINER, "ide-container").inputs
    assert not any("code-server-https" in u["file"] for u in ide["uploads"])
    assert not any(e.startswith("CODE_SERVER_CONFIG=") for e in ide["envs"])
    assert "ideCertificate" not in lab.exports and lab.exports["ideUrl"].value.startswith("http://")


def test_the_docker_socket_is_mounted_by_default(lab):
    mounts = [(v.get("hostPath"), v["containerPath"]) for v in lab.one(CONTAINER, "ide-container").inputs["volumes"]]
    assert ("/var/run/docker.sock", "/var/run/docker.sock") in mounts
