"""Per-student memory and CPU caps, and the registry mirror: parsing, checking and sharing out.

Pure functions, standard library only (k8s_lab.kind_lifecycle imports this and runs on any
`python`). Each parser returns the value, None for "off", or a `Problem` naming the key,
the value and the fix; k8s_lab/config.py's table of settings calls them.

Memory is split: a lab's `labMemory` is shared between the IDE and the kind nodes in
proportion to their typical footprint (bench/durations.py FOOTPRINT_MB), so a student's
runaway process is OOM-killed inside that student's lab. Swap is capped with it
(--memory-swap = --memory): a lab at its cap is killed, it does not push the host into
swap. CPU is not split: it is throttled, never killed, so each container may use up to
`labCpus` and the kernel's fair scheduler shares a busy host between labs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from fractions import Fraction
from urllib.parse import urlsplit

from k8s_lab import shell_form

MEMORY_KEY = "labMemory"
CPUS_KEY = "labCpus"
MIRROR_KEY = "registryMirror"

DEFAULT_MEMORY = "6g"  # typical 3-node lab 2.2 GB, high 3.2 GB (README, Benchmark): room for workloads
DEFAULT_CPUS = "2"
OFF = ("", "0", "off", "none")
MIN_SHARE_MB = 256  # below this a kind node or code-server does not start
MAX_CPUS = 256.0
MAX_MEMORY_MB = 1024 * 1024  # 1 TB: past what a host that runs labs has, so a typo (999999g) is not a cap of nothing

# Typical MiB of each part, the weights of the memory split (bench/durations.py
# FOOTPRINT_MB: control plane 700 + ingress controller 100, worker 400, IDE 600).
WEIGHT_MB = {"ide": 600, "control-plane": 800, "worker": 400}

_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$", re.IGNORECASE)
_UNIT_MB = {"": 1 / (1024 * 1024), "k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}
_CPUS = re.compile(r"^\d+(?:\.\d{1,3})?$")


@dataclass(frozen=True)
class Problem:
    key: str
    value: str
    reason: str
    fix: str

    def __str__(self) -> str:
        return f"{self.key} = {self.value!r}: {self.reason}. Fix: {shell_form.render_fix(self.fix)}"


def _off(raw: str | None) -> bool:
    return raw is None or raw.strip().lower() in OFF


def parse_memory(raw: str | None, key: str = MEMORY_KEY) -> int | None | Problem:
    """'6g', '6144m', '6GiB' -> MB; '', '0', 'off' -> None (no cap)."""
    if _off(raw):
        return None
    assert raw is not None
    fix = f"[[set {key} 6g]] (a size such as 6g or 6144m), or [[set {key} 0]] for no cap"
    match = _MEMORY.match(raw.strip())
    if not match:
        return Problem(key, raw, "is not a memory size", fix)
    megabytes = int(float(match.group(1)) * _UNIT_MB[match.group(2).lower()])
    if megabytes < MIN_SHARE_MB:
        return Problem(key, raw, f"is below {MIN_SHARE_MB} MB", fix)
    if megabytes > MAX_MEMORY_MB:
        return Problem(key, raw, f"is more than {MAX_MEMORY_MB // 1024} GB, more than a host has", fix)
    return megabytes


def parse_cpus(raw: str | None, key: str = CPUS_KEY) -> str | None | Problem:
    """'1.5' -> '1.5' (as Docker's --cpus and pulumi-docker's `cpus` take it); '', '0' -> None."""
    if _off(raw) or (raw is not None and _CPUS.match(raw.strip()) and float(raw) == 0):
        return None
    assert raw is not None
    fix = f"[[set {key} 2]] (CPUs, e.g. 1.5), or [[set {key} 0]] for no cap"
    text = raw.strip()
    if not _CPUS.match(text):
        return Problem(key, raw, "is not a number of CPUs", fix)
    if float(text) > MAX_CPUS:
        return Problem(key, raw, f"is more than {MAX_CPUS:.0f} CPUs", fix)
    if Fraction(provider_cpus(text)) != Fraction(text):
        return Problem(key, raw, f"reads back from Docker as {provider_cpus(text)} CPUs, so every `up` would replace the IDE", fix)
    return text


def provider_cpus(text: str) -> str:
    """`text` CPUs as pulumi-docker stores them after reading the container back, which is
    what the program must send, or every `up` replaces the IDE (`cpus` is ForceNew): Docker
    keeps NanoCPUs (docker/cli opts.ParseCPUs), and terraform-provider-docker v4.5.0 reads
    them back with helpers.go nanoInt64ToDecimalString: nine decimals, rounded to one when
    the string holds exactly nine '0's, else trailing zeros trimmed ('2' -> '2.0',
    '1.50' -> '1.5', '10' -> '10.', '0.05' -> '0.1')."""
    nano = Fraction(text) * 1_000_000_000
    if nano == 0:
        return "0"
    nine = _decimal(nano / 1_000_000_000, 9)
    return _decimal(nano / 1_000_000_000, 1) if nine.count("0") == 9 else nine.rstrip("0")


def _decimal(value: Fraction, places: int) -> str:
    """Go's big.Rat.FloatString(places): rounded half away from zero (value >= 0 here)."""
    whole = int(value * 10**places + Fraction(1, 2))
    integer, fraction = divmod(whole, 10**places)
    return f"{integer}.{fraction:0{places}d}"


def parse_mirror(raw: str | None, key: str = MIRROR_KEY) -> str | None | Problem:
    """A pull-through cache's URL, http(s)://host[:port], without a path or credentials."""
    if raw is None or not raw.strip():
        return None
    fix = f"[[set {key} http://teacher.school.lan:5010]] (classroom.py mirror prints it), or [[rm {key}]]"
    text = raw.strip().rstrip("/")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return Problem(key, raw, "is not a URL", fix)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Problem(key, raw, "is not an http:// or https:// URL with a host", fix)
    if parts.username or parts.password:
        return Problem(key, "(hidden: it holds credentials)", "carries credentials, which would be stored and shown in plain text", fix)
    if parts.path or parts.query or parts.fragment:
        return Problem(key, raw, "has a path; a mirror is named by its host and port only", fix)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


@dataclass(frozen=True)
class Shares:
    """Each container's memory cap (MB) and the CPU cap every container gets."""

    ide_mb: int | None = None
    control_plane_mb: int | None = None
    worker_mb: int | None = None
    cpus: str | None = None

    def node_mb(self, node: str) -> int | None:
        return self.control_plane_mb if node.endswith("-control-plane") else self.worker_mb


def shares(memory_mb: int | None, cpus: str | None, workers: int) -> Shares | Problem:
    """The lab's memory split by WEIGHT_MB over the IDE, the control plane and `workers` workers."""
    if memory_mb is None:
        return Shares(cpus=cpus)
    total = WEIGHT_MB["ide"] + WEIGHT_MB["control-plane"] + WEIGHT_MB["worker"] * workers
    # Below the weights' sum a container's share is under its own typical footprint (the
    # control plane's 512 MB of 1408m with 2 workers, against 800): it would be killed at rest.
    if memory_mb < total:
        need = -(-total // 1024)
        return Problem(
            MEMORY_KEY,
            f"{memory_mb}m",
            f"is below the typical footprint of the lab's {2 + workers} containers ({total} MB: IDE {WEIGHT_MB['ide']}, "
            f"control plane {WEIGHT_MB['control-plane']}, {workers} worker(s) {WEIGHT_MB['worker']} each)",
            f"[[set {MEMORY_KEY} {need}g]] or more, fewer workers, or [[set {MEMORY_KEY} 0]] for no cap",
        )
    part = {role: memory_mb * weight // total for role, weight in WEIGHT_MB.items()}
    return Shares(part["ide"], part["control-plane"], part["worker"] if workers else None, cpus)


# The IDE container's `memory_swap` (pulumi-docker): -1, unlimited. Docker keeps a swap
# cap only on hosts with swap accounting; elsewhere it stores -1 (moby daemon_unix.go
# verifyPlatformContainerResources), pulumi-docker reads that back (terraform-provider-docker
# v4.5.0 resource_docker_container_funcs.go Read), and the next `up` would update the IDE on
# every such host. Not setting it is no better: Docker then stores twice the memory, or -1.
# -1 is the one value every host stores as given, so the stack stays a function of its
# config. The IDE's memory is still capped; its swap is not (the nodes' is: no state).
IDE_MEMORY_SWAP = -1


def docker_update_args(memory_mb: int | None, cpus: str | None) -> list[str]:
    """`docker update` flags for one node container; swap capped with memory."""
    argv: list[str] = []
    if memory_mb is not None:
        argv += ["--memory", f"{memory_mb}m", "--memory-swap", f"{memory_mb}m"]
    if cpus is not None:
        argv += ["--cpus", cpus]
    return argv


def lab_limits(memory: str | None, cpus: str | None, workers: int) -> Shares | list[Problem]:
    """Both settings at once, every problem listed."""
    memory_mb, cpu = parse_memory(memory), parse_cpus(cpus)
    problems = [value for value in (memory_mb, cpu) if isinstance(value, Problem)]
    if problems:
        return problems
    assert not isinstance(memory_mb, Problem) and not isinstance(cpu, Problem)
    split = shares(memory_mb, cpu, workers)
    return [split] if isinstance(split, Problem) else split


def lab_py_config(key: str, value: str) -> str:
    """A fix template (k8s_lab/shell_form.py): lab.py config for a student, pulumi config bare."""
    return f"[[set {key} {value}]]"


def host_problems(
    memory: str | None, cpus: str | None, info: Mapping[str, Any], set_to: Callable[[str, str], str] = lab_py_config
) -> list[Problem]:
    """Caps this Docker host cannot apply, from its `docker info` (empty: Docker did not
    answer, nothing is known). `memory`/`cpus`: the raw settings, None for the defaults.

    Without a memory cgroup moby drops the cap (Memory 0) with a warning (moby
    daemon/daemon_unix.go:412-416, docker-v29.7.2; :434 in v20.10), pulumi-docker stores 0,
    and the IDE's `replace_on_changes` would replace it on every `up`; without CPU CFS, or
    with more CPUs than the host has, moby refuses to create the container (:472-473,
    :482-486). So the lab refuses such a host with caps on: caps off is one setting
    (`set_to(key, value)` says how to set it: lab.py config, or classroom.py's --set)."""
    found: list[Problem] = []
    memory = DEFAULT_MEMORY if memory is None else memory
    cpus = DEFAULT_CPUS if cpus is None else cpus
    if info.get("MemoryLimit") is False and isinstance(parse_memory(memory), int):
        found.append(Problem(MEMORY_KEY, memory, _NO_CGROUP.format("memory cgroup", "MemoryLimit") + ": Docker drops the cap and every `up` would replace the IDE", set_to(MEMORY_KEY, "0") + " (no cap)"))
    wanted = parse_cpus(cpus)
    if not isinstance(wanted, str):
        return found
    if info.get("CpuCfsQuota") is False:
        found.append(Problem(CPUS_KEY, cpus, _NO_CGROUP.format("CPU CFS scheduler", "CpuCfsQuota") + ": Docker refuses to create the containers", set_to(CPUS_KEY, "0") + " (no cap)"))
    elif isinstance(info.get("NCPU"), int) and Fraction(wanted) > info["NCPU"]:
        ncpu = info["NCPU"]
        found.append(Problem(CPUS_KEY, cpus, f"is more than the {ncpu} CPUs this Docker host has (docker info NCPU): Docker refuses to create the containers", set_to(CPUS_KEY, str(ncpu)) + " (or less, or 0 for no cap)"))
    return found


_NO_CGROUP = "this Docker host has no {0} (docker info {1} false: rootless Docker without cgroup delegation, some WSL and NAS setups)"
