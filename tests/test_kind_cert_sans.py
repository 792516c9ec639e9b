"""The API server certificate of a lab on another Docker host: the exact kubeadm patch."""

import yaml

from k8s_lab import kind_config
from k8s_lab.config import DEFAULT_NODE_IMAGE


def control_plane_patches(**remote):
    config = kind_config.render_kind_config(
        cluster_name="kim", node_image=DEFAULT_NODE_IMAGE, workers=0, bind_address="0.0.0.0", http_port=80, https_port=443, api_port=6550, **remote
    )
    return [yaml.safe_load(p) for p in config["nodes"][0]["kubeadmConfigPatches"]]


def test_a_remote_lab_certifies_kinds_names_its_address_and_the_hosts_name():
    ingress, sans = control_plane_patches(api_server_address="0.0.0.0", extra_cert_sans=("lab2", "lab2.school.example"))
    assert ingress["kind"] == "InitConfiguration"  # the seed's patch stays first
    # kubeadm merges the patch by kind; without it, or with a null address, the API
    # server would present a certificate the instructor's kubeconfig rejects.
    assert sans == {
        "kind": "ClusterConfiguration",
        "apiServer": {"certSANs": ["localhost", "127.0.0.1", "0.0.0.0", "lab2", "lab2.school.example"]},
    }


def test_names_already_certified_are_listed_once():
    _, sans = control_plane_patches(api_server_address="127.0.0.1", extra_cert_sans=("localhost", "lab2", "lab2"))
    assert sans["apiServer"]["certSANs"] == ["localhost", "127.0.0.1", "lab2"]


def test_a_local_lab_adds_no_certificate_patch():
    assert [p["kind"] for p in control_plane_patches()] == ["InitConfiguration"]
