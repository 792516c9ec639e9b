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

from k8s_lab import shell_form, tools, versions
from k8s_lab.names import MAX_STUDENT_LENGTH
from k8s_lab.runner import ProcessRunner, Runner
from k8s_lab.exits import lab_command

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = ROOT / ".pulumi-state"
PASSPHRASE_FILE = STATE_DIR / "passphrase"
TOOLS_DIR = ROOT / ".tools"
TOOLS_DIR_ENV = "K8S_LAB_TOOLS_DIR"  # another tools folder (say, one shared by several copies)
FETCHABLE = ("kind", "pulumi")  # docker is never fetched
K8S_DELETE_UNREACHABLE_ENV = "PULUMI_K8S_DELETE_UNREACHABLE"  # read by pulumi-kubernetes' Configure
PROJECT = "k8s-lab"  # Pulumi.yaml's name: the prefix of every config key
ALL_TOOLS = ("docker", "kind", "pulumi")


@dataclass(frozen=True)
class Needs:
    """What one verb needs, and nothing more: a verb that only reads never fetches.

    tools: which of docker, kind and pulumi must be here (docker also answering);
    fetch: whether what is missing of kind and pulumi is fetched into the tools folder;
    stack: how the verb reaches its lab:
      "create"   - selects the stack through the Pulumi CLI, making it when new (up, preview);
      "select"   - selects an existing stack through the Pulumi CLI; an unknown name is refused;
      "settings" - reads the stack's settings from its Pulumi.<stack>.yaml (no Pulumi CLI, no
                   secrets); an unknown name is refused;
      "optional" - the stack's settings when it has any, the defaults otherwise (doctor);
      "list"     - the Pulumi CLI's list of stacks; "none" - no stack at all.
    """

    tools: tuple[str, ...]
    fetch: bool
    stack: str
    fetch_asked: bool = False  # fetches only when asked (check --fetch); README must not say it fetches

    def describe(self) -> str:
        """README's "needs" column (tests/test_user_path.py holds README to it)."""
        names = {"docker": "Docker", "kind": "kind", "pulumi": "the Pulumi CLI"}
        what = [names[tool] for tool in self.tools]
        text = what[0] if len(what) == 1 else ", ".join(what[:-1]) + " and " + what[-1]
        if self.stack == "settings":
            text += " and the lab's settings file"
        if self.fetch:
            text += " (fetched only with `--fetch`)" if self.fetch_asked else " (kind and the Pulumi CLI fetched when missing)"
        return text


NEEDS: dict[str, Needs] = {
    "up": Needs(ALL_TOOLS, fetch=True, stack="create"),
    "preview": Needs(ALL_TOOLS, fetch=True, stack="create"),
    "destroy": Needs(ALL_TOOLS, fetch=True, stack="select"),
    "check": Needs(ALL_TOOLS, fetch=True, stack="none", fetch_asked=True),
    "doctor": Needs(("docker",), fetch=False, stack="optional"),
    "status": Needs(("docker",), fetch=False, stack="settings"),
    "stop": Needs(("docker",), fetch=False, stack="settings"),
    "start": Needs(("docker",), fetch=False, stack="settings"),
    "info": Needs(("pulumi",), fetch=False, stack="select"),
    "password": Needs(("pulumi",), fetch=False, stack="select"),
    "config": Needs(("pulumi",), fetch=False, stack="select"),
    "kubeconfig": Needs(("pulumi",), fetch=False, stack="select"),
    "list": Needs(("pulumi",), fetch=False, stack="list"),
}


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
        f"`{lab_command('up')}` fetches kind {tools.KIND_VERSION} into .tools/ itself (without --no-fetch); or install exactly that "
        f"release yourself: its binary from https://github.com/kubernetes-sigs/kind/releases/tag/{tools.KIND_VERSION} "
        f"(Windows: `choco install kind --version {tools.KIND_VERSION.removeprefix('v')}`)",
    ),
    Tool(
        "pulumi",
        "creates and removes the lab",
        f"`{lab_command('up')}` fetches the Pulumi CLI v{tools.PULUMI_VERSION} into .tools/ itself (without --no-fetch); "
        f"or install v{tools.PULUMI_MINIMUM} or newer: Windows `choco install pulumi`; macOS `brew install pulumi/tap/pulumi`; Linux: "
        "https://www.pulumi.com/docs/iac/download-install/",
    ),
)


def row_kind_tool(version: str) -> Tool:
    """Another kubernetesVersion row's kind release, used as `kind-<version>` beside the
    seed's `kind` (k8s_lab/versions.py, tools.ToolsLayout.kind_for)."""
    return Tool(
        tools.kind_command(version),
        f"creates the cluster of a kubernetesVersion row built for kind {version}",
        f"`lab.py up` fetches kind {version} into .tools/ itself (without --no-fetch) as {tools.kind_command(version)}; "
        f"or put that release (https://github.com/kubernetes-sigs/kind/releases/tag/{version}) on PATH under that name",
    )


def fetchable(command: str) -> bool:
    return command in FETCHABLE or tools.kind_command_version(command) is not None


def missing_tools(which: Callable[[str], str | None] = shutil.which) -> list[Tool]:
    return [tool for tool in TOOLS if which(tool.command) is None]


def docker_problem(run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> str | None:
    """Why the Docker daemon cannot be used, or None."""
    try:
        result = run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`docker info` did not answer ({error})"
    if result.returncode != 0:
        detail = daemon_error_line(result.stderr or result.stdout)
        if detail and "permission denied" in detail.lower():
            return (
                f"Docker's daemon runs but refuses you: {detail}. Add yourself to the docker group "
                "(`sudo usermod -aG docker $USER`), log out and in, and try again"
            )
        said = f": {detail.rstrip('.')}" if detail else ""
        end = " " if said.endswith(("?", "!")) else ". "  # Docker's "Is the docker daemon running?" ends a sentence
        return f"Docker is installed but its daemon does not answer{said}{end}Start Docker Desktop (or `sudo systemctl start docker`) and try again"
    return None


def daemon_error_line(output: str) -> str | None:
    """The line of a failed `docker info` that says why. Older CLIs (Debian's 20.10) print the
    connection error and then a Go template error about the --format, which says nothing."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    telling = [line for line in lines if re.search(r"cannot connect|error during connect|permission denied|daemon", line, re.I)]
    plain = [line for line in lines if not line.lower().startswith(("template:", "errors pretty printing info"))]
    for found in (telling, plain, lines):
        if found:
            return found[0] if found is telling else found[-1]
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
        return fetchable(self.command) and (self.path is None or self.unusable is not None)

    def described(self) -> str:
        return f"{self.command} {self.version or '(version unknown)'} at {self.path}"


def survey(
    needed: Sequence[Tool], layout: tools.ToolsLayout, path: str, which: Callable[..., str | None], runner: Runner, exact_pulumi: bool = False
) -> list[Finding]:
    """Each needed tool: found where the Pulumi run will look, asked its version, judged by
    the pins (in CI, `exact_pulumi`: the Pulumi CLI must be the pinned one)."""
    findings = []
    for tool in needed:
        found = tools.find_tool(tool.command, layout, path, which)
        version = tools.read_version(tool.command, found, runner) if found else None
        findings.append(Finding(tool, found, version, tools.usable(tool.command, version, exact_pulumi) if found else None))
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
    kind_versions: Sequence[str] = (),
    about: str | None = None,  # `check`: the line naming the lab's version row, before the verdict
) -> PreparedTools | int:
    """Find docker, kind and pulumi (the tools folder first, then PATH), ask each its
    version, and fetch the pinned kind and Pulumi CLI where none is found or the one found
    is not one the lab uses (tools.usable), unless `fetch` is off. An exit code instead
    when there is nothing more to do: 2 after saying what stops the lab, 0 after `check`
    said what is used and what `up` would fetch (`check` itself fetches nothing)."""
    path = environ.get("PATH", "")
    commands = NEEDS[action].tools
    needed = [tool for tool in TOOLS if tool.command in commands]
    if "kind" in commands:  # the kind releases of the labs' kubernetesVersion rows, beside the seed's
        needed += [row_kind_tool(v) for v in dict.fromkeys(kind_versions) if v != tools.KIND_VERSION]
    exact_pulumi = tools.in_ci(environ)
    findings = survey(needed, layout, path, which, runner or ProcessRunner(), exact_pulumi)
    problem = blocking_problem(findings, fetch, docker_check if "docker" in commands else None)
    if problem:
        # Nothing is fetched while the lab could not run anyway.
        err(problem)
        return 2
    if action == "check" and not fetch_now:
        return report_check(findings, layout, log, err, about=about)
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
        again = survey(needed, layout, path, which, runner or ProcessRunner(), exact_pulumi)
        return report_check(again, layout, log, err, fetched=True, about=about)
    return PreparedTools(path=tools.path_with_tools(layout, path), pulumi_command=pulumi_command)


def blocking_problem(findings: Sequence[Finding], fetch: bool, docker_check: Callable[[], str | None] | None) -> str | None:
    """What stops the lab before anything is fetched: docker missing or down, or, with
    --no-fetch, a kind or Pulumi CLI missing or not one the lab uses. Then every missing
    and unusable tool is named, with how to get it."""
    docker = next((f for f in findings if f.command == "docker"), None)
    docker_issue = docker_check() if docker_check and docker and docker.path else None
    blocking = [f for f in findings if (f.path is None and not fetchable(f.command)) or (f.to_fetch and not fetch)]
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
        version = tools.kind_command_version(finding.command)
        if version == tools.KIND_VERSION:
            kind_installer(layout, log=log)
        elif version:
            kind_installer(layout, version=version, log=log)
        else:
            pulumi_command = tools.install_pulumi(layout, installer=pulumi_installer, log=log)
    return pulumi_command


def report_check(
    findings: Sequence[Finding], layout: tools.ToolsLayout, log: Callable[[str], None], err: Callable[[str], None], fetched: bool = False,
    about: str | None = None,
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
    if about:
        log(about)
    if status == 0 and not any(f.to_fetch for f in findings):
        log(f"{', '.join(f.command for f in findings)}: ready.")
    elif status == 0:
        log(f"`{lab_command('check', '--fetch')}` fetches that now; with --no-fetch, `lab.py up` refuses instead.")
    return status


def fetch_plan(command: str, layout: tools.ToolsLayout) -> str:
    version = tools.kind_command_version(command)
    if version:
        source = tools.kind_url(layout.platform, version)  # UnsupportedPlatform when kind has no binary for it
        return f"kind {version} from {source} into {layout.kind_for(version)}, its sha256 checked first"
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


def passphrase_env(
    environ: dict[str, str], passphrase_file: Path = PASSPHRASE_FILE, make: bool = True
) -> tuple[dict[str, str], str | None]:
    """The environment entries that give Pulumi the stack passphrase, and a notice when a new
    one was made (only when `make`: a verb that only reads leaves a fresh machine as it is).
    The user's own PULUMI_CONFIG_PASSPHRASE(_FILE) always wins."""
    if environ.get("PULUMI_CONFIG_PASSPHRASE") is not None or environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        return {}, None
    if not make and not passphrase_file.exists():
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


def workspace_env(environ: dict[str, str], make: bool = True) -> tuple[dict[str, str], str | None]:
    if not environ.get("PULUMI_BACKEND_URL"):
        STATE_DIR.mkdir(exist_ok=True)
    env = {"PULUMI_BACKEND_URL": environ.get("PULUMI_BACKEND_URL") or backend_url()}
    passphrase, notice = passphrase_env(environ, make=make)
    env.update(passphrase)
    return env, notice


def port_problem(stack_name: str, config: dict[str, str], own_lab_running: Callable[[str], bool]) -> str | None:
    """The slot's host ports that something else holds, before anything is created. A lab
    already up holds its own ports, so the check runs only when this student's IDE is absent.
    Settings are read by the program's own parsers (k8s_lab/config.py); a bad one raises
    config.Invalid, and the program then names it with its fix."""
    from k8s_lab import host_ports
    from k8s_lab.config import read_setting
    from k8s_lab.docker_host import DockerHost
    from k8s_lab.ports import ports_for_slot

    student = read_setting(config, "student") or stack_name
    slot, bind_address = read_setting(config, "slot"), read_setting(config, "bindAddress")
    if DockerHost(read_setting(config, "dockerHost")).remote:
        return None  # the ports are another host's: this machine's say nothing of them (doctor and classroom.py skip it too)
    if own_lab_running(student):
        return None
    taken = host_ports.taken_ports(bind_address, ports_for_slot(slot))
    return host_ports.port_conflict_message(bind_address, slot, taken, stack_name) if taken else None


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
        f"({sys.executable}). Run lab.py with the venv's python: {lab_command('up')}"
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
    fix = lab_command("up", "--workspace-root", "<folder you can write>")
    return f"workspaceRoot = {root!r} cannot hold your files: {why}. Fix: {fix}" if why else None


DAEMON_PLATFORM_FORMAT = "{{.Server.Os}}/{{.Server.Arch}}"  # moby's GOOS/GOARCH, as the daemon reports them


def daemon_platform(docker_host: str, run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> str | None:
    """The platform of the Docker daemon a lab uses (its own, over ssh:// or tcp:// too), as
    `docker version` reports the server: not this machine's. None when it does not answer."""
    from k8s_lab.docker_host import DockerHost

    env = {**os.environ, **DockerHost(docker_host).environment()}
    try:
        done = run(["docker", "version", "--format", DAEMON_PLATFORM_FORMAT], capture_output=True, text=True, env=env, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def store_ide_platform(stack, ask: Callable[[str], str | None] | None = None) -> str | None:
    """Write the Docker host's platform into the stack's config when it has none, so the
    IDE image is built for the daemon (not for this laptop) and a preview on another
    machine computes the same inputs; a problem, or None."""
    from pulumi import automation as auto

    from k8s_lab.config import IDE_PLATFORMS

    config = stack.get_all_config()
    if config.get("k8s-lab:idePlatform") and config["k8s-lab:idePlatform"].value:
        return None  # stored once: a stack is a function of its config
    docker_host = config["k8s-lab:dockerHost"].value if config.get("k8s-lab:dockerHost") else ""
    platform = (ask or daemon_platform)(docker_host)
    if platform is None:
        return None  # Docker did not answer: the preflight and the program say why
    if platform not in IDE_PLATFORMS:
        return (
            f"the lab's Docker host runs {platform}; the IDE image is built for {' or '.join(IDE_PLATFORMS)} only. "
            "Fix: use a Docker host of one of those, or set ideImage to a prebuilt image for it"
        )
    stack.set_config("idePlatform", auto.ConfigValue(platform))
    print(f"idePlatform: {platform} (the Docker host's, stored in stack {stack.name}'s config)")
    return None


def look_for_repairs(stack_name: str, config: dict[str, str], deployed: bool):
    """What vanished behind Pulumi's back, as a repair for this `up` (k8s_lab.repair)."""
    from k8s_lab import drift, ide_image, repair
    from k8s_lab.docker_host import DockerHost
    from k8s_lab.names import LabNames

    from k8s_lab.config import read_setting

    if not deployed:
        return repair.Repair()
    try:
        docker_host, student, prebuilt, platform = (read_setting(config, key) for key in ("dockerHost", "student", "ideImage", "idePlatform"))
    except ValueError:
        return repair.Repair()  # a bad setting: the program's config check names it with its fix
    docker_env = DockerHost(docker_host).environment() or None
    presence = drift.probe(LabNames(student or stack_name), docker_env)
    prebuilt = prebuilt or ""
    image = drift.image_present(prebuilt or ide_image.image_name(platform=platform), docker_env)
    if presence is None:
        return repair.Repair()  # Docker did not answer: the preflight says why
    findings = repair.Findings(
        cluster_missing=not presence.cluster,
        ide_missing=not presence.ide,
        image_missing=image is False,
        prebuilt_image=bool(prebuilt),
    )
    return repair.plan(stack_name, findings)


def workspace_options(
    prepared: PreparedTools, environ: dict[str, str] | None = None, plat: tools.Platform | None = None, make: bool = True
):
    """The Automation API's options for this project: the lab's backend and passphrase (made
    when new only if `make`), and the environment the program's commands need."""
    from pulumi import automation as auto

    environ = dict(os.environ) if environ is None else environ
    env, notice = workspace_env(environ, make=make)
    if notice:
        print(notice)
    # The program's commands (python, kind, docker) and the Pulumi CLI's plugins see this PATH.
    env["PATH"] = prepared.path
    # A cluster that is gone: its objects leave state instead of failing refresh or destroy,
    # also for providers recorded before the program set deleteUnreachable.
    env[K8S_DELETE_UNREACHABLE_ENV] = "true"
    env[shell_form.FIXES_ENV] = "lab"  # lab.py's Pulumi run: the program's errors name lab.py config
    env.update(docker_host_env(environ, plat or tools.detect_platform(), docker_context_host))
    return auto.LocalWorkspaceOptions(env_vars=env, pulumi_command=prepared.pulumi_command)


def select_stack(
    name: str,
    prepared: PreparedTools,
    environ: dict[str, str] | None = None,
    plat: tools.Platform | None = None,
    create: Callable[..., Any] | None = None,
):
    """The stack `name`, made when new: for `up` and `preview` only (NEEDS' "create")."""
    from pulumi import automation as auto

    create = create or auto.create_or_select_stack
    return create(stack_name=name, work_dir=str(ROOT), opts=workspace_options(prepared, environ, plat))


class NoSuchLab(LookupError):
    """A --stack that names no lab of this machine; the message lists those there are."""

    def __init__(self, name: str, known: list[str], make: str):
        self.name, self.known = name, known
        there = f"the labs here: {', '.join(known)}" if known else "there is none yet"
        super().__init__(f"there is no lab named {name!r} on this machine ({there}). Make it with: {make}")


def open_workspace(prepared: PreparedTools, environ: dict[str, str] | None = None, plat: tools.Platform | None = None):
    from pulumi import automation as auto

    opts = workspace_options(prepared, environ, plat, make=False)
    return auto.LocalWorkspace(work_dir=str(ROOT), env_vars=opts.env_vars, pulumi_command=opts.pulumi_command)


def stack_names(workspace) -> list[str]:
    # The file backend may name a stack organization/project/name; the lab's are one project's.
    return sorted(summary.name.rsplit("/", 1)[-1] for summary in workspace.list_stacks())


def existing_stack(name: str, workspace, make: str):
    """The stack `name`, selected, never made: every verb but up and preview (NEEDS' "select")."""
    from pulumi import automation as auto

    known = stack_names(workspace)
    if name not in known:
        raise NoSuchLab(name, known, make)
    return auto.Stack.select(name, workspace)


def stacks_in_state(state_dir: Path = STATE_DIR) -> set[str]:
    """The stacks the lab's own file backend holds, by their state files' names: Pulumi's
    file backend keeps each under .pulumi/stacks/ as [<project>/]<stack>.json (a .gz and a
    .bak beside it). A name too many is harmless: the Pulumi CLI then decides."""
    stacks = state_dir / ".pulumi" / "stacks"
    if not stacks.is_dir():
        return set()
    return {path.name.split(".json", 1)[0] for path in stacks.rglob("*.json*")}


def labs_known_here(environ: dict[str, str], root: Path = ROOT, state_dir: Path = STATE_DIR) -> set[str] | None:
    """The labs of this checkout, told without the Pulumi CLI: a settings file Pulumi.<lab>.yaml
    (stack init writes one, with the passphrase's salt) or a stack in .pulumi-state/. None when
    the user chose another backend (PULUMI_BACKEND_URL): only the Pulumi CLI knows its stacks."""
    if environ.get("PULUMI_BACKEND_URL"):
        return None
    return set(settings_file_names(root)) | stacks_in_state(state_dir)


def refuse_unknown_lab(name: str, environ: dict[str, str], make: str, root: Path = ROOT, state_dir: Path = STATE_DIR) -> None:
    """NoSuchLab before any tool is looked for or fetched, when this checkout can tell that
    `name` is no lab of it; otherwise the Pulumi CLI decides later (existing_stack)."""
    known = labs_known_here(environ, root, state_dir)
    if known is not None and name not in known:
        raise NoSuchLab(name, sorted(known), make)


# --- a stack's settings without the Pulumi CLI (NEEDS' "settings") ------------------------------


def settings_file(name: str, root: Path = ROOT) -> Path:
    return root / f"Pulumi.{name}.yaml"


def settings_file_names(root: Path = ROOT) -> list[str]:
    """The stacks with a settings file in this checkout (lab.py up and classroom.py always write one)."""
    return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in root.glob("Pulumi.*.yaml"))


def file_settings(name: str, root: Path = ROOT) -> dict[str, str] | None:
    """The stack's settings as `pulumi config --json` gives their text, read from its
    Pulumi.<stack>.yaml (Pulumi's documented stack settings file); secrets are left out
    (they are encrypted there, and stop, start and status need none). None: no such file."""
    import json

    import yaml

    path = settings_file(name, root)
    if not path.is_file():
        return None
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    settings: dict[str, str] = {}
    for key, value in (document.get("config") or {}).items():
        project, _, short = str(key).partition(":")
        if project != PROJECT or not short or (isinstance(value, dict) and "secure" in value):
            continue
        if isinstance(value, bool):
            settings[short] = "true" if value else "false"
        elif isinstance(value, (list, dict)):
            settings[short] = json.dumps(value)
        else:
            settings[short] = "" if value is None else str(value)
    return settings


def version_row(settings: dict[str, str] | None) -> versions.Row:
    """The kubernetesVersion row a lab's settings name; the seed's when unset. A value that
    is no row is the seed's here: the program refuses it, with the rows, before anything."""
    wanted = ((settings or {}).get("kubernetesVersion") or "").strip() or versions.SEED
    return versions.ROWS.get(wanted, versions.ROWS[versions.SEED])


def row_line(name: str, row: versions.Row) -> str:
    """`lab.py check`'s line naming the lab's version row and what goes with it."""
    return (
        f"lab {name!r}: kubernetesVersion {row.minor} ({row.purpose}): kind {row.kind_version} as "
        f"{tools.kind_command(row.kind_version)}, node image {row.node_image}, kubectl {row.kubectl_version} in the IDE, "
        f"way in {row.way_in}; supported until {row.end_of_life.isoformat()}"
    )


def settings_of(name: str, make: str, root: Path = ROOT) -> dict[str, str]:
    settings = file_settings(name, root)
    if settings is None:
        raise NoSuchLab(name, settings_file_names(root), make)
    return settings


class SettingsOnlyStack:
    """A stack as its settings file shows it, for stop, start and status, which need no
    Pulumi CLI. Its history (status's last change) comes from a Pulumi CLI already at hand
    (on PATH or in the tools folder, never fetched), or is empty."""

    def __init__(self, name: str, environ: dict[str, str] | None = None):
        self.name = name
        self.environ = dict(os.environ) if environ is None else environ

    def history(self, page_size: int = 1) -> list:
        layout = tools_layout(self.environ)
        found = tools.find_tool("pulumi", layout, self.environ.get("PATH", ""), shutil.which)
        if found is None:
            return []
        try:
            from pulumi import automation as auto

            command = open_tools_pulumi(layout) if tools.in_tools(found, layout) else None
            prepared = PreparedTools(path=tools.path_with_tools(layout, self.environ.get("PATH", "")), pulumi_command=command)
            return auto.Stack.select(self.name, open_workspace(prepared, self.environ)).history(page_size=page_size)
        except Exception:  # noqa: BLE001 - no history is no answer, never a failed status
            return []


# --- what a failed Pulumi operation leaves ---------------------------------------------------------

LOG_DIR = STATE_DIR / "logs"


def write_log(stack_name: str, verb: str, text: str, redact: tuple[str, ...] = (), log_dir: Path | None = None) -> Path:
    """The full output of a failed operation in .pulumi-state/logs/ (git-ignored), readable
    by its owner only; values in `redact` (a secret being set) never reach it."""
    import datetime

    for value in redact:
        if value:
            text = text.replace(value, "[secret]")
    folder = log_dir or LOG_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"{stack_name}-{verb}-{stamp}.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def failure_summary(output: str, limit: int = 3) -> list[str]:
    """The lines of Pulumi's output that say why it failed: its `error:` lines, else the last line."""
    # CommandError's text is "code: N", "stdout: ...", "stderr: ..." around Pulumi's own lines.
    lines = [re.sub(r"^(stdout|stderr):\s*", "", line.strip()) for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error:")]
    unique = list(dict.fromkeys(errors))
    if unique:
        return unique[-limit:]
    meaningful = [line for line in lines if not line.startswith("code:")]
    return (meaningful or lines or ["(Pulumi said nothing)"])[-1:]


def stack_settings(stack) -> dict[str, str]:
    return {key.split(":", 1)[-1]: item.value for key, item in stack.get_all_config().items()}



# --- what lab.py's verbs do beyond Pulumi ------------------------------------------------------


def user_kubeconfig_path(environ: dict[str, str]) -> Path:
    """Where kubectl reads its config: the first file of $KUBECONFIG, else ~/.kube/config."""
    first = next((entry for entry in environ.get("KUBECONFIG", "").split(os.pathsep) if entry), None)
    return Path(first).expanduser() if first else Path.home() / ".kube" / "config"


def merge_kubeconfig(lab_kubeconfig: str, context: str, environ: dict[str, str]) -> Path:
    """The lab's kubeconfig merged into the user's under `context` (k8s_lab.kubeconfig.merge_into),
    written readable by its owner only; the file written."""
    from k8s_lab import kubeconfig

    target = user_kubeconfig_path(environ)
    existing = target.read_text(encoding="utf-8") if target.exists() else ""
    merged = kubeconfig.merge_into(existing, lab_kubeconfig, context)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        # os.open's mode applies only to a new file; an existing one is tightened before
        # the lab's credentials are written into it (kubectl writes its config 0600 too).
        os.chmod(target, 0o600)
        handle.write(merged)
    return target


def version_text() -> str:
    """`lab.py --version`: this checkout's commit, Python, and the tool versions it pins."""
    from k8s_lab.runner import ProcessRunner, RunError

    try:  # a download of the project, or a machine without git, has no commit to name
        commit = ProcessRunner().run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], check=False, timeout=10)
        checkout = commit.stdout.strip() if commit.ok else "unknown"
    except RunError:
        checkout = "unknown"
    python = ".".join(str(part) for part in sys.version_info[:3])
    return f"k8s-lab (checkout {checkout}), Python {python}; pins kind {tools.KIND_VERSION} and the Pulumi CLI v{tools.PULUMI_VERSION}"
