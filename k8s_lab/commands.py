"""Command lines for pulumi-command's local.Command, which runs them through the host's
shell: `/bin/sh -c` on Linux and macOS, `cmd /C` on Windows. Arguments are quoted for
the shell that will read them, and nothing shell-specific (pipes, `&&`, redirection,
variable expansion) is used, so one command means the same on every host."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence


def command_line(argv: Sequence[str], *, windows: bool) -> str:
    if windows:
        return subprocess.list2cmdline(list(argv))
    return shlex.join(argv)


def kind_create(cluster: str, *, windows: bool) -> str:
    # The config arrives on stdin ("--config -"), so it is an input of the command and a
    # changed config shows in `pulumi preview`.
    return command_line(["kind", "create", "cluster", "--name", cluster, "--config", "-"], windows=windows)


def kind_delete(cluster: str, *, windows: bool) -> str:
    # kind returns success when the cluster is already gone.
    return command_line(["kind", "delete", "cluster", "--name", cluster], windows=windows)


def kind_kubeconfig(cluster: str, *, windows: bool) -> str:
    return command_line(["kind", "get", "kubeconfig", "--name", cluster], windows=windows)
