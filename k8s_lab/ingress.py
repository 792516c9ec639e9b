"""ingress-nginx as kind's ingress guide installs it, pinned to a controller release."""

from __future__ import annotations

from k8s_lab.ports import reachable_host

CONTROLLER_VERSION = "v1.11.3"
# The manifest for the kind provider: a controller Deployment with hostPorts 80 and 443,
# a nodeSelector on ingress-ready=true and tolerations for the control plane.
MANIFEST_URL = (
    "https://raw.githubusercontent.com/kubernetes/ingress-nginx/"
    f"controller-{CONTROLLER_VERSION}/deploy/static/provider/kind/deploy.yaml"
)
# sha256 of that file at tag controller-v1.11.3 (commit f6456ea8, blob 7def2ba2, 16463
# bytes), computed from the tagged blob in the ingress-nginx repository. The manifest is
# a dependency: fetched during `up`, checked against this, cached outside git.
MANIFEST_SHA256 = "d734612d3ae8c762d4297c276c2a4f0620d6d785de36817e9d89ae4a2f10ccc2"


def ingress_url(bind_address: str, http_port: int, docker_hostname: str | None = None, host_name: str = "") -> str:
    """The ingress's address for a browser: at `host_name` (the hostName setting) when given."""
    return f"http://{host_name or reachable_host(bind_address, docker_hostname)}:{http_port}/"
