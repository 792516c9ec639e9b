"""The IDE image: its build arguments and the content tag every stack on a host shares."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

IMAGE_REPOSITORY = "k8s-lab-ide"
IDE_DIR = Path(__file__).resolve().parent.parent / "ide"

_ARG_LINE = re.compile(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?\s*$", re.MULTILINE)


def dockerfile_args(dockerfile_text: str) -> dict[str, str | None]:
    """The ARG names a Dockerfile declares, with their defaults (None when it has none)."""
    return {name: default if default != "" else None for name, default in _ARG_LINE.findall(dockerfile_text)}


def _build_args(dockerfile: Path) -> dict[str, str]:
    """The versions the image is built with: every ARG of ide/Dockerfile with its default,
    written once, there. Passed as build arguments, so a plain `docker build ide/` gives the
    same image, and part of the content tag."""
    declared = dockerfile_args(dockerfile.read_text(encoding="utf-8"))
    missing = sorted(name for name, default in declared.items() if default is None)
    if missing:
        raise ValueError(f"ide/Dockerfile: ARG {', '.join(missing)} needs a default (the version to build with)")
    return {name: default for name, default in declared.items() if default is not None}


BUILD_ARGS: dict[str, str] = _build_args(IDE_DIR / "Dockerfile")


def content_tag(context_dir: Path, build_args: dict[str, str]) -> str:
    """A tag that changes exactly when the build's inputs do: every file under the build
    context (line endings normalised, so a Windows checkout hashes like a Linux one) and
    the build arguments."""
    digest = hashlib.sha256()
    for path in sorted(p for p in context_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(context_dir).as_posix()
        digest.update(relative.encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    digest.update(json.dumps(build_args, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def image_name(context_dir: Path = IDE_DIR, build_args: dict[str, str] = BUILD_ARGS) -> str:
    return f"{IMAGE_REPOSITORY}:{content_tag(context_dir, build_args)}"
