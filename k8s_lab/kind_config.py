"""The kind cluster config for one student, rendered as data and as YAML.

It is the seed's `3-node-k8s.yaml` with the host side made per-student: the cluster name,
host ports shifted by slot and bound to the bind address, a fixed loopback API port, and
IPv4 only (the lab network is created by Pulumi without IPv6; see k8s_lab.network).
"""

from __future__ import annotations

from typing import Any

import yaml

from k8s_lab import exposure
from k8s_lab.registry import CONTAINERD_PATCH

SERVICE_SUBNET = "10.120.0.0/16"
POD_SUBNET = "10.110.0.0/16"

# The kubeadm patch from the seed: ingress controllers for kind select this node label.
INGRESS_READY_PATCH = """kind: InitConfiguration
nodeRegistration:
  kubeletExtraArgs:
    node-labels: "ingress-ready=true"
"""


def render_kind_config(
    *,
    cluster_name: str,
    node_image: str,
    workers: int,
    bind_address: str,
    http_port: int,
    https_port: int,
    api_port: int,
    api_server_address: str | None = None,
    extra_cert_sans: tuple[str, ...] = (),
    remote: bool = False,
) -> dict[str, Any]:
    """`remote`: the cluster runs on another Docker host. Each port's address is
    k8s_lab.exposure's for `bind_address`; `api_server_address` overrides the API's."""
    if api_server_address is None:
        api_server_address = exposure.address("api", bind_address, remote)
    control_plane = {
        "role": "control-plane",
        "image": node_image,
        "kubeadmConfigPatches": [INGRESS_READY_PATCH] + ([cert_sans_patch(api_server_address, extra_cert_sans)] if extra_cert_sans else []),
        "extraPortMappings": [
            {"containerPort": 80, "hostPort": http_port, "listenAddress": exposure.address("http", bind_address, remote), "protocol": "TCP"},
            {"containerPort": 443, "hostPort": https_port, "listenAddress": exposure.address("https", bind_address, remote), "protocol": "TCP"},
        ],
    }
    nodes = [control_plane] + [{"role": "worker", "image": node_image} for _ in range(workers)]
    config: dict[str, Any] = {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": cluster_name,
        "nodes": nodes,
        "networking": {
            "ipFamily": "ipv4",
            # kind's docs strongly advise keeping the API server on loopback: the host
            # kubeconfig is cluster-admin. Students reach it from the IDE, in-network.
            # Only a lab on another Docker host listens wider (the instructor's
            # pulumi-kubernetes must reach it): k8s_lab.exposure's table.
            "apiServerAddress": api_server_address,
            "apiServerPort": api_port,
            "serviceSubnet": SERVICE_SUBNET,
            "podSubnet": POD_SUBNET,
        },
    }
    # Always, registry or not: containerd reading certs.d is harmless without one, and a
    # registry switched on or off then leaves the cluster (and the student's work) alone.
    config["containerdConfigPatches"] = [CONTAINERD_PATCH]
    return config


def cert_sans_patch(api_server_address: str, extra: tuple[str, ...]) -> str:
    """A kubeadm patch adding names to the API server's certificate. kind applies patches
    as merges that replace lists, so its own SANs (localhost, the API address) are kept."""
    sans = ["localhost", "127.0.0.1", api_server_address, *extra]
    unique = list(dict.fromkeys(sans))
    return yaml.safe_dump({"kind": "ClusterConfiguration", "apiServer": {"certSANs": unique}}, sort_keys=False)


def to_yaml(config: dict[str, Any]) -> str:
    """Stable YAML (key order kept, block style) so the same config is the same bytes."""
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
