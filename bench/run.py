"""k8s-lab benchmark: `python bench/run.py` from the project root (`--quick` for a tiny run).

Prints a results table and these lines (values measured or computed, never asserted):

  critical_path_ratio=<x>      modelled `pulumi up` time / the seed's unavoidable chain
  critical_path_extra_edge=…   each edge on the critical path that the seed does not force
  eval_seconds_1=<s>           one stack evaluated under mocks, in its own process
  eval_seconds_40=<s>          40 stacks, one process each, os.cpu_count() at a time (3 with --quick)
  eval_peak_rss_mb=<m>         largest peak RSS of those processes
  deterministic=<true|false>   two processes, same stack, byte-identical resource inputs
  footprint …                  per-student host memory by configuration, students per host

`python bench/run.py --measured timings.json` instead compares the e2e run's measured `up`
times (tests/test_e2e.py writes that file) with this model's critical path for the same
configuration, printing measured_over_modelled_<up>=<ratio>.

See README.md, section Benchmark, for what each line means and where the figures come from.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "tests")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from bench.durations import (  # noqa: E402 - needs ROOT on sys.path when run as a script
    DURATIONS,
    FOOTPRINT_MB,
    HOST_RESERVED_GB,
    HOST_SIZES_GB,
    LEVELS,
    PULUMI_DEFAULT_PARALLELISM,
)

PROGRAM_PACKAGE = "k8s-lab"  # type tokens k8s-lab:index:<Name> are the program's own components
RESULT_MARKER = "BENCH_RESULT "
PREBUILT_IMAGE = "registry.example.com/class/ide:2024-09"  # any valid ideImage; never pulled


# --------------------------------------------------------------------------------------
# Critical-path simulator
# --------------------------------------------------------------------------------------


@dataclass
class Schedule:
    start: dict[str, float]
    finish: dict[str, float]
    makespan: float
    critical_path: list[str]  # first task .. last task to finish
    slot_waits: list[str] = field(default_factory=list)  # tasks that started after all their deps (no free slot)

    def critical_edges(self) -> list[tuple[str, str]]:
        return list(zip(self.critical_path, self.critical_path[1:], strict=False))


def simulate(
    durations: Mapping[str, float],
    deps: Mapping[str, Iterable[str]],
    parallelism: int | None = None,
) -> Schedule:
    """Pulumi's step executor, modelled: a task starts as soon as every dependency has
    finished and (with `parallelism`) a slot is free; ready tasks take slots in the order
    of `durations` (registration order). None = unbounded, Pulumi's default."""
    order = list(durations)
    index = {task: i for i, task in enumerate(order)}
    need = {task: set(deps.get(task, ())) for task in order}
    for task, wanted in need.items():
        unknown = wanted - index.keys()
        if unknown:
            raise ValueError(f"{task} depends on unknown task(s) {sorted(unknown)}")
        if task in wanted:
            raise ValueError(f"{task} depends on itself")
    dependents: dict[str, list[str]] = {task: [] for task in order}
    for task, wanted in need.items():
        for dep in wanted:
            dependents[dep].append(task)
    if parallelism is not None and parallelism < 1:
        raise ValueError("parallelism must be at least 1")

    waiting = {task: len(wanted) for task, wanted in need.items()}
    ready: list[tuple[int, str]] = [(index[t], t) for t in order if waiting[t] == 0]
    heapq.heapify(ready)
    running: list[tuple[float, int, str]] = []  # (finish, index, task)
    start: dict[str, float] = {}
    finish: dict[str, float] = {}
    now = 0.0
    while ready or running:
        while ready and (parallelism is None or len(running) < parallelism):
            _, task = heapq.heappop(ready)
            start[task] = now
            heapq.heappush(running, (now + float(durations[task]), index[task], task))
        end, _, task = heapq.heappop(running)
        now = end
        finish[task] = end
        for dependent in dependents[task]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, (index[dependent], dependent))
    if len(finish) != len(order):
        stuck = sorted(set(order) - finish.keys())
        raise ValueError(f"dependency cycle among {stuck}")

    makespan = max(finish.values(), default=0.0)
    path: list[str] = []
    slot_waits: list[str] = []
    if order:
        task = max(order, key=lambda t: (finish[t], -index[t]))
        while True:
            path.append(task)
            if not need[task]:
                if start[task] > 0:  # nothing to wait for but a free slot
                    slot_waits.append(task)
                break
            binding = max(need[task], key=lambda d: (finish[d], -index[d]))
            if finish[binding] < start[task]:  # started later than its deps: waited for a slot
                slot_waits.append(task)
                break
            task = binding
        path.reverse()
    return Schedule(start, finish, makespan, path, slot_waits)


# --------------------------------------------------------------------------------------
# The program's graph as tasks
# --------------------------------------------------------------------------------------


@dataclass
class Task:
    urn: str
    name: str
    type: str
    key: str  # entry of bench.durations.DURATIONS (or a kind-create composite)
    deps: set[str]  # task URNs
    role: str | None  # the seed step it stands for, if any
    inputs: dict[str, Any]


# The seed's manual steps and the order they force (README: "What one stack builds"):
# kind makes its network then the cluster; the kubeconfig is read from the cluster; compose
# starts the IDE once the image, the volumes, the network, the password file and the
# pasted kubeconfig exist.
SEED_EDGES: tuple[tuple[str, str], ...] = (
    ("network", "cluster"),
    ("cluster", "kubeconfig"),
    ("image", "ide"),
    ("kubeconfig", "ide"),
    ("network", "ide"),
    ("volume", "ide"),
    ("password", "ide"),
)


def _package(type_token: str) -> str:
    return type_token.split(":", 1)[0]


def _lifecycle_action(create: str) -> str | None:
    tokens = create.replace('"', " ").split()
    for i, token in enumerate(tokens[:-1]):
        if token == "k8s_lab.kind_lifecycle":
            return tokens[i + 1]
    return None


def _workers(create: str) -> int:
    match = re.search(r"--workers\s+(\d+)", create)
    return int(match.group(1)) if match else 0


def duration_key(resource: Any, parent_type: str, warm: bool) -> tuple[str, str | None]:
    """(duration key, seed role) for one resource that takes time to create."""
    t, inputs = resource.type, resource.inputs
    if t == "docker:index/image:Image":
        return ("docker:image/build-ide-cached" if warm else "docker:image/build-ide"), "image"
    if t == "docker:index/remoteImage:RemoteImage":
        ide = parent_type == f"{PROGRAM_PACKAGE}:index:IdeImage"
        if warm:
            return "docker:remote-image/present", ("image" if ide else None)
        return ("docker:remote-image/ide" if ide else "docker:remote-image/small"), ("image" if ide else None)
    if t == "docker:index/volume:Volume":
        bind = (inputs.get("driverOpts") or {}).get("o") == "bind"
        return "docker:volume", ("volume" if bind else None)
    if t == "docker:index/network:Network":
        return "docker:network", "network"
    if t == "docker:index/container:Container":
        if inputs.get("wait"):
            return "docker:container/wait-healthy", "ide"
        return "docker:container/start", None
    if t == "random:index/randomPassword:RandomPassword":
        return "random:password", "password"
    if t == "command:local:Command":
        action = _lifecycle_action(str(inputs.get("create", "")))
        if action == "create":
            return "command:kind-create", "cluster"
        if action == "kubeconfig":
            return "command:kind-kubeconfig", "kubeconfig"
        if action == "registry-hosts":
            return "command:kind-registry-hosts", None
        if action == "manifest":
            return "command:manifest", None
    if t == "pulumi:providers:kubernetes":
        return "pulumi:provider/kubernetes", None
    if t.startswith("pulumi:providers:"):  # e.g. an explicit docker provider for a dockerHost
        return "pulumi:provider/plugin", None
    if t == "kubernetes:core/v1:Namespace":
        return "kubernetes:namespace", None
    if t == "kubernetes:core/v1:ConfigMap":
        return "kubernetes:configmap", None
    if t == "kubernetes:yaml/v2:ConfigFile" and "ingress-nginx" in str(inputs.get("file", "")):
        if inputs.get("skipAwait"):
            return "kubernetes:yaml/ingress-nginx-no-await", None
        return "kubernetes:yaml/ingress-nginx", None
    return "unmodelled", None


def task_seconds(task: Task, level: str) -> float:
    if task.key == "command:kind-create":
        workers = _workers(str(task.inputs.get("create", "")))
        seconds = DURATIONS["command:kind-create/control-plane"].at(level)
        if workers:
            seconds += DURATIONS["command:kind-create/workers"].at(level)
            seconds += max(0, workers - 2) * DURATIONS["command:kind-create/extra-worker"].at(level)
        return seconds
    return DURATIONS[task.key].at(level)


def build_tasks(
    resources: Sequence[Any],
    direct_dependencies: Callable[[Any], set[str]],
    *,
    warm: bool = False,
) -> tuple[dict[str, Task], dict[str, int]]:
    """Tasks (URN -> Task) from recorded resources. Custom resources are tasks; so are
    components of other packages with no recorded children (remote components such as
    kubernetes:yaml/v2:ConfigFile, whose children the provider makes). The program's own
    components take no time: a dependency on one is expanded to every task under it
    (the Python SDK already sends the engine these expanded URNs; `stats` says whether
    any unexpanded component URN was seen)."""
    by_urn = {r.urn: r for r in resources}
    children: dict[str, list[str]] = {}
    for r in resources:
        children.setdefault(r.parent, []).append(r.urn)

    def is_task(r: Any) -> bool:
        return r.custom or (_package(r.type) != PROGRAM_PACKAGE and not children.get(r.urn))

    stats = {"component_dependencies": 0, "unknown_dependencies": 0}

    def expand(urn: str) -> set[str]:
        r = by_urn.get(urn)
        if r is None:
            stats["unknown_dependencies"] += 1
            return set()
        if is_task(r):
            return {urn}
        found: set[str] = set()
        for child in children.get(urn, []):
            found |= expand(child)
        return found

    tasks: dict[str, Task] = {}
    # By name, not registration order: the order in which the SDK's RPCs reach the monitor
    # varies from run to run, and the simulator breaks ties by task order.
    for r in sorted(resources, key=lambda r: (r.name, r.type)):
        if not is_task(r):
            continue
        deps: set[str] = set()
        for dep in direct_dependencies(r):
            if dep in by_urn and not is_task(by_urn[dep]):
                stats["component_dependencies"] += 1
            deps |= expand(dep)
        deps.discard(r.urn)
        parent_type = by_urn[r.parent].type if r.parent in by_urn else ""
        key, role = duration_key(r, parent_type, warm)
        tasks[r.urn] = Task(r.urn, r.name, r.type, key, deps, role, r.inputs)
    return tasks, stats


def _reaches(tasks: Mapping[str, Task], source: str, target: str) -> bool:
    """Whether `target` waits for `source` (directly or through other tasks)."""
    seen: set[str] = set()
    frontier = [target]
    while frontier:
        urn = frontier.pop()
        for dep in tasks[urn].deps:
            if dep == source:
                return True
            if dep not in seen:
                seen.add(dep)
                frontier.append(dep)
    return False


@dataclass
class PathReport:
    makespan: float
    chain: float
    formula_chain: float
    ratio: float
    critical_path: list[str]
    extra_edges: list[str]
    missing_seed_edges: list[str]


def analyse(tasks: Mapping[str, Task], level: str, parallelism: int | None = PULUMI_DEFAULT_PARALLELISM) -> PathReport:
    seconds = {urn: task_seconds(task, level) for urn, task in tasks.items()}
    real = simulate(seconds, {urn: task.deps for urn, task in tasks.items()}, parallelism)

    by_role: dict[str, list[str]] = {}
    for urn, task in tasks.items():
        if task.role:
            by_role.setdefault(task.role, []).append(urn)
    seed_deps: dict[str, set[str]] = {urn: set() for urn in tasks if tasks[urn].role}
    for before, after in SEED_EDGES:
        for a in by_role.get(after, []):
            seed_deps[a] |= set(by_role.get(before, []))
    seed = simulate({urn: seconds[urn] for urn in seed_deps}, seed_deps)

    def longest(role: str) -> float:
        return max((seconds[u] for u in by_role.get(role, [])), default=0.0)

    formula = max(longest("image"), longest("network") + longest("cluster")) + longest("kubeconfig") + longest("ide")

    name = {urn: task.name for urn, task in tasks.items()}
    extra = []
    for u, v in real.critical_edges():
        ru, rv = tasks[u].role, tasks[v].role
        if not (ru and rv and (ru, rv) in SEED_EDGES):
            extra.append(f"{name[u]} -> {name[v]}")
    missing = []
    for before, after in SEED_EDGES:
        for a in by_role.get(after, []):
            for b in by_role.get(before, []):
                if not _reaches(tasks, b, a):
                    missing.append(f"{name[b]} -> {name[a]}")
    ratio = real.makespan / seed.makespan if seed.makespan else float("nan")
    return PathReport(
        real.makespan, seed.makespan, formula, ratio, [name[u] for u in real.critical_path], extra, missing
    )


# --------------------------------------------------------------------------------------
# Evaluations in their own processes
# --------------------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    """This process's peak resident set size, MiB."""
    try:
        import resource
    except ImportError:  # Windows
        import ctypes
        from ctypes import wintypes

        class Counters(ctypes.Structure):
            _fields_ = [
                ("cb", wintypes.DWORD),
                ("PageFaultCount", wintypes.DWORD),
                ("PeakWorkingSetSize", ctypes.c_size_t),
                ("WorkingSetSize", ctypes.c_size_t),
                ("QuotaPeakPagedPoolUsage", ctypes.c_size_t),
                ("QuotaPagedPoolUsage", ctypes.c_size_t),
                ("QuotaPeakNonPagedPoolUsage", ctypes.c_size_t),
                ("QuotaNonPagedPoolUsage", ctypes.c_size_t),
                ("PagefileUsage", ctypes.c_size_t),
                ("PeakPagefileUsage", ctypes.c_size_t),
            ]

        counters = Counters()
        counters.cb = ctypes.sizeof(Counters)
        handle = ctypes.windll.kernel32.GetCurrentProcess()
        ctypes.windll.psapi.GetProcessMemoryInfo(handle, ctypes.byref(counters), counters.cb)
        return counters.PeakWorkingSetSize / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _children_peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def _plain(value: Any) -> Any:
    return {"unserialisable": type(value).__name__}


def canonical_graph(evaluation: Any) -> dict[str, Any]:
    """Type, name, parent, dependencies and inputs of every resource, sorted, plain data."""
    by_urn = {r.urn: r for r in evaluation.resources}

    def label(urn: str) -> str:
        return by_urn[urn].name if urn in by_urn else urn

    items = [
        {
            "type": r.type,
            "name": r.name,
            "custom": r.custom,
            "parent": label(r.parent),
            "dependencies": sorted(label(u) for u in evaluation.direct_dependencies(r)),
            "delete_before_replace": r.delete_before_replace,
            "additional_secret_outputs": sorted(r.additional_secret_outputs),
            "inputs": r.inputs,
        }
        for r in evaluation.resources
    ]
    items.sort(key=lambda item: (item["type"], item["name"]))
    return {"resources": items}


def worker(args: argparse.Namespace) -> int:
    """One stack under mocks in this process; prints one JSON line after RESULT_MARKER."""
    began = time.perf_counter()
    import lab_mocks  # pulumi, the providers' SDKs

    imported = time.perf_counter()
    config = json.loads(args.config)
    evaluation = lab_mocks.evaluate(config, stack=args.stack)
    evaluated = time.perf_counter()
    result = {
        "import_seconds": imported - began,
        "evaluate_seconds": evaluated - imported,
        "cpu_seconds": time.process_time(),
        "peak_rss_mb": _peak_rss_mb(),
        "resources": len(evaluation.resources),
        "pulumi_kubernetes": "pulumi_kubernetes" in sys.modules,
        "order": [r.name for r in evaluation.resources],
    }
    if args.dump:
        text = json.dumps(canonical_graph(evaluation), sort_keys=True, indent=1, default=_plain)
        Path(args.dump).write_text(text, encoding="utf-8")
    print(RESULT_MARKER + json.dumps(result), flush=True)
    return 0


@dataclass
class Run:
    wall_seconds: float
    result: dict[str, Any]


def run_stack(student: str, slot: int, root: str, *, extra: Mapping[str, str] | None = None,
              dump: str | None = None, hash_seed: str | None = None) -> Run:
    config = {"student": student, "slot": str(slot), "workspaceRoot": root, **(extra or {})}
    argv = [sys.executable, str(ROOT / "bench" / "run.py"), "--worker", "--stack", student, "--config", json.dumps(config)]
    if dump:
        argv += ["--dump", dump]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_CONFIG")}
    if hash_seed is not None:
        env["PYTHONHASHSEED"] = hash_seed
    began = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - began
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"evaluation of {student!r} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return Run(wall, json.loads(lines[-1][len(RESULT_MARKER):]))


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    if type(a) is not type(b):
        return f"{path or '/'}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}/{key}: only in {'first' if key in a else 'second'}"
            found = first_difference(a[key], b[key], f"{path}/{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):  # lengths compared below
            label = x.get("name", i) if isinstance(x, dict) and "name" in x else i
            found = first_difference(x, y, f"{path}[{label}]")
            if found:
                return found
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


BURN = "import time\nt = time.perf_counter()\nx = 0\nfor i in range(3_000_000): x += i\nprint(time.perf_counter() - t)"


def host_effective_parallelism(processes: int) -> float:
    """How many CPU-bound Python processes this host really runs at once: a pure-Python
    loop alone, then `processes` copies together (a VM's vCPUs may share less than that)."""

    def burn() -> float:
        done = subprocess.run([sys.executable, "-c", BURN], capture_output=True, text=True, check=True)
        return float(done.stdout)

    alone = min(burn() for _ in range(2))
    with ThreadPoolExecutor(max_workers=processes) as pool:
        together = list(pool.map(lambda _: burn(), range(processes)))
    return processes * alone / max(together)


def pulumi_kubernetes_import_seconds() -> float:
    """What `import pulumi_kubernetes` and the modules the program uses (core.v1, meta.v1)
    add to a process that already imported pulumi and the other providers."""
    code = (
        "import pulumi, pulumi_docker, pulumi_command, pulumi_random, yaml\n"
        "import pulumi_kubernetes, pulumi_kubernetes.core.v1, pulumi_kubernetes.meta.v1"
    )
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True)
    total_us = 0
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( +)(\S+)$", line)
        if match and len(match.group(2)) == 1 and match.group(3).startswith("pulumi_kubernetes"):
            total_us += int(match.group(1))
    return total_us / 1e6


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------

SCENARIOS: tuple[tuple[str, dict[str, str], bool], ...] = (
    ("defaults, cold host (builds ide/)", {}, False),
    ("defaults, warm host (images cached)", {}, True),
    ("ideImage set (pull)", {"ideImage": PREBUILT_IMAGE}, False),
    ("ideImage, workers=0 (1 node)", {"ideImage": PREBUILT_IMAGE, "workers": "0"}, False),
    ("ideImage, ingress=false registry=false", {"ideImage": PREBUILT_IMAGE, "ingress": "false", "registry": "false"}, False),
)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    out = []
    for n, row in enumerate(cells):
        out.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def critical_path_section() -> tuple[PathReport, str, list[str]]:
    import lab_mocks

    rows = []
    reports: dict[tuple[str, str], PathReport] = {}
    notes = []
    for label, config, warm in SCENARIOS:
        with tempfile.TemporaryDirectory() as root:
            evaluation = lab_mocks.evaluate({"workspaceRoot": root, **config}, stack="bench")
        tasks, stats = build_tasks(evaluation.resources, evaluation.direct_dependencies, warm=warm)
        if stats["component_dependencies"] or stats["unknown_dependencies"]:
            notes.append(f"{label}: {stats['component_dependencies']} component and "
                         f"{stats['unknown_dependencies']} unknown dependency URNs expanded")
        for level in LEVELS:
            report = analyse(tasks, level)
            reports[(label, level)] = report
        typical = reports[(label, "typical")]
        rows.append([
            label,
            len(tasks),
            f"{typical.makespan:.1f}",
            f"{typical.chain:.1f}",
            " / ".join(f"{reports[(label, lv)].ratio:.3f}" for lv in LEVELS),
            " -> ".join(typical.critical_path),
        ])
    print("Critical path (modelled durations, unbounded parallelism = Pulumi's default)")
    print(table(["scenario", "tasks", "up s", "seed chain s", "ratio low/typ/high", "critical path (typical)"], rows))
    for note in notes:
        print("  note:", note)
    if not notes:
        print("  every dependency the engine receives names a resource directly (no component URNs to expand)")
    worst_label = max((label for label, _, _ in SCENARIOS), key=lambda lb: reports[(lb, "typical")].ratio)
    worst = reports[(worst_label, "typical")]
    missing = sorted({m for r in reports.values() for m in r.missing_seed_edges})
    return worst, worst_label, missing


def eval_section(quick: bool) -> dict[str, Any]:
    cpus = os.cpu_count() or 1
    batch = 3 if quick else 40
    singles = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        solo = [run_stack("solo", 0, tempfile.mkdtemp(dir=tmp)) for _ in range(singles)]
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=cpus) as pool:
            runs = list(pool.map(lambda i: run_stack(f"student{i:02d}", i, tempfile.mkdtemp(dir=tmp)), range(batch)))
        batch_wall = time.perf_counter() - began
        children_rss = _children_peak_rss_mb()

        det_root = tempfile.mkdtemp(dir=tmp)
        dumps = [os.path.join(tmp, f"det-{n}.json") for n in (1, 2)]
        with ThreadPoolExecutor(max_workers=2) as pool:  # their timings are not reported
            det_runs = list(pool.map(lambda n: run_stack("det", 7, det_root, dump=dumps[n], hash_seed=str(n + 1)), (0, 1)))
        first, second = (Path(p).read_bytes() for p in dumps)
        difference = None
        if first != second:
            difference = first_difference(json.loads(first), json.loads(second)) or "bytes differ (formatting)"
        order_same = det_runs[0].result["order"] == det_runs[1].result["order"]
    effective = host_effective_parallelism(cpus)

    t1 = statistics.median(r.wall_seconds for r in solo)
    per_stack = batch_wall / batch
    growth = per_stack / t1  # <= 1: no stack makes the next one dearer
    speedup = batch * t1 / batch_wall
    cpu_solo = statistics.mean(r.result["cpu_seconds"] for r in solo)
    cpu_batch = statistics.mean(r.result["cpu_seconds"] for r in runs)
    peak = max(r.result["peak_rss_mb"] for r in solo + runs)
    print()
    print(f"Evaluation under mocks, one process per stack ({cpus} CPUs, {batch} stacks {cpus} at a time)")
    rows = [
        ["1 stack (median of %d)" % singles, f"{t1:.2f}", f"{statistics.median(r.result['import_seconds'] for r in solo):.2f}",
         f"{statistics.median(r.result['evaluate_seconds'] for r in solo):.2f}", f"{cpu_solo:.2f}",
         f"{max(r.result['peak_rss_mb'] for r in solo):.0f}"],
        [f"{batch} stacks, total", f"{batch_wall:.2f}", "", "", "", ""],
        [f"{batch} stacks, per stack", f"{batch_wall / batch:.2f}",
         f"{statistics.mean(r.result['import_seconds'] for r in runs):.2f}",
         f"{statistics.mean(r.result['evaluate_seconds'] for r in runs):.2f}", f"{cpu_batch:.2f}",
         f"{max(r.result['peak_rss_mb'] for r in runs):.0f}"],
    ]
    print(table(["run", "wall s", "imports s", "evaluate s", "cpu s", "peak RSS MiB"], rows))
    print(f"  per stack, {batch} stacks cost {growth:.2f}× one stack alone (CPU per stack {cpu_batch / cpu_solo:.2f}×); "
          f"running {cpus} at a time gave a {speedup:.2f}× speed-up, and this host runs {effective:.2f} CPU-bound "
          f"Python processes' worth at once (pure-Python loop, {cpus} together vs alone)")
    return {
        "t1": t1,
        "batch": batch,
        "batch_wall": batch_wall,
        "growth": growth,
        "speedup": speedup,
        "effective": effective,
        "cpu_ratio": cpu_batch / cpu_solo,
        "peak": peak,
        "children_rss": children_rss,
        "difference": difference,
        "order_same": order_same,
        "k8s_default": det_runs[0].result["pulumi_kubernetes"],
        "resources": det_runs[0].result["resources"],
    }


FOOTPRINT_CONFIGS = (
    ("3-node+registry", 2, True),
    ("3-node", 2, False),
    ("1-node+registry", 0, True),
    ("1-node", 0, False),
)


def footprint_section() -> list[str]:
    print()
    print("Footprint per student (MiB; ingress=true, the default, in every row; figures in bench/durations.py)")
    lines, rows = [], []
    for label, workers, with_registry in FOOTPRINT_CONFIGS:
        per = {}
        for level in LEVELS:
            mb = FOOTPRINT_MB["control-plane node"].at(level) + workers * FOOTPRINT_MB["worker node"].at(level)
            mb += FOOTPRINT_MB["IDE (code-server)"].at(level) + FOOTPRINT_MB["ingress-nginx controller"].at(level)
            if with_registry:
                mb += FOOTPRINT_MB["registry:2"].at(level)
            per[level] = mb
        fits = {gb: int((gb - HOST_RESERVED_GB) * 1024 // per["typical"]) for gb in HOST_SIZES_GB}
        fits_high = {gb: int((gb - HOST_RESERVED_GB) * 1024 // per["high"]) for gb in HOST_SIZES_GB}
        rows.append([label, f"{per['low']:.0f}", f"{per['typical']:.0f}", f"{per['high']:.0f}"]
                    + [f"{fits[gb]} ({fits_high[gb]})" for gb in HOST_SIZES_GB])
        lines.append(
            f"footprint config={label} mb_low={per['low']:.0f} mb_typical={per['typical']:.0f} mb_high={per['high']:.0f} "
            + " ".join(f"students_{gb}gb={fits[gb]} students_{gb}gb_high={fits_high[gb]}" for gb in HOST_SIZES_GB)
        )
    print(table(["configuration", "low", "typical", "high"]
                + [f"students on {gb} GB (high)" for gb in HOST_SIZES_GB], rows))
    print(f"  students = floor((host - {HOST_RESERVED_GB} GB for OS and Docker) / typical), in brackets with the high figures")
    return lines


# The e2e run's timed `up`s and the model they compare with: (measurement, image cached
# unless the file says otherwise).
MEASURED_UPS = (("first_up", False), ("up_cached", True))


def modelled_up(config: Mapping[str, str], warm: bool) -> dict[str, float]:
    """The modelled `up` (critical path, unbounded parallelism) at each level, for one config."""
    import lab_mocks

    with tempfile.TemporaryDirectory() as root:
        evaluation = lab_mocks.evaluate({"workspaceRoot": root, **config}, stack="bench")
    tasks, _ = build_tasks(evaluation.resources, evaluation.direct_dependencies, warm=warm)
    return {level: analyse(tasks, level).makespan for level in LEVELS}


def measured_main(path: Path) -> int:
    """Measured `up` times (an e2e timings file) against the model for the same settings."""
    from e2e_timings import load

    try:
        data = load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"bench: cannot read {path}: {error}", file=sys.stderr)
        return 2
    rows, lines = [], []
    for name, default_warm in MEASURED_UPS:
        entry = data["measurements"].get(name)
        if entry is None:
            continue
        warm = bool(entry.get("image_cached", default_warm))
        config = {"workers": str(entry["workers"])} if "workers" in entry else {}
        model = modelled_up(config, warm)
        ratio = entry["seconds"] / model["typical"]
        rows.append([name, f"{entry['seconds']:.1f}", " / ".join(f"{model[lv]:.1f}" for lv in LEVELS), f"{ratio:.2f}",
                     f"workers={config.get('workers', 'default')}, image {'cached' if warm else 'built'}"])
        lines += [f"measured_{name}_seconds={entry['seconds']:.1f}", f"modelled_{name}_seconds={model['typical']:.1f}",
                  f"measured_over_modelled_{name}={ratio:.2f}"]
    if not rows:
        print(f"bench: {path} has no measured up ({', '.join(n for n, _ in MEASURED_UPS)})", file=sys.stderr)
        return 2
    print(f"Measured on {data.get('runner', 'an unnamed runner')} against the modelled critical path")
    print(table(["up", "measured s", "modelled s low/typ/high", "measured/typical", "settings"], rows))
    print("  the model assumes kind's node image already pulled; a fresh runner pulls it during the first up")
    for line in lines:
        print(line)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 stacks instead of 40, one solo run")
    parser.add_argument("--measured", type=Path, metavar="TIMINGS_JSON",
                        help="compare an e2e timings file (tests/test_e2e.py) with the modelled critical path, then stop")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stack", default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--config", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--dump", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    if args.measured:
        return measured_main(args.measured)

    began = time.perf_counter()
    print(f"k8s-lab benchmark ({'quick' if args.quick else 'full'}), python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, {sys.platform}")
    print()
    worst, worst_label, missing = critical_path_section()
    measured = eval_section(args.quick)
    k8s_import = pulumi_kubernetes_import_seconds()
    print(f"  pulumi_kubernetes (+ core.v1, meta.v1) adds {k8s_import:.2f} s of imports; "
          f"imported: {str(measured['k8s_default']).lower()} (the student's namespace is always made)")
    footprint = footprint_section()

    linear = measured["growth"] <= 1.2 and measured["cpu_ratio"] <= 1.2
    print()
    print("Results")
    print(f"critical_path_ratio={worst.ratio:.3f}")
    print(f"critical_path_scenario={worst_label} (typical durations; worst of the scenarios above)")
    print(f"critical_path_up_seconds={worst.makespan:.1f}")
    print(f"critical_path_seed_chain_seconds={worst.chain:.1f}")
    print(f"critical_path_seed_formula_seconds={worst.formula_chain:.1f}")
    for edge in worst.extra_edges:
        print(f"critical_path_extra_edge={edge}")
    if not worst.extra_edges:
        print("critical_path_extra_edge=none")
    for edge in missing:
        print(f"seed_edge_missing={edge}")
    print(f"eval_batch_stacks={measured['batch']}")
    print(f"eval_seconds_1={measured['t1']:.3f}")
    print(f"eval_seconds_{measured['batch']}={measured['batch_wall']:.3f}")
    print(f"eval_seconds_per_stack_{measured['batch']}={measured['batch_wall'] / measured['batch']:.3f}")
    print(f"eval_growth_per_stack={measured['growth']:.2f}")
    print(f"eval_cpu_per_stack_ratio={measured['cpu_ratio']:.2f}")
    print(f"eval_parallel_speedup={measured['speedup']:.2f}")
    print(f"host_effective_parallelism={measured['effective']:.2f}")
    print(f"eval_linear={str(linear).lower()}")
    print(f"eval_peak_rss_mb={measured['peak']:.1f}")
    if measured["children_rss"] is not None:
        print(f"eval_peak_rss_mb_rusage_children={measured['children_rss']:.1f}")
    print(f"pulumi_kubernetes_import_seconds={k8s_import:.3f}")
    print(f"pulumi_kubernetes_imported={str(measured['k8s_default']).lower()}")
    print(f"deterministic={str(measured['difference'] is None).lower()}")
    if measured["difference"]:
        print(f"deterministic_first_difference={measured['difference']}")
    print(f"registration_order_identical={str(measured['order_same']).lower()}")
    for line in footprint:
        print(line)
    print(f"bench_seconds={time.perf_counter() - began:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
