"""Bring a k8s-lab up or down on this machine: `python lab.py up|destroy|info|password`.

It checks for docker, kind and pulumi first (naming what is missing and how to get it),
keeps Pulumi's state in a local file backend inside the project (.pulumi-state/), makes
and keeps a passphrase for the stack's secrets there, creates or selects the stack, and
runs it through Pulumi's Automation API.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
STATE_DIR = ROOT / ".pulumi-state"
PASSPHRASE_FILE = STATE_DIR / "passphrase"


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
        "Windows: `choco install kind`; macOS: `brew install kind`; Linux: download the release binary "
        "(https://kind.sigs.k8s.io/docs/user/quick-start/#installation)",
    ),
    Tool(
        "pulumi",
        "creates and removes the lab",
        "Windows: `choco install pulumi`; macOS: `brew install pulumi/tap/pulumi`; Linux: "
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


def preflight_report(missing: list[Tool], docker_issue: str | None) -> str | None:
    lines = [f"- {t.command} is missing ({t.purpose}). Get it: {t.how_to_get}" for t in missing]
    if docker_issue and not any(t.command == "docker" for t in missing):
        lines.append(f"- {docker_issue}")
    if not lines:
        return None
    return "k8s-lab cannot start yet:\n" + "\n".join(lines)


def default_stack_name(user: str | None = None) -> str:
    """A stack name from the login name, shaped into a valid student name (k8s_lab.names)."""
    raw = (user or getpass.getuser() or "student").lower()
    name = re.sub(r"[^a-z0-9-]+", "-", raw).strip("-")[:49].strip("-")
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
    STATE_DIR.mkdir(exist_ok=True)
    env = {"PULUMI_BACKEND_URL": environ.get("PULUMI_BACKEND_URL") or backend_url()}
    passphrase, notice = passphrase_env(environ)
    env.update(passphrase)
    return env, notice


def port_problem(stack_name: str, config: dict[str, str], own_lab_running: Callable[[str], bool]) -> str | None:
    """The slot's host ports that something else holds, before anything is created. A lab
    already up holds its own ports, so the check runs only when this student's IDE is absent."""
    from k8s_lab import host_ports
    from k8s_lab.ports import ports_for_slot

    student = config.get("student") or stack_name
    slot = int(config.get("slot") or 0)
    bind_address = config.get("bindAddress") or "127.0.0.1"
    if own_lab_running(student):
        return None
    taken = host_ports.taken_ports(bind_address, ports_for_slot(slot))
    return host_ports.port_conflict_message(bind_address, slot, taken) if taken else None


def ide_container_exists(student: str) -> bool:
    result = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"name=^/{student}-ide$", "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
    )
    return f"{student}-ide" in result.stdout.split()


def select_stack(name: str):
    from pulumi import automation as auto

    env, notice = workspace_env(dict(os.environ))
    if notice:
        print(notice)
    return auto.create_or_select_stack(
        stack_name=name, work_dir=str(ROOT), opts=auto.LocalWorkspaceOptions(env_vars=env)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lab.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "destroy", "info", "password", "check"])
    parser.add_argument("--stack", default=None, help="stack (and default student) name; default: your login name")
    args = parser.parse_args(argv)

    report = preflight_report(missing_tools(), docker_problem() if shutil.which("docker") else None)
    if report:
        print(report, file=sys.stderr)
        return 2
    if args.action == "check":
        print("docker, kind and pulumi are ready.")
        return 0

    stack = select_stack(args.stack or default_stack_name())
    if args.action == "up":
        config = {key.split(":", 1)[-1]: item.value for key, item in stack.get_all_config().items()}
        try:
            conflict = port_problem(stack.name, config, ide_container_exists)
        except ValueError:
            conflict = None  # a bad slot: the program's config check names it
        if conflict:
            print(conflict, file=sys.stderr)
            return 2
        stack.up(on_output=print)
    elif args.action == "destroy":
        stack.destroy(on_output=print)
        print("The lab is gone; your files under the workspace folder were kept.")
        return 0
    outputs = stack.outputs()
    if args.action == "password":
        print(outputs["idePassword"].value)
        return 0
    print(f"IDE:      {outputs['ideUrl'].value}")
    print(f"Password: python lab.py password --stack {stack.name}")
    print(f"Cluster:  {outputs['clusterName'].value} (kubectl works inside the IDE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
