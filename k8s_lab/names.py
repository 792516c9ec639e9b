"""Every name one student's lab gives to Docker and kind, derived from the student name."""

from __future__ import annotations

import re
from dataclasses import dataclass

# kind names the control-plane node container "<cluster>-control-plane" and Docker's DNS
# on the lab network answers to it; it is also a hostname, so it must stay a DNS-1123
# label (at most 63 characters). That longest suffix bounds the student name.
CONTROL_PLANE_SUFFIX = "-control-plane"
MAX_STUDENT_LENGTH = 63 - len(CONTROL_PLANE_SUFFIX)
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

# Names Kubernetes, kind and the lab's own add-ons already use as namespaces. A student's
# namespace defaults to the student name, so both are refused: a student called
# `kube-system` would get the cluster's own namespace as theirs. The first four are
# Kubernetes' initial namespaces (Kubernetes docs, "Namespaces"); ingress-nginx,
# nginx-gateway and local-path-storage are made by the lab's way in (k8s_lab/versions.py:
# ingress-nginx, or NGINX Gateway Fabric) and kind's default storage class. Other kube-*
# names stay allowed (`kube-kim` is a student's own).
RESERVED_NAMES = (
    "default", "kube-system", "kube-public", "kube-node-lease", "ingress-nginx", "nginx-gateway", "local-path-storage",
)

# The API server port inside the lab network: kind's control plane always listens on 6443.
IN_NETWORK_API_PORT = 6443


@dataclass(frozen=True)
class LabNames:
    student: str

    @property
    def cluster(self) -> str:
        return self.student

    @property
    def kubeconfig_cluster(self) -> str:
        # kind names the kubeconfig cluster, user and context "kind-<cluster>".
        return f"kind-{self.cluster}"

    @property
    def network(self) -> str:
        return f"kind-{self.student}"

    @property
    def control_plane(self) -> str:
        return f"{self.cluster}{CONTROL_PLANE_SUFFIX}"

    @property
    def in_network_server(self) -> str:
        return f"https://{self.control_plane}:{IN_NETWORK_API_PORT}"

    @property
    def src_volume(self) -> str:
        return f"{self.student}-src"

    @property
    def vscode_volume(self) -> str:
        return f"{self.student}-vscode"

    @property
    def ide_container(self) -> str:
        return f"{self.student}-ide"

    @property
    def registry_container(self) -> str:
        return f"{self.student}-registry"

    @property
    def registry_volume(self) -> str:
        return f"{self.student}-registry-data"


def student_name_problem(name: str) -> str | None:
    """Why `name` cannot be a student name, or None when it can."""
    if not name:
        return "it is empty"
    if len(name) > MAX_STUDENT_LENGTH:
        return (
            f"it is {len(name)} characters long; at most {MAX_STUDENT_LENGTH} keep "
            f"'<student>{CONTROL_PLANE_SUFFIX}' a valid host name"
        )
    if not DNS_LABEL.match(name):
        return "it must be lowercase letters, digits and '-', starting and ending with a letter or digit"
    return reserved_problem(name)


def reserved_problem(name: str) -> str | None:
    """Why `name` is taken by Kubernetes or the lab's add-ons, or None."""
    if name in RESERVED_NAMES:
        return f"it is reserved: {', '.join(RESERVED_NAMES)} belong to Kubernetes or the lab's add-ons"
    return None


def suggested_name(raw: str) -> str | None:
    """The valid student name a near miss meant (`Bob` -> `bob`, `kim lee` -> `kim-lee`),
    or None when no valid name is close."""
    if not raw.isascii():
        return None  # "Müller" is not "m-ller": transliterating names is not ours to guess
    name = re.sub(r"[^a-z0-9]+", "-", raw.strip().lower()).strip("-")[:MAX_STUDENT_LENGTH].strip("-")
    return name if name and name != raw and student_name_problem(name) is None else None
