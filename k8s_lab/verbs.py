"""lab.py's and classroom.py's stop, start, status and doctor verbs: from a stack's config
to the modules that do the work (k8s_lab.power, k8s_lab.status, k8s_lab.doctor), so the
two scripts only gain a parser entry and a call each."""

from __future__ import annotations

import dataclasses
import datetime
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from k8s_lab import versions
from k8s_lab.docker_host import DockerHost
from k8s_lab.kind_lifecycle import Kind, LifecycleError
from k8s_lab.names import LabNames
from k8s_lab.exits import Exit, lab_command
from k8s_lab.runner import ProcessRunner, Runner

if TYPE_CHECKING:
    from k8s_lab.idle import Reading


@dataclass(frozen=True)
class LabTarget:
    """One student's lab as its stack's config describes it, and how to reach its Docker."""

    names: LabNames
    workers: int
    slot: int
    bind_address: str
    docker_env: dict[str, str]
    lab_memory: str | None = None  # labMemory and labCpus as set (None: the default), for the doctor's cap check
    lab_cpus: str | None = None
    kubernetes_version: str = versions.SEED  # the stack's row (k8s_lab/versions.py)
    stack: str | None = None  # the stack's name, for the fixes' --stack

    # How its programs run: a real runner, or tests/fakes.py's FakeRunner (dataclasses.replace).
    runner: Runner = dataclasses.field(default_factory=ProcessRunner, compare=False, repr=False)

    def kind(self) -> Kind:
        docker = shutil.which("docker") or "docker"
        return Kind("kind", docker, runner=self.runner, env=dict(self.docker_env))


def today() -> datetime.date:
    """The date a version's end of life is judged against (tests fix it)."""
    return datetime.date.today()


def target(stack_name: str, config: Mapping[str, str]) -> LabTarget:
    """`config`: the stack's settings without the project prefix (as lab.run_up reads them),
    each read by the settings table's parser with its default; a bad one raises the
    config.ConfigError that names it with its fix."""
    from k8s_lab.config import read_setting

    return LabTarget(
        names=LabNames(read_setting(config, "student") or stack_name),
        workers=read_setting(config, "workers"),
        slot=read_setting(config, "slot"),
        bind_address=read_setting(config, "bindAddress"),
        docker_env=DockerHost(read_setting(config, "dockerHost")).environment(),
        lab_memory=config.get("labMemory"),
        lab_cpus=config.get("labCpus"),
        kubernetes_version=read_setting(config, "kubernetesVersion"),
        stack=stack_name,
    )


def stop(lab: LabTarget, log: Callable[[str], None] = print, err: Callable[[str], None] = print) -> int:
    from k8s_lab import power

    try:
        power.stop(lab.kind(), lab.names, log=log)
    except LifecycleError as error:
        err(f"k8s-lab: {error}")
        return 1
    return 0


def idle_reading(lab: LabTarget, runner: Runner | None = None) -> Reading:
    """How long the lab's IDE has been idle (k8s_lab.idle_probe)."""
    from k8s_lab import idle_probe

    docker = shutil.which("docker") or "docker"
    return idle_probe.read_idle(runner or lab.runner, docker, lab.names.ide_container, lab.docker_env)


def stop_if_idle(
    lab: LabTarget, idle_for: int, log: Callable[[str], None] = print, err: Callable[[str], None] = print, runner: Runner | None = None
) -> int:
    """`stop --idle-for`: stop the lab only when its IDE is read as idle that long; a lab in
    use, or one whose idle time cannot be read, keeps running (and the message says why)."""
    from k8s_lab import idle

    decision = idle.decide(lab.names.student, idle_reading(lab, runner), idle_for)
    log(decision.message)
    return stop(lab, log, err) if decision.stop else 0


def start(lab: LabTarget, log: Callable[[str], None] = print, err: Callable[[str], None] = print) -> int:
    from k8s_lab import power

    try:
        power.start(lab.kind(), lab.names, lab.workers, log=log)
    except LifecycleError as error:
        err(f"k8s-lab: {error}")
        return 1
    log(f"lab {lab.names.student!r} is running")
    return 0


def start_if_stopped(lab: LabTarget, log: Callable[[str], None] = print, err: Callable[[str], None] = print) -> int:
    """Before `up`: a lab with stopped containers is started first (a host reboot, `lab.py
    stop`), so Pulumi sees it as it left it. A lab with parts missing is left to up's repair."""
    from k8s_lab import power

    try:
        parts = power.lab_parts(lab.kind(), lab.names)
    except (LifecycleError, OSError):
        return 0  # Docker does not answer: the preflight and the providers say why
    if not parts.partly_stopped or not parts.ide or not parts.nodes:
        return 0
    log(f"Your lab is stopped: starting it before `up` (the same as `{lab_command('start')}`)")
    return start(lab, log, err)


def gather_status(lab: LabTarget, stack_name: str, last_change: str | None):
    """The status facts of one lab, read from its Docker."""
    from k8s_lab import ports, status

    kind = lab.kind()
    containers = status.read_containers(kind, lab.names)
    running = containers.get(lab.names.control_plane)
    ready = kind.node_readiness(lab.names.cluster) if running and running.state == "running" else None
    host = ports.reachable_host(lab.bind_address, DockerHost(lab.docker_env.get("DOCKER_HOST", "")).hostname)
    api = bool(ready) and status.api_answers(host, ports.ports_for_slot(lab.slot).api)
    ide = containers.get(lab.names.ide_container)
    idle_seconds = idle_reading(lab).idle_seconds if ide and ide.state == "running" else None
    return status.Facts(
        lab.names.student, stack_name, lab.workers, lab.slot, containers, ready, api, last_change, idle_seconds,
        kubernetes_version=lab.kubernetes_version, today=today(),
    )


def last_change(stack) -> str | None:
    """When the stack last changed, and how, from Pulumi's history."""
    try:
        history = stack.history(page_size=1)
    except Exception:  # noqa: BLE001 - no history is no answer, never a failed status
        return None
    if not history:
        return None
    entry = history[0]
    return f"{entry.kind} {entry.result} {entry.end_time:%Y-%m-%d %H:%M}" if entry.end_time else f"{entry.kind} {entry.result}"


def status(lab: LabTarget, stack, as_json: bool = False) -> int:
    """Print the lab's status; 0 when it runs without problems, 1 otherwise."""
    import json

    from k8s_lab import status as lab_status

    report = lab_status.assess(gather_status(lab, stack.name, last_change(stack)))
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print("\n".join([*lab_status.render_lines([report]), *lab_status.repair_lines([report])]))
    return 0 if report.state == "running" else 1


def doctor_facts(lab: LabTarget):
    from k8s_lab import doctor as lab_doctor
    from k8s_lab.drift import probe

    presence = probe(lab.names, lab.docker_env or None, runner=lab.runner)
    facts = lab_doctor.gather(
        lab.slot,
        lab.bind_address,
        own_lab_present=bool(presence and presence.ide),
        local=not DockerHost(lab.docker_env.get("DOCKER_HOST", "")).remote,
        env=lab.docker_env,
        runner=lab.runner,
        kubernetes_version=lab.kubernetes_version,
        today=today(),
    )
    # The typical footprint of this lab's shape (README, Benchmark): IDE, control plane, workers, registry.
    return dataclasses.replace(
        facts, lab_footprint_mb=600 + 800 + 400 * lab.workers + 20, lab_memory=lab.lab_memory, lab_cpus=lab.lab_cpus,
        stack=lab.stack,
    )


def doctor(lab: LabTarget) -> int:
    """Every finding with its fix; 1 when one of them is a problem."""
    from k8s_lab import doctor as lab_doctor

    found = lab_doctor.findings(doctor_facts(lab))
    print(lab_doctor.report(found))
    return 1 if any(f.severity == "problem" for f in found) else 0


def doctor_before_up(lab: LabTarget, warn: Callable[[str], None]) -> int:
    """The doctor's problems as warnings before `up` (ports stop it elsewhere; what labs
    publish is for `doctor` itself: this `up` republishes its own lab as the table says);
    caps this Docker cannot apply stop it here, one line each, before Pulumi runs: Exit.USAGE."""
    from k8s_lab import doctor as lab_doctor

    try:
        facts = doctor_facts(lab)
    except Exception as error:  # noqa: BLE001 - a check that cannot run never stops `up`
        warn(f"doctor could not check this host ({error})")
        return 0
    refused = lab_doctor.cap_findings(facts)
    for finding in refused:
        warn(f"k8s-lab: {finding.what}. Fix: {finding.fix}")
    if refused:
        return Exit.USAGE
    ports = lab_doctor.port_findings(facts) + lab_doctor.exposure_findings(facts)
    for finding in lab_doctor.findings(facts):
        if finding.severity == "problem" and finding not in ports:
            warn(f"Warning (lab.py doctor): {finding}")
    return 0


def host_refuses_version(lab: LabTarget, runner: Runner | None = None) -> str | None:
    """Before `up` makes anything: why this host cannot run the lab's kubernetesVersion row
    (a cgroup v1 Docker for a row whose kubelet refuses it), or None."""
    from k8s_lab import doctor as lab_doctor

    version = str(lab_doctor.read_docker_info(runner or lab.runner, env=lab.docker_env or None).get("CgroupVersion", ""))
    return versions.cgroup_v1_problem(lab.kubernetes_version, version, lab.stack)


def version_refusal(stack_name: str, config: Mapping[str, str]) -> str | None:
    """`lab.py up`'s first check: the host runs the lab's kubernetesVersion row, or why not."""
    try:
        lab = target(stack_name, config)
    except ValueError:
        return None  # a bad setting: the program's config check names it with its fix
    return host_refuses_version(lab)


def before_up(stack_name: str, config: Mapping[str, str], deployed: bool, err: Callable[[str], None]) -> int:
    """`lab.py up`'s first steps: a stopped lab is started, then the doctor's problems are
    shown. Non-zero when the start failed (its message names the repair), Exit.USAGE when
    this Docker cannot apply the lab's caps."""
    try:
        lab = target(stack_name, config)
    except ValueError:
        return 0  # a bad slot or workers: the program's config check names it
    started = start_if_stopped(lab, err=err) if deployed else 0
    return started or doctor_before_up(lab, warn=err)
