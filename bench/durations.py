"""Modelled figures for the benchmark: how long each resource takes to create, and how much
memory one student's lab holds on the host.

Nothing here is measured on this machine (there is no kind cluster in CI); every figure is
written down with where it comes from, so a reader can disagree with a number and change
it in one place. Each duration has a low, typical and high value (seconds); the benchmark
runs the critical-path model with all three.
"""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("low", "typical", "high")


@dataclass(frozen=True)
class Figure:
    low: float
    typical: float
    high: float
    source: str

    def at(self, level: str) -> float:
        return {"low": self.low, "typical": self.typical, "high": self.high}[level]


def _seconds(text: str) -> float:
    """Docker health-check durations as pulumi-docker takes them: "5s", "1m30s", "500ms"."""
    total, number = 0.0, ""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = "ms" if text.startswith("ms", i) else ch
        total += float(number) * units[unit]
        number = ""
        i += len(unit)
    return total


def _ide_start() -> Figure:
    # Tied to the program's own health check: pulumi-docker's `wait` returns when Docker
    # reports the container healthy, and Docker probes every `interval` after start.
    from k8s_lab.ide_container import HEALTHCHECK

    interval = _seconds(HEALTHCHECK.interval)
    create = 1.0  # create + two small uploads + start
    return Figure(
        create + interval,
        create + 2 * interval,
        create + 4 * interval,
        f"container create/upload/start ~1 s, then healthy at the 1st/2nd/4th probe (interval {HEALTHCHECK.interval}, "
        "k8s_lab/ide_container.py); linuxserver's s6 init plus code-server usually answer /healthz within 5-10 s",
    )


# Duration keys (bench/run.py's duration_key) -> seconds to create.
DURATIONS: dict[str, Figure] = {
    "docker:image/build-ide": Figure(
        120, 300, 600,
        "first `docker build ide/` on a host: pulls linuxserver/code-server and amazon/aws-cli, apt installs "
        "OpenJDK 11, pip installs Jupyter, downloads docker-cli, terraform, kubectl, kubectx: several minutes "
        "(assumption, depends on bandwidth and mirrors)",
    ),
    "docker:image/build-ide-cached": Figure(
        1, 3, 10,
        "the same content tag again on a host that built it (every later student): BuildKit answers from cache "
        "(assumption)",
    ),
    "docker:remote-image/ide": Figure(
        20, 60, 180,
        "pulling the prebuilt IDE image (ideImage, ~1.5-2 GB of layers) from a registry over 100 Mbit/s-1 Gbit/s "
        "(assumption)",
    ),
    "docker:remote-image/present": Figure(
        0.1, 0.5, 1, "an image already on the host (every later student, keep_locally): a registry manifest check "
        "(assumption)"
    ),
    "docker:remote-image/small": Figure(
        1, 3, 10,
        "pulling registry:2 (~25 MB compressed) (assumption)",
    ),
    "docker:volume": Figure(0.05, 0.1, 0.5, "`docker volume create`: a metadata write in the daemon (assumption)"),
    "docker:network": Figure(0.05, 0.1, 0.5, "`docker network create` (bridge): daemon + iptables rules (assumption)"),
    "docker:container/start": Figure(
        0.5, 1, 3, "create + start of a small container without a health wait (registry:2) (assumption)"
    ),
    "docker:container/wait-healthy": _ide_start(),
    "random:password": Figure(0, 0, 0, "pulumi-random computes locally; no I/O"),
    # kind create cluster, node image already on the host. kubeadm reports "All control plane
    # components are healthy after 24-28 seconds" on a dev server (kubernetes/kubernetes PR
    # 117984); kind adds node containers, CNI and StorageClass; k8s_lab.kind_lifecycle then
    # waits until every node is Ready. Workers join in parallel (kind joins them concurrently).
    "command:kind-create/control-plane": Figure(
        35, 45, 55,
        "kind create with one node, image present: node container + kubeadm init (~25-30 s, kubernetes PR 117984) "
        "+ CNI + node Ready; common reports 30-60 s (assumption within that)",
    ),
    "command:kind-create/workers": Figure(
        25, 30, 35,
        "workers joining (concurrently) and becoming Ready; 3-node totals 60-90 s in common reports (assumption)",
    ),
    "command:kind-create/extra-worker": Figure(
        1, 3, 5, "each worker beyond the second: more contention on one host (assumption)"
    ),
    "command:kind-kubeconfig": Figure(
        0.3, 1, 2, "`kind get kubeconfig` (a docker exec cat) plus a Python start (assumption)"
    ),
    "command:kind-registry-hosts": Figure(
        0.5, 1.5, 3, "one `docker exec` per node writing hosts.toml, plus a Python start (assumption)"
    ),
    "pulumi:provider/kubernetes": Figure(
        0.5, 2, 5, "kubernetes provider plugin start and API discovery against the new cluster (assumption)"
    ),
    "pulumi:provider/plugin": Figure(
        0.2, 0.5, 2, "an explicit provider (docker for a dockerHost, …): plugin start and configure (assumption)"
    ),
    "kubernetes:namespace": Figure(0.2, 0.5, 2, "one API create, awaited until Active (assumption)"),
    "kubernetes:configmap": Figure(0.1, 0.3, 1, "one API create (assumption)"),
    "kubernetes:yaml/ingress-nginx": Figure(
        30, 60, 120,
        "ingress-nginx for kind (~20 objects) with Pulumi's await logic: the admission Jobs must complete and the "
        "controller Deployment become ready, which pulls two images into the node; kind's ingress guide waits "
        "with `--timeout=90s` (assumption)",
    ),
    "kubernetes:yaml/ingress-nginx-no-await": Figure(
        1, 3, 6,
        "the same manifest with skip_await=True: fetch the URL and create the objects, no readiness wait (assumption)",
    ),
    "command:manifest": Figure(
        1, 3, 8,
        "ingress-nginx's pinned manifest: fetched once per machine (16 KB), then `kubectl apply` inside the control "
        "plane, no readiness wait (assumption)",
    ),
    "unmodelled": Figure(
        0.5, 2, 5,
        "any resource type the benchmark does not know yet: a default, so a new resource costs nothing to add; "
        "the run lists them (assumption)",
    ),
}

# Pulumi's own default: `pulumi up --parallel` "Defaults to unbounded. (default 2147483647)"
# (pulumi CLI help, e.g. https://fig.io/manual/pulumi/up, pulumi.com/docs/iac/cli/commands/pulumi_up).
PULUMI_DEFAULT_PARALLELISM = None  # None = unbounded

# Per-student memory on the host (MiB), idle lab with one student editing. kind says there
# is no single figure and to measure with `docker stats` on the node containers
# (kind docs, user/resource-requirements); its quick start asked for at least 4 GB for a
# single-node cluster *including* the Docker VM on macOS/Windows. code-server recommends at
# least 1 GB of RAM (coder/code-server docs/requirements.md); Coder's reference sizing is
# 32 GB per 16 workspaces (code-server discussion 7313). The rest are assumptions.
FOOTPRINT_MB: dict[str, Figure] = {
    "control-plane node": Figure(
        500, 700, 1000,
        "etcd, apiserver, controller-manager, scheduler, kubelet, containerd, kindnet, kube-proxy, 2×coredns, "
        "local-path-provisioner (assumption; measure with docker stats per kind's resource-requirements page)",
    ),
    "worker node": Figure(300, 400, 500, "kubelet, containerd, kindnet, kube-proxy (assumption)"),
    "IDE (code-server)": Figure(
        300, 600, 1000,
        "code-server with an editor open and a language server; code-server recommends >= 1 GB "
        "(docs/requirements.md), 2 GB per workspace in Coder's sizing",
    ),
    "ingress-nginx controller": Figure(
        70, 100, 150, "controller pod in the control-plane node when ingress=true (assumption)"
    ),
    "registry:2": Figure(10, 20, 50, "Go binary, idle, filesystem storage (assumption)"),
}
HOST_RESERVED_GB = 2  # the OS and the Docker daemon
HOST_SIZES_GB = (16, 32, 64)
