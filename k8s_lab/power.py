"""Stop and start a student's lab, keeping every container and all state.

`stop` stops the IDE, the registry and the kind nodes (in that order: nothing talks to a
cluster that is going away); nothing is removed, so volumes, images pushed to the local
registry, the cluster's objects and the stack's state all stay. `start` brings the nodes
back first (kind v0.23.0 starts its nodes with --restart=on-failure:1 so they also come
back after a host reboot: pkg/cluster/internal/providers/docker/provision.go), waits until
every node is Ready, starts the registry and the IDE, waits until the IDE is healthy, and
proves the IDE's in-network kubeconfig still works: nodes get new IPs on restart, but the
kubeconfig names the control plane by its container name, which Docker's DNS on the lab
network answers with the new address.

Pulumi is not involved: a stopped container is still there, so `lab.py up`'s repair
(k8s_lab.drift looks with `docker ps -a`) never takes a stopped lab for a lost one, and a
plain `pulumi up` or `preview` diffs config against state and changes nothing; after a
`pulumi refresh` of the stopped lab, `up` starts the IDE and the registry again rather than
replacing them (k8s_lab.docker_diff).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from k8s_lab import ide_container
from k8s_lab.kind_lifecycle import Kind, LifecycleError, expected_nodes, wait_until_ready
from k8s_lab.names import LabNames
from k8s_lab.exits import lab_command

Log = Callable[[str], None]


@dataclass(frozen=True)
class LabParts:
    """What Docker has of one lab: container name -> state ("running", "exited", ...)."""

    ide: dict[str, str]
    registry: dict[str, str]
    nodes: dict[str, str]

    @property
    def all(self) -> dict[str, str]:
        return {**self.ide, **self.registry, **self.nodes}

    @property
    def stopped(self) -> bool:
        """Something of the lab is there and none of it runs."""
        return bool(self.all) and not any(state == "running" for state in self.all.values())

    @property
    def partly_stopped(self) -> bool:
        return any(state != "running" for state in self.all.values())


def container_state(kind: Kind, name: str) -> dict[str, str]:
    result = kind.run([kind.docker, "inspect", "--format", "{{.State.Status}}", name], check=False)
    return {name: result.stdout.strip()} if result.returncode == 0 else {}


def lab_parts(kind: Kind, names: LabNames) -> LabParts:
    return LabParts(
        ide=container_state(kind, names.ide_container),
        registry=container_state(kind, names.registry_container),
        nodes=kind.node_containers(names.cluster),
    )


def fix(verb: str, names: LabNames) -> str:
    """The lab.py command that repairs this lab, with its --stack: these messages also reach a
    teacher (classroom.py stop/start), for whom a bare `lab.py up` makes a lab of their own."""
    return lab_command(verb, "--stack", names.student)


def node_order(nodes: dict[str, str]) -> list[str]:
    """The control plane first, then the workers by name."""
    return sorted(nodes, key=lambda name: (not name.endswith("-control-plane"), name))


def stop(kind: Kind, names: LabNames, log: Log = print) -> list[str]:
    """Stop every container of the lab that runs; what was stopped."""
    parts = lab_parts(kind, names)
    if not parts.all:
        raise LifecycleError(f"there is no lab of {names.student!r} in this Docker to stop. `{fix('up', names)}` makes it")
    order = [*parts.ide, *parts.registry, *reversed(node_order(parts.nodes))]
    running = [name for name in order if parts.all[name] == "running"]
    if running:
        kind.run([kind.docker, "stop", *running])
    log(f"lab {names.student!r} stopped ({len(running)} containers); everything is kept. `{fix('start', names)}` brings it back")
    return running


def start(kind: Kind, names: LabNames, workers: int, timeout: float = 600, log: Log = print, sleep: Callable[[float], None] = time.sleep) -> None:
    """Start the lab's containers, wait for Ready nodes and a healthy IDE, prove the kubeconfig."""
    parts = lab_parts(kind, names)
    missing = sorted(expected_nodes(names.cluster, workers) - set(parts.nodes)) + ([names.ide_container] if not parts.ide else [])
    if missing:
        raise LifecycleError(f"lab {names.student!r} lacks {', '.join(missing)}: `{fix('up', names)}` makes what is missing again")
    stopped_nodes = [name for name in node_order(parts.nodes) if parts.nodes[name] != "running"]
    if stopped_nodes:
        kind.run([kind.docker, "start", *stopped_nodes])
    wait_until_ready(kind, names.cluster, workers, timeout, sleep=sleep)
    log(f"kind cluster {names.cluster!r}: all {workers + 1} nodes Ready")
    rest = [name for name, state in {**parts.registry, **parts.ide}.items() if state != "running"]
    if rest:
        kind.run([kind.docker, "start", *rest])
    wait_healthy(kind, names.ide_container, timeout, sleep=sleep, repair=fix("up", names))
    log(f"IDE {names.ide_container!r} is healthy")
    prove_kubeconfig(kind, names, workers)
    log(f"the IDE's kubeconfig reaches {names.in_network_server} and sees every node")


HEALTH_FORMAT = "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}"


def health(kind: Kind, container: str) -> str:
    """"healthy", "starting", "unhealthy" for a container with a health check, else its state."""
    result = kind.run([kind.docker, "inspect", "--format", HEALTH_FORMAT, container], check=False)
    return result.stdout.strip() if result.returncode == 0 else "missing"


def wait_healthy(
    kind: Kind, container: str, timeout: float, repair: str, sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Until `container` is healthy; `repair`: the command that makes it again (its lab's `up
    --stack`, required: a bare `lab.py up` pasted by a teacher makes a lab of their own)."""
    deadline = clock() + timeout
    while True:
        status = health(kind, container)
        if status in ("healthy", "running"):  # "running": no health check (stand-ins)
            return
        if status in ("missing", "exited", "dead") or clock() >= deadline:
            raise LifecycleError(
                f"{container} is {status} after start (waited up to {timeout:.0f}s). Look with `docker logs {container}`; "
                f"`{repair}` makes it again if it stays so"
            )
        sleep(2)


def prove_kubeconfig(kind: Kind, names: LabNames, workers: int) -> None:
    """kubectl in the IDE, with the kubeconfig the lab gave it, lists every node."""
    argv = [kind.docker, "exec", names.ide_container, "kubectl", f"--kubeconfig={ide_container.KUBECONFIG_FILE}",
            "get", "nodes", "-o", "name", "--request-timeout=20s"]
    result = kind.run(argv, check=False)
    seen = {line.strip().removeprefix("node/") for line in result.stdout.splitlines() if line.strip()}
    if result.returncode != 0 or seen != expected_nodes(names.cluster, workers):
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no answer"]
        raise LifecycleError(
            f"the IDE's kubeconfig does not reach the cluster after start ({detail[0]}). "
            f"`{fix('up', names)}` writes it again"
        )
