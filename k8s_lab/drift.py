"""Seeing a lab that lost pieces behind Pulumi's back, by a read-only look at Docker.

pulumi-command's commands have no read, and pulumi-docker's `docker.Image` reads nothing
back from the daemon, so neither `pulumi refresh` nor `pulumi up` notices a cluster removed
by `kind delete cluster` or a Docker Desktop reset, or an IDE image removed by `docker
image prune -a`. What is seen here never becomes a resource input (a stack is a function
of its config: a PR runner's Docker must not change a preview). Instead:
- the program warns, naming the command that repairs the lab (`warn_if_lost`);
- `lab.py up` and `classroom.py up` turn what they see into a repair (k8s_lab.repair):
  the lost pieces are replaced in that same `up`.
The lab network's Docker ID is in the cluster command's environment (NETWORK_ID_ENV): a
network made anew (Docker reset, then `up --refresh`) re-runs the idempotent create.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass

from k8s_lab.exits import lab_command
from k8s_lab.kind_lifecycle import CLUSTER_LABEL, NETWORK_ID_ENV  # noqa: F401  (re-exported: components/cluster.py)
from k8s_lab.names import LabNames
from k8s_lab.runner import DEFAULT_RUNNER, Runner, RunError



@dataclass(frozen=True)
class Presence:
    cluster: bool  # any node container of the student's cluster
    ide: bool  # the student's IDE container


def probe(names: LabNames, docker_env: dict[str, str] | None = None, runner: Runner = DEFAULT_RUNNER) -> Presence | None:
    """What exists in Docker now; None when Docker cannot be asked (the providers will say why)."""
    if shutil.which("docker") is None:
        return None

    def names_of(*filters: str) -> list[str] | None:
        argv = ["docker", "ps", "-a", "--format", "{{.Names}}"]
        for each in filters:
            argv += ["--filter", each]
        try:
            result = runner.run(argv, env=docker_env, timeout=30, check=False)
        except RunError:  # docker could not start or hung
            return None
        return result.stdout.split() if result.ok else None

    nodes = names_of(f"label={CLUSTER_LABEL}={names.cluster}")
    ide = names_of(f"name=^/{names.ide_container}$")
    if nodes is None or ide is None:
        return None
    return Presence(cluster=bool(nodes), ide=names.ide_container in ide)


def cluster_lost(presence: Presence | None) -> bool:
    return presence is not None and presence.ide and not presence.cluster


def image_present(reference: str, docker_env: dict[str, str] | None = None, runner: Runner = DEFAULT_RUNNER) -> bool | None:
    """Whether Docker has the image `reference`; None when Docker cannot be asked."""
    if shutil.which("docker") is None:
        return None
    argv = ["docker", "image", "inspect", "--format", "{{.Id}}", reference]
    try:
        result = runner.run(argv, env=docker_env, timeout=30, check=False)
    except RunError:
        return None
    if result.ok:
        return True
    return False if "no such image" in result.stderr.lower() else None


def lost_cluster_message(names: LabNames, cluster_urn: str) -> str:
    return (
        f"kind cluster {names.cluster!r} is gone but the lab's IDE is still there (deleted outside Pulumi?). "
        f"`{lab_command('up', '--stack', names.student)}` makes it again; with plain Pulumi: pulumi up --replace '{cluster_urn}'"
    )


def warn_if_lost(names: LabNames, docker_env: dict[str, str], cluster_urn: str, warn: Callable[[str], None]) -> bool:
    """Warn (and say so) when this machine's Docker shows the cluster lost; inputs never change."""
    lost = cluster_lost(probe(names, docker_env or None))
    if lost:
        warn(lost_cluster_message(names, cluster_urn))
    return lost
