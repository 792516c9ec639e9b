"""Does a class fit its host? Checked by `classroom.py up|start` before anything starts.

Pure: the host's facts are read elsewhere (classroom.py, with k8s_lab/doctor.py's readers).
Memory is counted as the doctor counts it, but for the caps: each lab may grow to its
`labMemory` (a limit, not a reservation), so a class fits when every lab at its cap plus the
host's own share (doctor.HOST_RESERVED_MB; none on Docker Desktop, whose VM memory is
Docker's alone) fits in the memory Docker reports. A lab without a cap is counted at the
typical footprint of a 3-node lab with its registry (README, Benchmark: 2220 MiB). The
inotify limits are kind's known-issues values (doctor.INOTIFY_*). PIDs: every thread on the
host counts against kernel.pid_max; PIDS_PER_LAB is an estimate, not a measurement (no
kind runs on the machine this was written on): a 3-node lab runs some 25 Go programs
(containerd, kubelet, the control plane, CoreDNS, kindnet, kube-proxy per node) of 10 to
100 threads each, plus code-server and nginx's workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from k8s_lab import limits

HOST_RESERVED_MB = 2048  # as k8s_lab/doctor.py: the OS and the Docker daemon
TYPICAL_LAB_MB = 2220  # README, Benchmark: footprint of 3 nodes + registry
INOTIFY_WATCHES = 524288  # kind known issues, as k8s_lab/doctor.py
INOTIFY_INSTANCES = 512
PIDS_PER_LAB = 1500  # an estimate (see above)
OVERRIDE = "--over-capacity"


def escape(overridden: bool, words: str = "") -> str:
    """The fix's last choice, the override; none for a teacher who already passed it (the
    problem is then only a warning, and naming the flag again reads as if it were ignored)."""
    return "" if overridden else f", or {OVERRIDE}{words}"


@dataclass(frozen=True)
class Host:
    name: str  # "this host" or the dockerHost URL
    memory_mb: float | None  # docker info MemTotal; None when Docker did not say
    docker_desktop: bool = False
    inotify_watches: int | None = None  # local Linux only
    inotify_instances: int | None = None
    pid_max: int | None = None
    cgroups: dict[str, Any] = field(default_factory=dict)  # docker info MemoryLimit, CpuCfsQuota, NCPU (limits.host_problems)
    cgroup_version: str = ""  # docker info CgroupVersion ("1", "2"); "" when Docker did not say


def lab_mb(lab_memory: str | None) -> int:
    """What one lab may use: its labMemory cap, or the typical footprint when uncapped."""
    parsed = limits.parse_memory(lab_memory) if lab_memory else limits.parse_memory(limits.DEFAULT_MEMORY)
    return parsed if isinstance(parsed, int) else TYPICAL_LAB_MB


def labs_that_fit(memory_mb: float, reserved_mb: int, each_mb: list[int]) -> int:
    """How many of the labs (smallest first) fit at their caps."""
    room, fitted = memory_mb - reserved_mb, 0
    for size in sorted(each_mb):
        if size > room:
            break
        room -= size
        fitted += 1
    return fitted


def memory_problem(host: Host, each_mb: list[int], overridden: bool = False) -> str | None:
    if host.memory_mb is None or not each_mb:
        return None
    reserved = 0 if host.docker_desktop else HOST_RESERVED_MB
    need = sum(each_mb) + reserved
    if need <= host.memory_mb:
        return None
    fit = labs_that_fit(host.memory_mb, reserved, each_mb)
    at_3g = max(0, int((host.memory_mb - reserved) // 3072))  # Docker may have less than the host's share
    largest = max(each_mb)
    return (
        f"{host.name}: {len(each_mb)} labs may use {need / 1024:.1f} GB at their caps (labMemory up to {largest / 1024:.1f} GB each"
        + (f", plus {reserved / 1024:.0f} GB for the host" if reserved else "")
        + f") and Docker has {host.memory_mb / 1024:.1f} GB: {fit} fit. Fix: a smaller cap for the class (--set labMemory=3g: "
        f"{at_3g} fit), spread the roster over hosts (dockerHost column), add memory{escape(overridden, ' to start anyway')} "
        f"(caps are limits, not reservations: a typical lab uses about {TYPICAL_LAB_MB / 1024:.1f} GB)"
    )


def inotify_problem(host: Host, labs: int, overridden: bool = False) -> str | None:
    if not labs or host.inotify_watches is None or host.inotify_instances is None:
        return None
    if host.inotify_watches >= INOTIFY_WATCHES and host.inotify_instances >= INOTIFY_INSTANCES:
        return None
    return (
        f"{host.name}: fs.inotify.max_user_watches={host.inotify_watches}, max_user_instances={host.inotify_instances}: "
        f"pods fail with \"too many open files\" once a few kind nodes run (kind's known issues). Fix: sudo sysctl "
        f"fs.inotify.max_user_watches={INOTIFY_WATCHES} fs.inotify.max_user_instances={INOTIFY_INSTANCES} "
        "(and the same in /etc/sysctl.d/99-kind.conf)" + escape(overridden)
    )


def pid_problem(host: Host, labs: int, overridden: bool = False) -> str | None:
    if not labs or host.pid_max is None or labs * PIDS_PER_LAB <= host.pid_max:
        return None
    return (
        f"{host.name}: kernel.pid_max is {host.pid_max}; {labs} labs may run about {labs * PIDS_PER_LAB} processes and threads "
        f"(an estimate of {PIDS_PER_LAB} a lab): {host.pid_max // PIDS_PER_LAB} fit. Fix: sudo sysctl kernel.pid_max=4194304 "
        f"(and the same in /etc/sysctl.d/), fewer labs on this host{escape(overridden)}"
    )


def problems(host: Host, each_mb: list[int], overridden: bool = False) -> list[str]:
    """Every reason the class's labs on `host` (one cap each) may not fit; `overridden`:
    as warnings to a teacher who passed --over-capacity."""
    labs = len(each_mb)
    found = (memory_problem(host, each_mb, overridden), inotify_problem(host, labs, overridden), pid_problem(host, labs, overridden))
    return [problem for problem in found if problem]
