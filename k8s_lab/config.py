"""The lab's settings: one table, each setting declared once, and one validator.

`SETTINGS` holds every key a stack sets: its type, default, description (Pulumi.yaml's
config block and README's table are generated from it and tests hold them to it), how its
text is read and checked, and the fix a user is told. `parse_lab_config` takes the raw
strings Pulumi hands the program (integers, booleans and arrays arrive as text/JSON),
reads each setting through its own parser, then applies the few rules that span keys; it
returns a `LabConfig` or raises one `ConfigError` that lists every bad key with its value,
the reason and the fix. It runs before any resource exists, so a bad value leaves nothing
half-made. (kind's config code splits the same way: types, defaults, validate.)

    python -m k8s_lab.config --pulumi-yaml   # the config block for Pulumi.yaml
    python -m k8s_lab.config --readme        # the table for README.md
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import ssl
import sys
import tempfile
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from k8s_lab import ide_container, limits, shell_form
from k8s_lab import names as lab_names
from k8s_lab import ports as lab_ports
from k8s_lab import versions, workspace
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
        "CODE_SERVER_CONFIG",  # names the file that turns HTTPS on (k8s_lab.ide_container)
        "FILE__CODE_SERVER_CONFIG",
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
# A DNS name as RFC 1123 allows it: labels of letters, digits and inner '-', at most 63 each, 253 in all.
HOST_NAME_PATTERN = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


@dataclass(frozen=True)
class Problem:
    key: str
    value: str
    reason: str
    fix: str

    def __str__(self) -> str:  # as plain Pulumi's users read it; lab.py and classroom.py render their own
        return self.text()

    def text(self, audience: str = "pulumi", stack: str | None = None) -> str:
        return f"{self.key} = {self.value}: {self.reason}. Fix: {shell_form.render_fix(self.fix, audience, stack)}"


class ConfigError(ValueError):
    """One error for every bad key, raised before any resource is registered; its fixes are
    commands of the tool that runs the program (shell_form.FIXES_ENV)."""

    def __init__(self, problems: list[Problem], stack: str | None = None):
        self.problems = problems
        audience = shell_form.audience()
        named = stack if audience != "pulumi" else None  # plain pulumi works on the selected stack
        lines = "\n".join(f"  - {p.text(audience, named)}" for p in problems)
        super().__init__(f"k8s-lab configuration is invalid; nothing was created:\n{lines}")


class Invalid(ValueError):
    """What a setting's parser raises: the reason, and where it differs from the setting's
    own, the fix and the value to show (several at once for a list)."""

    def __init__(self, reason: str, fix: str | None = None, shown: str | None = None, more: list[Invalid] | None = None):
        super().__init__(reason)
        self.reason, self.fix, self.shown, self.more = reason, fix, shown, more or []


# --- how each setting's text is read ------------------------------------------------------


def whole_number(low: int, high: int, outside: Callable[[int], str] | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise Invalid("is not a whole number") from None
        if not low <= value <= high:
            raise Invalid(outside(value) if outside else f"is outside {low}..{high}", shown=repr(str(value)))
        return value

    return parse


def boolean(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise Invalid("is not true or false")
    return text.lower() == "true"


def text_value(text: str) -> str:
    return text


def _slot_outside(slot: int) -> str:
    if slot < 0:
        return "is negative"
    worst = max(lab_ports.SEED_PORTS, key=lambda purpose: lab_ports.SEED_PORTS[purpose])
    return f"puts the {worst} port at {lab_ports.SEED_PORTS[worst] + lab_ports.STRIDE * slot}, past {lab_ports.MAX_PORT}"


def student_name(text: str) -> str:
    why = lab_names.student_name_problem(text)
    if why:
        raise Invalid(f"not a usable student name: {why}")
    return text


def bind_address(text: str) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise Invalid("is not an IP address") from None
    if address.version != 4:
        raise Invalid("is an IPv6 address; the lab network is IPv4-only", "use an IPv4 address such as 127.0.0.1")
    if address.is_multicast:
        raise Invalid("is a multicast address", "use 127.0.0.1 or an address of this machine")
    return text


def host_name(text: str) -> str:
    if HOST_NAME_PATTERN.match(text):
        return text
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise Invalid("is not a host name or IP address") from None
    return text


def workspace_root(text: str) -> str:
    root = workspace.normalise_root(text)
    why = workspace.root_problem(root)
    if why:
        raise Invalid(f"cannot name the student folders: {why}")
    return root


def ide_password(text: str) -> str:
    if len(text) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"is shorter than {MIN_PASSWORD_LENGTH} characters")
    return text


def image_reference(text: str) -> str:
    if not IMAGE_REFERENCE.match(text):
        raise Invalid("is not an image reference")
    return text


IDE_PLATFORMS = ("linux/amd64", "linux/arm64")  # what linuxserver/code-server and amazon/aws-cli publish


def ide_platform(text: str) -> str:
    if text not in IDE_PLATFORMS:
        raise Invalid(f"is not a platform the IDE image can be built for ({' or '.join(IDE_PLATFORMS)})")
    return text


def pinned_image(text: str) -> str:
    if not PINNED_IMAGE_REFERENCE.match(text):
        raise Invalid("is not a kind node image pinned by tag and digest")
    return text


def kubernetes_version(text: str) -> str:
    if text not in versions.ROWS:
        raise Invalid(f"is not a Kubernetes version the lab has a row for; the rows: {versions.rows_text()}")
    return text


def namespace(text: str) -> str:
    reserved = lab_names.reserved_problem(text)
    if reserved:
        raise Invalid(f"belongs to Kubernetes or the lab: {reserved}", "pick the student's own, e.g. [[set namespace kim-minsu]], or [[rm namespace]] for the student name")
    why = lab_names.student_name_problem(text)
    if why:
        raise Invalid(f"is not a namespace name: {why}")
    return text


def time_zone(text: str) -> str:
    known = zoneinfo.available_timezones()
    if known and text not in known:
        raise Invalid("is not an IANA time zone name")
    return text


def ide_env(text: str) -> tuple[tuple[str, str], ...]:
    try:
        entries = json.loads(text)
    except json.JSONDecodeError:
        entries = None
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise Invalid("is not a list of NAME=value strings")
    found: list[tuple[str, str]] = []
    problems: list[Invalid] = []
    for entry in entries:
        name, sep, value = entry.partition("=")
        if not sep or not ENV_NAME.match(name):
            problems.append(Invalid("is not NAME=value with a valid variable name", shown=repr(entry)))
        elif name in RESERVED_IDE_ENV:
            fix = "remove it; use the timezone and idePassword settings instead"
            problems.append(Invalid(f"{name} is set by the lab itself", fix, shown=repr(entry)))
        elif name in dict(found):
            problems.append(Invalid(f"{name} is set twice", "keep one entry per variable", shown=repr(entry)))
        else:
            found.append((name, value))
    if problems:
        raise Invalid(problems[0].reason, problems[0].fix, problems[0].shown, more=problems[1:])
    return tuple(found)


def _limit(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """k8s_lab.limits' parsers (value, None for off, or a Problem) as a setting's parser."""

    def read(text: str) -> Any:
        value = parse(text)
        if isinstance(value, limits.Problem):
            raise Invalid(value.reason, value.fix, shown=None if value.value == text else value.value)
        return value

    return read


_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\s]*)-----END \1-----")
PEM_KEY_LABELS = ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY")


def _pem_blocks(text: str) -> list[str] | None:
    """The labels of `text`'s PEM blocks, None when it is not PEM (or holds anything else)."""
    if not text.isascii():  # pasted from a web page (U+00A0, U+2003): OpenSSL's cadata and our files are ASCII
        return None
    found = _PEM_BLOCK.findall(text)
    if not found or _PEM_BLOCK.sub("", text).strip():
        return None
    for _, body in found:
        try:
            base64.b64decode("".join(body.split()), validate=True)
        except ValueError:
            return None
    return [label for label, _ in found]


def pem_certificate(text: str) -> str:
    labels = _pem_blocks(text)
    if not labels or set(labels) != {"CERTIFICATE"}:
        first = text.strip().splitlines()[0][:40] if text.strip() else ""
        raise Invalid("is not a PEM certificate (-----BEGIN CERTIFICATE-----, the server's first, then its chain)", shown=repr(first))
    try:  # OpenSSL reads it, in memory, as Node's TLS will
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=text)
    except ssl.SSLError as error:
        raise Invalid(f"cannot be read as an X.509 certificate ({error.reason or error})", shown=repr(text.strip().splitlines()[0][:40])) from None
    return text.strip() + "\n"


def pem_private_key(text: str) -> str:
    labels = _pem_blocks(text)
    if labels == ["ENCRYPTED PRIVATE KEY"]:
        raise Invalid(
            "is encrypted; code-server cannot ask for its passphrase",
            "decrypt it (openssl pkey -in key.pem -out plain-key.pem), then [[file ideTlsKey plain-key.pem]]",
        )
    if labels is None or len(labels) != 1 or labels[0] not in PEM_KEY_LABELS:
        raise Invalid("is not one PEM private key (-----BEGIN PRIVATE KEY-----)")
    return text.strip() + "\n"


def certificate_pair_problem(certificate: str, key: str) -> str | None:
    """Why code-server could not serve `certificate` with `key`, checked as Node's TLS would
    (OpenSSL): each is read, and the key must be the certificate's. Python's ssl reads a
    chain only from files, so both go to a private temporary folder (mode 0700) for the
    moment of the check; nothing else of the machine is read."""
    with tempfile.TemporaryDirectory(prefix="k8s-lab-tls-") as folder:
        cert_file, key_file = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_file.write_text(certificate, encoding="ascii")
        key_file.touch(mode=0o600)
        key_file.write_text(key, encoding="ascii")
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(str(cert_file), str(key_file))
        except ssl.SSLError as error:
            if "PEM lib" in str(error):
                return f"cannot be read as a private key ({error.reason or error})"
            # KEY_VALUES_MISMATCH, or NO_CERTIFICATE_ASSIGNED for a key of another kind (EC for RSA)
            return f"is not the private key of ideTlsCert ({error.reason or error})"
    return None


def docker_host(text: str) -> str:
    why = docker_host_problem(text)
    if why:
        raise Invalid(f"is not a Docker host URL: {why}")
    return text


# --- the table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    key: str  # as Pulumi names it (project namespace omitted)
    field: str  # LabConfig's field
    type: str  # Pulumi.yaml's type: string, integer, boolean, array
    default: Any  # the value when unset; None: computed by a rule (see `shown_default`)
    description: str  # Pulumi.yaml's and README's
    fix: str  # what the user is told when the value is bad
    parse: Callable[[str], Any]
    shown_default: str = ""  # README's default column, when `default` does not say it
    declared_default: Any = None  # Pulumi.yaml's default, when not `default`
    secret: bool = False  # never shown; not declared in Pulumi.yaml (a declared secret would be required)

    def yaml_default(self) -> Any:
        if self.declared_default is not None:
            return self.declared_default
        return list(self.default) if isinstance(self.default, tuple) else self.default

    def readme_default(self) -> str:
        if self.shown_default:
            return self.shown_default
        return f"`{json.dumps(self.yaml_default())}`" if not isinstance(self.default, str) else f"`{self.default}`"


def switch(key: str, field: str, default: bool, description: str) -> Setting:
    """A true/false setting."""
    return Setting(key, field, "boolean", default, description, f"[[set {key} true]] (or false)", boolean)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "student", "student", "string", None,
        "Student name (DNS-1123 label, at most 49 characters: <s>-control-plane must stay a host name). Empty means the stack name.",
        "[[set student kim-minsu]] (a name of lowercase letters, digits and '-', "
        f"at most {lab_names.MAX_STUDENT_LENGTH} characters)",
        student_name, shown_default="the stack name", declared_default="",
    ),
    Setting(
        "slot", "slot", "integer", 0,
        f"Shifts every host port by 100 x slot (0 gives the seed's 8444, 5500, 80, 443). 0..{lab_ports.MAX_SLOT}.",
        f"[[set slot 1]] (a whole number from 0 to {lab_ports.MAX_SLOT}, one no other lab here has)",
        whole_number(0, lab_ports.MAX_SLOT, _slot_outside),
    ),
    Setting(
        "bindAddress", "bind_address", "string", DEFAULT_BIND_ADDRESS,
        "IPv4 address the IDE, live-server and ingress ports are published on (0.0.0.0 for every interface); the registry, "
        "and the API server on this machine's Docker, stay on 127.0.0.1 (README, What a lab publishes).",
        "use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)",
        bind_address,
    ),
    Setting(
        "workspaceRoot", "workspace_root", "string", "",
        r"Absolute folder holding <student>/src and <student>/vscode (C:\..., \\server\share\... or /...). "
        "lab.py stores <home>/k8s-lab when empty; required for plain pulumi up, not for a dockerHost lab.",
        "`lab.py up` (run with the venv's python) stores <your home>/k8s-lab; or [[set workspaceRoot <absolute folder>]], "
        r"e.g. /home/me/k8s-lab or C:\Users\me\k8s-lab",
        workspace_root, shown_default="stored by `lab.py up`",
    ),
    Setting(
        "idePassword", "ide_password", "string", None,
        "The IDE's password: a secret of at least 8 characters (pulumi config set --secret). Unset: one is generated.",
        "[[secret idePassword <a longer password>]], or [[rm idePassword]] to generate one",
        ide_password, shown_default="generated", secret=True,
    ),
    Setting(
        "ideImage", "ide_image", "string", None,
        "A prebuilt IDE image to pull (an instructor builds and pushes once). Empty builds ide/ on this host.",
        "use a name like registry.example.com/class/ide:2024-09, or [[rm ideImage]] to build ide/ here",
        image_reference, shown_default="build `ide/`", declared_default="",
    ),
    Setting(
        "idePlatform", "ide_platform", "string", None,
        "The platform the IDE image is built for: the Docker host's (linux/amd64 or linux/arm64), not this "
        "machine's, so a preview elsewhere sees the same image. lab.py up stores it; empty: the Pulumi machine's.",
        "[[set idePlatform linux/amd64]] (or linux/arm64): what "
        "`docker version --format {{.Server.Os}}/{{.Server.Arch}}` prints for the lab's Docker host",
        ide_platform, shown_default="stored by `lab.py up`", declared_default="",
    ),
    Setting(
        "kubernetesVersion", "kubernetes_version", "string", versions.SEED,
        "The Kubernetes minor the lab runs, one row of k8s_lab/versions.py with its kind release, node image, "
        "IDE kubectl and way in: 1.29 (the course notes' cluster, ingress-nginx) or 1.36 (maintained, Gateway API). "
        "Changing it makes a new cluster; the student's files stay.",
        f"[[set kubernetesVersion 1.36]] (a row, one of: {versions.rows_text()})",
        kubernetes_version,
    ),
    Setting(
        "nodeImage", "node_image", "string", None,
        "kind node image, pinned by tag and digest. Empty: the kubernetesVersion row's (1.29: kind v0.23.0's "
        "release notes).",
        f"use the image with its @sha256 digest from the kind release notes, e.g. {DEFAULT_NODE_IMAGE}",
        pinned_image, shown_default="`kindest/node:v1.29.4@sha256:3abb…b6f8`", declared_default="",
    ),
    Setting(
        "workers", "workers", "integer", DEFAULT_WORKERS,
        f"Number of kind worker nodes (0..{MAX_WORKERS}; 0: the control plane runs everything).",
        f"[[set workers 2]] (a whole number from 0 to {MAX_WORKERS}; 0: the control plane runs everything)",
        whole_number(0, MAX_WORKERS),
    ),
    switch(
        "mountDockerSocket", "mount_docker_socket", True,
        "Mount the host's docker socket into the IDE, as the seed does, so students can build images: it is root on the "
        "host, over every other student's lab too (README, A classroom). false for classes that build no images.",
    ),
    Setting(
        "timezone", "timezone", "string", DEFAULT_TIMEZONE,
        "IANA time zone of the IDE (TZ).",
        "use a name like Asia/Seoul, Europe/Berlin or UTC",
        time_zone,
    ),
    Setting(
        "ideEnv", "ide_env", "array", (),
        "Extra NAME=value environment for the IDE (what the seed kept in .env); with --secret the values reach the "
        "IDE as files and stay secret. The lab's own variables (TZ, PUID, PGID, PASSWORD, FILE__PASSWORD, ...) are refused.",
        '[[set ideEnv ["NAME=value"]]] (a JSON list of NAME=value strings, like lines of a .env file)',
        ide_env,
    ),
    switch(
        "ingress", "ingress", True,
        "Install the kubernetesVersion row's way in (1.29: ingress-nginx for kind; 1.36: the Gateway API with NGINX Gateway "
        "Fabric and a Gateway), reachable on the slot's http/https ports.",
    ),
    switch("registry", "registry", True, "Run a local registry (<student>-registry) the IDE can push to and the nodes pull from."),
    Setting(
        "namespace", "namespace", "string", None,
        "The student's Kubernetes namespace, default namespace of the IDE's kubeconfig (default, "
        "kube-system, kube-public, kube-node-lease, ingress-nginx, nginx-gateway and local-path-storage are refused). Empty means the student name.",
        "[[set namespace kim-minsu]] (the student's own), or [[rm namespace]] for the student name",
        namespace, shown_default="the student name", declared_default="",
    ),
    Setting(
        "dockerHost", "docker_host", "string", "",
        "Docker to use, e.g. ssh://user@host or tcp://host:2376. Empty means this machine's.",
        "use ssh://user@host or tcp://host:2376, or [[rm dockerHost]] for this machine",
        docker_host, shown_default="this machine's Docker",
    ),
    switch("allowRemoteAccess", "allow_remote_access", False, "Required to publish ports on a bindAddress other than loopback (the IDE is a root shell with the host's docker)."),
    Setting(
        "hostName", "host_name", "string", "",
        "The name (or IP address) students' laptops reach this lab's host by, e.g. teacher.school.lan: the host of "
        "ideUrl and ingressUrl and of the IDE's self-signed certificate. Needs a bindAddress beyond loopback. "
        "Empty: the bindAddress (127.0.0.1 for 0.0.0.0), or the dockerHost's name.",
        "[[set hostName teacher.school.lan]] (the name students' laptops reach this host by), or [[rm hostName]]",
        host_name, shown_default="the bindAddress or dockerHost's name",
    ),
    Setting(
        "ideTlsCert", "ide_tls_cert", "string", "",
        "The IDE's HTTPS certificate, PEM with its chain, for a name students' browsers trust (pulumi config set ideTlsCert "
        "< cert.pem). Beyond loopback the IDE is always HTTPS; empty: code-server makes a self-signed certificate, which "
        "browsers warn about once. Set, it is served on loopback too.",
        "[[file ideTlsCert cert.pem]] (the PEM file, read from stdin), or [[rm ideTlsCert]] for a self-signed one",
        pem_certificate, shown_default="self-signed (beyond loopback)",
    ),
    Setting(
        "ideTlsKey", "ide_tls_key", "string", None,
        "The private key of ideTlsCert, PEM, unencrypted, a secret (pulumi config set --secret ideTlsKey < key.pem). "
        "Students are root in the IDE and can read it: a certificate for the class hosts only.",
        "[[file ideTlsKey key.pem]] (the key of ideTlsCert, unencrypted)",
        pem_private_key, shown_default="none", secret=True,
    ),
    Setting(
        "networkMtu", "network_mtu", "integer", 0,
        f"MTU of the lab network ({MIN_MTU}..{MAX_MTU}, e.g. 1450 behind a VPN). 0 means the Docker daemon's default.",
        f"[[set networkMtu 1450]] (a whole number from {MIN_MTU} to {MAX_MTU}), or [[set networkMtu 0]] for Docker's default",
        lambda text: 0 if text == "0" else whole_number(MIN_MTU, MAX_MTU)(text),
    ),
    Setting(
        limits.MEMORY_KEY, "lab_memory_mb", "string", 6 * 1024,
        "Memory of one student's lab (e.g. 6g), shared between the IDE and the kind nodes by their footprint, the "
        "nodes' swap capped with it: a runaway process is killed inside its own lab. 0 means no cap.",
        "[[set labMemory 6g]] (a size such as 6g or 6144m), or [[set labMemory 0]] for no cap",
        _limit(limits.parse_memory), shown_default="`6g`", declared_default=limits.DEFAULT_MEMORY,
    ),
    Setting(
        limits.CPUS_KEY, "lab_cpus", "string", limits.DEFAULT_CPUS,
        "CPUs each container of the lab may use (e.g. 1.5); a busy lab is slowed, never killed. 0 means no cap.",
        "[[set labCpus 2]] (CPUs, e.g. 1.5), or [[set labCpus 0]] for no cap",
        _limit(limits.parse_cpus),
    ),
    Setting(
        limits.MIRROR_KEY, "registry_mirror", "string", None,
        "A class pull-through cache, http(s)://host:port, for docker.io (the next port serves registry.k8s.io): "
        "python classroom.py mirror runs one and prints it. Empty pulls from the registries themselves.",
        "[[set registryMirror http://teacher.school.lan:5010]] (classroom.py mirror prints it), or [[rm registryMirror]]",
        _limit(limits.parse_mirror), shown_default="none", declared_default="",
    ),
)
KEYS = tuple(setting.key for setting in SETTINGS)
BY_KEY = {setting.key: setting for setting in SETTINGS}


@dataclass(frozen=True)
class LabConfig:
    student: str
    slot: int
    bind_address: str
    workspace_root: str
    ide_password: str | None = field(repr=False)  # None: generate one
    ide_image: str | None  # None: build ide/ locally
    ide_platform: str | None  # None: pulumi-docker's default, the Pulumi machine's architecture
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
    lab_memory_mb: int | None = None  # None: no cap
    lab_cpus: str | None = None  # None: no cap
    registry_mirror: str | None = None  # None: pull from the registries themselves
    ide_tls_cert: str | None = None  # the teacher's certificate (PEM); None: self-signed beyond loopback
    ide_tls_key: str | None = field(default=None, repr=False)  # its key (PEM, secret)
    ide_env_secret: bool = False  # ideEnv was set with --secret: its values stay secret
    host_name: str = ""  # the name other machines reach the lab by; "" is reachable_host's
    kubernetes_version: str = versions.SEED  # a key of versions.ROWS

    @property
    def version_row(self) -> versions.Row:
        return versions.row(self.kubernetes_version)

    @property
    def browser_host(self) -> str:
        """The host in the URLs a browser on another machine opens (ideUrl, ingressUrl), and
        the name the IDE's self-signed certificate is made for."""
        return self.host_name or lab_ports.reachable_host(self.bind_address, self.docker.hostname)

    @property
    def ide_https(self) -> bool:
        """The IDE is served over HTTPS beyond loopback (passwords would cross the network in
        clear text otherwise), and wherever the teacher gave a certificate."""
        return self.ide_tls_cert is not None or not ipaddress.ip_address(self.bind_address).is_loopback

    @property
    def https(self) -> ide_container.Https | None:
        """How the IDE serves HTTPS (None: plain HTTP), for the name in its URL."""
        if not self.ide_https:
            return None
        return ide_container.Https(cert_host=self.browser_host, certificate=self.ide_tls_cert, key=self.ide_tls_key)

    @property
    def docker(self) -> DockerHost:
        row = self.version_row
        return DockerHost(self.docker_host, "" if row.minor == versions.SEED else row.kind_version)

    @property
    def names(self) -> lab_names.LabNames:
        return lab_names.LabNames(self.student)

    @property
    def ports(self) -> lab_ports.SlotPorts:
        return lab_ports.ports_for_slot(self.slot)

    @property
    def shares(self) -> limits.Shares:
        """Each container's cap (checked when the config was read)."""
        split = limits.shares(self.lab_memory_mb, self.lab_cpus, self.workers)
        assert not isinstance(split, limits.Problem), split
        return split

    @property
    def workspace(self) -> workspace.WorkspacePaths:
        return workspace.workspace_paths(self.workspace_root, self.student)


# --- validation -------------------------------------------------------------------------


def _shown(value: str | None) -> str:
    return "(unset)" if value is None else repr(value)


class _Reader:
    """Reads every setting of `raw` through the table, collecting problems."""

    def __init__(self, raw: Mapping[str, str | None]):
        self.raw = raw
        self.problems: list[Problem] = []

    def bad(self, key: str, value: str, reason: str, fix: str) -> None:
        self.problems.append(Problem(key, value, reason, fix))

    def text(self, key: str) -> str | None:
        value = self.raw.get(key)
        return None if value is None or value.strip() == "" else value.strip()

    def read(self, setting: Setting) -> Any:
        text = self.text(setting.key)
        if text is None:
            return setting.default
        try:
            return setting.parse(text)
        except Invalid as invalid:
            for each in (invalid, *invalid.more):
                shown = "(hidden)" if setting.secret else (each.shown or _shown(self.raw.get(setting.key)))
                self.bad(setting.key, shown, each.reason, each.fix or setting.fix)
            return None

    def unknown_keys(self) -> None:
        for key in sorted(set(self.raw) - set(KEYS)):
            fix = f"remove it ([[rm {key}]]); known keys: {', '.join(KEYS)}"
            self.bad(key, _shown(self.raw[key]), "is not a k8s-lab setting", fix)


def read_setting(raw: Mapping[str, str | None], key: str) -> Any:
    """One setting of a stack through its parser and default, for the verbs that need only a
    few (stop, start, status, doctor, the port check); a bad value is the ConfigError the
    program would raise for it."""
    reader = _Reader(raw)
    value = reader.read(BY_KEY[key])
    if reader.problems:
        raise ConfigError(reader.problems)
    return value


def parse_lab_config(
    raw: Mapping[str, str | None],
    *,
    stack: str,
    password_is_secret: bool = True,
    ide_env_secret: bool = False,
    tls_key_is_secret: bool = True,
) -> LabConfig:
    """Validate `raw` (key -> the string Pulumi gives, None when unset) into a LabConfig."""
    reader = _Reader(raw)
    reader.unknown_keys()
    values = {setting.field: reader.read(setting) for setting in SETTINGS}
    _defaults_from_other_keys(reader, values, stack)
    _rules_across_keys(reader, values, password_is_secret)
    _certificate_rules(reader, values, tls_key_is_secret)
    if reader.problems:
        raise ConfigError(reader.problems, stack)
    values["network_mtu"] = values["network_mtu"] or None
    values["ide_tls_cert"] = values["ide_tls_cert"] or None
    values["ide_env_secret"] = ide_env_secret and bool(values["ide_env"])
    return LabConfig(**values)


def _defaults_from_other_keys(reader: _Reader, values: dict[str, Any], stack: str) -> None:
    """student defaults to the stack name (so a bad stack name is reported under
    `student`), namespace to the student."""
    if reader.text("student") is None:
        values["student"] = stack
        why = lab_names.student_name_problem(stack)
        if why:
            reason = f"not a usable student name (taken from the stack name {stack!r}): {why}"
            reader.bad("student", repr(stack), reason, BY_KEY["student"].fix)
    if reader.text("namespace") is None:
        values["namespace"] = values["student"]
    row = versions.ROWS.get(values["kubernetes_version"] or "")
    if reader.text("nodeImage") is None:
        values["node_image"] = row.node_image if row else DEFAULT_NODE_IMAGE
    elif row and values["node_image"] and versions.node_image_minor(values["node_image"]) not in (None, row.minor):
        reader.bad(
            "nodeImage", repr(values["node_image"]),
            f"is Kubernetes {versions.node_image_minor(values['node_image'])}, but kubernetesVersion {row.minor} runs kind "
            f"{row.kind_version}, which supports only node images it built",
            f"[[rm nodeImage]] (the row's {row.node_image}), or set kubernetesVersion to the image's minor",
        )


def _rules_across_keys(reader: _Reader, values: dict[str, Any], password_is_secret: bool) -> None:
    reported = {problem.key for problem in reader.problems}
    host = DockerHost(values["docker_host"] or "")
    if not values["workspace_root"] and "workspaceRoot" not in reported and not host.remote:
        # Another Docker host binds no folders of this machine.
        why = workspace.root_problem("")
        reader.bad("workspaceRoot", _shown(reader.raw.get("workspaceRoot")), f"cannot name the student folders: {why}", BY_KEY["workspaceRoot"].fix)
    if "labMemory" not in reported and "workers" not in reported:
        split = limits.shares(values["lab_memory_mb"], values["lab_cpus"], values["workers"])
        if isinstance(split, limits.Problem):  # the default (6g) fits even 9 workers
            reader.bad(split.key, _shown(reader.raw.get("labMemory")), split.reason, split.fix)
    if values["ide_password"] is not None and not password_is_secret:
        reader.bad("idePassword", "(hidden)", "is stored in plain text", "[[secret idePassword <password>]]")
    if "bindAddress" in reported:
        return
    loopback = ipaddress.ip_address(values["bind_address"]).is_loopback
    if not loopback and not values["allow_remote_access"]:
        reader.bad(
            "bindAddress",
            repr(values["bind_address"]),
            "publishes the IDE (a root shell with the host's docker) beyond this machine",
            "[[set allowRemoteAccess true]] to mean it, or [[set bindAddress 127.0.0.1]]",
        )
    if "dockerHost" not in reported and host.remote and loopback:
        reader.bad(
            "bindAddress",
            repr(values["bind_address"]),
            f"is loopback on the remote Docker host {host.hostname}, out of the students' reach",
            "[[set bindAddress 0.0.0.0]] and [[set allowRemoteAccess true]]",
        )
    if values["host_name"] and loopback and not host.remote and "hostName" not in reported:  # remote: said above
        reader.bad(
            "hostName",
            repr(values["host_name"]),
            f"names how other machines reach the lab, but bindAddress {values['bind_address']} publishes it on loopback only",
            "[[set bindAddress 0.0.0.0]] and [[set allowRemoteAccess true]], or [[rm hostName]]",
        )


def _certificate_rules(reader: _Reader, values: dict[str, Any], key_is_secret: bool) -> None:
    """A certificate needs its key and a key its certificate; the key is a secret."""
    reported = {problem.key for problem in reader.problems}
    cert, key = reader.text("ideTlsCert"), reader.text("ideTlsKey")
    if cert is not None and key is None:
        reader.bad(
            "ideTlsKey", "(unset)", "is needed with ideTlsCert: code-server serves a certificate only with its private key",
            "[[file ideTlsKey key.pem]] (the key of that certificate), or [[rm ideTlsCert]] for a self-signed one",
        )
    if key is not None and cert is None:
        reader.bad(
            "ideTlsCert", "(unset)", "is needed with ideTlsKey: a private key alone serves nothing",
            "[[file ideTlsCert cert.pem]] (the certificate of that key), or [[rm ideTlsKey]]",
        )
    if key is not None and not key_is_secret and "ideTlsKey" not in reported:
        reader.bad("ideTlsKey", "(hidden)", "is stored in plain text", "[[file ideTlsKey key.pem]]")
    if values["ide_tls_cert"] and values["ide_tls_key"] and not reported & {"ideTlsCert", "ideTlsKey"}:
        why = certificate_pair_problem(values["ide_tls_cert"], values["ide_tls_key"])
        if why:
            reader.bad(
                "ideTlsKey", "(hidden)", why,
                "give the certificate and the key made with it: [[file ideTlsCert cert.pem]] and [[file ideTlsKey key.pem]]",
            )


# --- what is generated from the table ------------------------------------------------------


def pulumi_yaml_config() -> dict[str, dict[str, Any]]:
    """Pulumi.yaml's `config:` block. Every declared key has a default: Pulumi requires a
    declared key without one. idePassword is not declared: a declared secret without a
    default would be required."""
    block: dict[str, dict[str, Any]] = {}
    for setting in SETTINGS:
        if setting.secret:
            continue
        entry: dict[str, Any] = {"type": setting.type}
        if setting.type == "array":
            entry["items"] = {"type": "string"}
        entry["default"] = setting.yaml_default()
        entry["description"] = setting.description
        block[setting.key] = entry
    return block


def readme_table() -> str:
    rows = ["| key | default | meaning |", "| --- | --- | --- |"]
    for setting in SETTINGS:
        rows.append(f"| `{setting.key}` | {setting.readme_default()} | {setting.description} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--readme"]:
        sys.stdout.write(readme_table())
        return 0
    if args == ["--pulumi-yaml"]:
        import yaml

        sys.stdout.write(yaml.safe_dump({"config": pulumi_yaml_config()}, sort_keys=False, width=120, allow_unicode=True))
        return 0
    print("usage: python -m k8s_lab.config --readme | --pulumi-yaml", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
