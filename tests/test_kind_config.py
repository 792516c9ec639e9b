import copy
from pathlib import Path

import yaml

from k8s_lab import kind_config
from k8s_lab.config import DEFAULT_NODE_IMAGE
from k8s_lab.ports import ports_for_slot

SEED = Path(__file__).parent / "fixtures" / "seed" / "3-node-k8s.yaml"


def render(slot=0, workers=2, bind="127.0.0.1", name="kim"):
    p = ports_for_slot(slot)
    return kind_config.render_kind_config(
        cluster_name=name,
        node_image=DEFAULT_NODE_IMAGE,
        workers=workers,
        bind_address=bind,
        http_port=p.http,
        https_port=p.https,
        api_port=p.api,
    )


def test_slot_zero_is_the_seed_plus_only_the_per_student_host_side():
    seed = yaml.safe_load(SEED.read_text())
    ours = yaml.safe_load(kind_config.to_yaml(render()))
    # What the lab adds or changes, on purpose; everything else must be the seed's.
    assert ours["name"] == "kim"
    assert ours["networking"].pop("ipFamily") == "ipv4"
    assert ours["networking"].pop("apiServerAddress") == "127.0.0.1"
    assert ours["networking"].pop("apiServerPort") == 6550
    for node in ours["nodes"]:
        image, _, digest = node["image"].partition("@")
        assert digest.startswith("sha256:") and len(digest) == 71
        node["image"] = image
    for mapping in ours["nodes"][0]["extraPortMappings"]:
        assert mapping.pop("listenAddress") == "127.0.0.1"
    # containerd reads certs.d (the local registry), on every cluster: see test_registry.py.
    assert len(ours.pop("containerdConfigPatches")) == 1
    expected = copy.deepcopy(seed)
    expected["name"] = "kim"
    assert ours == expected


def test_kubeadm_patch_labels_the_control_plane_ingress_ready():
    patch = yaml.safe_load(render()["nodes"][0]["kubeadmConfigPatches"][0])
    assert patch["kind"] == "InitConfiguration"
    assert patch["nodeRegistration"]["kubeletExtraArgs"]["node-labels"] == "ingress-ready=true"


def test_slot_shifts_the_ingress_ports_and_bind_address_is_used():
    cfg = render(slot=4, bind="0.0.0.0")
    maps = cfg["nodes"][0]["extraPortMappings"]
    assert [(m["containerPort"], m["hostPort"], m["listenAddress"]) for m in maps] == [
        (80, 480, "0.0.0.0"),
        (443, 843, "0.0.0.0"),
    ]
    assert cfg["networking"]["apiServerPort"] == 6950
    # The API server stays on loopback whatever the bind address (kind's advice).
    assert cfg["networking"]["apiServerAddress"] == "127.0.0.1"


def test_worker_count():
    for workers in (0, 1, 2, 5):
        roles = [n["role"] for n in render(workers=workers)["nodes"]]
        assert roles == ["control-plane"] + ["worker"] * workers


def test_yaml_is_deterministic_and_round_trips():
    a, b = kind_config.to_yaml(render()), kind_config.to_yaml(render())
    assert a == b
    assert yaml.safe_load(a) == render()
    assert a.index("kind: Cluster") < a.index("nodes:")  # key order kept, as a person reads it
