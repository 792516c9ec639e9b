"""The local registry's pure pieces: hosts.toml, the KEP-1755 ConfigMap, the kind patch."""

import tomllib

import yaml

from k8s_lab import kind_config, kubeconfig, registry
from k8s_lab.config import DEFAULT_NODE_IMAGE
from lab_mocks import fake_kind_kubeconfig


def test_hosts_toml_sends_the_push_host_to_the_registry_by_name():
    parsed = tomllib.loads(registry.hosts_toml(registry.endpoint("kim-registry")))
    assert parsed == {"host": {"http://kim-registry:5000": {}}}
    assert registry.hosts_dir(5101) == "/etc/containerd/certs.d/localhost:5101"


def test_configmap_data_is_kep_1755():
    data = registry.hosting_configmap_data(5101)
    assert list(data) == ["localRegistryHosting.v1"]
    assert yaml.safe_load(data["localRegistryHosting.v1"]) == {
        "host": "localhost:5101",
        "help": "https://kind.sigs.k8s.io/docs/user/local-registry/",
    }


def render():
    return kind_config.render_kind_config(
        cluster_name="kim",
        node_image=DEFAULT_NODE_IMAGE,
        workers=1,
        bind_address="127.0.0.1",
        http_port=80,
        https_port=443,
        api_port=6550,
    )


def test_kind_config_always_carries_the_containerd_patch():
    """Registry or not, so switching the registry on or off never replaces the cluster."""
    (patch,) = render()["containerdConfigPatches"]
    parsed = tomllib.loads(patch)
    assert parsed["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["config_path"] == "/etc/containerd/certs.d"


def test_set_namespace_changes_only_the_context_namespace():
    original = fake_kind_kubeconfig("kim", 6550)
    changed = yaml.safe_load(kubeconfig.set_namespace(original, "kind-kim", "kim"))
    assert changed["contexts"][0]["context"] == {"cluster": "kind-kim", "user": "kind-kim", "namespace": "kim"}
    changed["contexts"][0]["context"].pop("namespace")
    assert changed == yaml.safe_load(original)


def test_set_namespace_on_a_missing_context_is_an_error():
    import pytest

    with pytest.raises(kubeconfig.KubeconfigError, match="no context named 'kind-other'"):
        kubeconfig.set_namespace(fake_kind_kubeconfig("kim", 6550), "kind-other", "x")
