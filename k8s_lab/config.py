"""The lab's configuration: every key typed and validated in one place.

`parse_lab_config` takes the raw strings Pulumi hands the program (integers, booleans and
arrays arrive as text/JSON) and returns a `LabConfig`, or raises one `ConfigError` that
lists every bad key with its value and the fix. It runs before any resource exists, so a
bad value leaves nothing half-made.
"""

from __future__ import annotations

import ipaddress
import json
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field

from k8s_lab import names as lab_names
from k8s_lab import ports as lab_ports
from k8s_lab import workspace
from k8s_lab.docker_host import DockerHost, docker_host_problem

DEFAULT_NODE_IMAGE = (
    "kindest/node:v1.29.4@sha256:3abb816a5b1061fb15c6e9e60856ec40d56b7b52bcea5f5f1350bc6e2320b6f8"
)
DEFAULT_TIMEZONE = "Asia/Seoul"
DEFAULT_BIND_ADDRESS = "127.0.0.1"
DEFAULT_WORKERS = 2
MAX_WORKERS = 9  # kind names them <cluster>-worker .. -worker9; more rarely fits one host
MIN_PASSWORD_LENGTH = 8
MIN_MTU, MAX_MTU = 1280, 9000  # IPv4 needs 576, but nodes pulling images below 1280 fail in practice

# Environment the lab itself sets on the IDE; ideEnv may not override it, or code-server
# could start with another password, or none.
RESERVED_IDE_ENV = frozenset(
    {
        "PUID",
        "PGID",
        "TZ",
        "DEFAULT_WORKSPACE",
        "PASSWORD",
        "HASHED_PASSWORD",
        "FILE__PASSWORD",
        "FILE__HASHED_PASSWORD",
    }
)

# An image reference as Docker's distribution library parses it: [host[:port]/]path[:tag][@digest].
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH}(?:/{_PATH})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"sha256:[a-f0-9]{64}"
IMAGE_REFERENCE = re.compile(rf"^{_NAME}(?::{_TAG})?(?:@{_DIGEST})?$")
PINNED_IMAGE_REFERENCE = re.compile(rf"^{_NAME}:{_TAG}@{_DIGEST}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Keys a user sets, as Pulumi names them (project namespace omitted).
KEYS = (
    "student",
    "slot",
    "bindAddress",
    "workspaceRoot",
    "idePassword",
    "ideImage",
    "nodeImage",
    "workers",
    "mountDockerSocket",
    "timezone",
    "ideEnv",
    "ingress",
    "registry",
    "namespace",
    "dockerHost",
    "allowRemoteAccess",
    "networkMtu",
)
# Namespaces Kubernetes itself owns; the student's workloads go elsewhere.
RESERVED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease", "ingress-nginx"})


@dataclass(frozen=True)
class Problem:
    key: str
    value: str
    reason: str
    fix: str

    def __str__(self) -> str:
        return f"{self.key} = {self.value}: {self.reason}. Fix: {self.fix}"


class ConfigError(ValueError):
    """One error for every bad key, raised before any resource is registered."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"k8s-lab configuration is invalid; nothing was created:\n{lines}")


@dataclass(frozen=True)
class LabConfig:
    student: str
    slot: int
    bind_address: str
    workspace_root: str
    ide_password: str | None = field(repr=False)  # None: generate one
    ide_image: str | None  # None: build ide/ locally
    node_image: str
    workers: int
    mount_docker_socket: bool
    timezone: str
    ide_env: tuple[tuple[str, str], ...]
    ingress: bool = True
    registry: bool = True
    namespace: str = ""
    docker_host: str = ""  # "" is this machine's Docker
    allow_remote_access: bool = False
    network_mtu: int | None = None  # None: the Docker daemon's default
    ide_env_secret: bool = False  # ideEnv was set with --secret: its values stay secret

    @property
    def docker(self) -> "DockerHost":
        return DockerHost(self.docker_host)

    @property
    def names(self) -> lab_names.LabNames:
        return lab_names.LabNames(self.student)

    @property
    def ports(self) -> lab_ports.SlotPorts:
        return lab_ports.ports_for_slot(self.slot)

    @property
    def workspace(self) -> workspace.WorkspacePaths:
        return workspace.workspace_paths(self.workspace_root, self.student)


def _shown(value: str | None) -> str:
    return "(unset)" if value is None else repr(value)


def parse_lab_config(
    raw: Mapping[str, str | None],
    *,
    stack: str,
    password_is_secret: bool = True,
    ide_env_secret: bool = False,
) -> LabConfig:
    """Validate `raw` (key -> the string Pulumi gives, None when unset) into a LabConfig."""
    problems: list[Problem] = []

    def bad(key: str, value: str | None, reason: str, fix: str) -> None:
        problems.append(Problem(key, _shown(value), reason, fix))

    unknown = sorted(set(raw) - set(KEYS))
    for key in unknown:
        bad(key, raw[key], "is not a k8s-lab setting", f"remove it (pulumi config rm {key}); known keys: {', '.join(KEYS)}")

    def text(key: str) -> str | None:
        value = raw.get(key)
        return None if value is None or value.strip() == "" else value.strip()

    # student: defaults to the stack name, so a bad stack name is reported under `student`.
    student_raw = text("student")
    student = student_raw if student_raw is not None else stack
    why = lab_names.student_name_problem(student)
    if why:
        origin = "" if student_raw is not None else f" (taken from the stack name {stack!r})"
        bad(
            "student",
            student,
            f"not a usable student name{origin}: {why}",
            "pulumi config set student <name>, e.g. 'kim-minsu' (lowercase letters, digits and '-', "
            f"at most {lab_names.MAX_STUDENT_LENGTH} characters)",
        )

    def whole_number(key: str, default: int, fix: str) -> int | None:
        """The key's integer value, its default when unset, None (reported) when not a number."""
        value = text(key)
        if value is None:
            return default
        try:
            return int(value, 10)
        except ValueError:
            bad(key, raw.get(key), "is not a whole number", fix)
            return None

    slot_fix = f"pulumi config set slot <n> with a whole number from 0 to {lab_ports.MAX_SLOT}"
    slot = whole_number("slot", 0, slot_fix)
    if slot is not None and slot < 0:
        bad("slot", str(slot), "is negative", slot_fix)
    elif slot is not None and slot > lab_ports.MAX_SLOT:
        worst = max(lab_ports.SEED_PORTS, key=lambda purpose: lab_ports.SEED_PORTS[purpose])
        port = lab_ports.SEED_PORTS[worst] + lab_ports.STRIDE * slot
        bad("slot", str(slot), f"puts the {worst} port at {port}, past {lab_ports.MAX_PORT}", slot_fix)

    bind_address = text("bindAddress") or DEFAULT_BIND_ADDRESS
    try:
        address = ipaddress.ip_address(bind_address)
    except ValueError:
        bad("bindAddress", raw.get("bindAddress"), "is not an IP address", "use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)")
    else:
        if address.version != 4:
            bad("bindAddress", bind_address, "is an IPv6 address; the lab network is IPv4-only", "use an IPv4 address such as 127.0.0.1")
        elif address.is_multicast:
            bad("bindAddress", bind_address, "is a multicast address", "use 127.0.0.1 or an address of this machine")

    workspace_root = workspace.normalise_root(raw.get("workspaceRoot") or "")
    why = workspace.root_problem(workspace_root)
    remote = not docker_host_problem(text("dockerHost") or "") and DockerHost(text("dockerHost") or "").remote
    if why and not (remote and not workspace_root):  # another Docker host binds no folders
        bad(
            "workspaceRoot",
            raw.get("workspaceRoot"),
            f"cannot name the student folders: {why}",
            "`python lab.py up` stores <your home>/k8s-lab; or pulumi config set workspaceRoot <absolute folder>, "
            r"e.g. /home/me/k8s-lab or C:\Users\me\k8s-lab",
        )

    ide_password = raw.get("idePassword")
    if ide_password is not None:
        if not password_is_secret:
            bad("idePassword", "(hidden)", "is stored in plain text", "pulumi config set --secret idePassword <password>")
        if len(ide_password) < MIN_PASSWORD_LENGTH:
            bad(
                "idePassword",
                "(hidden)",
                f"is shorter than {MIN_PASSWORD_LENGTH} characters",
                "pulumi config set --secret idePassword <a longer password>, or pulumi config rm idePassword to generate one",
            )

    ide_image = text("ideImage")
    if ide_image is not None and not IMAGE_REFERENCE.match(ide_image):
        bad("ideImage", ide_image, "is not an image reference", "use a name like registry.example.com/class/ide:2024-09, or pulumi config rm ideImage to build ide/ here")

    node_image = text("nodeImage") or DEFAULT_NODE_IMAGE
    if not PINNED_IMAGE_REFERENCE.match(node_image):
        bad(
            "nodeImage",
            node_image,
            "is not a kind node image pinned by tag and digest",
            f"use the image with its @sha256 digest from the kind release notes, e.g. {DEFAULT_NODE_IMAGE}",
        )

    workers_fix = f"pulumi config set workers <n> with a whole number from 0 to {MAX_WORKERS} (0: the control plane runs everything)"
    workers = whole_number("workers", DEFAULT_WORKERS, workers_fix)
    if workers is not None and not 0 <= workers <= MAX_WORKERS:
        bad("workers", str(workers), f"is outside 0..{MAX_WORKERS}", workers_fix)

    def boolean(key: str, default: bool) -> bool:
        value = text(key)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            bad(key, value, "is not true or false", f"pulumi config set {key} true (or false)")
            return default
        return value.lower() == "true"

    mount_docker_socket = boolean("mountDockerSocket", True)
    ingress = boolean("ingress", True)
    registry = boolean("registry", True)

    namespace = text("namespace") or student
    why = lab_names.student_name_problem(namespace) if text("namespace") else None
    if why:
        bad("namespace", namespace, f"is not a namespace name: {why}", "pulumi config set namespace <name>, e.g. 'kim-minsu', or pulumi config rm namespace for the student name")
    elif namespace in RESERVED_NAMESPACES:
        bad("namespace", namespace, "belongs to Kubernetes or the ingress controller", "pick the student's own, e.g. pulumi config rm namespace")

    timezone = text("timezone") or DEFAULT_TIMEZONE
    known_zones = zoneinfo.available_timezones()
    if known_zones and timezone not in known_zones:
        bad("timezone", timezone, "is not an IANA time zone name", "use a name like Asia/Seoul, Europe/Berlin or UTC")

    ide_env: list[tuple[str, str]] = []
    env_raw = text("ideEnv")
    env_fix = 'pulumi config set --path "ideEnv[0]" NAME=value (a list of NAME=value strings, like lines of a .env file)'
    if env_raw is not None:
        try:
            entries = json.loads(env_raw)
        except json.JSONDecodeError:
            entries = None
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            bad("ideEnv", env_raw, "is not a list of NAME=value strings", env_fix)
        else:
            seen: set[str] = set()
            for entry in entries:
                name, sep, value = entry.partition("=")
                if not sep or not ENV_NAME.match(name):
                    bad("ideEnv", entry, "is not NAME=value with a valid variable name", env_fix)
                elif name in RESERVED_IDE_ENV:
                    bad("ideEnv", entry, f"{name} is set by the lab itself", "remove it; use the timezone and idePassword settings instead")
                elif name in seen:
                    bad("ideEnv", entry, f"{name} is set twice", "keep one entry per variable")
                else:
                    seen.add(name)
                    ide_env.append((name, value))

    docker_host = text("dockerHost") or ""
    why = docker_host_problem(docker_host)
    if why:
        bad("dockerHost", docker_host, f"is not a Docker host URL: {why}", "use ssh://user@host or tcp://host:2376, or pulumi config rm dockerHost for this machine")
    allow_remote_access = boolean("allowRemoteAccess", False)
    mtu_fix = f"pulumi config set networkMtu <n> with a whole number from {MIN_MTU} to {MAX_MTU}, or 0 for Docker's default"
    network_mtu = whole_number("networkMtu", 0, mtu_fix)
    if network_mtu and not MIN_MTU <= network_mtu <= MAX_MTU:
        bad("networkMtu", str(network_mtu), f"is outside {MIN_MTU}..{MAX_MTU}", mtu_fix)
    bind_reported = any(p.key == "bindAddress" for p in problems)
    loopback = bind_reported or ipaddress.ip_address(bind_address).is_loopback
    if not loopback and not allow_remote_access:
        bad(
            "bindAddress",
            bind_address,
            "publishes the IDE (a root shell with the host's docker) beyond this machine",
            "pulumi config set allowRemoteAccess true to mean it, or keep bindAddress 127.0.0.1",
        )
    if not why and not bind_reported and DockerHost(docker_host).remote and loopback:
        bad(
            "bindAddress",
            bind_address,
            f"is loopback on the remote Docker host {DockerHost(docker_host).hostname}, out of the students' reach",
            "pulumi config set bindAddress 0.0.0.0 and pulumi config set allowRemoteAccess true",
        )

    if problems:
        raise ConfigError(problems)
    assert slot is not None and workers is not None  # a None was reported above
    return LabConfig(
        student=student,
        slot=slot,
        bind_address=bind_address,
        workspace_root=workspace_root,
        ide_password=ide_password,
        ide_image=ide_image,
        node_image=node_image,
        workers=workers,
        mount_docker_socket=mount_docker_socket,
        timezone=timezone,
        ide_env=tuple(ide_env),
        ingress=ingress,
        registry=registry,
        namespace=namespace,
        docker_host=docker_host,
        allow_remote_access=allow_remote_access,
        network_mtu=network_mtu or None,
        ide_env_secret=ide_env_secret and bool(ide_env),
    )
