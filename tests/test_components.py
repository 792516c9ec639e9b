"""Each component on its own under mocks, and the house rules every component follows."""

import ast
from pathlib import Path

import pulumi
import pytest
import yaml

from components import (
    IdeContainer,
    IdeContainerArgs,
    KindCluster,
    KindClusterArgs,
    LabNetwork,
    LabNetworkArgs,
    Workspace,
    WorkspaceArgs,
)
from k8s_lab import workspace
from k8s_lab.config import DEFAULT_NODE_IMAGE
from k8s_lab.names import LabNames
from k8s_lab.ports import ports_for_slot
from lab_mocks import run_under_mocks

COMPONENTS_DIR = Path(__file__).resolve().parent.parent / "components"
NAMES = LabNames("kim")


def component_classes():
    for path in sorted(COMPONENTS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and any(
                ast.unparse(base) in ("pulumi.ComponentResource", "ComponentResource") for base in node.bases
            ):
                yield path, node


def constructor(cls: ast.ClassDef) -> ast.FunctionDef:
    return next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")


def ends_with_register_outputs(function: ast.FunctionDef) -> bool:
    last = function.body[-1]
    return (
        isinstance(last, ast.Expr)
        and isinstance(last.value, ast.Call)
        and ast.unparse(last.value.func) == "self.register_outputs"
    )


def test_there_is_a_component_per_concern():
    names = sorted(cls.name for _, cls in component_classes())
    assert names == [
        "ClusterBootstrap",
        "GatewayApi",
        "IdeContainer",
        "IdeImage",
        "IdePassword",
        "IngressNginx",
        "KindCluster",
        "LabNetwork",
        "LocalRegistry",
        "Workspace",
    ]


@pytest.mark.parametrize("path, cls", list(component_classes()), ids=lambda v: getattr(v, "name", ""))
def test_component_constructor_ends_with_register_outputs(path, cls):
    assert ends_with_register_outputs(constructor(cls)), f"{path.name}: {cls.name}.__init__ must end with self.register_outputs(...)"


@pytest.mark.parametrize("path, cls", list(component_classes()), ids=lambda v: getattr(v, "name", ""))
def test_component_type_token_and_args_dataclass(path, cls):
    source = ast.unparse(constructor(cls))
    assert f"'k8s-lab:index:{cls.name}'" in source
    args_annotation = constructor(cls).args.args[2].annotation
    assert ast.unparse(args_annotation) == f"{cls.name}Args"


def test_register_outputs_check_can_fail():
    bad = ast.parse(
        "class C(pulumi.ComponentResource):\n"
        "    def __init__(self, name, args, opts=None):\n"
        "        self.register_outputs({})\n"
        "        self.late = 1\n"
    ).body[0]
    assert not ends_with_register_outputs(constructor(bad))


def test_workspace_alone(tmp_path):
    paths = workspace.workspace_paths(str(tmp_path), "kim")
    lab = run_under_mocks(lambda: Workspace("ws", WorkspaceArgs(names=NAMES, paths=paths)))
    component = lab.one("k8s-lab:index:Workspace")
    volumes = lab.children_of(component)
    assert sorted(v.inputs["name"] for v in volumes) == ["kim-src", "kim-vscode"]
    assert {v.inputs["driverOpts"]["device"] for v in volumes} == {paths.src, paths.vscode}


def test_network_alone():
    lab = run_under_mocks(lambda: LabNetwork("net", LabNetworkArgs(names=NAMES)))
    (network,) = lab.children_of(lab.one("k8s-lab:index:LabNetwork"))
    assert network.inputs["name"] == "kind-kim" and network.inputs["driver"] == "bridge"


def test_cluster_alone_accepts_a_plain_network_name():
    def program():
        cluster = KindCluster(
            "c",
            KindClusterArgs(
                names=NAMES,
                network_name="kind-kim",
                network_id="net-123",
                node_image=DEFAULT_NODE_IMAGE,
                workers=0,
                bind_address="127.0.0.1",
                ports=ports_for_slot(1),
                namespace="kim",
            ),
        )
        pulumi.export("kubeconfig", cluster.kubeconfig)
        pulumi.export("name", cluster.name)

    lab = run_under_mocks(program)
    commands = lab.children_of(lab.one("k8s-lab:index:KindCluster"))
    assert sorted(c.name for c in commands) == ["c-cluster", "c-kubeconfig"]
    config = yaml.safe_load(lab.one("command:local:Command", "c-cluster").inputs["stdin"])
    assert [n["role"] for n in config["nodes"]] == ["control-plane"]
    assert len(config["containerdConfigPatches"]) == 1  # registry or not: toggling it keeps the cluster
    assert lab.exports["kubeconfig"].secret
    assert lab.exports["name"].value == "kim"


def test_ide_container_alone_keeps_its_secrets_secret():
    def program():
        IdeContainer(
            "ide",
            IdeContainerArgs(
                names=NAMES,
                image="img:1",
                network_name="kind-kim",
                src_volume="kim-src",
                vscode_volume="kim-vscode",
                password="plain-input-password",  # even a plain input is uploaded as a secret
                kubeconfig="apiVersion: v1\n",
                ports=ports_for_slot(0),
                bind_address="127.0.0.1",
                timezone="UTC",
                extra_env=(),
                extra_env_secret=False,
                mount_docker_socket=True,
            ),
        )

    lab = run_under_mocks(program)
    container = lab.one("docker:index/container:Container")
    assert container.input_is_secret("uploads")
    assert "plain-input-password" not in str(container.raw_inputs.get("envs"))
    assert container.delete_before_replace
