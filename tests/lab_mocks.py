"""Evaluate the k8s-lab program under Pulumi's mocks and record its resource graph.

Pulumi's MockMonitor hands mocks only a resource's inputs; the recording monitor below
also keeps what the engine would receive with them (parent, dependencies, per-property
dependencies, delete_before_replace, additional_secret_outputs), so tests can assert
on the real graph, explicit and implicit edges alike.
"""

from __future__ import annotations

import runpy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from google.protobuf import json_format

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.sync_await import _sync_await

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "k8s-lab"

GENERATED_PASSWORD = "Gen3ratedPassw0rdForTests"
FAKE_IMAGE_ID = "sha256:" + "ab" * 32


def fake_kind_kubeconfig(cluster: str, api_port: int) -> str:
    """What `kind get kubeconfig --name <cluster>` prints (credentials shortened)."""
    return f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTi1DQS0tLS0t
    server: https://127.0.0.1:{api_port}
  name: kind-{cluster}
contexts:
- context:
    cluster: kind-{cluster}
    user: kind-{cluster}
  name: kind-{cluster}
current-context: kind-{cluster}
kind: Config
preferences: {{}}
users:
- name: kind-{cluster}
  user:
    client-certificate-data: LS0tLS1DTElFTlQtQ0VSVC0tLS0t
    client-key-data: LS0tLS1QUklWQVRFLUtFWS0tLS0tU0VDUkVU
"""


def unwrap(value: Any) -> Any:
    """Inputs as plain data, secrets unwrapped (recursively)."""
    if rpc.is_rpc_secret(value):
        return unwrap(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def contains_secret(value: Any) -> bool:
    if rpc.is_rpc_secret(value):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret(v) for v in value)
    return False


@dataclass
class Recorded:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    raw_inputs: dict[str, Any]
    dependencies: set[str]
    property_dependencies: dict[str, set[str]]
    delete_before_replace: bool
    additional_secret_outputs: list[str]
    provider: str = ""  # "<urn>::<id>" of an explicit provider
    retain_on_delete: bool = False
    deleted_with: str = ""  # URN of the resource whose deletion skips this one's
    replace_on_changes: list[str] = field(default_factory=list)
    ignore_changes: list[str] = field(default_factory=list)
    replacement_trigger: Any = None  # the option's value as plain data; None: no trigger

    @property
    def inputs(self) -> dict[str, Any]:
        return unwrap(self.raw_inputs)

    def input_is_secret(self, key: str) -> bool:
        return contains_secret(self.raw_inputs.get(key))


class LabMocks(pulumi.runtime.Mocks):
    """Stands in for the providers: echoes inputs and fills the outputs kind, Docker and
    random would compute."""

    def __init__(self, api_port: int = 6550):
        self.api_port = api_port
        self.calls: list[pulumi_mocks.MockCallArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = dict(args.inputs)
        if args.typ == "command:local:Command" and " k8s_lab.kind_lifecycle kubeconfig " in args.inputs.get("create", ""):
            cluster = args.inputs["create"].split()[-1]
            outputs["stdout"] = fake_kind_kubeconfig(cluster, api_port=self.api_port)
        elif args.typ == "command:local:Command":
            outputs["stdout"] = "control-plane-container-id"
        elif args.typ == "docker:index/remoteImage:RemoteImage":
            outputs["imageId"] = FAKE_IMAGE_ID
        elif args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = GENERATED_PASSWORD
        return f"{args.name}-id", outputs

    def call(self, args: pulumi_mocks.MockCallArgs):
        self.calls.append(args)
        raise AssertionError(f"unexpected invoke {args.token}")


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.recorded: list[Recorded] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.recorded.append(
                Recorded(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    custom=request.custom,
                    raw_inputs=rpc.deserialize_properties(request.object, keep_unknowns=True),
                    dependencies=set(request.dependencies),
                    property_dependencies={k: set(v.urns) for k, v in request.propertyDependencies.items()},
                    delete_before_replace=request.deleteBeforeReplace,
                    additional_secret_outputs=list(request.additionalSecretOutputs),
                    provider=request.provider,
                    retain_on_delete=bool(request.retainOnDelete),
                    deleted_with=request.deletedWith,
                    replace_on_changes=list(request.replaceOnChanges),
                    ignore_changes=list(request.ignoreChanges),
                    replacement_trigger=(
                        json_format.MessageToDict(request.replacement_trigger) if request.HasField("replacement_trigger") else None
                    ),
                )
            )
        return response


@dataclass
class Export:
    value: Any
    secret: bool


@dataclass
class Evaluation:
    resources: list[Recorded]
    exports: dict[str, Export]
    invokes: list[pulumi_mocks.MockCallArgs] = field(default_factory=list)

    def by_type(self, type_: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Recorded:
        found = [r for r in self.by_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Recorded:
        return next(r for r in self.resources if r.urn == urn)

    def direct_dependencies(self, resource: Recorded) -> set[str]:
        """What the engine waits for before `resource`: its dependencies and its provider."""
        deps = set(resource.dependencies)
        if resource.provider:
            deps.add(resource.provider.rsplit("::", 1)[0])
        for urns in resource.property_dependencies.values():
            deps |= urns
        return deps

    def depends_on(self, resource: Recorded, target: Recorded) -> bool:
        """Whether `resource` waits for `target`, directly or through other resources."""
        seen: set[str] = set()
        frontier = list(self.direct_dependencies(resource))
        while frontier:
            urn = frontier.pop()
            if urn == target.urn:
                return True
            if urn in seen:
                continue
            seen.add(urn)
            known = [r for r in self.resources if r.urn == urn]
            if known:
                frontier.extend(self.direct_dependencies(known[0]))
        return False

    def children_of(self, component: Recorded) -> list[Recorded]:
        return [r for r in self.resources if r.parent == component.urn]


def run_under_mocks(
    program: Callable[[], None],
    config: Mapping[str, Any] | None = None,
    *,
    stack: str = "alice",
    secret_keys: Iterable[str] = ("idePassword",),
    preview: bool = False,
    mocks: LabMocks | None = None,
    presence: Any = None,
) -> Evaluation:
    """Run `program` once under mocks; `presence` is what k8s_lab.drift's look at Docker
    finds (default: nothing, as before a first `up`). `config` keys are given without the project prefix;
    values are strings as Pulumi hands them to a program (lists as JSON)."""
    mocks = mocks or LabMocks()
    monitor = RecordingMonitor(mocks)
    settings.ROOT.set(None)  # a new root stack for every evaluation
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    full_config = {f"{PROJECT}:{key}": value for key, value in (config or {}).items()}
    pulumi.runtime.set_all_config(full_config, [f"{PROJECT}:{key}" for key in secret_keys])

    exported: dict[str, Any] = {}

    def run():
        with mock.patch.object(pulumi, "export", lambda name, value: exported.__setitem__(name, value)), mock.patch(
            "k8s_lab.drift.probe", lambda *args, **kwargs: presence
        ):
            program()
        return pulumi.Output.from_input(True)

    pulumi.runtime.test(run)()

    async def resolve() -> dict[str, Export]:
        resolved = {}
        for name, value in exported.items():
            output = pulumi.Output.from_input(value)
            resolved[name] = Export(value=await output.future(), secret=await output.is_secret())
        return resolved

    exports = _sync_await(resolve())
    return Evaluation(resources=monitor.recorded, exports=exports, invokes=mocks.calls)


def evaluate(config: Mapping[str, Any] | None = None, **kwargs: Any) -> Evaluation:
    """Run the k8s-lab program (__main__.py) once under mocks."""
    return run_under_mocks(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"), config, **kwargs)
