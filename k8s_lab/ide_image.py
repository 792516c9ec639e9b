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


# What every file of the build context must look like to pulumi-docker: its Check hashes
# each file's mode string into `contextDigest` (provider/provider.go:591), and on Windows
# tonistiigi/fsutil reports every writable file as 0755 (stat.go:43-50). So the context's
# files are 0755 everywhere (git tracks them as 100755; umask 002 or 077 would differ).
CONTEXT_MODE = 0o755


class ContextProblem(ValueError):
    """ide/ is not as the build needs it; the message names the file and the fix."""


def context_files(context_dir: Path) -> list[Path]:
    """The files of the build context, as ide/.dockerignore's allow-list names them (`*`
    then `!<file>` lines): the files Docker is sent and pulumi-docker hashes."""
    ignore = context_dir / ".dockerignore"
    lines = [line.strip() for line in ignore.read_text(encoding="utf-8").splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    if not patterns or patterns[0] != "*" or not all(p.startswith("!") and "*" not in p for p in patterns[1:]):
        raise ContextProblem(f"{ignore}: only a `*` line then `!<file>` lines are understood. Fix: list each file the Dockerfile COPYs as !<file>")
    files = [context_dir / pattern[1:] for pattern in patterns[1:]]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise ContextProblem(f"{ignore} lists {', '.join(missing)}, which is not in {context_dir}. Fix: restore it (git checkout -- ide/) or remove its line")
    return sorted(files)


def prepare_context(context_dir: Path) -> None:
    """Refuse a context file with CRLF line endings (a checkout made before .gitattributes:
    sh fails at `set -eu\\r`, and the digest differs), and give every file CONTEXT_MODE, so
    the provider's contextDigest does not depend on this checkout's umask or OS (the
    image's own modes are set by the Dockerfile)."""
    for path in context_files(context_dir):
        if b"\r\n" in path.read_bytes():
            raise ContextProblem(
                f"{path} has Windows (CRLF) line endings, which break the IDE build. "
                "Fix: delete the files in ide/, then git checkout -- ide (.gitattributes makes them LF)"
            )
        if path.stat().st_mode & 0o7777 != CONTEXT_MODE:
            try:
                path.chmod(CONTEXT_MODE)
            except OSError as error:
                raise ContextProblem(f"{path} has mode {path.stat().st_mode & 0o7777:o}, and it cannot be made {CONTEXT_MODE:o} ({error.strerror}). Fix: chmod {CONTEXT_MODE:o} {path}") from None


def content_tag(context_dir: Path, build_args: dict[str, str], platform: str | None = None) -> str:
    """A tag that changes exactly when the build's inputs do: every file of the build
    context (line endings normalised), the build arguments and the platform when one is
    chosen (an arm64 and an amd64 build are different images)."""
    digest = hashlib.sha256()
    for path in context_files(context_dir):
        relative = path.relative_to(context_dir).as_posix()
        digest.update(relative.encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    digest.update(json.dumps(build_args, sort_keys=True).encode())
    if platform:  # unset: the tag stacks had before idePlatform
        digest.update(b"\0" + platform.encode())
    return digest.hexdigest()[:16]


def image_name(context_dir: Path = IDE_DIR, build_args: dict[str, str] = BUILD_ARGS, platform: str | None = None) -> str:
    return f"{IMAGE_REPOSITORY}:{content_tag(context_dir, build_args, platform)}"
