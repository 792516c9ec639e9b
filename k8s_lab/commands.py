"""Command lines for pulumi-command's local.Command, which runs them through the host's
shell: `/bin/sh -c` on Linux and macOS, `cmd /C` on Windows. Arguments are quoted for
the shell that will read them, and nothing shell-specific (pipes, `&&`, redirection,
variable expansion) is used, so one command means the same on every host."""

from __future__ import annotations

import shlex
from pathlib import Path
import subprocess
from collections.abc import Sequence


def command_line(argv: Sequence[str], *, windows: bool) -> str:
    if windows:
        return subprocess.list2cmdline(list(argv))
    return shlex.join(argv)


LIFECYCLE_MODULE = "k8s_lab.kind_lifecycle"
# The commands run from here, where `-m k8s_lab.kind_lifecycle` resolves.
PROJECT_DIR = Path(__file__).resolve().parent.parent


def lifecycle(python: str, action: str, *args: str, windows: bool) -> str:
    """`<python> -m k8s_lab.kind_lifecycle <action> ...`, run from the project folder."""
    return command_line([python, "-m", LIFECYCLE_MODULE, action, *args], windows=windows)


def kind_create(cluster: str, workers: int, *, python: str, windows: bool) -> str:
    # The config arrives on stdin, so it is an input of the command and a changed config
    # shows in `pulumi preview`.
    return lifecycle(python, "create", "--name", cluster, "--workers", str(workers), windows=windows)


def kind_delete(cluster: str, *, python: str, windows: bool) -> str:
    return lifecycle(python, "delete", "--name", cluster, windows=windows)


def kind_kubeconfig(cluster: str, *, python: str, windows: bool) -> str:
    return lifecycle(python, "kubeconfig", "--name", cluster, windows=windows)


def registry_hosts(cluster: str, directory: str, endpoint: str, *, python: str, windows: bool) -> str:
    return lifecycle(
        python, "registry-hosts", "--name", cluster, "--directory", directory, "--endpoint", endpoint, windows=windows
    )
