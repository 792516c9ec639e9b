"""k8s-lab's policies (pulumi-policy), kept importable: `__main__.py` only builds the pack.

Run with `pulumi preview --policy-pack policy` (or `up`). Every validate function is a plain
function of the arguments the SDK passes (`ResourceValidationArgs` / `StackValidationArgs`
and `report_violation`), so tests call them directly.

What a policy can see, from pulumi-policy 1.21 (`policy.py`, `deserialize.py`) and the
engine (`analyzer_plugin.go`):

- `args.props` are the resource's inputs (stack policies: its state). The engine marshals
  them with `KeepSecrets`, but the SDK's Analyze/AnalyzeStack deserialise them without
  `proxy_secrets`, which unwraps every secret to its plain value: a validation cannot tell
  a secret from a plain string. (Only remediations keep `pulumi_policy.Secret` markers.)
- Values not known yet (during preview, outputs of resources not made yet) are sentinels;
  reading one through `args.props` raises `UnknownValueError`, which the SDK turns into an
  advisory "can't run policy during preview". The resource policies leave it at that (at
  `up` their inputs are known); the password policy catches it where an unknown value
  means something (the generated password before it exists).
- `args.opts` carries the resource options, among them `additional_secret_outputs`.
- The stack's config reaches the policy process decrypted, as JSON in `PULUMI_CONFIG`
  (`constructEnv`), with `PULUMI_PROJECT` and `PULUMI_STACK`; which keys were secret is
  not passed. Policy config (`--policy-pack-config`) comes through `args.get_config()`.

Constants mirror the program's (k8s_lab/ide_container.py, k8s_lab/commands.py); the tests
check that they still agree, so the policy stays an independent check of the program.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import yaml
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

PACK_NAME = "k8s-lab"

CONTAINER = "docker:index/container:Container"
COMMAND = "command:local:Command"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"

# k8s_lab/ide_container.py: code-server reads its password from this file (FILE__PASSWORD).
PASSWORD_FILE = "/run/secrets/code-server-password"
PASSWORD_FILE_ENV = f"FILE__PASSWORD={PASSWORD_FILE}"
# linuxserver/code-server's variables that carry the password (or its hash) in plain text.
PASSWORD_ENV_NAMES = ("PASSWORD", "HASHED_PASSWORD")
DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")

# How the program's commands are recognised in `create` (k8s_lab/commands.py runs
# `python -m k8s_lab.kind_lifecycle <action> ...`), and plain kind for hand-written ones.
KIND_CREATE_MARKERS = ("kind_lifecycle create", "kind create cluster")
KUBECONFIG_MARKERS = ("kind_lifecycle kubeconfig", "kind get kubeconfig")

# Defaults of the tools when an address is left out: Docker and kind publish on every
# interface, kind keeps the API server on loopback.
DOCKER_DEFAULT_IP = "0.0.0.0"
KIND_DEFAULT_LISTEN_ADDRESS = "0.0.0.0"
KIND_DEFAULT_API_SERVER_ADDRESS = "127.0.0.1"

# The opt-in for remote access: the stack's own `allowRemoteAccess` (declared in Pulumi.yaml,
# `pulumi config set allowRemoteAccess true`), which the policy reads from PULUMI_CONFIG; or,
# for one run, policy config: `--policy-pack-config <file>` holding
# {"loopback-unless-opted-in": {"allowRemoteAccess": true}}.
ALLOW_REMOTE_ACCESS = "allowRemoteAccess"

class _Unknown:
    """A value Pulumi does not know yet (preview)."""

    def __repr__(self) -> str:
        return "<unknown during preview>"


UNKNOWN = _Unknown()


def known(read: Callable[[], Any]) -> Any:
    """`read()`, or UNKNOWN when it touches a value not known during preview."""
    try:
        return read()
    except UnknownValueError:
        return UNKNOWN


def _items(value: Any) -> list[Any]:
    """The elements of a list property (none when unset or unknown), unknown ones as UNKNOWN."""
    if value is None or value is UNKNOWN or isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return []
    return [known(lambda i=i: value[i]) for i in range(len(value))]


def _get(mapping: Any, key: str, default: Any = None) -> Any:
    if not isinstance(mapping, Mapping):
        return default
    return known(lambda: mapping.get(key, default))


def _port(value: Any) -> str:
    return str(int(value)) if isinstance(value, (int, float)) else str(value)


# --- stack config, as the engine hands it to the policy process -----------------------------------------


def stack_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The stack's config (decrypted), from PULUMI_CONFIG; empty outside a Pulumi run."""
    raw = (os.environ if environ is None else environ).get("PULUMI_CONFIG") or "{}"
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def remote_access_opt_in(policy_config: Mapping[str, Any], config: Mapping[str, Any], project: str) -> str | None:
    """Where remote access was allowed, or None."""
    if _truthy((policy_config or {}).get(ALLOW_REMOTE_ACCESS)):
        return f"policy config {ALLOW_REMOTE_ACCESS}"
    key = f"{project}:{ALLOW_REMOTE_ACCESS}"
    if _truthy(config.get(key)):
        return f"stack config {key}"
    return None


def _project(environ: Mapping[str, str] | None = None) -> str:
    return (os.environ if environ is None else environ).get("PULUMI_PROJECT") or "k8s-lab"


# --- recognising the program's resources ------------------------------------------------------------------


def _create(args: Any) -> str:
    value = args.props.get("create")
    return value if isinstance(value, str) else ""


def is_kind_create(args: Any) -> bool:
    return args.resource_type == COMMAND and any(m in _create(args) for m in KIND_CREATE_MARKERS)


def is_kubeconfig_read(args: Any) -> bool:
    return args.resource_type == COMMAND and any(m in _create(args) for m in KUBECONFIG_MARKERS)


def parse_kind_config(stdin: Any) -> tuple[dict[str, Any] | None, str | None]:
    """(config, None) or (None, why it cannot be read)."""
    if not isinstance(stdin, str) or not stdin.strip():
        return None, "it has no kind config on stdin, so kind would use its built-in defaults"
    try:
        config = yaml.safe_load(stdin)
    except yaml.YAMLError as error:
        return None, f"its stdin is not YAML ({error.__class__.__name__})"
    if not isinstance(config, dict):
        return None, "its stdin is not a kind config (a YAML mapping)"
    return config, None


def _kind_nodes(config: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    nodes = config.get("nodes")
    return [node for node in nodes if isinstance(node, Mapping)] if isinstance(nodes, list) else []


# --- kubeconfig-commands-stay-secret ------------------------------------------------------------------------


def kubeconfig_command_problems(props: Mapping[str, Any], additional_secret_outputs: Iterable[str]) -> list[str]:
    problems = []
    logging = props.get("logging")
    if logging != "none":
        shown = "unset (pulumi-command logs stdout and stderr by default)" if logging is None else repr(logging)
        problems.append(f"logging is {shown}: the cluster-admin kubeconfig would be printed; set logging NONE")
    if "stdout" not in set(additional_secret_outputs or ()):
        problems.append("stdout is not among additional_secret_outputs: the kubeconfig would be stored in plain text in the state")
    if props.get("addPreviousOutputInEnv", True) is not False:
        problems.append(
            "addPreviousOutputInEnv is not false: the previous kubeconfig would be put in the environment of the next run"
        )
    return problems


def validate_kubeconfig_secret(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not is_kubeconfig_read(args):
        return
    for problem in kubeconfig_command_problems(args.props, args.opts.additional_secret_outputs):
        report_violation(f"{args.name}: {problem}.")


# --- loopback-unless-opted-in -------------------------------------------------------------------------------


def is_loopback(address: str) -> bool:
    """127.0.0.0/8 (and IPv6 ::1); anything else, or not an IP address, is not."""
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def container_exposures(props: Mapping[str, Any]) -> list[str]:
    """Published ports of a docker container that are not on loopback."""
    exposed = []
    for port in props.get("ports") or []:
        address = port.get("ip") or DOCKER_DEFAULT_IP
        if not is_loopback(address):
            exposed.append(
                f"host port {_port(port.get('external'))} (container port {_port(port.get('internal'))}) on {address}"
            )
    return exposed


def kind_exposures(config: Mapping[str, Any]) -> list[str]:
    """extraPortMappings and the API server of a kind config that are not on loopback."""
    exposed = []
    for index, node in enumerate(_kind_nodes(config)):
        mappings = node.get("extraPortMappings")
        for mapping in mappings if isinstance(mappings, list) else []:
            if not isinstance(mapping, Mapping):
                continue
            address = str(mapping.get("listenAddress") or KIND_DEFAULT_LISTEN_ADDRESS)
            if not is_loopback(address):
                exposed.append(
                    f"nodes[{index}] host port {mapping.get('hostPort')} (node port {mapping.get('containerPort')}) on {address}"
                )
    networking = config.get("networking")
    api = (networking or {}).get("apiServerAddress") if isinstance(networking, Mapping) else None
    address = str(api or KIND_DEFAULT_API_SERVER_ADDRESS)
    if not is_loopback(address):
        exposed.append(f"the API server (cluster-admin) on {address}")
    return exposed


def validate_loopback(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == CONTAINER:
        exposed = container_exposures(args.props)
    elif is_kind_create(args):
        config, why = parse_kind_config(args.props.get("stdin"))
        if config is None:
            report_violation(f"{args.name}: cannot check the published ports: {why}.")
            return
        exposed = kind_exposures(config)
    else:
        return
    if not exposed or remote_access_opt_in(args.get_config(), stack_config(), _project()):
        return
    for what in exposed:
        report_violation(
            f"{args.name} publishes {what}, reachable from other machines. Publish on 127.0.0.1 "
            f"(bindAddress), or opt in: pulumi config set {ALLOW_REMOTE_ACCESS} true."
        )


# --- docker-socket-mount (advisory) -------------------------------------------------------------------------


def docker_socket_mounts(props: Mapping[str, Any]) -> list[str]:
    found = []
    for volume in props.get("volumes") or []:
        host_path = volume.get("hostPath")
        if isinstance(host_path, str) and host_path in DOCKER_SOCKETS:
            found.append(f"volume {host_path} -> {volume.get('containerPath')}")
    for mount in props.get("mounts") or []:
        source = mount.get("source")
        if isinstance(source, str) and source in DOCKER_SOCKETS:
            found.append(f"mount {source} -> {mount.get('target')}")
    return found


def validate_docker_socket(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    for mount in docker_socket_mounts(args.props):
        report_violation(
            f"{args.name} mounts the host's Docker socket ({mount}): whoever uses the container is root on the "
            "host. Keep it only if the student needs docker in the IDE (mountDockerSocket false turns it off)."
        )


# --- ide-password-from-secret (stack policy) ----------------------------------------------------------------


def password_env_entries(props: Mapping[str, Any]) -> list[str]:
    """Names among PASSWORD_ENV_NAMES that a container's envs set."""
    found = []
    for entry in _items(_get(props, "envs")):
        if isinstance(entry, str) and entry.split("=", 1)[0] in PASSWORD_ENV_NAMES and "=" in entry:
            found.append(entry.split("=", 1)[0])
    return found


def _decoded(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def _depends_on_generated(resource: Any, generated: list[Any]) -> bool:
    """Whether the container's uploads (or, without per-property data, the container) depend
    on a RandomPassword of the stack."""
    urns = {r.urn for r in generated}
    by_property = getattr(resource, "property_dependencies", None) or {}
    deps = list(by_property.get("uploads") or []) or list(getattr(resource, "dependencies", None) or [])
    return any(getattr(dep, "urn", dep) in urns for dep in deps)


def password_upload_problems(
    upload: Mapping[str, Any],
    resource: Any,
    generated: list[Any],
    config: Mapping[str, Any],
    project: str,
) -> list[str]:
    """Why the password upload of `resource` cannot be traced to a secret (empty when it can)."""
    source = _get(upload, "source")
    if source is UNKNOWN or (isinstance(source, str) and source):
        return [f"the password file is uploaded from a host file ({source!r}), not from a secret value"]
    content = _get(upload, "content")
    encoded = _get(upload, "contentBase64")
    if content is UNKNOWN or encoded is UNKNOWN:
        # Preview before the password exists: fine when it is the generated one.
        if _depends_on_generated(resource, generated):
            return []
        return ["the password is not known during preview and does not come from a RandomPassword of the stack"]
    value = content if isinstance(content, str) and content else None
    if value is None and isinstance(encoded, str) and encoded:
        value = _decoded(encoded)
        if value is None:
            return ["the password upload's contentBase64 is not valid base64 text"]
    if not value:
        return ["the password upload is empty: code-server's image refuses to start without a password"]
    for password in generated:
        if _get(password.props, "result") == value:
            return []  # pulumi-random's result, a secret output by its schema
    configured = config.get(f"{project}:idePassword")
    if configured is not None and configured == value:
        return []  # the program itself refuses an idePassword not set with --secret
    return [
        "the password is neither the stack's generated RandomPassword nor the idePassword config: "
        "a value written into the program is in plain text in the code and the state"
    ]


def validate_ide_password(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    resources = list(args.resources)
    generated = [r for r in resources if r.resource_type == RANDOM_PASSWORD]
    config = stack_config()
    project = _project()
    for resource in resources:
        if resource.resource_type != CONTAINER:
            continue
        props = resource.props
        for name in password_env_entries(props):
            report_violation(
                f"{resource.name} sets {name} in its environment, where `docker inspect` and every process "
                f"in the container can read it; the lab passes the password as the file {PASSWORD_FILE}.",
                resource.urn,
            )
        uploads_value = _get(props, "uploads")
        if uploads_value is UNKNOWN:
            continue  # preview: checked again when the stack is analysed at the end of `up`
        uploads = [u for u in _items(uploads_value) if isinstance(u, Mapping)]
        password_uploads = [u for u in uploads if _get(u, "file") == PASSWORD_FILE]
        reads_file = PASSWORD_FILE_ENV in _items(_get(props, "envs"))
        if reads_file and not password_uploads:
            report_violation(
                f"{resource.name} reads its password from {PASSWORD_FILE} (FILE__PASSWORD) but nothing uploads it.",
                resource.urn,
            )
        for upload in password_uploads:
            for problem in password_upload_problems(upload, resource, generated, config, project):
                report_violation(f"{resource.name}: {problem}.", resource.urn)


# --- the pack -------------------------------------------------------------------------------------------------


# --- what the cluster's way in applies ---------------------------------------------------------------

MANIFEST_MARKER = "kind_lifecycle manifest"  # k8s_lab/commands.py manifest() / manifests()
# hostPorts the lab's own objects may open on a node: 80 and 443, which kind publishes only
# through the control plane's extraPortMappings (held to loopback by the policy above).
NODE_HOST_PORTS = (80, 443)


def manifest_pin_problems(create: str) -> list[str]:
    """A manifest command applies only files pinned by sha256 at a release tag."""
    words = create.split()
    urls = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--url"]
    shas = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--sha256"]
    problems = [] if len(urls) == len(shas) and urls else [f"{len(urls)} --url for {len(shas)} --sha256"]
    problems += [f"{sha!r} is not a sha256" for sha in shas if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)]
    for url in urls:
        if not url.startswith("https://raw.githubusercontent.com/") or any(f"/{b}/" in url for b in ("main", "master", "HEAD")):
            problems.append(f"{url} is not a file at a release tag")
    return problems


def own_object_host_ports(stdin: Any) -> list[int]:
    """Every hostPort the objects on a manifest command's stdin ask for (NginxProxy's
    hostPorts, or a pod template's containers' ports)."""
    found: list[int] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("hostPort", "port") and isinstance(item, int) and "containerPort" in value:
                    found.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for document in yaml.safe_load_all(stdin) if isinstance(stdin, str) else []:
        walk(document)
    return found


def validate_pinned_manifests(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != COMMAND or MANIFEST_MARKER not in _create(args):
        return
    for problem in manifest_pin_problems(_create(args)):
        report_violation(f"the cluster's way in: {problem}", None)
    for port in own_object_host_ports(args.props.get("stdin")):
        if port not in NODE_HOST_PORTS:
            report_violation(f"the lab's own objects open hostPort {port} on a node; only {NODE_HOST_PORTS} are published (by kind)", None)


def policies() -> list[Policy]:
    return [
        StackValidationPolicy(
            name="ide-password-from-secret",
            description=(
                "The IDE's password reaches code-server as an uploaded file whose content is the generated "
                "password or the idePassword config, never an environment variable."
            ),
            validate=validate_ide_password,
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name="kubeconfig-commands-stay-secret",
            description=(
                "Commands that print the cluster-admin kubeconfig log nothing, keep stdout secret and do not "
                "pass it to their next run."
            ),
            validate=validate_kubeconfig_secret,
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name="loopback-unless-opted-in",
            description=(
                "Published ports (docker ports, kind extraPortMappings and API server) are on loopback unless the "
                f"stack opts in (stack config {ALLOW_REMOTE_ACCESS}, or policy config {ALLOW_REMOTE_ACCESS})."
            ),
            validate=validate_loopback,
            enforcement_level=EnforcementLevel.MANDATORY,
            config_schema=PolicyConfigSchema(
                properties={
                    ALLOW_REMOTE_ACCESS: {
                        "type": "boolean",
                        "default": False,
                        "description": "Allow publishing on addresses other than loopback for this run.",
                    }
                }
            ),
        ),
        ResourceValidationPolicy(
            name="pinned-manifests",
            description=(
                "What the cluster's way in applies (ingress-nginx, or the Gateway API and its controller) is files at "
                "release tags pinned by sha256, and the lab's own objects open no host port but 80 and 443."
            ),
            validate=validate_pinned_manifests,
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name="docker-socket-mount",
            description="A container mounting the host's Docker socket is root on the host.",
            validate=validate_docker_socket,
            enforcement_level=EnforcementLevel.ADVISORY,
        ),
    ]
