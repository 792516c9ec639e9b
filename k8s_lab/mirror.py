"""A class's pull-through cache: every image comes over the school's NAT once.

`classroom.py mirror` runs one registry:2 in proxy mode per upstream on the teacher's host
(distribution's pull-through cache serves one upstream each: docker/distribution
docs/recipes/mirror.md, REGISTRY_PROXY_REMOTEURL). The `registryMirror` setting names the
first, http://<teacher-host>:<port>; the next port serves registry.k8s.io. Then:
- the kind nodes' containerd pulls docker.io and registry.k8s.io through it: a hosts.toml
  in /etc/containerd/certs.d/<upstream>/ on every node (the same way the local registry is
  wired, with `registry-hosts`; containerd falls back to the upstream when the mirror
  does not answer: containerd docs/hosts.md);
- the host's own pulls (the kind node image, registry:2 and the IDE's bases, all on
  docker.io) go through the Docker daemon's "registry-mirrors" (daemon.json), which
  Docker Engine offers for Docker Hub only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from k8s_lab.ports import MIRROR_PORT, class_port_problem, slot_port_owner
from k8s_lab.registry import CERTS_DIR, IMAGE
from k8s_lab.shell_form import class_command, lab_command

# Not distribution's usual 5000: macOS's AirPlay Receiver holds it, and 5001 is slot 0's
# registry (k8s_lab/ports.py keeps the mirror's ports off every slot's).
DEFAULT_PORT = MIRROR_PORT


@dataclass(frozen=True)
class Upstream:
    registry: str  # as image names say it
    remote_url: str  # where the cache fetches from
    offset: int  # its port: the mirror's port + offset

    @property
    def slug(self) -> str:
        return self.registry.replace(".", "-")


UPSTREAMS = (
    Upstream("docker.io", "https://registry-1.docker.io", 0),
    Upstream("registry.k8s.io", "https://registry.k8s.io", 1),
)


def endpoint(mirror: str, upstream: Upstream) -> str:
    """The cache of `upstream` when `mirror` (http://host:port, from limits.parse_mirror) names the first."""
    parts = urlsplit(mirror)
    port = (parts.port or (443 if parts.scheme == "https" else 80)) + upstream.offset
    return f"{parts.scheme}://{parts.hostname}:{port}"


def hosts_dir(upstream: Upstream) -> str:
    return f"{CERTS_DIR}/{upstream.registry}"


def container_name(upstream: Upstream) -> str:
    return f"k8s-lab-mirror-{upstream.slug}"


def run_argv(upstream: Upstream, port: int, image: str = IMAGE, bind_address: str = "0.0.0.0") -> list[str]:
    """`docker run` for one cache; its data in a named volume, kept across restarts."""
    return [
        "run", "-d", "--name", container_name(upstream), "--restart", "unless-stopped",
        "-p", f"{bind_address}:{port + upstream.offset}:5000",
        "-v", f"{container_name(upstream)}:/var/lib/registry",
        "-e", f"REGISTRY_PROXY_REMOTEURL={upstream.remote_url}",
        image,
    ]


def daemon_json(mirror: str, current: dict | None = None) -> str:
    """daemon.json with the Docker Hub cache added to "registry-mirrors" (other keys kept)."""
    config = dict(current or {})
    mirrors = [m for m in config.get("registry-mirrors", []) if m != endpoint(mirror, UPSTREAMS[0])]
    config["registry-mirrors"] = [endpoint(mirror, UPSTREAMS[0]), *mirrors]
    if mirror.startswith("http://"):
        host = urlsplit(endpoint(mirror, UPSTREAMS[0])).netloc
        config["insecure-registries"] = sorted({*config.get("insecure-registries", []), host})
    return json.dumps(config, indent=2)


def docker_cli(runner):
    """`docker(argv)` for ensure_caches: the docker CLI through a k8s_lab.runner.Runner (passed
    in: this module is a rule and runs nothing itself), never raising on a non-zero exit."""
    return lambda argv: runner.run(["docker", *argv], timeout=300, check=False)


def port_problems(port: int, upstreams: tuple[Upstream, ...] = UPSTREAMS) -> list[str]:
    """Why the caches cannot serve on `port` and the ports after it (k8s_lab/ports.py's plan)."""
    found = [class_port_problem(port + upstream.offset) for upstream in upstreams]
    return [f"{problem} (the {upstream.registry} cache's); fix: {class_command('mirror', '--port', str(DEFAULT_PORT))}, or another port off the slot plan"
            for problem, upstream in zip(found, upstreams, strict=True) if problem]


def slot_clashes(mirror: str, slots: dict[str, int]) -> list[str]:
    """The caches' ports (of the `registryMirror` URL `mirror`) that a student's lab in
    `slots` (student -> slot, on the mirror's host) publishes too."""
    holders = {slot: student for student, slot in slots.items()}
    found = []
    for upstream in UPSTREAMS:
        port = urlsplit(endpoint(mirror, upstream)).port or 0
        owner = slot_port_owner(port)
        if owner and owner[0] in holders:
            found.append(
                f"registryMirror {mirror}: its {upstream.registry} cache's port {port} is {holders[owner[0]]}'s {owner[1]} port "
                f"(slot {owner[0]}) on the same host; fix: run the mirror on its own ports ({class_command('mirror', '--port', str(DEFAULT_PORT))}) "
                "and set registryMirror to match"
            )
    return found


def ensure_caches(
    docker,
    port: int = DEFAULT_PORT,
    image: str = IMAGE,
    bind_address: str = "0.0.0.0",
    upstreams: tuple[Upstream, ...] = UPSTREAMS,
    can_bind=lambda address, port: True,
) -> list[str]:
    """Run every upstream's cache unless it runs; `docker(argv)` runs the docker CLI and
    returns its Result (`docker_cli`). What was done, one line per cache. (The registry refuses
    to start when its upstream does not answer: distribution 2.8 registry/handlers/app.go
    panics in NewApp, so a class host needs the internet once, when the caches start.)"""
    done = []
    for upstream in upstreams:
        name = container_name(upstream)
        state = docker(["inspect", "--format", "{{.State.Status}}", name])
        if state.returncode == 0 and state.stdout.strip() == "running":
            done.append(f"{name}: running, kept")
            continue
        if not can_bind(bind_address, port + upstream.offset):
            raise RuntimeError(f"{name} cannot start: {bind_address}:{port + upstream.offset} is already in use; stop what listens there, or pick --port")
        result = docker(["start", name] if state.returncode == 0 else run_argv(upstream, port, image, bind_address))
        if result.returncode != 0:
            raise RuntimeError(f"{name} did not start: {(result.stderr or result.stdout).strip()}")
        done.append(f"{name}: {'started' if state.returncode == 0 else 'made'}, caching {upstream.remote_url} on port {port + upstream.offset}")
    return done


def instructions(mirror: str) -> str:
    """What the teacher does with the caches once they run."""
    return (
        f"For every student's lab (nodes pull docker.io and registry.k8s.io through it):\n"
        f"  {class_command('up', 'class.csv', '--set', f'registryMirror={mirror}')}   (or a registryMirror column in the roster;\n"
        f"  one lab: {lab_command('config', 'registryMirror', mirror, '--stack', '<student>')})\n"
        f"For this host's own pulls (node image, registry:2, the IDE's bases; Docker Hub only), /etc/docker/daemon.json:\n"
        f"{daemon_json(mirror)}\n"
        f"then restart Docker (sudo systemctl restart docker; Docker Desktop: Settings > Docker Engine)."
    )
