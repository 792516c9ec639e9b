"""The student's host folders: where they are, whether they can be used, and making them.

A folder's rules follow its own form, wherever the program runs: `C:\\...` and
`\\\\server\\share\\...` are Windows paths (`ntpath`), `/...` POSIX paths (`posixpath`). So a
Windows student's stack evaluates on a Linux PR runner and keeps its Windows form in the
bind devices. Checking the form touches no file system; whether the folder can be written
is the student's own machine's question (`writable_problem`, from lab.py's preflight), and
the folders are made during `up` only.
"""

from __future__ import annotations

import ntpath
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from k8s_lab import shell_form

_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_WINDOWS_UNC = re.compile(r"^\\\\[^\\/]+[\\/][^\\/]+")


@dataclass(frozen=True)
class WorkspacePaths:
    src: str
    vscode: str

    def all(self) -> tuple[str, str]:
        return (self.src, self.vscode)


def path_module(path: str) -> ModuleType | None:
    """`ntpath` for a Windows absolute path, `posixpath` for a POSIX one, else None."""
    if _WINDOWS_DRIVE.match(path) or _WINDOWS_UNC.match(path):
        return ntpath
    if path.startswith("/"):
        return posixpath
    return None


def normalise_root(raw: str) -> str:
    """The root in its own form's normal spelling (`C:/x/` -> `C:\\x`, `/a//b/` -> `/a/b`)."""
    root = raw.strip()
    pathmod = path_module(root)
    return pathmod.normpath(root) if pathmod else root


def root_problem(root: str) -> str | None:
    """Why `root` cannot name the student folders, from its text alone; or None."""
    if not root:
        return "it is not set"
    if root.startswith("~"):
        return "it starts with ~, which only the machine that reads it can expand"
    if path_module(root) is None:
        return "it is not an absolute path (C:\\..., \\\\server\\share\\... or /...)"
    return None


def workspace_paths(root: str, student: str) -> WorkspacePaths:
    pathmod = path_module(root) or posixpath
    base = pathmod.join(root, student)
    return WorkspacePaths(src=pathmod.join(base, "src"), vscode=pathmod.join(base, "vscode"))


def default_root(home: Path | None = None) -> str:
    """What lab.py and classroom.py store for a stack without one: <home>/k8s-lab."""
    return str((home or Path.home()) / "k8s-lab")


def writable_problem(root: str) -> str | None:
    """Why this machine cannot make the student folders under `root`, or None. Only reads
    the file system (lab.py's preflight, on the student's own machine)."""
    if path_module(root) is not os.path:
        return "it is not a path of this machine's kind"
    probe = root
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            return "none of its parent folders exists"
        probe = parent
    if not os.path.isdir(probe):
        where = "it" if probe == root else f"its parent {probe}"
        return f"{where} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        where = "it" if probe == root else f"its nearest existing parent {probe}"
        return f"{where} is not writable by this user"
    return None


def ensure_folders(paths: WorkspacePaths) -> None:
    """Make the folders if missing. Never removes or empties anything: they hold student work."""
    for path in paths.all():
        if path_module(path) is not os.path:
            raise ValueError(
                f"workspaceRoot: {path} is not a path of this machine (it is for "
                f"{'Windows' if path_module(path) is ntpath else 'Linux or macOS'}); run `up` on the student's machine, "
                f"or {shell_form.render_fix('[[set workspaceRoot <a folder of this machine>]]')}"
            )
        os.makedirs(path, exist_ok=True)


def bind_volume_driver_opts(device: str) -> dict[str, str]:
    """Docker local-driver options that bind a named volume to a host folder (the seed's
    `docker volume create --opt type=none --opt o=bind --opt device=...`)."""
    return {"type": "none", "o": "bind", "device": device}
