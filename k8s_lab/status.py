"""`lab.py status` and `classroom.py status`: what runs, what is broken, and the one
command that repairs it.

Small readers gather `Facts` from Docker (inspect, stats, the readiness query the
lifecycle helper uses, a TCP connect to the published API port); `assess` is a pure
function of them, so every rule is tested with hand-made facts.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import socket
from dataclasses import asdict, dataclass, field

from k8s_lab import ports as lab_ports
from k8s_lab import versions
from k8s_lab.idle import describe as describe_idle
from k8s_lab.kind_lifecycle import Kind, expected_nodes
from k8s_lab.names import LabNames
from k8s_lab.exits import lab_command

NEAR_CAP = 0.9  # a container above this share of its memory cap is about to be OOM-killed


@dataclass(frozen=True)
class Container:
    state: str  # "running", "exited", ...
    health: str | None = None  # "healthy", "starting", "unhealthy"; None without a health check
    published: tuple[int, ...] = ()  # host ports Docker has bound for it now
    memory_mb: float | None = None  # in use (docker stats)
    memory_cap_mb: float | None = None  # HostConfig.Memory; None: no cap
    cpu_percent: float | None = None  # docker stats, 100 = one CPU
    cpus_cap: float | None = None  # HostConfig.NanoCpus / 1e9; None: no cap


@dataclass(frozen=True)
class Facts:
    student: str
    stack: str
    workers: int
    slot: int
    containers: dict[str, Container]  # by name; absent ones are missing
    ready: dict[str, bool] | None = None  # the API server's view of the nodes; None: no answer
    api_reachable: bool = False  # the published API port answers on the host
    last_change: str | None = None  # the stack's last update, as Pulumi's history says
    idle_seconds: float | None = None  # since the IDE's last browser activity (k8s_lab.idle); None: unknown
    kubernetes_version: str = versions.SEED  # the stack's kubernetesVersion row
    today: datetime.date | None = None  # for the row's end of life; None: not judged


@dataclass
class Report:
    student: str
    state: str  # running, stopped, broken, absent
    ide: str
    nodes_ready: str  # "n of m"
    api_reachable: bool
    ports_bound: dict[str, bool]
    memory_mb: float | None
    memory_cap_mb: float | None
    cpu_percent: float | None
    cpus_cap: float | None
    last_change: str | None
    problems: list[str] = field(default_factory=list)
    repair: str | None = None
    idle_seconds: float | None = None  # since the IDE's last browser activity; None: unknown or not running
    notes: list[str] = field(default_factory=list)  # not problems: the lab runs (a version past its end of life)

    def as_dict(self) -> dict:
        return asdict(self)


# Which container publishes each of the slot's ports.
PUBLISHER = {"ide": "ide", "live_server": "ide", "http": "control-plane", "https": "control-plane", "api": "control-plane", "registry": "registry"}


def container_for(names: LabNames, role: str) -> str:
    return {"ide": names.ide_container, "registry": names.registry_container, "control-plane": names.control_plane}[role]


def ports_bound(facts: Facts, names: LabNames) -> dict[str, bool]:
    bound = {}
    for purpose, port in lab_ports.ports_for_slot(facts.slot).as_dict().items():
        owner = facts.containers.get(container_for(names, PUBLISHER[purpose]))
        if owner is not None or purpose != "registry":  # no registry container: registry=false
            bound[purpose] = owner is not None and port in owner.published
    return bound


def total(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known), 1) if known and len(known) == len(values) else None


def assess(facts: Facts) -> Report:
    names = LabNames(facts.student)
    nodes = expected_nodes(names.cluster, facts.workers)
    ide = facts.containers.get(names.ide_container)
    ready = sum(1 for node in nodes if (facts.ready or {}).get(node))
    ours = list(facts.containers.values())
    report = Report(
        student=facts.student,
        state="running",
        ide="missing" if ide is None else (ide.health or ide.state) if ide.state == "running" else ide.state,
        nodes_ready=f"{ready} of {len(nodes)}",
        api_reachable=facts.api_reachable,
        ports_bound=ports_bound(facts, names),
        memory_mb=total([c.memory_mb for c in ours if c.state == "running"]) if ours else None,
        memory_cap_mb=total([c.memory_cap_mb for c in ours]) if ours else None,
        cpu_percent=total([c.cpu_percent for c in ours if c.state == "running"]) if ours else None,
        cpus_cap=max((c.cpus_cap for c in ours if c.cpus_cap), default=None),
        last_change=facts.last_change,
        idle_seconds=None if facts.idle_seconds is None else round(facts.idle_seconds),
    )
    eol = versions.end_of_life_note(facts.kubernetes_version, facts.today, facts.stack) if facts.today and facts.kubernetes_version in versions.ROWS else None
    report.notes = [eol] if eol else []
    report.problems, report.repair = diagnose(facts, names, nodes, ready)
    if report.problems:
        report.state = "broken"
    if ours and all(c.state != "running" for c in ours):
        report.state = "stopped"
    if not ours:
        report.state = "absent"
    return report


def command(verb: str, stack: str) -> str:
    return lab_command(verb, "--stack", stack)


def diagnose(facts: Facts, names: LabNames, nodes: set[str], ready: int) -> tuple[list[str], str | None]:
    """What is wrong, worst first, and the one command that repairs the worst."""
    present = facts.containers
    missing = sorted(n for n in [*nodes, names.ide_container] if n not in present)
    if not present:
        return ["the lab has not been made (or was destroyed)"], command("up", facts.stack)
    if missing:
        return [f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} gone"], command("up", facts.stack)
    stopped = sorted(name for name, c in present.items() if c.state != "running")
    if stopped:
        return [f"{', '.join(stopped)} {'is' if len(stopped) == 1 else 'are'} stopped"], command("start", facts.stack)
    problems: list[str] = []
    repair: str | None = None
    if ready < len(nodes):
        problems.append(f"only {ready} of {len(nodes)} nodes are Ready" if facts.ready is not None else "the API server does not answer inside the cluster")
        repair = command("start", facts.stack)  # waits for the nodes, says which stay not Ready
    ide = present[names.ide_container]
    if ide.health == "unhealthy":
        problems.append("the IDE's health check fails (code-server does not answer)")
        repair = repair or f"docker restart {names.ide_container}"
    if not facts.api_reachable and ready == len(nodes):
        problems.append("the cluster's API port on the host does not answer")
    unbound = [p for p, ok in ports_bound(facts, names).items() if not ok]
    if unbound:
        problems.append(f"ports not bound: {', '.join(unbound)}")
    repair = repair or (command("up", facts.stack) if problems else None)
    for name, c in sorted(present.items()):
        if c.memory_mb is not None and c.memory_cap_mb and c.memory_mb >= NEAR_CAP * c.memory_cap_mb:
            problems.append(f"{name} uses {c.memory_mb:.0f} of its {c.memory_cap_mb:.0f} MB cap: the next allocation there is OOM-killed")
            repair = repair or f"{lab_command('config', 'labMemory', more_memory(present), '--stack', facts.stack)}, then {command('up', facts.stack)}"
    return problems, repair


def more_memory(present: dict[str, Container]) -> str:
    """A labMemory half again the lab's caps, in whole GiB: a value to paste, not a placeholder
    (labMemory is shared between the containers by footprint, k8s_lab/limits.py)."""
    capped = sum(c.memory_cap_mb or 0 for c in present.values())
    return f"{max(1, math.ceil(capped * 1.5 / 1024))}g"


# ---- readers -------------------------------------------------------------------------

_SIZE = re.compile(r"^([\d.]+)\s*([KMGT]?i?B)$")
_MB = {"B": 1 / 1048576, "KiB": 1 / 1024, "kB": 1 / 1024, "KB": 1 / 1024, "MiB": 1, "MB": 1, "GiB": 1024, "GB": 1024, "TiB": 1048576, "TB": 1048576}


def size_mb(text: str) -> float | None:
    """'123.4MiB' (docker stats) -> 123.4."""
    match = _SIZE.match(text.strip())
    return round(float(match.group(1)) * _MB[match.group(2)], 1) if match and match.group(2) in _MB else None


def parse_inspect(entry: dict) -> Container:
    state = entry.get("State") or {}
    host = entry.get("HostConfig") or {}
    ports = (entry.get("NetworkSettings") or {}).get("Ports") or {}
    published = tuple(sorted({int(b["HostPort"]) for bindings in ports.values() for b in (bindings or []) if b.get("HostPort")}))
    return Container(
        state=state.get("Status", "unknown"),
        health=(state.get("Health") or {}).get("Status"),
        published=published,
        memory_cap_mb=host["Memory"] / 1048576 if host.get("Memory") else None,
        cpus_cap=host["NanoCpus"] / 1e9 if host.get("NanoCpus") else None,
    )


def parse_stats(line: str) -> tuple[str, float | None, float | None]:
    """One `docker stats --no-stream --format '{{json .}}'` line -> (name, MB, CPU %)."""
    entry = json.loads(line)
    cpu = entry.get("CPUPerc", "").rstrip("%")
    return entry.get("Name", ""), size_mb(entry.get("MemUsage", "").split("/")[0]), float(cpu) if cpu.replace(".", "", 1).isdigit() else None


def read_containers(kind: Kind, names: LabNames) -> dict[str, Container]:
    wanted = [names.ide_container, names.registry_container, *kind.node_containers(names.cluster)]
    result = kind.run([kind.docker, "inspect", *wanted], check=False)
    found = {entry["Name"].lstrip("/"): parse_inspect(entry) for entry in json.loads(result.stdout or "[]")}
    running = [name for name, c in found.items() if c.state == "running"]
    if running:
        stats = kind.run([kind.docker, "stats", "--no-stream", "--format", "{{json .}}", *running], check=False)
        for line in stats.stdout.splitlines():
            if line.strip():
                name, memory, cpu = parse_stats(line)
                if name in found:
                    found[name] = Container(**{**asdict(found[name]), "memory_mb": memory, "cpu_percent": cpu})
    return found


def api_answers(host: str, port: int, timeout: float = 3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def render_lines(reports: list[Report], width: int | None = None) -> list[str]:
    """Each lab as a line of whole values, wrapped between values (never inside one) to fit
    `width` (the terminal's), its problems below it: readable at 80 columns, where a table
    of ten columns cut every value."""
    import shutil
    import textwrap

    width = width or shutil.get_terminal_size().columns
    lines: list[str] = []
    for r in reports:
        lines += _fitted([f"{r.student}  {r.state}", *_values(r)], width)
        for problem in r.problems:
            lines += textwrap.wrap(problem, width, initial_indent="  - ", subsequent_indent="    ", break_long_words=False) or ["  -"]
    return lines


def _values(r: Report) -> list[str]:
    ports = "all" if all(r.ports_bound.values()) else "missing " + ", ".join(p for p, ok in r.ports_bound.items() if not ok)
    memory = f"memory {r.memory_mb:.0f} MB" if r.memory_mb is not None else "memory -"
    memory += f" (cap {r.memory_cap_mb:.0f})" if r.memory_cap_mb else ""
    cpu = f"CPU {r.cpu_percent:.0f}%" if r.cpu_percent is not None else "CPU -"
    cpu += f" (cap {r.cpus_cap:g})" if r.cpus_cap else ""
    values = [f"IDE {r.ide}", f"nodes {r.nodes_ready} Ready", f"API {'yes' if r.api_reachable else 'no'}", f"ports {ports}", memory, cpu]
    values += [f"idle {describe_idle(r.idle_seconds)}"] if r.idle_seconds is not None else []
    return values + ([f"last change: {r.last_change}"] if r.last_change else [])


def _fitted(values: list[str], width: int) -> list[str]:
    """`values` joined by two spaces, a new line (indented) where the next would pass `width`."""
    lines = [values[0]]
    for value in values[1:]:
        if len(lines[-1]) + 2 + len(value) > width:
            lines.append("   " + value)
        else:
            lines[-1] += "  " + value
    return lines


def repair_lines(reports: list[Report]) -> list[str]:
    """Each lab's notes (a Kubernetes version past its end of life, and how to move), then
    one line per broken lab, whole and last, so it can be copied (a table would wrap it)."""
    return [f"Note {r.student}: {n}" for r in reports for n in r.notes] + [f"Repair {r.student}: {r.repair}" for r in reports if r.repair]
