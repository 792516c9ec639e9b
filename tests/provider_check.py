"""pulumi-docker's Check of a docker.Image, in Python: the inputs the provider adds to what
the program sends, on one machine. The mocks echo the program's inputs; the real provider
first fills in `build.dockerfile`, `build.contextDigest` and `build.platform` from the
machine running Pulumi, and the next `up` (or a PR preview elsewhere) diffs those.

Source: pulumi/pulumi-docker at 237b7899 (provider/provider.go is the same, line for line,
from v5.1.0 to there; v5.2.0, the version requirements.txt resolves to, lies between), and
tonistiigi/fsutil 586307ad452f (its go.mod pin):

  provider.go:144       marshalBuildAndApplyDefaults; image.go:545-562 context "." and
                        dockerfile path.Join(context, "Dockerfile") when unset
  provider.go:202-207   contextDigest = hashContext(build.Context, build.Dockerfile)
  provider.go:212-233   platform, when unset: "linux/" + runtime.GOARCH of the Pulumi machine
  provider.go:606-649   hashContext: the Dockerfile first, named "Dockerfile", mode 0; then
                        every file fsutil.Walk yields (lexical, .dockerignore applied)
  provider.go:553-595   hashPath: relative name (ToSlash), fileMode.String(), sha256 of the
                        bytes, a NUL; the digest is sha256 of all that, in hex
  provider.go:656-684   getIgnorePatterns: <dockerfile>.dockerignore, else <context>/.dockerignore
  fsutil fs.go:47-49    Walk is filepath.WalkDir (lexical order); fs.go:249 mkstat per entry
  fsutil stat.go:43-50  on Windows every mode gets +x and is masked to 0755
"""

from __future__ import annotations

import copy
import hashlib
import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker.utils.build import PatternMatcher


@dataclass(frozen=True)
class Client:
    """The machine running Pulumi (the provider plugin's runtime.GOOS / GOARCH)."""

    goos: str = "linux"
    goarch: str = "amd64"


LINUX_AMD64_RUNNER = Client()

# Go's fs.FileMode type bits, in String()'s order ("dalTLDpSugct?"), for the ones a
# checkout can have: Go's os.Lstat maps S_ISUID, S_ISGID and S_ISVTX to these.
_SETUID, _SETGID, _STICKY = 1 << 23, 1 << 22, 1 << 20


def go_mode(st_mode: int, client: Client) -> int:
    """The fs.FileMode the provider sees for a regular file: Go's os.Lstat on Unix; on
    Windows Go reports 0666 (0444 read-only) and fsutil adds x and masks to 0755."""
    if not stat.S_ISREG(st_mode):
        raise ValueError("the IDE context holds regular files only (a symlink hashes its machine path)")
    if client.goos == "windows":
        perm = 0o666 if st_mode & stat.S_IWUSR else 0o444
        return (perm | 0o111) & 0o755
    mode = st_mode & 0o777
    for unix_bit, go_bit in ((stat.S_ISUID, _SETUID), (stat.S_ISGID, _SETGID), (stat.S_ISVTX, _STICKY)):
        mode |= go_bit if st_mode & unix_bit else 0
    return mode


def mode_string(mode: int) -> str:
    """Go's fs.FileMode.String() (io/fs/format.go)."""
    types = "".join(c for i, c in enumerate("dalTLDpSugct?") if mode & (1 << (31 - i)))
    perms = "".join(c if mode & (1 << (8 - i)) else "-" for i, c in enumerate("rwxrwxrwx"))
    return (types or "-") + perms


def ignore_patterns(context: Path, dockerfile: Path) -> list[str]:
    """getIgnorePatterns, read as moby's ignorefile.ReadAll reads them (trimmed, # comments)."""
    for candidate in (Path(f"{dockerfile}.dockerignore"), context / ".dockerignore"):
        if candidate.is_file():
            lines = (line.strip() for line in candidate.read_bytes().decode("utf-8").splitlines())
            return [line for line in lines if line and not line.startswith("#")]
    return []


def walked_files(context: Path, patterns: list[str]) -> list[str]:
    """The files fsutil.Walk yields, relative and in WalkDir's lexical order; the patterns
    applied by docker-py's PatternMatcher (dockerignore semantics, moby's patternmatcher)."""
    matcher = PatternMatcher(patterns)
    # docker-py appends `!.dockerignore` (the docker CLI always sends it); fsutil's
    # ExcludePatterns add nothing, so the provider hashes .dockerignore only if kept.
    added = matcher.patterns.pop()
    assert added.exclusion and added.cleaned_pattern == ".dockerignore", "docker-py's PatternMatcher changed"
    kept = matcher.walk(str(context)) if patterns else _every_path(context)
    files = [p for p in kept if not (context / p).is_dir()]
    return sorted((p.replace(os.sep, "/") for p in files), key=lambda p: [part.encode() for part in p.split("/")])


def _every_path(context: Path) -> list[str]:
    return [str(p.relative_to(context)) for p in context.rglob("*")]


def _entry(name: str, mode: int, data: bytes) -> bytes:
    return name.encode() + mode_string(mode).encode() + hashlib.sha256(data).digest() + b"\0"


def context_digest(context: Path, dockerfile: Path, client: Client = LINUX_AMD64_RUNNER) -> str:
    """hashContext(context, dockerfile) as the provider on `client` computes it."""
    accumulated = _entry("Dockerfile", 0, dockerfile.read_bytes())
    for name in walked_files(context, ignore_patterns(context, dockerfile)):
        path = context / name
        accumulated += _entry(name, go_mode(path.lstat().st_mode, client), path.read_bytes())
    return hashlib.sha256(accumulated).hexdigest()


def check_image(inputs: dict[str, Any], project: Path, client: Client = LINUX_AMD64_RUNNER) -> dict[str, Any]:
    """A docker.Image's inputs after Check on `client`, run in the project folder `project`
    (the provider resolves build.context against its working directory)."""
    checked = copy.deepcopy(inputs)
    build = checked.setdefault("build", {})
    build.setdefault("context", ".")
    build.setdefault("dockerfile", posixpath.normpath(posixpath.join(build["context"], "Dockerfile")))  # Go's path.Join
    build["contextDigest"] = context_digest(project / build["context"], project / build["dockerfile"], client)
    build.setdefault("platform", f"linux/{client.goarch}")
    checked["buildOnPreview"] = bool(checked.get("buildOnPreview", False))
    return checked
