"""Which Docker a stack uses: this machine's (the default) or another host's
(`ssh://user@host`, `tcp://host:2376`), and what follows for addresses."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from k8s_lab.versions import KIND_VERSION_ENV

SCHEMES = ("unix", "npipe", "tcp", "ssh")


@dataclass(frozen=True)
class DockerHost:
    url: str  # "" for this machine's default Docker
    # The kind release of the lab's kubernetesVersion row when it is not the seed's: the
    # commands' kind is then `kind-<version>` (k8s_lab/kind_lifecycle.py Kind.locate). Not
    # part of which Docker this is.
    kind_version: str = field(default="", compare=False)

    @property
    def remote(self) -> bool:
        return urlsplit(self.url).scheme in ("tcp", "ssh")

    @property
    def hostname(self) -> str | None:
        """The machine the lab's ports are published on, when that is not this one."""
        return urlsplit(self.url).hostname if self.remote else None

    def environment(self) -> dict[str, str]:
        """For the docker and kind CLIs the commands run."""
        kind = {KIND_VERSION_ENV: self.kind_version} if self.kind_version else {}
        return ({"DOCKER_HOST": self.url} if self.url else {}) | kind


def docker_host_problem(url: str) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        return f"its scheme must be one of {', '.join(s + '://' for s in SCHEMES)}"
    if parts.scheme in ("tcp", "ssh"):
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            return "its port is not a number"
        if not parts.hostname:
            return "it names no host"
    elif not parts.path:
        return "it names no socket or pipe path"
    return None
