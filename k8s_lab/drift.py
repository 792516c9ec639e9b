"""Seeing a kind cluster that disappeared behind Pulumi's back.

pulumi-command's commands have no read, so `pulumi refresh` cannot notice a cluster
removed by `kind delete cluster` or a Docker Desktop reset. The program looks itself
(read-only `docker ps`) and, when the cluster is gone, changes one environment entry of
the cluster command: pulumi-command then runs the command's `create` again, which
(k8s_lab.kind_lifecycle) keeps a healthy cluster and makes a missing one. The entries are
stable on a healthy stack, so they never cause a diff there:
- K8S_LAB_NETWORK_ID: the lab network's Docker ID. A Docker reset followed by
  `pulumi up --refresh` recreates the network with a new ID, so the cluster is remade too.
- K8S_LAB_RECOVER_CLUSTER: set only while the IDE container exists but the cluster does
  not (`kind delete cluster`); the `up` after the recovery drops it again, re-running the
  idempotent create once, which keeps the cluster.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from k8s_lab.kind_lifecycle import CLUSTER_LABEL
from k8s_lab.names import LabNames
from k8s_lab.network import KIND_NETWORK_ENV

NETWORK_ID_ENV = "K8S_LAB_NETWORK_ID"
RECOVER_ENV = "K8S_LAB_RECOVER_CLUSTER"


@dataclass(frozen=True)
class Presence:
    cluster: bool  # any node container of the student's cluster
    ide: bool  # the student's IDE container


def probe(
    names: LabNames, docker_env: dict[str, str] | None = None, run: Callable[..., subprocess.CompletedProcess] = subprocess.run
) -> Presence | None:
    """What exists in Docker now; None when Docker cannot be asked (the providers will say why)."""
    if shutil.which("docker") is None:
        return None

    def names_of(*filters: str) -> list[str] | None:
        argv = ["docker", "ps", "-a", "--format", "{{.Names}}"]
        for each in filters:
            argv += ["--filter", each]
        try:
            env = {**os.environ, **(docker_env or {})}
            result = run(argv, capture_output=True, text=True, timeout=30, env=env)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return result.stdout.split() if result.returncode == 0 else None

    nodes = names_of(f"label={CLUSTER_LABEL}={names.cluster}")
    ide = names_of(f"name=^/{names.ide_container}$")
    if nodes is None or ide is None:
        return None
    return Presence(cluster=bool(nodes), ide=names.ide_container in ide)


def cluster_lost(presence: Presence | None) -> bool:
    return presence is not None and presence.ide and not presence.cluster


def command_environment(network_name: str, network_id: str, lost: bool, docker_env: dict[str, str] | None = None) -> dict[str, str]:
    environment = {**(docker_env or {}), KIND_NETWORK_ENV: network_name, NETWORK_ID_ENV: network_id}
    if lost:
        environment[RECOVER_ENV] = "1"
    return environment
