"""The kind cluster's lifecycle, run by the Pulumi commands with the program's own Python:
`python -m k8s_lab.kind_lifecycle create|delete|kubeconfig --name <cluster>`.

Plain kind is not enough for Pulumi: `kind create cluster` fails when the cluster exists
(so a re-run after a half-finished `up` breaks), and `--wait` covers only the control
plane. Here `create` keeps a healthy cluster of that name, removes a half-made one and
makes it again, then waits until every node is Ready; `delete` succeeds when the cluster
is already gone; `kubeconfig` prints the host or in-network kubeconfig; `ingress` applies
(or removes) a pinned, checksum-verified manifest inside the cluster. Only the standard
library, the project's own standard-library modules and the `kind` and `docker`
executables are used, so any Python 3.10+ named `python` runs it, on Windows too.

kind and the user's kubeconfig: `kind create`/`kind delete` write the cluster's
cluster-admin context into a kubeconfig file (by default ~/.kube/config, switching the
user's current context) under a lock that does not wait (kind's
pkg/cluster/internal/kubeconfig/internal/kubeconfig/lock.go: O_EXCL on `<file>.lock`).
Several stacks on one machine then fail at random. Each call here gives kind a kubeconfig
file of its own, in a temporary folder removed afterwards: the lab's kubeconfigs come from
`kind get kubeconfig` (which writes no file) and the stack's outputs.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from k8s_lab import limits, tools
from k8s_lab.exits import lab_command
from k8s_lab.registry import hosts_toml
from k8s_lab.runner import ProcessRunner, Result, Runner, RunError
from k8s_lab.versions import KIND_VERSION_ENV

CLUSTER_LABEL = "io.x-k8s.kind.cluster"  # kind's label on every node container
KIND_INSTALL_HINT = (
    "Install kind v0.23.0 or newer and put it on PATH: Windows `choco install kind`, macOS `brew install kind`, "
    "Linux https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
)
# kubectl inside the control-plane node (kind's own readiness check does the same).
NODE_READY_QUERY = [
    "kubectl",
    "--kubeconfig=/etc/kubernetes/admin.conf",
    "get",
    "nodes",
    "-o",
    'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
]


class LifecycleError(RuntimeError):
    pass


@dataclass
class Kind:
    """The executables, found once, the runner that calls them (tests/fakes.py's FakeRunner
    in tests) and the environment a lab on another Docker host adds (DOCKER_HOST, ...)."""

    kind: str
    docker: str
    runner: Runner = field(default_factory=ProcessRunner)
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def locate(
        cls, which: Callable[[str], str | None] = shutil.which, environ: Mapping[str, str] = os.environ, stack: str | None = None,
    ) -> "Kind":
        # A row other than the seed's names its kind release: that binary is `kind-<version>`,
        # next to the seed's `kind` in the tools folder (k8s_lab/tools.py ToolsLayout.kind_for).
        version = environ.get(KIND_VERSION_ENV, "")
        name = f"kind-{version}" if version else "kind"
        kind = which(name)
        if kind is None:
            if version:
                raise LifecycleError(
                    f"`{name}` (kind {version}, the release this lab's kubernetesVersion needs) was not found on PATH: "
                    f"run `{lab_command('up', *(['--stack', stack] if stack else []))}`, which fetches it into the tools folder, "
                    f"or put kind {version} on PATH as {name}"
                )
            raise LifecycleError(f"the `kind` executable was not found on PATH. {KIND_INSTALL_HINT}")
        docker = which("docker")
        if docker is None:
            raise LifecycleError("the `docker` executable was not found on PATH; install Docker Desktop or Docker Engine")
        return cls(kind, docker)

    def run(self, argv: Sequence[str], stdin: str | None = None, check: bool = True) -> Result:
        """One call of docker or kind; a failure (with `check`), or a program that cannot
        start or hangs (always), is a LifecycleError naming the command and what it said."""
        try:
            return self.runner.run(argv, stdin=stdin, env=self.env or None, check=check)
        except RunError as error:
            raise LifecycleError(str(error)) from None


    def node_containers(self, cluster: str) -> dict[str, str]:
        """Node container name -> state ("running", "exited", ...)."""
        out = self.run(
            [self.docker, "ps", "-a", "--filter", f"label={CLUSTER_LABEL}={cluster}", "--format", "{{json .}}"]
        ).stdout
        nodes = {}
        for line in out.splitlines():
            if line.strip():
                entry = json.loads(line)
                nodes[entry["Names"]] = entry["State"]
        return nodes

    def node_readiness(self, cluster: str) -> dict[str, bool] | None:
        """Node name -> Ready, as the API server sees it; None when it cannot be asked yet."""
        result = self.run([self.docker, "exec", f"{cluster}-control-plane", *NODE_READY_QUERY], check=False)
        if result.returncode != 0:
            return None
        readiness = {}
        for line in result.stdout.splitlines():
            name, sep, status = line.strip().partition("=")
            if sep:
                readiness[name] = status == "True"
        return readiness


def expected_nodes(cluster: str, workers: int) -> set[str]:
    """kind's node names: <c>-control-plane, <c>-worker, <c>-worker2, ..."""
    return {f"{cluster}-control-plane"} | {f"{cluster}-worker{'' if i == 1 else i}" for i in range(1, workers + 1)}


def is_healthy(kind: Kind, cluster: str, workers: int) -> bool:
    containers = kind.node_containers(cluster)
    if set(containers) != expected_nodes(cluster, workers) or any(s != "running" for s in containers.values()):
        return False
    readiness = kind.node_readiness(cluster)
    return readiness is not None and set(readiness) == expected_nodes(cluster, workers) and all(readiness.values())


def wait_until_ready(
    kind: Kind, cluster: str, workers: int, timeout: float, sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic
) -> None:
    deadline = clock() + timeout
    expected = expected_nodes(cluster, workers)
    readiness: dict[str, bool] | None = None
    while True:
        readiness = kind.node_readiness(cluster)
        if readiness is not None and set(readiness) >= expected and all(readiness[n] for n in expected):
            return
        if clock() >= deadline:
            waiting = sorted(n for n in expected if not (readiness or {}).get(n))
            raise LifecycleError(
                f"cluster {cluster!r}: nodes not Ready after {timeout:.0f}s: {', '.join(waiting)}. "
                f"Look with `docker logs {cluster}-control-plane`; `pulumi up` again retries (a half-made cluster is made anew)"
            )
        sleep(2)


def control_plane_id(kind: Kind, cluster: str) -> str:
    """The control-plane container's ID: it changes exactly when the cluster is remade."""
    return kind.run([kind.docker, "inspect", "--format", "{{.Id}}", f"{cluster}-control-plane"]).stdout.strip()


@contextmanager
def own_kubeconfig() -> Iterator[str]:
    """A kubeconfig path for one kind call, in a folder of its own, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="k8s-lab-kind-") as folder:
        yield str(Path(folder) / "kubeconfig")


def apply_node_limits(kind: Kind, cluster: str, shares: limits.Shares, log: Callable[[str], None] = print) -> None:
    """Each node container's memory and CPU cap. kind has no such setting (its v1alpha4
    `Node` has role, image, labels, mounts, ports and patches only: kind v0.23.0
    pkg/apis/config/v1alpha4/types.go), so they are set on the containers it made, which
    keep them across `docker stop`/`start` and host reboots (they are in HostConfig)."""
    nodes = sorted(kind.node_containers(cluster))
    for node in nodes:
        argv = limits.docker_update_args(shares.node_mb(node), shares.cpus)
        if argv:
            kind.run([kind.docker, "update", *argv, node])
    if nodes and (shares.control_plane_mb or shares.cpus):
        log(f"kind cluster {cluster!r}: caps set on {len(nodes)} nodes ({describe_shares(shares)})")


PREVIOUS_OUTPUT_ENV = "PULUMI_COMMAND_STDOUT"  # pulumi-command sets it on an update run (local/commandOutputs.go)
NETWORK_ID_ENV = "K8S_LAB_NETWORK_ID"  # the lab network's Docker ID (k8s_lab.drift, components/cluster.py)


def remake_repair(cluster: str) -> str:
    """How to get cluster `cluster` back. The cluster is named as its student, which is the lab's
    stack name unless `student` is set apart (classroom.py never does): a command without
    --stack, pasted by a teacher, would act on a lab named after them (k8s_lab/power.py fix)."""
    return (
        f"If the lab is only stopped, start it ({lab_command('start', '--stack', cluster)}) and run `up` again. To make the "
        f"cluster anew, run `{lab_command('up', '--stack', cluster)}` (it replaces a lost cluster) or `pulumi up --replace "
        "'urn:pulumi:<stack>::k8s-lab::k8s-lab:index:KindCluster$command:local:Command::cluster-cluster'`"
    )


def identity_line(control_plane: str, network_id: str | None) -> str:
    """The create's stdout: the control plane's container ID and the network it was made on."""
    return f"{control_plane} {network_id}" if network_id else control_plane


def remake_refusal(previous: str, control_plane: str | None, network_id: str | None) -> str | None:
    """On an update run (`previous` is the last create's stdout): why the cluster must not
    be kept or made here, or None. The stack's cluster identity is the command's ID and
    the network's (components/cluster.py), and an update keeps the command's ID: a cluster
    made anew on the same network would leave the IDE's kubeconfig, ingress-nginx, the
    registry's hosts.toml and the namespace behind while state says they exist.
    `control_plane` is the healthy cluster's control-plane ID, None when it must be made."""
    last_control_plane, _, last_network = previous.strip().partition(" ")
    if control_plane == last_control_plane:
        return None
    if last_network and network_id and last_network != network_id:
        return None  # a new network: the identity changes, everything downstream follows
    why = "it is gone, stopped or not Ready" if control_plane is None else "it was made anew outside this stack"
    return f"the cluster would have to be made anew ({why}), and an update keeps the identity the rest of the lab follows"


def caps_that_stay(shares: limits.Shares, node_caps: dict[str, tuple[int, int]]) -> list[str]:
    """Nodes holding a cap that `shares` turns off: `docker update` cannot lift one (moby
    daemon/container/container_unix.go UpdateContainer ignores Memory=0 and NanoCPUs=0)."""
    return sorted(
        node
        for node, (memory, nano_cpus) in node_caps.items()
        if (memory and shares.node_mb(node) is None) or (nano_cpus and shares.cpus is None)
    )


def node_caps(kind: Kind, nodes: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Node -> (memory bytes, NanoCPUs) as Docker has them."""
    caps = {}
    for node in nodes:
        out = kind.run([kind.docker, "inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.NanoCPUs}}", node]).stdout
        memory, _, nano = out.strip().partition(" ")
        caps[node] = (int(memory or 0), int(nano or 0))
    return caps


def describe_shares(shares: limits.Shares) -> str:
    memory = f"memory {shares.control_plane_mb} MB control plane, {shares.worker_mb} MB per worker" if shares.control_plane_mb else "no memory cap"
    return f"{memory}; {'cpus ' + shares.cpus if shares.cpus else 'no CPU cap'}"


def create(
    kind: Kind,
    cluster: str,
    config_yaml: str,
    workers: int,
    timeout: float,
    log: Callable[[str], None] = print,
    shares: limits.Shares | None = None,
    previous: str | None = None,
    network_id: str | None = None,
) -> str:
    """Make `cluster` from `config_yaml` unless a healthy one exists, its nodes capped by
    `shares` (again on a kept cluster, so a changed setting applies); what was done.
    `previous` (an update run) refuses what would remake the cluster under the same identity."""
    shares = shares or limits.Shares()
    healthy = bool(kind.node_containers(cluster)) and is_healthy(kind, cluster, workers)
    if previous:
        refusal = remake_refusal(previous, control_plane_id(kind, cluster) if healthy else None, network_id)
        if refusal:
            raise LifecycleError(f"cluster {cluster!r}: {refusal}. {remake_repair(cluster)}")
    if healthy:
        staying = caps_that_stay(shares, node_caps(kind, sorted(kind.node_containers(cluster))))
        if staying:
            raise LifecycleError(
                f"cluster {cluster!r}: a cap turned off stays on {', '.join(staying)} (`docker update` cannot lift it); "
                f"the cluster must be made anew. {remake_repair(cluster)}"
            )
        log(f"kind cluster {cluster!r} exists and every node is Ready: kept")
        apply_node_limits(kind, cluster, shares, log)
        return "kept"
    if kind.node_containers(cluster):
        log(f"kind cluster {cluster!r} is half-made or unhealthy: removing it to make it again")
        delete(kind, cluster, log=log)
    with own_kubeconfig() as kubeconfig_path:
        argv = [kind.kind, "create", "cluster", "--name", cluster, "--config", "-", "--kubeconfig", kubeconfig_path]
        result = kind.run(argv, stdin=config_yaml, check=False)
    if result.returncode != 0:
        # kind removes its nodes on failure, but not always all of them: leave nothing behind.
        delete(kind, cluster, log=lambda _: None)
        raise LifecycleError(f"`kind create cluster --name {cluster}` failed:\n{result.stderr.strip()}")
    log(result.stderr.strip())
    apply_node_limits(kind, cluster, shares, log)
    wait_until_ready(kind, cluster, workers, timeout)
    log(f"kind cluster {cluster!r}: all {workers + 1} nodes Ready")
    return "created"


def delete(kind: Kind, cluster: str, log: Callable[[str], None] = print) -> None:
    # kind returns success for a cluster that is already gone.
    with own_kubeconfig() as kubeconfig_path:
        kind.run([kind.kind, "delete", "cluster", "--name", cluster, "--kubeconfig", kubeconfig_path])
    log(f"kind cluster {cluster!r} deleted")


def registry_hosts(kind: Kind, cluster: str, directory: str, hosts_file: str, log: Callable[[str], None] = print) -> None:
    """Write containerd's hosts.toml for the local registry into every node of the cluster
    (kind's local-registry guide does the same with `docker exec`)."""
    nodes = sorted(kind.node_containers(cluster))
    if not nodes:
        raise LifecycleError(f"cluster {cluster!r} has no nodes to configure")
    for node in nodes:
        kind.run([kind.docker, "exec", node, "mkdir", "-p", directory])
        kind.run([kind.docker, "exec", "-i", node, "cp", "/dev/stdin", f"{directory}/hosts.toml"], stdin=hosts_file)
    log(f"local registry configured on {len(nodes)} nodes: {directory}")


CACHE_DIR_ENV = "K8S_LAB_CACHE_DIR"
NODE_KUBECTL = ["kubectl", "--kubeconfig=/etc/kubernetes/admin.conf"]


def cache_dir() -> Path:
    """Where fetched manifests are kept: K8S_LAB_CACHE_DIR, else .tools/cache in the folder
    the command runs in (the project's, as Pulumi starts its providers there)."""
    return Path(os.environ.get(CACHE_DIR_ENV) or Path(".tools") / "cache")


def cached_manifest(url: str, sha256: str, fetch: Callable[..., Path] = tools.download_verified) -> str:
    """The manifest at `url`, fetched once and verified against `sha256` (also when cached)."""
    path = cache_dir() / f"{sha256}.yaml"
    if not (path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256):
        try:
            fetch(url, path, sha256, mode=0o644)
        except tools.FetchError as error:
            raise LifecycleError(f"the manifest could not be fetched: {error}") from error
    return path.read_text(encoding="utf-8")


def manifest(kind: Kind, cluster: str, text: str, remove: bool, log: Callable[[str], None] = print) -> None:
    """Apply `text` in the cluster (kubectl inside the control-plane node, so the host needs
    no kubectl), or remove what it made; removing from a cluster that is gone is done."""
    control_plane = f"{cluster}-control-plane"
    if remove and control_plane not in kind.node_containers(cluster):
        log(f"cluster {cluster!r} is gone: nothing to remove")
        return
    verb = ["delete", "--ignore-not-found", "--wait=false"] if remove else ["apply"]
    kind.run([kind.docker, "exec", "-i", control_plane, *NODE_KUBECTL, *verb, "-f", "-"], stdin=text)
    log(f"manifest {'removed from' if remove else 'applied to'} cluster {cluster!r}")


def defines_crds(text: str) -> bool:
    return "\nkind: CustomResourceDefinition" in "\n" + text


def manifests(kind: Kind, cluster: str, texts: Sequence[str], remove: bool, log: Callable[[str], None] = print) -> None:
    """Apply several manifests in order, server-side (the Gateway API's HTTPRoute CRD is
    431 kB, past the 256 kB a client-side apply's last-applied annotation may hold), each
    CRD Established before the next part uses it; or remove them in reverse order, keeping
    the CRDs (deleting one deletes every object of its kind: the students' routes)."""
    control_plane = f"{cluster}-control-plane"
    if remove:
        if control_plane not in kind.node_containers(cluster):
            log(f"cluster {cluster!r} is gone: nothing to remove")
            return
        for text in reversed([t for t in texts if not defines_crds(t)]):
            kind.run([kind.docker, "exec", "-i", control_plane, *NODE_KUBECTL, "delete", "--ignore-not-found", "--wait=false", "-f", "-"], stdin=text)
        log(f"manifests removed from cluster {cluster!r} (their CRDs kept)")
        return
    for text in texts:
        kind.run([kind.docker, "exec", "-i", control_plane, *NODE_KUBECTL, "apply", "--server-side", "--force-conflicts", "-f", "-"], stdin=text)
        if defines_crds(text):
            wait = ["wait", "--for=condition=Established", "--timeout=120s", "-f", "-"]
            kind.run([kind.docker, "exec", "-i", control_plane, *NODE_KUBECTL, *wait], stdin=text)
    log(f"{len(texts)} manifests applied to cluster {cluster!r}")


def kubeconfig(kind: Kind, cluster: str, internal: bool) -> str:
    argv = [kind.kind, "get", "kubeconfig", "--name", cluster] + (["--internal"] if internal else [])
    return kind.run(argv).stdout


def apply_manifests(kind: Kind, args: argparse.Namespace) -> None:
    """One pinned manifest, as the seed's row has always applied it; or several, plus the
    lab's own objects from stdin (`--stdin`), as a Gateway API row does."""
    if len(args.url) != len(args.sha256):
        raise LifecycleError("manifest: give one --sha256 for each --url")
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    texts = [cached_manifest(url, sha) for url, sha in zip(args.url, args.sha256, strict=True)]
    if len(texts) == 1 and not args.stdin:
        manifest(kind, args.name, texts[0], args.remove, log=log)
        return
    # On delete the provider may give no stdin: the namespace NGF's manifest made goes with
    # the lab's objects in it anyway.
    own = sys.stdin.read() if args.stdin else ""
    manifests(kind, args.name, texts + ([own] if own.strip() else []), args.remove, log=log)


def main(argv: Sequence[str] | None = None, kind_factory: Callable[[], Kind] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m k8s_lab.kind_lifecycle")
    sub = parser.add_subparsers(dest="action", required=True)
    create_parser = sub.add_parser("create", help="make the cluster (config on stdin) and wait for every node")
    create_parser.add_argument("--workers", type=int, required=True)
    create_parser.add_argument("--timeout", type=float, default=600)
    create_parser.add_argument("--control-plane-memory", type=int, help="the control-plane node's memory cap, MB")
    create_parser.add_argument("--worker-memory", type=int, help="each worker node's memory cap, MB")
    create_parser.add_argument("--cpus", help="each node's CPU cap, e.g. 1.5")
    delete_parser = sub.add_parser("delete", help="delete the cluster; fine when it is gone")
    kubeconfig_parser = sub.add_parser("kubeconfig", help="print the cluster's kubeconfig")
    kubeconfig_parser.add_argument("--internal", action="store_true", help="server as seen on the cluster's network")
    hosts_parser = sub.add_parser("registry-hosts", help="point every node's containerd at the local registry")
    hosts_parser.add_argument("--directory", required=True, help="containerd certs.d folder for the registry host")
    hosts_parser.add_argument("--endpoint", required=True, help="registry URL as the nodes reach it")
    manifest_parser = sub.add_parser("manifest", help="apply a pinned manifest in the cluster (or --remove it)")
    manifest_parser.add_argument("--url", required=True, action="append", help="repeatable: applied in order")
    manifest_parser.add_argument("--sha256", required=True, action="append", help="the manifest's pinned sha256, checked before use")
    manifest_parser.add_argument("--stdin", action="store_true", help="then apply the lab's own objects given on stdin")
    manifest_parser.add_argument("--remove", action="store_true", help="delete what the manifest made")
    for each in (create_parser, delete_parser, kubeconfig_parser, hosts_parser, manifest_parser):
        each.add_argument("--name", required=True)
    args = parser.parse_args(argv)
    try:
        # The cluster is named as its lab's stack (k8s_lab/names.py): the fixes name it.
        kind = (kind_factory or functools.partial(Kind.locate, stack=args.name))()
        if args.action == "create":
            shares = limits.Shares(control_plane_mb=args.control_plane_memory, worker_mb=args.worker_memory, cpus=args.cpus)
            network_id = os.environ.get(NETWORK_ID_ENV)
            create(
                kind, args.name, sys.stdin.read(), args.workers, args.timeout, log=lambda m: print(m, file=sys.stderr),
                shares=shares, previous=os.environ.get(PREVIOUS_OUTPUT_ENV), network_id=network_id,
            )
            # stdout is the command's output in Pulumi: the cluster's identity, nothing secret.
            print(identity_line(control_plane_id(kind, args.name), network_id))
        elif args.action == "delete":
            delete(kind, args.name, log=lambda m: print(m, file=sys.stderr))
        elif args.action == "manifest":
            apply_manifests(kind, args)
        elif args.action == "registry-hosts":
            registry_hosts(kind, args.name, args.directory, hosts_toml(args.endpoint), log=lambda m: print(m, file=sys.stderr))
        else:
            sys.stdout.write(kubeconfig(kind, args.name, args.internal))
    except LifecycleError as error:
        print(f"k8s-lab: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
