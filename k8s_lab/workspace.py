"""The student's host folders: where they are, whether they can be used, and making them.

Functions take the path module (`ntpath` or `posixpath`) so Windows paths are handled
and tested the same way on any host; the default is the host's own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import ModuleType

DEFAULT_ROOT = os.path.join("~", "k8s-lab")


@dataclass(frozen=True)
class WorkspacePaths:
    src: str
    vscode: str

    def all(self) -> tuple[str, str]:
        return (self.src, self.vscode)


def resolve_root(raw: str, pathmod: ModuleType = os.path) -> str:
    """The root as given, `~` expanded and normalised; the default when blank."""
    root = raw.strip() or DEFAULT_ROOT
    if root.startswith("~"):
        root = pathmod.expanduser(root)
    return pathmod.normpath(root) if pathmod.isabs(root) else root


def workspace_paths(root: str, student: str, pathmod: ModuleType = os.path) -> WorkspacePaths:
    base = pathmod.join(root, student)
    return WorkspacePaths(src=pathmod.join(base, "src"), vscode=pathmod.join(base, "vscode"))


def root_problem(root: str, pathmod: ModuleType = os.path) -> str | None:
    """Why `root` cannot hold student folders, or None.

    Only reads the file system: the folders are made later, during `pulumi up`.
    """
    if not pathmod.isabs(root):
        return "it is not an absolute path"
    probe = root
    while not pathmod.exists(probe):
        parent = pathmod.dirname(probe)
        if parent == probe:
            return "none of its parent folders exists"
        probe = parent
    if not pathmod.isdir(probe):
        where = "it" if probe == root else f"its parent {probe}"
        return f"{where} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        where = "it" if probe == root else f"its nearest existing parent {probe}"
        return f"{where} is not writable by this user"
    return None


def ensure_folders(paths: WorkspacePaths) -> None:
    """Make the folders if missing. Never removes or empties anything: they hold student work."""
    for path in paths.all():
        os.makedirs(path, exist_ok=True)


def bind_volume_driver_opts(device: str) -> dict[str, str]:
    """Docker local-driver options that bind a named volume to a host folder (the seed's
    `docker volume create --opt type=none --opt o=bind --opt device=...`)."""
    return {"type": "none", "o": "bind", "device": device}
