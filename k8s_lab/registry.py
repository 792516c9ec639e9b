"""The student's local image registry, wired into kind as kind's local-registry guide
does: containerd reads per-registry `hosts.toml` files, each node gets one that sends
`localhost:<port>` to the registry container by its name on the lab network, and the
`local-registry-hosting` ConfigMap (KEP-1755) tells tools where the registry is."""

from __future__ import annotations

# registry:2 pinned to a release (the tag kind's guide uses, at a fixed version).
IMAGE = "registry:2.8.3"
CONTAINER_PORT = 5000
DATA_DIR = "/var/lib/registry"
# registry:2 finishes the uploads in flight on SIGTERM; the provider's Delete stops with 0
# (SIGKILL at once) unless destroy_grace_seconds is set (k8s_lab.ide_container.STOP_GRACE_SECONDS).
STOP_GRACE_SECONDS = 10
CERTS_DIR = "/etc/containerd/certs.d"
GUIDE_URL = "https://kind.sigs.k8s.io/docs/user/local-registry/"

# For node images before kind v0.27 (ours is from v0.23), containerd must be told to read
# the certs.d directory.
CONTAINERD_PATCH = f"""[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "{CERTS_DIR}"
"""


def push_host(host_port: int) -> str:
    """What students tag and push to, from the IDE (through the host's docker) or the host."""
    return f"localhost:{host_port}"


def endpoint(registry_container: str) -> str:
    """The registry as the nodes reach it: by container name on the lab network."""
    return f"http://{registry_container}:{CONTAINER_PORT}"


def hosts_dir(host_port: int) -> str:
    return f"{CERTS_DIR}/{push_host(host_port)}"


def hosts_toml(endpoint_url: str) -> str:
    """containerd's hosts.toml sending pulls for the push host to `endpoint_url`."""
    return f'[host."{endpoint_url}"]\n'


def hosting_configmap_data(host_port: int) -> dict[str, str]:
    """`data` of the kube-public/local-registry-hosting ConfigMap (KEP-1755). Written
    without a YAML library: k8s_lab.kind_lifecycle imports this module and runs on any
    `python`, with the standard library only."""
    document = f"host: {push_host(host_port)}\nhelp: {GUIDE_URL}\n"
    return {"localRegistryHosting.v1": document}
