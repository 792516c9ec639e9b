"""`lab.py doctor`: what breaks kind and Docker Desktop in practice, each finding with its fix.

`Facts` are gathered by small readers (docker info, the file system, /proc, the routing
table, a bind on each of the slot's ports); `findings` is a pure function of them, so
every rule is tested with hand-made facts. Sources:
- kind v0.23.0 site/content/docs/user/known-issues.md: "Pod errors due to too many open
  files" (fs.inotify.max_user_watches 524288, max_user_instances 512), Docker Desktop's
  memory (at least 6-8 GB), and disk space (nodes fail with DiskPressure when Docker's disk
  is nearly full).
- the seed's pod and service subnets (k8s_lab.kind_config): a host route into them makes
  traffic to pods or services leave through the host's network instead.
- Docker Desktop's Resource Saver pauses its VM after idle minutes: a class's labs then
  answer slowly or time out the first request (Docker Desktop 4.24+ settings, Resources).
- what every running lab on this Docker publishes beyond loopback (`docker inspect`'s
  NetworkSettings.Ports), held to k8s_lab/exposure.py's table.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import platform
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from k8s_lab import exposure, host_ports, kind_config, limits, shell_form, versions
from k8s_lab import ports as lab_ports
from k8s_lab.exits import lab_command
from k8s_lab.runner import DEFAULT_RUNNER, Runner, RunError

GB = 1024**3
MIN_FREE_DISK_GB = 20  # node image ~1 GB per pull, images students build, etcd; DiskPressure below ~10-15%
INOTIFY_WATCHES = 524288  # kind known issues
INOTIFY_INSTANCES = 512
HOST_RESERVED_MB = 2048  # the OS and the Docker daemon (README, Benchmark)
CGROUP_KEYS = ("MemoryLimit", "CpuCfsQuota", "NCPU")  # what of docker info decides the caps (limits.host_problems)


@dataclass(frozen=True)
class Facts:
    system: str  # "Linux", "Darwin", "Windows"
    wsl: bool = False  # Linux inside WSL 2
    docker_desktop: bool = False
    docker_memory_mb: float | None = None  # docker info MemTotal
    disk_free_gb: float | None = None  # where Docker keeps its data, when visible from here
    inotify_watches: int | None = None
    inotify_instances: int | None = None
    taken_ports: list[tuple[str, int]] = field(default_factory=list)
    own_lab_present: bool = False  # the lab's own containers hold its ports
    routes: list[str] = field(default_factory=list)  # IPv4 networks of the host's routes
    labs: int = 1
    lab_footprint_mb: float = 2220  # typical, 3 nodes + registry (README, Benchmark)
    slot: int = 0
    bind_address: str = "127.0.0.1"
    remote: bool = False  # the Docker asked is another host's (dockerHost)
    published: list[Binding] = field(default_factory=list)  # running labs' host ports
    cgroups: dict[str, Any] = field(default_factory=dict)  # docker info MemoryLimit, CpuCfsQuota, NCPU
    lab_memory: str | None = None  # the lab's labMemory and labCpus settings (None: the default)
    lab_cpus: str | None = None
    cgroup_version: str = ""  # docker info CgroupVersion: "1" or "2"; "" when not known
    kubernetes_version: str = versions.SEED  # the lab's kubernetesVersion row
    today: datetime.date | None = None  # for the row's end of life; None: not judged
    stack: str | None = None  # the lab's name, for the fixes' --stack


@dataclass(frozen=True)
class Binding:
    """One host port a running lab's container publishes, as `docker inspect` shows it."""

    lab: str
    container: str
    container_port: str  # "5000/tcp"
    host_ip: str
    host_port: int


@dataclass(frozen=True)
class Finding:
    severity: str  # "problem" (the lab will fail or misbehave) or "note"
    what: str
    fix: str

    def __str__(self) -> str:
        return f"[{self.severity}] {self.what}\n    Fix: {self.fix}"


def memory_findings(facts: Facts) -> list[Finding]:
    if facts.docker_memory_mb is None:
        return []
    need = facts.labs * facts.lab_footprint_mb + (0 if facts.docker_desktop else HOST_RESERVED_MB)
    if facts.docker_memory_mb >= need:
        return []
    have = facts.docker_memory_mb / 1024
    fix = (
        f"give Docker Desktop at least {need / 1024:.0f} GB (Settings > Resources > Memory; on WSL 2, memory= in %UserProfile%\\.wslconfig)"
        if facts.docker_desktop
        else "run fewer labs on this host (spread the roster over hosts with classroom.py's dockerHost column), or add memory"
    )
    return [Finding("problem", f"Docker has {have:.1f} GB of memory; {facts.labs} lab(s) need about {need / 1024:.1f} GB", fix)]


def disk_findings(facts: Facts) -> list[Finding]:
    if facts.disk_free_gb is None or facts.disk_free_gb >= MIN_FREE_DISK_GB:
        return []
    return [
        Finding(
            "problem",
            f"only {facts.disk_free_gb:.1f} GB free where Docker keeps images and containers; kind nodes stop scheduling pods under disk pressure",
            "docker system prune (removes stopped containers of other projects and unused images; check first with docker system df), "
            "or free space on that disk",
        )
    ]


def inotify_findings(facts: Facts) -> list[Finding]:
    if facts.system != "Linux" or facts.inotify_watches is None or facts.inotify_instances is None:
        return []
    if facts.inotify_watches >= INOTIFY_WATCHES and facts.inotify_instances >= INOTIFY_INSTANCES:
        return []
    return [
        Finding(
            "problem",
            f"fs.inotify.max_user_watches={facts.inotify_watches}, max_user_instances={facts.inotify_instances}: "
            "pods fail with \"too many open files\" once a few kind nodes run (kind known issues)",
            f"sudo sysctl fs.inotify.max_user_watches={INOTIFY_WATCHES} fs.inotify.max_user_instances={INOTIFY_INSTANCES}, "
            "and the same two lines in /etc/sysctl.d/99-kind.conf to keep them after a reboot",
        )
    ]


def port_findings(facts: Facts) -> list[Finding]:
    if not facts.taken_ports or facts.own_lab_present:
        return []
    message = host_ports.port_conflict_message(facts.bind_address, facts.slot, facts.taken_ports, facts.stack)
    what, _, fix = message.partition("\nFix: ")
    return [Finding("problem", what.replace("\n", " ").replace("  - ", ""), fix)]


def subnet_findings(facts: Facts) -> list[Finding]:
    found = []
    for name, subnet in (("pod", kind_config.POD_SUBNET), ("service", kind_config.SERVICE_SUBNET)):
        lab_net = ipaddress.ip_network(subnet)
        clashes = [r for r in facts.routes if r != "0.0.0.0/0" and ipaddress.ip_network(r, strict=False).overlaps(lab_net)]
        if clashes:
            found.append(
                Finding(
                    "problem",
                    f"the host routes {', '.join(clashes)}, which overlaps the cluster's {name} subnet {subnet}: "
                    f"traffic to those {name} addresses can leave through the host's network instead (a VPN often does this)",
                    "disconnect the VPN or remove that route while the class runs; the seed's subnets are fixed in k8s_lab/kind_config.py",
                )
            )
    return found


def platform_findings(facts: Facts) -> list[Finding]:
    found = []
    if facts.wsl or (facts.system == "Windows" and facts.docker_desktop):
        found.append(
            Finding(
                "note",
                "WSL 2 gives its VM half the host's memory by default; Docker Desktop's labs live inside it",
                "set memory= (e.g. memory=12GB) under [wsl2] in %UserProfile%\\.wslconfig, then wsl --shutdown",
            )
        )
    if facts.docker_desktop:
        found.append(
            Finding(
                "note",
                "Docker Desktop's Resource Saver pauses its VM after idle minutes: the first request to a lab then hangs or times out",
                "turn off Resource Saver (Settings > Resources > Advanced) on a host that serves a class",
            )
        )
    return found


def cgroup_findings(facts: Facts) -> list[Finding]:
    """kubelet 1.35 and newer refuse a cgroup v1 host (kubernetes#134298): a row that needs
    cgroup v2 is a problem there, said before anything is made."""
    if facts.kubernetes_version not in versions.ROWS:
        return []
    problem = versions.cgroup_v1_problem(facts.kubernetes_version, facts.cgroup_version, facts.stack)
    if problem is None:
        return []
    return [Finding("problem", problem.split(": its Docker")[0] + ": Docker here uses cgroup v1", problem.split("Rows that run here: ", 1)[1])]


def end_of_life_findings(facts: Facts) -> list[Finding]:
    if facts.today is None or facts.kubernetes_version not in versions.ROWS:
        return []
    note = versions.end_of_life_note(facts.kubernetes_version, facts.today, facts.stack)
    if note is None:
        return []
    what, _, move = note.partition("; ")
    return [Finding("note", what, move)]


def exposure_findings(facts: Facts) -> list[Finding]:
    """Per running lab, what is reachable beyond loopback: a problem where the table keeps
    the port on loopback (a lab made before issue 30, or published by hand), else a note."""
    found = []
    for lab in sorted({b.lab for b in facts.published}):
        wide = [b for b in facts.published if b.lab == lab and not _loopback(b.host_ip)]
        wrong = [b for b in wide if _meant_for(b, facts.remote) == exposure.LOOPBACK]
        if wrong:
            found.append(Finding(
                "problem",
                f"lab {lab} publishes beyond loopback what k8s_lab/exposure.py keeps on it: {_listed(wrong)}",
                f"{lab_command('up', '--stack', lab)} (publishes it on 127.0.0.1 as the table says; the registry's pushed images stay)",
            ))
        if wide and len(wide) > len(wrong):
            found.append(Finding(
                "note",
                f"lab {lab} is reachable beyond loopback on {_listed([b for b in wide if b not in wrong])}",
                f"meant for students' laptops; to close it: {lab_command('config', 'bindAddress', '127.0.0.1', '--stack', lab)}, "
                f"then {lab_command('up', '--stack', lab)}",
            ))
    return found


def _loopback(host_ip: str) -> bool:
    return ipaddress.ip_address(host_ip or "0.0.0.0").is_loopback


def _purpose(binding: Binding) -> str | None:
    owner = lab_ports.slot_port_owner(binding.host_port)
    return owner[1] if owner else None


def _meant_for(binding: Binding, remote: bool) -> str:
    """LOOPBACK or BIND, as the table places this port; LOOPBACK for a port not in it."""
    purpose = _purpose(binding)
    if purpose is None:
        return exposure.LOOPBACK
    row = exposure.BY_PURPOSE[purpose]
    return row.remote if remote else row.local


def _listed(bindings: list[Binding]) -> str:
    def one(b: Binding) -> str:
        purpose = _purpose(b)
        row = exposure.BY_PURPOSE.get(purpose or "")
        said = f"{row.what}, protection: {row.protection}" if row else f"{b.container} {b.container_port}, not a port of the table"
        return f"{b.host_ip}:{b.host_port} ({said})"

    return "; ".join(one(b) for b in sorted(bindings, key=lambda b: (b.host_port, b.host_ip)))


def cap_findings(facts: Facts) -> list[Finding]:
    """Caps this Docker cannot apply (k8s_lab.limits.host_problems): `up` refuses them."""
    return [
        Finding("problem", f"{problem.key} = {problem.value!r}: {problem.reason}", shell_form.render_fix(problem.fix, "lab", facts.stack))
        for problem in limits.host_problems(facts.lab_memory, facts.lab_cpus, facts.cgroups)
    ]


RULES: tuple[Callable[[Facts], list[Finding]], ...] = (
    memory_findings, disk_findings, inotify_findings, port_findings, subnet_findings, platform_findings,
    exposure_findings, cap_findings, cgroup_findings, end_of_life_findings,
)


def findings(facts: Facts) -> list[Finding]:
    return [finding for rule in RULES for finding in rule(facts)]


# ---- readers -------------------------------------------------------------------------

def read_docker_info(runner: Runner = DEFAULT_RUNNER, env: dict[str, str] | None = None) -> dict:
    """`docker info`; {} when Docker does not answer (the memory and disk rules then say nothing)."""
    try:
        result = runner.run(["docker", "info", "--format", "{{json .}}"], timeout=30, env=env, check=False)
    except RunError:
        return {}
    return json.loads(result.stdout) if result.ok and result.stdout.strip() else {}


LAB_SUFFIXES = ("-ide", "-registry", "-control-plane")  # the lab's containers that publish ports


def parse_bindings(inspected: list[dict]) -> list[Binding]:
    """`docker inspect`'s JSON of running containers -> the host ports each publishes. A kind
    node names its lab by label (io.x-k8s.kind.cluster), the IDE and registry by name."""
    found = []
    for container in inspected:
        name = str(container.get("Name", "")).lstrip("/")
        labels = (container.get("Config") or {}).get("Labels") or {}
        suffix = next((s for s in LAB_SUFFIXES if name.endswith(s)), None)
        if suffix is None:
            continue
        lab = labels.get("io.x-k8s.kind.cluster") or name[: -len(suffix)]
        ports = (container.get("NetworkSettings") or {}).get("Ports") or {}
        for container_port, bindings in sorted(ports.items()):
            for binding in bindings or []:  # None: exposed, not published
                found.append(Binding(lab, name, container_port, binding.get("HostIp") or "0.0.0.0", int(binding["HostPort"])))
    return found


def read_published(runner: Runner = DEFAULT_RUNNER, env: dict[str, str] | None = None) -> list[Binding]:
    """The host ports of the labs running on this Docker; [] when Docker does not answer."""
    try:
        names = runner.run(["docker", "ps", "--format", "{{.Names}}"], timeout=30, env=env, check=False)
        labs = [n for n in names.stdout.split() if n.endswith(LAB_SUFFIXES)] if names.ok else []
        if not labs:
            return []
        inspected = runner.run(["docker", "inspect", *labs], timeout=30, env=env, check=False)
    except RunError:
        return []
    # A container gone between the two calls makes inspect fail for it but still print the rest.
    return parse_bindings(json.loads(inspected.stdout or "[]"))


def read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def parse_proc_route(text: str) -> list[str]:
    """/proc/net/route (destination and mask in little-endian hex) -> ["10.8.0.0/24", ...]."""
    routes = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 7:
            destination = ipaddress.IPv4Address(int(fields[1], 16).to_bytes(4, "little"))
            mask = ipaddress.IPv4Address(int(fields[7], 16).to_bytes(4, "little"))
            routes.append(str(ipaddress.IPv4Network(f"{destination}/{mask}", strict=False)))
    return routes


def read_routes() -> list[str]:
    try:
        with open("/proc/net/route", encoding="ascii") as handle:
            return parse_proc_route(handle.read())
    except OSError:
        return []  # macOS/Windows: not read (netstat -rn shows them)


def disk_free_gb(path: str | None) -> float | None:
    if not path or not os.path.isdir(path):
        return None  # Docker's data lives in a VM or on another host
    return shutil.disk_usage(path).free / GB


def gather(
    slot: int,
    bind_address: str,
    own_lab_present: bool,
    labs: int = 1,
    local: bool = True,
    env: dict[str, str] | None = None,
    runner: Runner = DEFAULT_RUNNER,
    kubernetes_version: str = versions.SEED,
    today: datetime.date | None = None,
) -> Facts:
    """`env`: what the lab adds to this process's environment to reach its Docker."""
    info = read_docker_info(runner, env=env)
    version = ""
    try:
        with open("/proc/version", encoding="utf-8") as handle:
            version = handle.read().lower()
    except OSError:
        pass
    return Facts(
        system=platform.system(),
        wsl="microsoft" in version,
        docker_desktop="docker desktop" in str(info.get("OperatingSystem", "")).lower(),
        docker_memory_mb=info["MemTotal"] / 1048576 if info.get("MemTotal") else None,
        disk_free_gb=disk_free_gb(info.get("DockerRootDir")) if local else None,
        inotify_watches=read_int("/proc/sys/fs/inotify/max_user_watches") if local else None,
        inotify_instances=read_int("/proc/sys/fs/inotify/max_user_instances") if local else None,
        taken_ports=host_ports.taken_ports(bind_address, lab_ports.ports_for_slot(slot)) if local else [],
        own_lab_present=own_lab_present,
        routes=read_routes() if local else [],
        labs=labs,
        slot=slot,
        bind_address=bind_address,
        cgroups={key: info[key] for key in CGROUP_KEYS if key in info},
        remote=not local,
        published=read_published(runner, env=env),
        cgroup_version=str(info.get("CgroupVersion", "")),
        kubernetes_version=kubernetes_version,
        today=today,
    )


def report(found: list[Finding]) -> str:
    if not found:
        return "doctor: nothing found that breaks kind or Docker here."
    problems = sum(1 for f in found if f.severity == "problem")
    return "\n".join(str(f) for f in found) + f"\ndoctor: {problems} problem(s), {len(found) - problems} note(s)."
