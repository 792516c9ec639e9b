"""What the IDE container is given: environment, paths, ports and health check (the seed's
compose file, per student)."""

from __future__ import annotations

from dataclasses import dataclass

from k8s_lab.ports import SlotPorts, reachable_host

CONFIG_DIR = "/config"  # linuxserver's HOME: VS Code settings and extensions live here
SRC_DIR = "/code/cloud-cicd-src"
WORKING_DIR = "/code"
DOCKER_SOCKET = "/var/run/docker.sock"

# linuxserver images read FILE__<NAME> as "set <NAME> from this file" at start: the
# password itself never appears in the container's environment or in `docker inspect`.
PASSWORD_FILE = "/run/secrets/code-server-password"
PASSWORD_FILE_MODE = "0400"  # read by the image's init as root, by nobody else
KUBECONFIG_FILE = f"{CONFIG_DIR}/.kube/config"
KUBECONFIG_FILE_MODE = "0600"

CODE_SERVER_PORT = 8443
LIVE_SERVER_PORT = 5500

@dataclass(frozen=True)
class Healthcheck:
    tests: list[str]
    interval: str
    timeout: str
    start_period: str
    retries: int


# code-server's /healthz answers without authentication; curl ships in the base image.
HEALTHCHECK = Healthcheck(
    tests=["CMD", "curl", "-fsS", f"http://localhost:{CODE_SERVER_PORT}/healthz"],
    interval="5s",
    timeout="3s",
    start_period="10s",
    retries=5,
)
WAIT_TIMEOUT_SECONDS = 300


SECRET_ENV_DIR = "/run/secrets"


def secret_env_file(name: str) -> str:
    """Where a secret `ideEnv` entry's value is uploaded; FILE__<name> points at it."""
    return f"{SECRET_ENV_DIR}/ide-env-{name}"


def environment(timezone: str, extra: tuple[tuple[str, str], ...], extra_secret: bool = False) -> list[str]:
    """KEY=VALUE entries; config validation keeps `extra` from overriding the lab's own.
    Secret `extra` entries (ideEnv set with --secret) are given as FILE__<NAME> pointing at
    an uploaded file, like the password, so their values stay out of `docker inspect`."""
    if extra_secret:
        return environment(timezone, ()) + [f"FILE__{name}={secret_env_file(name)}" for name, _ in extra]
    lab = [
        f"TZ={timezone}",
        "PUID=0",  # as the seed: root, so the mounted docker socket is usable
        "PGID=0",
        f"FILE__PASSWORD={PASSWORD_FILE}",
        f"DEFAULT_WORKSPACE={WORKING_DIR}",
    ]
    return lab + [f"{name}={value}" for name, value in extra]


def published_ports(ports: SlotPorts) -> list[tuple[int, int]]:
    """(container port, host port) pairs."""
    return [(CODE_SERVER_PORT, ports.ide), (LIVE_SERVER_PORT, ports.live_server)]


def ide_url(bind_address: str, ports: SlotPorts, docker_hostname: str | None = None) -> str:
    return f"http://{reachable_host(bind_address, docker_hostname)}:{ports.ide}"
