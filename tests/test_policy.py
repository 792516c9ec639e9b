"""The policy pack (policy/): every policy against inputs that pass and inputs that violate.

The validate functions are called directly with the SDK's own argument classes
(ResourceValidationArgs, StackValidationArgs, PolicyResource), their props built the way
pulumi-policy's Analyze builds them: the engine's wire form (secrets in their envelope,
unknowns as sentinels) through `deserialize_properties` and `unknown_checking_proxy`. The
program's real resource graph (under Pulumi's mocks, tests/lab_mocks.py) is checked too,
and a few tests go through the SDK's analyzer servicer with protobuf requests, as the
engine calls it. policy/__main__.py is never imported: building a PolicyPack blocks.
"""

from __future__ import annotations

import ast
import base64
import json
import os
import subprocess
import sys
import threading
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime import proto, rpc
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, deserialize_properties
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from k8s_lab import commands, ide_container
from lab_mocks import GENERATED_PASSWORD, ROOT, evaluate

POLICY_DIR = ROOT / "policy"
if str(POLICY_DIR) not in sys.path:
    sys.path.insert(0, str(POLICY_DIR))

import k8s_lab_policies as lab_policies  # noqa: E402  (policy/ is not a package)

CONTAINER = "docker:index/container:Container"
COMMAND = "command:local:Command"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
PINNED = "kindest/node:v1.29.4@sha256:3abb816a5b1061fb15c6e9e60856ec40d56b7b52bcea5f5f1350bc6e2320b6f8"
PYTHON = "/usr/bin/python3"
KIND_CREATE = commands.kind_create("alice", 2)
KUBECONFIG_READ = commands.kind_kubeconfig("alice")
CONFIGURED_PASSWORD = "configured-Passw0rd"


# --- building what the SDK hands a policy -----------------------------------------------------------------


def secret(value: Any) -> dict[str, Any]:
    """A secret as the engine marshals it (KeepSecrets)."""
    return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": value}


def as_analyzed(wire: dict[str, Any]) -> Any:
    """Props as pulumi-policy's Analyze/AnalyzeStack give them to a validation."""
    return unknown_checking_proxy(deserialize_properties(wire))


def to_wire(value: Any) -> Any:
    """A recorded input (lab_mocks) in the engine's wire form."""
    if rpc.is_rpc_secret(value):
        return secret(to_wire(rpc.unwrap_rpc_secret(value)))
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_wire(v) for v in value]
    return value


def options(additional_secret_outputs: tuple[str, ...] | list[str] = ()) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), list(additional_secret_outputs), None)


def urn_of(type_: str, name: str) -> str:
    return f"urn:pulumi:alice::k8s-lab::{type_}::{name}"


def resource_args(
    type_: str,
    props: dict[str, Any],
    *,
    name: str = "r",
    additional_secret_outputs: tuple[str, ...] | list[str] = (),
    config: dict[str, Any] | None = None,
) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        type_, as_analyzed(props), urn_of(type_, name), name, options(additional_secret_outputs), None, config, {}
    )


def stack_resource(type_: str, props: dict[str, Any], name: str) -> PolicyResource:
    return PolicyResource(type_, as_analyzed(props), urn_of(type_, name), name, options(), None, None, [], {})


class Reports(list):
    """Stands in for report_violation; keeps (message, urn)."""

    def __call__(self, message: str, urn: str | None = None) -> None:
        assert isinstance(message, str) and message
        self.append((message, urn))

    @property
    def messages(self) -> list[str]:
        return [message for message, _ in self]


def run(validate, args) -> Reports:
    reports = Reports()
    validate(args, reports)
    return reports


@pytest.fixture(autouse=True)
def no_stack_config(monkeypatch, tmp_path):
    """Outside a Pulumi run: no stack config, no stack, no settings file unless a test adds one."""
    for name in ("PULUMI_CONFIG", "PULUMI_STACK", "PULUMI_PROJECT", "PULUMI_DRY_RUN", "PULUMI_CONFIG_SECRET_KEYS"):
        monkeypatch.delenv(name, raising=False)


def set_stack_config(monkeypatch, config: dict[str, Any], stack: str = "alice") -> None:
    """What the engine sets for the policy process (analyzer_plugin.go, constructEnv)."""
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    monkeypatch.setenv("PULUMI_PROJECT", "k8s-lab")
    monkeypatch.setenv("PULUMI_STACK", stack)


# --- inputs like the program's ----------------------------------------------------------------------------


def kind_config(image: str = PINNED, listen: str | None = "127.0.0.1", api: str | None = "127.0.0.1", workers: int = 2) -> str:
    mapping: dict[str, Any] = {"containerPort": 80, "hostPort": 80, "protocol": "TCP"}
    if listen is not None:
        mapping["listenAddress"] = listen
    networking: dict[str, Any] = {"ipFamily": "ipv4", "apiServerPort": 6550}
    if api is not None:
        networking["apiServerAddress"] = api
    config = {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": "alice",
        "nodes": [{"role": "control-plane", "image": image, "extraPortMappings": [mapping]}]
        + [{"role": "worker", "image": image} for _ in range(workers)],
        "networking": networking,
    }
    return yaml.safe_dump(config, sort_keys=False)


def kind_command(stdin: Any = None, create: str = KIND_CREATE) -> dict[str, Any]:
    return {"create": create, "stdin": kind_config() if stdin is None else stdin, "dir": "/work"}


def kubeconfig_command(**overrides: Any) -> dict[str, Any]:
    props = {"create": KUBECONFIG_READ, "logging": "none", "addPreviousOutputInEnv": False, "dir": "/work"}
    props.update(overrides)
    return {k: v for k, v in props.items() if v is not None}


def ide_container_props(
    content: Any = GENERATED_PASSWORD,
    envs: list[str] | None = None,
    ip: str | None = "127.0.0.1",
    socket: bool = True,
    upload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    port: dict[str, Any] = {"internal": 8443.0, "external": 8444.0}
    if ip is not None:
        port["ip"] = ip
    volumes: list[dict[str, Any]] = [{"volumeName": "alice-src", "containerPath": "/code/cloud-cicd-src"}]
    if socket:
        volumes.append({"hostPath": "/var/run/docker.sock", "containerPath": "/var/run/docker.sock"})
    password_upload = upload if upload is not None else {"file": ide_container.PASSWORD_FILE, "content": secret(content), "permissions": "0400"}
    return {
        "name": "alice-ide",
        "image": "k8s-lab-ide:1",
        "envs": envs if envs is not None else ["TZ=Asia/Seoul", "PUID=0", "PGID=0", f"FILE__PASSWORD={ide_container.PASSWORD_FILE}"],
        "ports": [port],
        "volumes": volumes,
        "uploads": [
            password_upload,
            {"file": ide_container.KUBECONFIG_FILE, "content": secret(UNKNOWN_STRING_VALUE), "permissions": "0600"},
        ],
    }


def stack_of(container: dict[str, Any], *, generated: Any = GENERATED_PASSWORD, uploads_depend_on_generated: bool = True) -> StackValidationArgs:
    resources = [stack_resource(CONTAINER, container, "ide-container")]
    if generated is not None:
        password = stack_resource(RANDOM_PASSWORD, {"length": 24.0, "special": False, "result": secret(generated)}, "ide-password-generated")
        resources.append(password)
        if uploads_depend_on_generated:
            resources[0].property_dependencies["uploads"] = [password]
            resources[0].dependencies.append(password)
    return StackValidationArgs(resources, None)


# --- the pack's shape -------------------------------------------------------------------------------------


def test_pack_has_the_five_policies_with_their_levels():
    by_name = {policy.name: policy for policy in lab_policies.policies()}
    assert {name: policy.enforcement_level for name, policy in by_name.items()} == {
        "ide-password-from-secret": EnforcementLevel.MANDATORY,
        "kubeconfig-commands-stay-secret": EnforcementLevel.MANDATORY,
        "loopback-unless-opted-in": EnforcementLevel.MANDATORY,
        "pinned-manifests": EnforcementLevel.MANDATORY,
        "docker-socket-mount": EnforcementLevel.ADVISORY,
    }
    assert isinstance(by_name["ide-password-from-secret"], StackValidationPolicy)
    assert all(isinstance(by_name[name], ResourceValidationPolicy) for name in by_name if name != "ide-password-from-secret")
    schema = by_name["loopback-unless-opted-in"].config_schema
    assert schema is not None and schema.properties["allowRemoteAccess"]["type"] == "boolean"


def test_main_only_builds_the_pack_from_the_importable_module():
    tree = ast.parse((POLICY_DIR / "__main__.py").read_text())
    imports = {(node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert imports == {("pulumi_policy", "PolicyPack"), ("k8s_lab_policies", "PACK_NAME"), ("k8s_lab_policies", "policies")}
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "PolicyPack"]
    assert len(calls) == 1
    assert not [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))], "policies belong in k8s_lab_policies.py"


def test_policy_project_files():
    project = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == "venv"
    requirements = (POLICY_DIR / "requirements.txt").read_text().lower()
    assert "pulumi-policy" in requirements and "pyyaml" in requirements


def test_constants_agree_with_the_program():
    assert lab_policies.PASSWORD_FILE == ide_container.PASSWORD_FILE
    assert ide_container.DOCKER_SOCKET in lab_policies.DOCKER_SOCKETS
    create = commands.kind_create("alice", 2)
    read = commands.kind_kubeconfig("alice")
    others = [
        commands.registry_hosts("alice", "/etc/x", "http://r:5000"),
        commands.manifest("alice", "https://example.com/m.yaml", "ab" * 32),
    ]
    assert any(marker in create for marker in lab_policies.KIND_CREATE_MARKERS)
    assert any(marker in read for marker in lab_policies.KUBECONFIG_MARKERS)
    for other in others:
        assert not any(marker in other for marker in lab_policies.KIND_CREATE_MARKERS + lab_policies.KUBECONFIG_MARKERS)


def test_secrets_are_unwrapped_before_a_validation_sees_them():
    """Why ide-password-from-secret cannot ask "is this a secret": the SDK's Analyze gives
    the plain value for a secret and for a plain string alike."""
    as_secret = as_analyzed({"uploads": [{"content": secret("pw")}]})
    as_plain = as_analyzed({"uploads": [{"content": "pw"}]})
    assert as_secret["uploads"][0]["content"] == as_plain["uploads"][0]["content"] == "pw"


# --- kubeconfig-commands-stay-secret ----------------------------------------------------------------------


def test_kubeconfig_read_as_the_program_makes_it_passes():
    args = resource_args(COMMAND, kubeconfig_command(), additional_secret_outputs=["stdout"])
    assert run(lab_policies.validate_kubeconfig_secret, args) == []


@pytest.mark.parametrize(
    "props, secret_outputs, expected",
    [
        (kubeconfig_command(logging="stdoutAndStderr"), ["stdout"], "logging is 'stdoutAndStderr'"),
        (kubeconfig_command(logging=None), ["stdout"], "logging is unset"),
        (kubeconfig_command(), [], "stdout is not among additional_secret_outputs"),
        (kubeconfig_command(), ["stderr"], "stdout is not among additional_secret_outputs"),
        (kubeconfig_command(addPreviousOutputInEnv=None), ["stdout"], "addPreviousOutputInEnv"),
        (kubeconfig_command(addPreviousOutputInEnv=True), ["stdout"], "addPreviousOutputInEnv"),
        (
            kubeconfig_command(create="kind get kubeconfig --name alice", logging="stdout"),
            ["stdout"],
            "logging is 'stdout'",
        ),
    ],
)
def test_leaky_kubeconfig_reads_are_violations(props, secret_outputs, expected):
    reports = run(lab_policies.validate_kubeconfig_secret, resource_args(COMMAND, props, additional_secret_outputs=secret_outputs))
    assert len(reports) == 1 and expected in reports.messages[0]


def test_all_three_leaks_are_reported_at_once():
    props = kubeconfig_command(logging=None, addPreviousOutputInEnv=None)
    assert len(run(lab_policies.validate_kubeconfig_secret, resource_args(COMMAND, props))) == 3


def test_commands_that_print_no_kubeconfig_are_left_alone():
    args = resource_args(COMMAND, kind_command())  # logs, no secret outputs: not a kubeconfig read
    assert run(lab_policies.validate_kubeconfig_secret, args) == []


# --- loopback-unless-opted-in -----------------------------------------------------------------------------


@pytest.mark.parametrize("ip", ["127.0.0.1", "127.3.2.1", "::1"])
def test_loopback_ports_pass(ip):
    assert run(lab_policies.validate_loopback, resource_args(CONTAINER, ide_container_props(ip=ip))) == []
    assert run(lab_policies.validate_loopback, resource_args(COMMAND, kind_command(stdin=kind_config(listen=ip)))) == []


@pytest.mark.parametrize("ip, shown", [("0.0.0.0", "0.0.0.0"), ("192.168.1.20", "192.168.1.20"), (None, "0.0.0.0"), ("localhost", "localhost")])
def test_container_ports_off_loopback_are_violations(ip, shown):
    reports = run(lab_policies.validate_loopback, resource_args(CONTAINER, ide_container_props(ip=ip), name="ide-container"))
    assert len(reports) == 1
    assert f"host port 8444 (container port 8443) on {shown}" in reports.messages[0]
    assert "allowRemoteAccess" in reports.messages[0]


@pytest.mark.parametrize(
    "stdin, expected",
    [
        (kind_config(listen="0.0.0.0"), "host port 80 (node port 80) on 0.0.0.0"),
        (kind_config(listen=None), "host port 80 (node port 80) on 0.0.0.0"),  # kind's default
        (kind_config(api="0.0.0.0"), "the API server (cluster-admin) on 0.0.0.0"),
        (kind_config(listen="10.0.0.5", api="10.0.0.5"), "on 10.0.0.5"),
    ],
)
def test_kind_ports_off_loopback_are_violations(stdin, expected):
    reports = run(lab_policies.validate_loopback, resource_args(COMMAND, kind_command(stdin=stdin)))
    assert reports and any(expected in message for message in reports.messages)


def test_kind_api_server_defaults_to_loopback():
    assert run(lab_policies.validate_loopback, resource_args(COMMAND, kind_command(stdin=kind_config(api=None)))) == []


def test_stack_config_opt_in_allows_remote_ports(monkeypatch):
    exposed = [resource_args(CONTAINER, ide_container_props(ip="0.0.0.0")), resource_args(COMMAND, kind_command(stdin=kind_config(listen="0.0.0.0", api="0.0.0.0")))]
    set_stack_config(monkeypatch, {"k8s-lab:allowRemoteAccess": "false", "k8s-lab:bindAddress": "0.0.0.0"})
    assert all(run(lab_policies.validate_loopback, args) for args in exposed)
    set_stack_config(monkeypatch, {"k8s-lab:allowRemoteAccess": "true", "k8s-lab:bindAddress": "0.0.0.0"})
    assert all(run(lab_policies.validate_loopback, args) == [] for args in exposed)


def test_policy_config_opt_in_allows_remote_ports():
    args = resource_args(CONTAINER, ide_container_props(ip="0.0.0.0"), config={"allowRemoteAccess": True})
    assert run(lab_policies.validate_loopback, args) == []
    args = resource_args(CONTAINER, ide_container_props(ip="0.0.0.0"), config={"allowRemoteAccess": False})
    assert run(lab_policies.validate_loopback, args)


def test_loopback_ignores_other_resources():
    assert run(lab_policies.validate_loopback, resource_args(COMMAND, kubeconfig_command())) == []
    assert run(lab_policies.validate_loopback, resource_args("docker:index/network:Network", {"name": "kind-alice"})) == []


def test_unknown_ports_are_left_to_the_sdk():
    """An address not known during preview raises, which the SDK reports as an advisory
    "can't run policy during preview" (not a pass, not a mandatory failure)."""
    with pytest.raises(UnknownValueError):
        run(lab_policies.validate_loopback, resource_args(CONTAINER, ide_container_props(ip=UNKNOWN_STRING_VALUE)))


# --- docker-socket-mount (advisory) -----------------------------------------------------------------------


def test_docker_socket_volume_gets_an_advisory():
    reports = run(lab_policies.validate_docker_socket, resource_args(CONTAINER, ide_container_props(socket=True), name="ide-container"))
    assert len(reports) == 1
    assert "root on the" in reports.messages[0] and "/var/run/docker.sock" in reports.messages[0]


def test_docker_socket_bind_mount_gets_an_advisory():
    props = ide_container_props(socket=False)
    props["mounts"] = [{"type": "bind", "source": "/run/docker.sock", "target": "/var/run/docker.sock"}]
    assert len(run(lab_policies.validate_docker_socket, resource_args(CONTAINER, props))) == 1


def test_no_docker_socket_no_advisory():
    assert run(lab_policies.validate_docker_socket, resource_args(CONTAINER, ide_container_props(socket=False))) == []


# --- ide-password-from-secret (stack policy) --------------------------------------------------------------


def test_generated_password_upload_passes():
    assert run(lab_policies.validate_ide_password, stack_of(ide_container_props())) == []


def test_generated_password_not_yet_known_in_preview_passes():
    stack = stack_of(ide_container_props(content=UNKNOWN_STRING_VALUE), generated=UNKNOWN_STRING_VALUE)
    assert run(lab_policies.validate_ide_password, stack) == []


def test_unknown_password_not_from_a_random_password_is_a_violation():
    stack = stack_of(ide_container_props(content=UNKNOWN_STRING_VALUE), generated=None)
    reports = run(lab_policies.validate_ide_password, stack)
    assert len(reports) == 1 and "does not come from a RandomPassword" in reports.messages[0]
    assert reports[0][1] == urn_of(CONTAINER, "ide-container")


def test_uploads_not_known_at_all_are_checked_later():
    container = ide_container_props()
    container["uploads"] = UNKNOWN_STRING_VALUE
    assert run(lab_policies.validate_ide_password, stack_of(container)) == []


def test_configured_password_passes(monkeypatch):
    set_stack_config(monkeypatch, {"k8s-lab:idePassword": CONFIGURED_PASSWORD})
    assert run(lab_policies.validate_ide_password, stack_of(ide_container_props(content=CONFIGURED_PASSWORD), generated=None)) == []


def test_configured_password_as_base64_passes(monkeypatch):
    set_stack_config(monkeypatch, {"k8s-lab:idePassword": CONFIGURED_PASSWORD})
    encoded = base64.b64encode(CONFIGURED_PASSWORD.encode()).decode()
    upload = {"file": ide_container.PASSWORD_FILE, "contentBase64": secret(encoded)}
    assert run(lab_policies.validate_ide_password, stack_of(ide_container_props(upload=upload), generated=None)) == []


@pytest.mark.parametrize(
    "upload, expected",
    [
        ({"file": ide_container.PASSWORD_FILE, "content": "hunter2-literal"}, "neither the stack's generated RandomPassword nor the idePassword config"),
        ({"file": ide_container.PASSWORD_FILE, "content": secret("")}, "is empty"),
        ({"file": ide_container.PASSWORD_FILE}, "is empty"),
        ({"file": ide_container.PASSWORD_FILE, "source": "/home/alice/password.txt"}, "from a host file"),
        ({"file": ide_container.PASSWORD_FILE, "contentBase64": "not base64!"}, "not valid base64"),
    ],
)
def test_password_uploads_not_from_a_secret_are_violations(monkeypatch, upload, expected):
    set_stack_config(monkeypatch, {"k8s-lab:idePassword": CONFIGURED_PASSWORD})
    reports = run(lab_policies.validate_ide_password, stack_of(ide_container_props(upload=upload)))
    assert len(reports) == 1 and expected in reports.messages[0]


@pytest.mark.parametrize("entry, name", [("PASSWORD=hunter2", "PASSWORD"), ("HASHED_PASSWORD=$argon2i$v=19$m=4096", "HASHED_PASSWORD")])
def test_password_in_the_environment_is_a_violation(entry, name):
    envs = ["TZ=Asia/Seoul", f"FILE__PASSWORD={ide_container.PASSWORD_FILE}", entry]
    reports = run(lab_policies.validate_ide_password, stack_of(ide_container_props(envs=envs)))
    assert len(reports) == 1 and f"sets {name} in its environment" in reports.messages[0]


def test_file_password_variables_are_not_password_values():
    envs = [f"FILE__PASSWORD={ide_container.PASSWORD_FILE}", "FILE__HASHED_PASSWORD=/x", "MY_PASSWORD_HINT=x"]
    assert run(lab_policies.validate_ide_password, stack_of(ide_container_props(envs=envs))) == []


def test_ide_reading_a_password_file_nobody_uploads_is_a_violation():
    container = ide_container_props()
    container["uploads"] = [u for u in container["uploads"] if u["file"] != ide_container.PASSWORD_FILE]
    reports = run(lab_policies.validate_ide_password, stack_of(container))
    assert len(reports) == 1 and "nothing uploads it" in reports.messages[0]


def test_containers_without_the_ide_password_are_left_alone():
    registry = {"name": "alice-registry", "image": "registry:2.8.3", "ports": [{"internal": 5000.0, "external": 5001.0, "ip": "127.0.0.1"}]}
    stack = StackValidationArgs([stack_resource(CONTAINER, registry, "registry-container")], None)
    assert run(lab_policies.validate_ide_password, stack) == []


# --- the program's real resource graph (under mocks) ------------------------------------------------------


def analyzed_resources(evaluation) -> tuple[list[ResourceValidationArgs], StackValidationArgs]:
    """What Analyze (per resource) and AnalyzeStack would get for an evaluated program."""
    per_resource = []
    stack_resources: dict[str, PolicyResource] = {}
    for recorded in evaluation.resources:
        if not recorded.custom:
            continue
        wire = to_wire(recorded.raw_inputs)
        per_resource.append(
            ResourceValidationArgs(
                recorded.type, as_analyzed(wire), recorded.urn, recorded.name, options(recorded.additional_secret_outputs), None, None, {}
            )
        )
        state = dict(wire)
        if recorded.type == RANDOM_PASSWORD:
            state["result"] = secret(GENERATED_PASSWORD)  # the output the state would hold
        stack_resources[recorded.urn] = PolicyResource(
            recorded.type, as_analyzed(state), recorded.urn, recorded.name, options(recorded.additional_secret_outputs), None, None, [], {}
        )
    for recorded in evaluation.resources:
        if recorded.urn in stack_resources:
            resource = stack_resources[recorded.urn]
            resource.dependencies = [stack_resources[u] for u in recorded.dependencies if u in stack_resources]
            resource.property_dependencies = {
                key: [stack_resources[u] for u in urns if u in stack_resources] for key, urns in recorded.property_dependencies.items()
            }
    return per_resource, StackValidationArgs(list(stack_resources.values()), None)


def all_reports(evaluation) -> dict[str, Reports]:
    per_resource, stack = analyzed_resources(evaluation)
    reports: dict[str, Reports] = {}
    for policy in lab_policies.policies():
        found = reports.setdefault(policy.name, Reports())
        if isinstance(policy, StackValidationPolicy):
            policy.validate(stack, found)
        else:
            for args in per_resource:
                policy.validate(args, found)
    return reports


LAB_ROOT = "/srv/k8s-lab"  # a preview makes no folder, so any machine's path will do


@pytest.fixture(scope="module")
def default_program():
    return evaluate({"workspaceRoot": LAB_ROOT}, preview=True)


def test_the_program_as_configured_by_default_passes_every_mandatory_policy(default_program):
    reports = all_reports(default_program)
    assert {name: found.messages for name, found in reports.items() if name != "docker-socket-mount"} == {
        "ide-password-from-secret": [],
        "kubeconfig-commands-stay-secret": [],
        "loopback-unless-opted-in": [],
        "pinned-manifests": [],
    }
    assert len(reports["docker-socket-mount"]) == 1  # mountDockerSocket defaults to true, as in the seed


@pytest.fixture(scope="module")
def maintained_program():
    return evaluate({"workspaceRoot": LAB_ROOT, "kubernetesVersion": "1.36"}, preview=True)


def test_the_maintained_version_row_passes_every_mandatory_policy(maintained_program):
    """The Gateway API way in: eleven pinned files and the lab's NginxProxy and Gateway."""
    reports = all_reports(maintained_program)
    assert all(found == [] for name, found in reports.items() if name != "docker-socket-mount"), reports
    per_resource, _ = analyzed_resources(maintained_program)
    manifests = [a for a in per_resource if lab_policies.MANIFEST_MARKER in lab_policies._create(a)]
    assert len(manifests) == 1 and lab_policies._create(manifests[0]).count("--sha256") == 11
    assert sorted(lab_policies.own_object_host_ports(manifests[0].props["stdin"])) == [80, 443]


def test_a_way_in_that_is_not_pinned_or_opens_other_host_ports_is_refused():
    pinned = f"python -m k8s_lab.kind_lifecycle manifest --name kim --url https://raw.githubusercontent.com/o/r/v1.0.0/x.yaml --sha256 {'a' * 64}"
    assert lab_policies.manifest_pin_problems(pinned) == []
    assert lab_policies.manifest_pin_problems(pinned.replace("/v1.0.0/", "/main/")) == [
        "https://raw.githubusercontent.com/o/r/main/x.yaml is not a file at a release tag"
    ]
    assert lab_policies.manifest_pin_problems(pinned.replace("a" * 64, "latest")) == ["'latest' is not a sha256"]
    assert lab_policies.manifest_pin_problems(pinned + " --url https://raw.githubusercontent.com/o/r/v1.0.0/y.yaml") == ["2 --url for 1 --sha256"]
    stdin = "kind: NginxProxy\nspec:\n  hostPorts:\n  - port: 8080\n    containerPort: 80\n"
    found = Reports()
    lab_policies.validate_pinned_manifests(resource_args(COMMAND, {"create": pinned, "stdin": stdin}), found)
    assert found.messages == ["the lab's own objects open hostPort 8080 on a node; only (80, 443) are published (by kind)"]


def test_the_program_graph_is_what_the_policies_look_for(default_program):
    """Guards against checking nothing: the policies do find their resources."""
    per_resource, stack = analyzed_resources(default_program)
    assert sum(lab_policies.is_kind_create(args) for args in per_resource) == 1
    assert sum(lab_policies.is_kubeconfig_read(args) for args in per_resource) == 1
    ide = next(r for r in stack.resources if r.resource_type == CONTAINER and r.props["name"].endswith("-ide"))
    assert [dep.resource_type for dep in ide.property_dependencies["uploads"]].count(RANDOM_PASSWORD) == 1


def test_the_program_with_a_configured_secret_password_passes(monkeypatch):
    evaluation = evaluate({"workspaceRoot": LAB_ROOT, "idePassword": CONFIGURED_PASSWORD, "mountDockerSocket": "false"}, preview=True)
    set_stack_config(monkeypatch, {"k8s-lab:idePassword": CONFIGURED_PASSWORD})
    assert all(found == [] for found in all_reports(evaluation).values())
    monkeypatch.delenv("PULUMI_CONFIG")  # the same upload, not traceable to the config
    assert all_reports(evaluation)["ide-password-from-secret"].messages


def test_the_program_published_beyond_loopback_needs_the_opt_in(monkeypatch):
    evaluation = evaluate({"workspaceRoot": LAB_ROOT, "bindAddress": "0.0.0.0", "allowRemoteAccess": "true"}, preview=True)
    found = all_reports(evaluation)["loopback-unless-opted-in"].messages
    assert any(message.startswith("ide-container publishes host port 8444") for message in found)
    # The registry stays on loopback whatever bindAddress says (k8s_lab/exposure.py, issue 30).
    assert not any(message.startswith("registry-container publishes") for message in found)
    assert any(message.startswith("cluster-cluster publishes nodes[0] host port 80") for message in found)
    set_stack_config(monkeypatch, {"k8s-lab:allowRemoteAccess": "true", "k8s-lab:bindAddress": "0.0.0.0"})
    assert all_reports(evaluation)["loopback-unless-opted-in"] == []


# --- through the SDK's analyzer, as the engine calls it ---------------------------------------------------


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


@pytest.fixture
def analyzer():
    return _PolicyAnalyzerServicer(lab_policies.PACK_NAME, "0.1.0", lab_policies.policies(), EnforcementLevel.ADVISORY)


def analyze(analyzer, type_: str, props: dict[str, Any], secret_outputs: list[str] | None = None, name: str = "r"):
    request = proto.AnalyzeRequest(
        type=type_,
        name=name,
        urn=urn_of(type_, name),
        properties=struct(props),
        options=proto.AnalyzerResourceOptions(additionalSecretOutputs=secret_outputs or []),
    )
    return [(d.policyName, d.enforcementLevel, d.message) for d in analyzer.Analyze(request, None).diagnostics]


def test_analyzer_passes_resource_options_to_the_kubeconfig_policy(analyzer):
    assert analyze(analyzer, COMMAND, kubeconfig_command(), ["stdout"]) == []
    diagnostics = analyze(analyzer, COMMAND, kubeconfig_command(), [])
    assert [(name, level) for name, level, _ in diagnostics] == [("kubeconfig-commands-stay-secret", proto.MANDATORY)]


def test_analyzer_reports_exposed_ports_as_mandatory_and_the_socket_as_advisory(analyzer):
    diagnostics = analyze(analyzer, CONTAINER, ide_container_props(ip="0.0.0.0", content="pw"))
    assert sorted((name, level) for name, level, _ in diagnostics) == [
        ("docker-socket-mount", proto.ADVISORY),
        ("loopback-unless-opted-in", proto.MANDATORY),
    ]


def test_analyzer_hands_policy_config_to_the_loopback_policy(analyzer):
    config = proto.PolicyConfig(enforcementLevel=proto.MANDATORY, properties=struct({"allowRemoteAccess": True}))
    analyzer.Configure(proto.ConfigureAnalyzerRequest(policyConfig={"loopback-unless-opted-in": config}), None)
    diagnostics = analyze(analyzer, CONTAINER, ide_container_props(ip="0.0.0.0", content="pw", socket=False))
    assert diagnostics == []


def test_analyzer_runs_the_password_policy_on_a_preview_stack(analyzer):
    """A first preview: the generated password and the kubeconfig are unknown; the policy
    still runs (no "can't run during preview" advisory) and finds nothing wrong."""
    password_urn = urn_of(RANDOM_PASSWORD, "ide-password-generated")
    container_urn = urn_of(CONTAINER, "ide-container")
    resources = [
        proto.AnalyzerResource(
            type=RANDOM_PASSWORD, name="ide-password-generated", urn=password_urn,
            properties=struct({"length": 24, "result": secret(UNKNOWN_STRING_VALUE)}),
        ),
        proto.AnalyzerResource(
            type=CONTAINER, name="ide-container", urn=container_urn,
            properties=struct(ide_container_props(content=UNKNOWN_STRING_VALUE)),
            dependencies=[password_urn],
            propertyDependencies={"uploads": proto.AnalyzerPropertyDependencies(urns=[password_urn])},
        ),
    ]
    response = analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=resources), None)
    assert list(response.diagnostics) == []
    resources[1].propertyDependencies.clear()
    del resources[1].dependencies[:]
    response = analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=resources), None)
    assert [(d.policyName, d.enforcementLevel, d.urn) for d in response.diagnostics] == [
        ("ide-password-from-secret", proto.MANDATORY, container_urn)
    ]


# --- the pack as Pulumi starts it -------------------------------------------------------------------------


def test_the_pack_starts_and_describes_its_policies():
    """As pulumi-analyzer-policy-python runs it: `python -u -m pulumi.policy <engine> .` in
    policy/. It prints its port and serves until stopped; ask it what it enforces."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
        cwd=POLICY_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line: list[str] = []
        reader = threading.Thread(target=lambda: first_line.append(process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout=60)
        assert first_line and first_line[0].strip().isdigit(), (first_line, process.poll())
        with grpc.insecure_channel(f"127.0.0.1:{first_line[0].strip()}") as channel:
            info = analyzer_pb2_grpc.AnalyzerStub(channel).GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
        assert info.name == lab_policies.PACK_NAME
        assert {p.name: p.enforcementLevel for p in info.policies} == {
            "ide-password-from-secret": proto.MANDATORY,
            "kubeconfig-commands-stay-secret": proto.MANDATORY,
            "loopback-unless-opted-in": proto.MANDATORY,
            "pinned-manifests": proto.MANDATORY,
            "docker-socket-mount": proto.ADVISORY,
        }
    finally:
        process.kill()
        process.communicate(timeout=30)
