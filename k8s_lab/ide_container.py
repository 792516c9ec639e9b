"""What the IDE container is given: environment, paths, mounts, ports, health check and, beyond
loopback, HTTPS (the seed's compose file, per student)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from k8s_lab import exposure
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


def healthcheck(https: bool = False) -> Healthcheck:
    """Over HTTPS the check asks https://localhost without verifying the certificate (-k):
    it is made for the name students use, or self-signed, never for localhost. Docker
    stores the test list as given and terraform-provider-docker reads it back from
    Config.Healthcheck.Test (resource_docker_container_funcs.go, resourceDockerContainerRead),
    so the second `up` sees what the first set."""
    if not https:
        return HEALTHCHECK
    tests = ["CMD", "curl", "-fsSk", f"https://localhost:{CODE_SERVER_PORT}/healthz"]
    return Healthcheck(tests, HEALTHCHECK.interval, HEALTHCHECK.timeout, HEALTHCHECK.start_period, HEALTHCHECK.retries)


@dataclass(frozen=True)
class Mount:
    host_path: str
    container_path: str


def host_mounts(mount_docker_socket: bool) -> list[Mount]:
    """Host paths bound into the IDE. The docker socket is root on the host (every container,
    every student's lab, every file); without it the IDE's docker CLI reaches no daemon. The
    IDE is given no docker group either way (no group_add): it runs as root (PUID=0) only so
    that the socket, when mounted, is usable."""
    return [Mount(DOCKER_SOCKET, DOCKER_SOCKET)] if mount_docker_socket else []


# HTTPS beyond loopback. linuxserver's service script starts code-server with fixed flags
# (root/etc/s6-overlay/s6-rc.d/svc-code-server/run at 4.93.1-ls238), so the certificate
# reaches it through code-server's config file instead: CODE_SERVER_CONFIG names the file
# (coder/code-server v4.93.1 src/node/cli.ts readConfigFile), whose keys become flags
# (parseConfigFile: `cert: true` is `--cert`, which makes a self-signed certificate for
# `cert-host`; `cert: <path>` with `cert-key: <path>` serves the given one). Flags on the
# command line win over the file, and the script sets no cert flag. The self-signed pair is
# written to code-server's data folder under /config, the student's vscode volume, so it
# stays the same across restarts and a recreated container: students accept it once.
# code-server makes it with the `pem` package, which runs the openssl command; the image
# has it through ca-certificates (Depends: openssl) in ide/Dockerfile.
HTTPS_CONFIG_FILE = "/run/secrets/code-server-https.yaml"
HTTPS_CERT_FILE = "/run/secrets/code-server-https.crt"
HTTPS_KEY_FILE = "/run/secrets/code-server-https.key"
PUBLIC_FILE_MODE = "0444"


@dataclass(frozen=True)
class Https:
    """How the IDE serves HTTPS: the teacher's certificate and key (PEM), or, when none is
    given, code-server's self-signed one for `cert_host`, the name in the IDE's URL."""

    cert_host: str
    certificate: str | None = None
    key: str | None = field(default=None, repr=False)  # secret

    @property
    def self_signed(self) -> bool:
        return self.certificate is None


def https_config(https: Https) -> str:
    """code-server's config file (YAML); json.dumps quotes a value as YAML reads it."""
    if https.self_signed:
        return f"cert: true\ncert-host: {json.dumps(https.cert_host)}\n"
    return f"cert: {json.dumps(HTTPS_CERT_FILE)}\ncert-key: {json.dumps(HTTPS_KEY_FILE)}\n"
WAIT_TIMEOUT_SECONDS = 300
# How long a replace or destroy lets code-server shut down (SIGTERM, then SIGKILL): it
# writes its settings and extension state on the way out. terraform-provider-docker's
# Delete stops the container with this timeout and 0 when unset (v4.5.0
# resource_docker_container_funcs.go:1086-1093); it is read from the state of the
# container being deleted, never from Docker (":931 can't be imported"), and not ForceNew.
STOP_GRACE_SECONDS = 30
# Health-check properties the provider's Update never sends to Docker (its list of updated
# attributes, resource_docker_container_funcs.go:1016-1017, has none of them), so a changed
# check replaces the container instead of leaving Docker with the old one.
REPLACE_ON_CHANGES = ["memory", "memorySwap", "healthcheck"]


SECRET_ENV_DIR = "/run/secrets"


def secret_env_file(name: str) -> str:
    """Where a secret `ideEnv` entry's value is uploaded; FILE__<name> points at it."""
    return f"{SECRET_ENV_DIR}/ide-env-{name}"


def environment(timezone: str, extra: tuple[tuple[str, str], ...], extra_secret: bool = False, https: bool = False) -> list[str]:
    """KEY=VALUE entries; config validation keeps `extra` from overriding the lab's own.
    Secret `extra` entries (ideEnv set with --secret) are given as FILE__<NAME> pointing at
    an uploaded file, like the password, so their values stay out of `docker inspect`.
    With `https`, CODE_SERVER_CONFIG names the config file that turns HTTPS on."""
    if extra_secret:
        return environment(timezone, (), https=https) + [f"FILE__{name}={secret_env_file(name)}" for name, _ in extra]
    lab = [
        f"TZ={timezone}",
        "PUID=0",  # as the seed: root, so the mounted docker socket is usable
        "PGID=0",
        f"FILE__PASSWORD={PASSWORD_FILE}",
        f"DEFAULT_WORKSPACE={WORKING_DIR}",
    ]
    if https:
        lab.append(f"CODE_SERVER_CONFIG={HTTPS_CONFIG_FILE}")
    return lab + [f"{name}={value}" for name, value in extra]


def published_ports(ports: SlotPorts) -> list[tuple[int, int]]:
    """(container port, host port) pairs."""
    return [(CODE_SERVER_PORT, ports.ide), (LIVE_SERVER_PORT, ports.live_server)]


def port_bindings(ports: SlotPorts, bind_address: str, remote: bool) -> list[tuple[int, int, str]]:
    """(container port, host port, host address): each on k8s_lab.exposure's address."""
    purposes = {CODE_SERVER_PORT: "ide", LIVE_SERVER_PORT: "live_server"}
    return [(inside, outside, exposure.address(purposes[inside], bind_address, remote)) for inside, outside in published_ports(ports)]


def ide_url(bind_address: str, ports: SlotPorts, docker_hostname: str | None = None, https: bool = False, host_name: str = "") -> str:
    """The IDE's address for a browser: at `host_name` (the hostName setting) when given."""
    return f"{'https' if https else 'http'}://{host_name or reachable_host(bind_address, docker_hostname)}:{ports.ide}"
