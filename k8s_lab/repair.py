"""What `lab.py up` repairs before it runs: the lab's pieces that vanished behind Pulumi's
back, as `pulumi up --refresh --replace` targets.

k8s_lab.drift looks at Docker; this turns what it saw into the URNs to replace in the same
`up`. A replaced cluster command deletes what is left of the cluster (kind's delete is fine
when it is gone) and makes it anew. Its new ID is the cluster's identity: the kubeconfig is
read again (the IDE gets the new credentials), the kubernetes provider is replaced (its
`clusterIdentifier`), and what lives in the cluster is made again (`deleted_with` the
cluster, so nothing is deleted from the old one). A replaced `docker.Image` builds again
(its Read and Delete never touch the daemon: pulumi-docker provider/provider.go); a
replaced `docker.RemoteImage` pulls again. The refresh lets pulumi-docker drop what Docker
no longer has (docker_network, docker_container and docker_image reads clear their IDs),
which this `up` then makes again. A container the refresh finds stopped (the IDE gone, the
registry only stopped) reads back without ports; they are diffed by a replacement trigger
(k8s_lab.docker_diff), so this `up` starts it again instead of replacing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

PROJECT = "k8s-lab"

# (parent component type, resource type, resource name) of what a repair replaces; tests
# check each against the URN the program registers.
CLUSTER_COMMAND = ("k8s-lab:index:KindCluster", "command:local:Command", "cluster-cluster")
BUILT_IMAGE = ("k8s-lab:index:IdeImage", "docker:index/image:Image", "ide-image-built")
PULLED_IMAGE = ("k8s-lab:index:IdeImage", "docker:index/remoteImage:RemoteImage", "ide-image-pulled")


def urn(stack: str, parents: Sequence[str], type_: str, name: str, project: str = PROJECT) -> str:
    """A resource's URN as the engine makes it: parent types joined by `$`, then the type."""
    qualified = "$".join([*parents, type_])
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def child_urn(stack: str, what: tuple[str, str, str]) -> str:
    parent, type_, name = what
    return urn(stack, [parent], type_, name)


@dataclass(frozen=True)
class Findings:
    """What Docker shows of a stack that has been deployed."""

    cluster_missing: bool  # no node container of the student's cluster
    ide_missing: bool  # no IDE container (a Docker reset, a pruned container)
    image_missing: bool  # the IDE image the stack uses is not in Docker
    prebuilt_image: bool  # the stack pulls `ideImage` instead of building ide/


@dataclass(frozen=True)
class Repair:
    replace: list[str] = field(default_factory=list)
    refresh: bool = False  # let the providers notice what vanished (network, volumes, containers)
    reasons: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.replace) or self.refresh


def plan(stack: str, findings: Findings) -> Repair:
    """`pulumi up --refresh --replace ...` that brings the lab back, or nothing to do.

    The refresh lets pulumi-docker drop what Docker no longer has (it is made again) and the
    kubernetes provider (deleteUnreachable) drop the objects of a cluster that is gone;
    a replaced cluster command makes the cluster anew, and everything that depends on its
    identity (kubeconfig, IDE, registry hosts, ingress, objects inside) follows.
    """
    replace: list[str] = []
    reasons: list[str] = []
    if findings.cluster_missing:
        replace.append(child_urn(stack, CLUSTER_COMMAND))
        reasons.append("the kind cluster is gone: it is made again, and the IDE gets its new credentials")
    if findings.image_missing:
        replace.append(child_urn(stack, PULLED_IMAGE if findings.prebuilt_image else BUILT_IMAGE))
        reasons.append("the IDE image is not in Docker: it is " + ("pulled" if findings.prebuilt_image else "built") + " again")
    if findings.ide_missing:
        reasons.append("the IDE container is gone: it is made again")
    return Repair(replace, refresh=bool(reasons), reasons=reasons)
