"""Command lines for pulumi-command's local.Command.

pulumi-command runs a command through the host's shell (`/bin/sh -c` on Linux and macOS,
`cmd /C` on Windows) and stores the command line in the stack's state, where `destroy`
finds it again. So a command line here holds nothing of the machine that evaluated the
program: the helper runs as `python -m k8s_lab.kind_lifecycle ...`, found by name on
PATH, and from the provider's working folder, which Pulumi sets to the project folder
(no `dir`). Every argument is a plain word (no quoting, no shell syntax), so the same text
means the same under sh and cmd, and a stack previews identically on any machine.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Sequence

from k8s_lab import limits, shell_form
from k8s_lab.versions import Manifest

# The interpreter the commands run, by name: a venv's `python` on PATH (lab.py and
# classroom.py put theirs first; plain `pulumi up` needs an activated venv).
PYTHON = "python"
LIFECYCLE_MODULE = "k8s_lab.kind_lifecycle"
_PLAIN_WORD = re.compile(r"^[A-Za-z0-9@+=:,./_-]+$")  # no % (cmd expands %VAR%)


# Every command's environment holds this: with PYTHONSAFEPATH set to anything non-empty,
# `python -m` leaves the working folder off sys.path and `k8s_lab` is not found; an empty
# value turns it off (Python's docs, PYTHONSAFEPATH). The same on every machine.
PYTHON_ENVIRONMENT = {"PYTHONSAFEPATH": ""}


def environment(docker_env: dict[str, str]) -> dict[str, str]:
    """A command's `environment`: the Docker host's variables and PYTHON_ENVIRONMENT."""
    return {**docker_env, **PYTHON_ENVIRONMENT}


def command_line(argv: Sequence[str]) -> str:
    """`argv` joined by spaces; each argument must be a plain word, which sh and cmd both
    read back as the same argument."""
    for arg in argv:
        if not _PLAIN_WORD.match(arg):
            raise ValueError(f"{arg!r} would need quoting, which differs between sh and cmd")
    return " ".join(argv)


def lifecycle(action: str, *args: str) -> str:
    """`python -m k8s_lab.kind_lifecycle <action> ...`."""
    return command_line([PYTHON, "-m", LIFECYCLE_MODULE, action, *args])


def kind_create(cluster: str, workers: int, shares: limits.Shares | None = None) -> str:
    # The config arrives on stdin, so it is an input of the command and a changed config
    # shows in `pulumi preview`. Caps are flags only when set: a lab without them keeps
    # the command line it always had (no update of existing stacks).
    caps: list[str] = []
    if shares and shares.control_plane_mb:
        caps += ["--control-plane-memory", str(shares.control_plane_mb)]
    if shares and shares.worker_mb:
        caps += ["--worker-memory", str(shares.worker_mb)]
    if shares and shares.cpus:
        caps += ["--cpus", shares.cpus]
    return lifecycle("create", "--name", cluster, "--workers", str(workers), *caps)


def kind_delete(cluster: str) -> str:
    return lifecycle("delete", "--name", cluster)


def kind_kubeconfig(cluster: str) -> str:
    return lifecycle("kubeconfig", "--name", cluster)


def registry_hosts(cluster: str, directory: str, endpoint: str) -> str:
    return lifecycle("registry-hosts", "--name", cluster, "--directory", directory, "--endpoint", endpoint)


def manifest(cluster: str, url: str, sha256: str, *, remove: bool = False) -> str:
    return lifecycle("manifest", "--name", cluster, "--url", url, "--sha256", sha256, *(["--remove"] if remove else []))


def manifests(cluster: str, pinned: Sequence[Manifest], *, remove: bool = False) -> str:
    """Several pinned manifests in order, then the lab's own objects from stdin."""
    parts = [arg for each in pinned for arg in ("--url", each.url, "--sha256", each.sha256)]
    return lifecycle("manifest", "--name", cluster, *parts, "--stdin", *(["--remove"] if remove else []))


def provider_path(program_path: str, executable: str) -> str:
    """The PATH Pulumi's providers (and so these commands) get: the program's, less the venv
    folder Pulumi's Python language host puts first, which it does for the program only
    (pulumi sdk/python/toolchain ActivateVirtualEnv; providers inherit the CLI's PATH)."""
    entries = program_path.split(os.pathsep)
    if entries and os.path.normcase(entries[0]) == os.path.normcase(os.path.dirname(executable)):
        entries = entries[1:]
    return os.pathsep.join(entries)


def interpreter_problem(
    program_path: str, executable: str, which: Callable[..., str | None] = shutil.which, windows: bool | None = None
) -> str | None:
    """Why the commands' `python` will not be found, or None. (A message, not an input: it
    names this machine's shell.)"""
    if which(PYTHON, path=provider_path(program_path, executable)):
        return None
    # PowerShell runs venv\Scripts\activate only under an execution policy that allows scripts;
    # putting the venv's folder first on PATH needs none.
    activate = '$env:Path = "$PWD\\venv\\Scripts;$env:Path"' if shell_form.is_windows(windows) else "source venv/bin/activate"
    return (
        "the lab's commands run `python -m k8s_lab.kind_lifecycle`, and Pulumi's command provider finds no "
        f"`python` on its PATH. Put the project's venv first on PATH before `pulumi up` ({activate}), or run "
        f"`{shell_form.lab_command('up', windows=windows)}` with the venv's python, which does it for you"
    )
