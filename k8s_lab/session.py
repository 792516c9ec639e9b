"""The session both command lines share: the tools (docker, kind, pulumi) found or fetched,
the state backend and its passphrase, the stack selected with the environment the program's
commands need, and the repairs an `up` makes. lab.py (one student) and classroom.py with its
per-student child (a class) use it; they keep argument parsing and printing.

It keeps Pulumi's state in a local file backend inside the project (.pulumi-state/), makes
and keeps a passphrase for the stack's secrets there, and runs stacks through Pulumi's
Automation API with `.tools/` first on PATH.
"""

from __future__ import annotations

import getpass
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from k8s_lab import tools
from k8s_lab.names import MAX_STUDENT_LENGTH
from k8s_lab.runner import ProcessRunner, Runner

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = ROOT / ".pulumi-state"
PASSPHRASE_FILE = STATE_DIR / "passphrase"
TOOLS_DIR = ROOT / ".tools"
TOOLS_DIR_ENV = "K8S_LAB_TOOLS_DIR"  # another tools folder (say, one shared by several copies)
FETCHABLE = ("kind", "pulumi")  # docker is never fetched
K8S_DELETE_UNREACHABLE_ENV = "PULUMI_K8S_DELETE_UNREACHABLE"  # read by pulumi-kubernetes' Configure
# What a verb needs besides Python; the rest need docker, kind and pulumi. Reading a stack's
# outputs or config is the Pulumi CLI's work alone.
NEEDS = {"info": ("pulumi",), "password": ("pulumi",), "config": ("pulumi",)}


@dataclass(frozen=True)
class Tool:
    command: str
    purpose: str
    how_to_get: str


TOOLS = (
    Tool(
        "docker",
        "runs the IDE and the cluster's nodes",
        "Windows/macOS: install Docker Desktop (https://docs.docker.com/desktop/); Linux: install Docker Engine "
        "(https://docs.docker.com/engine/install/, or `sudo apt-get install docker.io`)",
    ),
    Tool(
        "kind",
        "creates the Kubernetes cluster",
        f"`lab.py up` fetches kind {tools.KIND_VERSION} into .tools/ itself (without --no-fetch); or install exactly that "
        f"release yourself: its binary from https://github.com/kubernetes-sigs/kind/releases/tag/{tools.KIND_VERSION} "
        f"(Windows: `choco install kind --version {tools.KIND_VERSION.removeprefix('v')}`)",
    ),
    Tool(
        "pulumi",
        "creates and removes the lab",
        f"`lab.py up` fetches the Pulumi CLI v{tools.PULUMI_VERSION} into .tools/ itself (without --no-fetch); "
        f"or install v{tools.PULUMI_MINIMUM} or newer: Windows `choco install pulumi`; macOS `brew install pulumi/tap/pulumi`; Linux: "
        "https://www.pulumi.com/docs/iac/download-install/",
    ),
)


def missing_tools(which: Callable[[str], str | None] = shutil.which) -> list[Tool]:
    return [tool for tool in TOOLS if which(tool.command) is None]


def docker_problem(run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> str | None:
    """Why the Docker daemon cannot be used, or None."""
    try:
        result = run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`docker info` did not answer ({error})"
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        return "Docker is installed but its daemon does not answer" + (f": {detail[-1]}" if detail else "") + (
            ". Start Docker Desktop (or `sudo systemctl start docker`) and try again"
        )
    return None


def preflight_report(missing: list[Tool], docker_issue: str | None, unusable: Sequence[Finding] = ()) -> str | None:
    lines = [f"- {t.command} is missing ({t.purpose}). Get it: {t.how_to_get}" for t in missing]
    lines += [f"- {finding.described()} is not the one the lab uses: {finding.unusable}. Get it: {finding.tool.how_to_get}" for finding in unusable]
    if docker_issue and not any(t.command == "docker" for t in missing):
        lines.append(f"- {docker_issue}")
    if not lines:
        return None
    return "k8s-lab cannot start yet:\n" + "\n".join(lines)


def tools_layout(environ: dict[str, str] | None = None, plat: tools.Platform | None = None) -> tools.ToolsLayout:
    """Where fetched tools live: `.tools/` in the project unless K8S_LAB_TOOLS_DIR says otherwise."""
    environ = dict(os.environ) if environ is None else environ
    root = Path(environ[TOOLS_DIR_ENV]).expanduser().resolve() if environ.get(TOOLS_DIR_ENV) else TOOLS_DIR
    return tools.ToolsLayout(root, plat or tools.detect_platform())


@dataclass(frozen=True)
class Finding:
    """One tool as the lab finds it: where (the tools folder first, then PATH), the version
    it says it is, and why the lab does not use it (None: it does)."""

    tool: Tool
    path: str | None
    version: tools.Version | None = None
    unusable: str | None = None

    @property
    def command(self) -> str:
        return self.tool.command

    @property
    def to_fetch(self) -> bool:
        return self.command in FETCHABLE and (self.path is None or self.unusable is not None)

    def described(self) -> str:
        return f"{self.command} {self.version or '(version unknown)'} at {self.path}"


def survey(needed: Sequence[Tool], layout: tools.ToolsLayout, path: str, which: Callable[..., str | None], runner: Runner) -> list[Finding]:
    """Each needed tool: found where the Pulumi run will look, asked its version, judged by the pins."""
    findings = []
    for tool in needed:
        found = tools.find_tool(tool.command, layout, path, which)
        version = tools.read_version(tool.command, found, runner) if found else None
        findings.append(Finding(tool, found, version, tools.usable(tool.command, version) if found else None))
    return findings


@dataclass
class PreparedTools:
    """What the Pulumi run needs from the tool check: PATH with the tools folder first, and
    the Pulumi CLI to run when it lives in the tools folder (the Automation API otherwise
    looks for `pulumi` on the PATH of this process)."""

    path: str
    pulumi_command: Any = None


def open_tools_pulumi(layout: tools.ToolsLayout):
    from pulumi.automation import PulumiCommand

    return PulumiCommand(root=str(layout.pulumi_root))


def prepare_tools(
    action: str,
    *,
    fetch: bool,
    environ: dict[str, str],
    fetch_now: bool = False,
    layout: tools.ToolsLayout,
    which: Callable[..., str | None] = shutil.which,
    runner: Runner | None = None,
    docker_check: Callable[[], str | None] = docker_problem,
    kind_installer: Callable[..., Path] = tools.install_kind,
    pulumi_installer: tools.PulumiInstaller = tools.pulumi_install,
    pulumi_opener: Callable[[tools.ToolsLayout], Any] = open_tools_pulumi,
    log: Callable[[str], None] = print,
    err: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
) -> PreparedTools | int:
    """Find docker, kind and pulumi (the tools folder first, then PATH), ask each its
    version, and fetch the pinned kind and Pulumi CLI where none is found or the one found
    is not one the lab uses (tools.usable), unless `fetch` is off. An exit code instead
    when there is nothing more to do: 2 after saying what stops the lab, 0 after `check`
    said what is used and what `up` would fetch (`check` itself fetches nothing)."""
    path = environ.get("PATH", "")
    commands = NEEDS.get(action, ("docker", "kind", "pulumi"))
    needed = [tool for tool in TOOLS if tool.command in commands]
    findings = survey(needed, layout, path, which, runner or ProcessRunner())
    problem = blocking_problem(findings, fetch, docker_check if "docker" in commands else None)
    if problem:
        # Nothing is fetched while the lab could not run anyway.
        err(problem)
        return 2
    if action == "check" and not fetch_now:
        return report_check(findings, layout, log, err)
    try:
        pulumi_command = fetch_pinned(findings, layout, kind_installer, pulumi_installer, log)
    except tools.FetchError as error:
        err(f"k8s-lab: {error}")
        return 2
    if pulumi_command is None and any(f.command == "pulumi" and tools.in_tools(f.path, layout) for f in findings):
        try:
            pulumi_command = pulumi_opener(layout)
        except Exception as error:  # noqa: BLE001 - whatever running `pulumi version` raised
            err(
                f"k8s-lab: the Pulumi CLI in {layout.pulumi_root} does not run ({error}). "
                f"Delete that folder and run again to fetch v{tools.PULUMI_VERSION}, or put a Pulumi CLI on PATH"
            )
            return 2
    if action == "check":
        # What is used now, asked again: the fetched tools must say the pinned versions.
        return report_check(survey(needed, layout, path, which, runner or ProcessRunner()), layout, log, err, fetched=True)
    return PreparedTools(path=tools.path_with_tools(layout, path), pulumi_command=pulumi_command)


def blocking_problem(findings: Sequence[Finding], fetch: bool, docker_check: Callable[[], str | None] | None) -> str | None:
    """What stops the lab before anything is fetched: docker missing or down, or, with
    --no-fetch, a kind or Pulumi CLI missing or not one the lab uses. Then every missing
    and unusable tool is named, with how to get it."""
    docker = next((f for f in findings if f.command == "docker"), None)
    docker_issue = docker_check() if docker_check and docker and docker.path else None
    blocking = [f for f in findings if (f.path is None and f.command not in FETCHABLE) or (f.to_fetch and not fetch)]
    if not blocking and not docker_issue:
        return None
    missing = [f.tool for f in findings if f.path is None]
    return preflight_report(missing, docker_issue, [f for f in findings if f.path and f.unusable])


def fetch_pinned(findings: Sequence[Finding], layout: tools.ToolsLayout, kind_installer, pulumi_installer, log: Callable[[str], None]):
    """Fetch the pinned kind and Pulumi CLI where they are needed; the Pulumi CLI fetched, or None."""
    pulumi_command = None
    for finding in findings:
        if not finding.to_fetch:
            continue
        if finding.path:
            log(f"{finding.described()} is not the one the lab uses: {finding.unusable}.")
        if finding.command == "kind":
            kind_installer(layout, log=log)
        else:
            pulumi_command = tools.install_pulumi(layout, installer=pulumi_installer, log=log)
    return pulumi_command


def report_check(
    findings: Sequence[Finding], layout: tools.ToolsLayout, log: Callable[[str], None], err: Callable[[str], None], fetched: bool = False
) -> int:
    """`check`: each tool's version, path and whether it is the one used, and what `up`
    would fetch from where instead; after `check --fetch`, a tool still not usable is an error."""
    if fetched and any(f.to_fetch for f in findings):
        for finding in findings:
            if finding.to_fetch:
                err(f"- {finding.command}: still {'not found' if finding.path is None else finding.described()} after fetching")
        return 2
    status = 0
    for finding in findings:
        version = str(finding.version) if finding.version else ("-" if finding.path is None else "version unknown")
        verdict = "used" if finding.path and not finding.unusable else (f"not used: {finding.unusable}" if finding.path else "not found")
        log(f"{finding.command:<7} {version:<16} {finding.path or '-'}  {verdict}")
        if not finding.to_fetch:
            continue
        try:
            instead = "instead, " if finding.path else ""
            log(f"        {instead}`lab.py up` fetches it: {fetch_plan(finding.command, layout)}")
        except tools.UnsupportedPlatform as error:
            err(f"- {finding.command}: {error}")
            status = 2
    if status == 0 and not any(f.to_fetch for f in findings):
        log(f"{', '.join(f.command for f in findings)}: ready.")
    elif status == 0:
        log("`lab.py check --fetch` fetches that now; with --no-fetch, `lab.py up` refuses instead.")
    return status


def fetch_plan(command: str, layout: tools.ToolsLayout) -> str:
    if command == "kind":
        source = tools.kind_url(layout.platform)  # UnsupportedPlatform when kind has no binary for it
        return f"kind {tools.KIND_VERSION} from {source} into {layout.kind}, its sha256 checked first"
    return (
        f"the Pulumi CLI v{tools.PULUMI_VERSION} with Pulumi's installer ({tools.pulumi_installer_url(layout.platform)}) "
        f"into {layout.pulumi_root}"
    )


DOCKER_DESKTOP_PIPE = "npipe:////./pipe/docker_engine"


def docker_context_host(run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> str | None:
    """The Docker endpoint the docker CLI uses now (its current context), or None."""
    try:
        result = run(
            ["docker", "context", "inspect", "--format", "{{.Endpoints.docker.Host}}"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    host = result.stdout.strip() if result.returncode == 0 else ""
    return host or None


def docker_host_env(environ: dict[str, str], plat: tools.Platform, context_host: Callable[[], str | None]) -> dict[str, str]:
    """DOCKER_HOST for the Pulumi run on Windows, so the docker provider, the docker CLI and
    kind all reach the engine the docker CLI uses (Docker Desktop's named pipe). The
    user's own DOCKER_HOST or DOCKER_CONTEXT wins; elsewhere nothing is set (the provider
    and the CLI both default to /var/run/docker.sock)."""
    if not plat.windows or environ.get("DOCKER_HOST") or environ.get("DOCKER_CONTEXT"):
        return {}
    return {"DOCKER_HOST": context_host() or DOCKER_DESKTOP_PIPE}


def default_stack_name(user: str | None = None) -> str:
    """A stack name from the login name, shaped into a valid student name (k8s_lab.names)."""
    raw = (user or getpass.getuser() or "student").lower()
    name = re.sub(r"[^a-z0-9-]+", "-", raw).strip("-")[:MAX_STUDENT_LENGTH].strip("-")
    return name or "student"


def backend_url(state_dir: Path = STATE_DIR) -> str:
    # Pulumi's file backend takes file:// followed by a path; forward slashes work on Windows too.
    return "file://" + state_dir.resolve().as_posix()


def passphrase_env(environ: dict[str, str], passphrase_file: Path = PASSPHRASE_FILE) -> tuple[dict[str, str], str | None]:
    """The environment entries that give Pulumi the stack passphrase, and a notice when a new
    one was made. The user's own PULUMI_CONFIG_PASSPHRASE(_FILE) always wins."""
    if environ.get("PULUMI_CONFIG_PASSPHRASE") is not None or environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        return {}, None
    notice = None
    if not passphrase_file.exists():
        passphrase_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(passphrase_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
        notice = (
            f"Made a passphrase for this machine's lab secrets in {passphrase_file} (readable by you only). "
            "Keep it: without it, the stacks' secrets cannot be read."
        )
    return {"PULUMI_CONFIG_PASSPHRASE_FILE": str(passphrase_file)}, notice


def workspace_env(environ: dict[str, str]) -> tuple[dict[str, str], str | None]:
    if not environ.get("PULUMI_BACKEND_URL"):
        STATE_DIR.mkdir(exist_ok=True)
    env = {"PULUMI_BACKEND_URL": environ.get("PULUMI_BACKEND_URL") or backend_url()}
    passphrase, notice = passphrase_env(environ)
    env.update(passphrase)
    return env, notice


def port_problem(stack_name: str, config: dict[str, str], own_lab_running: Callable[[str], bool]) -> str | None:
    """The slot's host ports that something else holds, before anything is created. A lab
    already up holds its own ports, so the check runs only when this student's IDE is absent.
    Settings are read by the program's own parsers (k8s_lab/config.py); a bad one raises
    config.Invalid, and the program then names it with its fix."""
    from k8s_lab import host_ports
    from k8s_lab.config import BY_KEY
    from k8s_lab.ports import ports_for_slot

    def setting(key: str):
        text = (config.get(key) or "").strip()
        return BY_KEY[key].parse(text) if text else BY_KEY[key].default

    student = setting("student") or stack_name
    slot, bind_address = setting("slot"), setting("bindAddress")
    if own_lab_running(student):
        return None
    taken = host_ports.taken_ports(bind_address, ports_for_slot(slot))
    return host_ports.port_conflict_message(bind_address, slot, taken) if taken else None


def ide_container_exists(student: str) -> bool:
    # The same read-only look at Docker the program takes for drift.
    from k8s_lab.drift import probe
    from k8s_lab.names import LabNames

    presence = probe(LabNames(student))
    return presence is not None and presence.ide


def path_with_interpreter(path: str, executable: str = sys.executable) -> str:
    """PATH with this interpreter's folder first: the program's commands run `python` by
    name (k8s_lab/commands.py), so they get the venv that runs lab.py."""
    folder = os.path.dirname(os.path.abspath(executable))
    return os.pathsep.join([folder, *(entry for entry in path.split(os.pathsep) if entry and entry != folder)])


def interpreter_problem(path: str, which: Callable[..., str | None] = shutil.which) -> str | None:
    if which("python", path=path):
        return None
    return (
        "the lab's commands run `python`, and none is on PATH next to this interpreter "
        f"({sys.executable}). Run lab.py with the venv's python: venv/bin/python lab.py up "
        "(venv\\Scripts\\python lab.py up on Windows)"
    )


def store_workspace_root(stack, explicit: str | None, home: Path | None = None) -> str | None:
    """Write the student's folder into the stack's config when it has none (or when given),
    so the stack carries it and previews elsewhere see the same; a problem, or None."""
    from pulumi import automation as auto

    from k8s_lab import workspace

    config = stack.get_all_config()
    if config.get("k8s-lab:dockerHost") and config["k8s-lab:dockerHost"].value and not explicit:
        return None  # another Docker host binds no folders of this machine
    current = config.get("k8s-lab:workspaceRoot")
    root = str(Path(explicit).expanduser().resolve()) if explicit else (current.value if current else "")
    if not root:
        root = workspace.default_root(home)
    if root != (current.value if current else None):
        stack.set_config("workspaceRoot", auto.ConfigValue(root))
        print(f"workspaceRoot: {root} (stored in stack {stack.name}'s config)")
    why = workspace.writable_problem(root)
    return f"workspaceRoot = {root!r} cannot hold your files: {why}. Fix: lab.py up --workspace-root <folder you can write>" if why else None


def look_for_repairs(stack_name: str, config: dict[str, str], deployed: bool):
    """What vanished behind Pulumi's back, as a repair for this `up` (k8s_lab.repair)."""
    from k8s_lab import drift, ide_image, repair
    from k8s_lab.docker_host import DockerHost
    from k8s_lab.names import LabNames

    if not deployed:
        return repair.Repair()
    docker_env = DockerHost(config.get("dockerHost", "")).environment() or None
    presence = drift.probe(LabNames(config.get("student") or stack_name), docker_env)
    prebuilt = config.get("ideImage", "")
    image = drift.image_present(prebuilt or ide_image.image_name(), docker_env)
    if presence is None:
        return repair.Repair()  # Docker did not answer: the preflight says why
    findings = repair.Findings(
        cluster_missing=not presence.cluster,
        ide_missing=not presence.ide,
        image_missing=image is False,
        prebuilt_image=bool(prebuilt),
    )
    return repair.plan(stack_name, findings)


def select_stack(
    name: str,
    prepared: PreparedTools,
    environ: dict[str, str] | None = None,
    plat: tools.Platform | None = None,
    create: Callable[..., Any] | None = None,
):
    from pulumi import automation as auto

    environ = dict(os.environ) if environ is None else environ
    env, notice = workspace_env(environ)
    if notice:
        print(notice)
    # The program's commands (python, kind, docker) and the Pulumi CLI's plugins see this PATH.
    env["PATH"] = prepared.path
    # A cluster that is gone: its objects leave state instead of failing refresh or destroy,
    # also for providers recorded before the program set deleteUnreachable.
    env[K8S_DELETE_UNREACHABLE_ENV] = "true"
    env.update(docker_host_env(environ, plat or tools.detect_platform(), docker_context_host))
    create = create or auto.create_or_select_stack
    return create(
        stack_name=name,
        work_dir=str(ROOT),
        opts=auto.LocalWorkspaceOptions(env_vars=env, pulumi_command=prepared.pulumi_command),
    )



def stack_settings(stack) -> dict[str, str]:
    return {key.split(":", 1)[-1]: item.value for key, item in stack.get_all_config().items()}

