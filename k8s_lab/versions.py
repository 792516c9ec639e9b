"""The Kubernetes versions a lab can run: one row per `kubernetesVersion`, everything that
goes with that version in the row.

A kind node image works only with the kind release that built it (kind's release notes:
"you must use the @sha256 digest"; kind.sigs.k8s.io/docs/design/node-image), the IDE's
kubectl should be the nodes' minor, and the way into the cluster on the ingress-ready
node's ports 80/443 is a manifest built for that era. So a row names all of them, and
`kubernetesVersion` picks one row; nothing else in the lab names a Kubernetes version.

Adding a row: one `Row(...)` in ROWS below (kind release, its binaries' sha256 in
k8s_lab/tools.py KIND_SHA256, the node image by digest from that release's notes, the
kubectl version, the way in pinned by sha256 of the tagged blobs, the end-of-life date
from kubernetes.io/releases), then `python -m k8s_lab.config --pulumi-yaml/--readme`;
tests/test_versions.py checks every row (pins well-formed, kind sha256 for each platform
or the run-time fallback, node image minor = row, kubectl minor = row).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from k8s_lab import ingress, shell_form

# The rows' kind binaries are fetched side by side: the seed's as `kind`, any other as
# `kind-<version>` (k8s_lab/tools.py ToolsLayout.kind_for), and the cluster commands of a
# row other than the seed's name theirs in this variable (k8s_lab/kind_lifecycle.py).
KIND_VERSION_ENV = "K8S_LAB_KIND_VERSION"


@dataclass(frozen=True)
class Manifest:
    url: str  # a raw URL at a release tag
    sha256: str  # of the tagged blob, computed from the upstream repository


@dataclass(frozen=True)
class Row:
    minor: str  # the kubernetesVersion value, "1.29"
    purpose: str  # what the row is for, for README and `lab.py check`
    kind_version: str  # the kind release that built node_image
    node_image: str  # kindest/node:vX.Y.Z@sha256:..., from that release's notes
    kubectl_version: str  # the IDE's kubectl (pkgs.k8s.io deb version, no "v")
    way_in: str  # "ingress-nginx" or "gateway-api"
    manifests: tuple[Manifest, ...]  # applied in order on the ingress-ready node's cluster
    end_of_life: datetime.date  # kubernetes.io/releases/<minor>: End Of Life Date
    runs_on_cgroup_v1: bool  # kubelet >= 1.35 refuses cgroup v1 (kubernetes#134298)

    @property
    def kubectl_minor(self) -> str:
        """The pkgs.k8s.io repository, `v1.29`."""
        return "v" + ".".join(self.kubectl_version.split(".")[:2])

    def ide_build_args(self, defaults: dict[str, str]) -> dict[str, str]:
        """ide/Dockerfile's build arguments with this row's kubectl (so the IDE image's
        content tag follows the row); the seed's row gives `defaults` unchanged."""
        return {**defaults, "KUBECTL_MINOR": self.kubectl_minor, "KUBECTL_VERSION": self.kubectl_version}

    def past_end_of_life(self, today: datetime.date) -> bool:
        return today > self.end_of_life


_GATEWAY_API = "https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/v1.5.1/config/crd/standard"
_NGF = "https://raw.githubusercontent.com/nginx/nginx-gateway-fabric/v2.6.7/deploy"

# Gateway API v1.5.1, standard channel: the files of config/crd/kustomization.yaml at tag
# v1.5.1 (commit e7677b70), which is what NGINX Gateway Fabric v2.6.7 installs
# (its config/crd/gateway-api/standard/kustomization.yaml names ref=v1.5.1; go.mod
# sigs.k8s.io/gateway-api v1.5.1). sha256 of each tagged blob.
GATEWAY_API_CRDS = tuple(
    Manifest(f"{_GATEWAY_API}/gateway.networking.k8s.io_{name}.yaml", sha)
    for name, sha in (
        ("gatewayclasses", "234ad4b2757ee1b3596a4187bb98df071c5bbdd9e1806f692f2dbf8387e6bef4"),
        ("gateways", "7416e8300eb4d8c0a71a23445609075bbacbe8bc80104584b019cfe1ebe77c31"),
        ("grpcroutes", "979f4125d44d3df24659ba00d1d04ff8e76c45423193e8aae82dd5810d7827df"),
        ("httproutes", "682203b109baecb18d38073a578f7bc2c17d22fe9b0c27bf030850abe014c370"),
        ("referencegrants", "a8902c486eed0b7339f5bb8a476ccaba0918eb038048402bdc01cbb69b0fbb51"),
        ("backendtlspolicies", "9b8818172153d72f9c84032db0be0a4a657277d13f5bbc22226ad9481ff57971"),
        ("listenersets", "9221468d19fdfbb0026113b1ef64abac64f27607975aff2410361b8b38f0e0bb"),
        ("tlsroutes", "818e4827c469a40e2527a2851591e656782c50fea8dd44812c900d219da09345"),
        ("vap_safeupgrades", "981a4da92706cb567c051e006ff229429947f054b90cd0719c297abe14f958a1"),
    )
)
# NGINX Gateway Fabric v2.6.7 (tag commit 5e34a17a): its own CRDs (blob cdd0c160, 909895
# bytes), then the control plane (deploy/default, blob 97c66d8e, 10418 bytes; it makes the
# namespace nginx-gateway and the GatewayClass `nginx`).
NGF_MANIFESTS = (
    Manifest(f"{_NGF}/crds.yaml", "942d031b4f5d0cd57194c8d0d6e7a09bddf4ced3e59609dd390db013434ec8fa"),
    Manifest(f"{_NGF}/default/deploy.yaml", "33c493b6233975913a1628dd0219ef787e3fff5a17bd9d6e3108b41139c7c05b"),
)

SEED = "1.29"
ROWS: dict[str, Row] = {
    row.minor: row
    for row in (
        Row(
            minor="1.29",
            purpose="the course notes' cluster (2024), kept byte-identical; out of upstream support since 2025-02-28",
            kind_version="v0.23.0",
            # kind v0.23.0's release notes.
            node_image="kindest/node:v1.29.4@sha256:3abb816a5b1061fb15c6e9e60856ec40d56b7b52bcea5f5f1350bc6e2320b6f8",
            kubectl_version="1.29.4",
            way_in="ingress-nginx",
            # ingress-nginx controller-v1.11.3 for the kind provider (k8s_lab/ingress.py).
            manifests=(Manifest(ingress.MANIFEST_URL, ingress.MANIFEST_SHA256),),
            end_of_life=datetime.date(2025, 2, 28),  # kubernetes.io/releases/patch-releases
            runs_on_cgroup_v1=True,
        ),
        Row(
            minor="1.36",
            purpose="a maintained cluster for current documents (sidecars, in-place resize, Gateway API)",
            # kind v0.32.0 is the newest kind release (tag v0.32.0, 2026-06-02); its
            # default node image (pkg/apis/config/defaults/image.go at that tag) is this one.
            kind_version="v0.32.0",
            node_image="kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5",
            kubectl_version="1.36.1",
            way_in="gateway-api",
            manifests=GATEWAY_API_CRDS + NGF_MANIFESTS,
            end_of_life=datetime.date(2027, 6, 28),  # kubernetes.io/releases/1.36
            # kubelet 1.35+ refuses cgroup v1 unless failCgroupV1 is false (kubernetes#134298);
            # kind v0.32.0 warns cgroup v1 is going away (pkg/cluster/internal/create/create.go:257).
            # The lab refuses the row there instead of turning a deprecated mode back on.
            runs_on_cgroup_v1=False,
        ),
    )
}

_NODE_MINOR = re.compile(r"^kindest/node:v(\d+\.\d+)\.\d+")


def row(minor: str) -> Row:
    return ROWS[minor]


def rows_text() -> str:
    """The rows as a user picks them: `1.29 (the seed), 1.36`."""
    return ", ".join(f"{minor} (the seed)" if minor == SEED else minor for minor in ROWS)


def node_image_minor(image: str) -> str | None:
    """`1.29` for kindest/node:v1.29.4@sha256:...; None for an image not named like kind's."""
    match = _NODE_MINOR.match(image)
    return match.group(1) if match else None


def cgroup_v1_rows() -> list[str]:
    return [minor for minor, each in ROWS.items() if each.runs_on_cgroup_v1]


def cgroup_v1_problem(minor: str, cgroup_version: str, stack: str | None) -> str | None:
    """Why row `minor` does not run on a host whose Docker reports `cgroup_version`
    (`docker info --format {{.CgroupVersion}}`: "1" or "2"), or None. `stack`: the lab the fix
    names (a teacher pasting it would otherwise change a lab named after their own login)."""
    if cgroup_version.strip() != "1" or ROWS[minor].runs_on_cgroup_v1:
        return None
    usable = ", ".join(cgroup_v1_rows())
    return (
        f"kubernetesVersion {minor} does not run on this host: its Docker uses cgroup v1, and kubelet 1.35 and newer "
        f"refuse cgroup v1 (kubernetes#134298). Rows that run here: {usable}; choose one with "
        f"`{shell_form.lab_command('config', 'kubernetesVersion', cgroup_v1_rows()[0], *(['--stack', stack] if stack else []))}`, or move the lab to a host with cgroup v2 "
        "(any current Linux distribution, Docker Desktop)"
    )


def end_of_life_note(minor: str, today: datetime.date, stack: str | None) -> str | None:
    """A warning for a row past its end of life, with how to move for lab `stack`; None while supported."""
    each = ROWS[minor]
    if not each.past_end_of_life(today):
        return None
    maintained = [m for m, r in ROWS.items() if not r.past_end_of_life(today)]
    move = (
        f"to move: `{shell_form.lab_command('config', 'kubernetesVersion', maintained[-1], *(['--stack', stack] if stack else []))}` then "
        f"`{shell_form.lab_command('up', *(['--stack', stack] if stack else []))}` (a new cluster; your files stay)"
        if maintained
        else "no row here is maintained: update k8s-lab"
    )
    return f"Kubernetes {minor} is past its end of life ({each.end_of_life.isoformat()}): no security fixes; {move}"
