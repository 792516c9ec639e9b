"""k8s_lab/exposure.py's table against every stack the program makes: each host port a
container publishes and each kind `extraPortMappings`/`apiServerAddress` is on the address the
table gives for that bindAddress and Docker host, with the table's protection; README and
README.ko show the table as generated."""

from __future__ import annotations

import pytest
import yaml

from conftest import ROOT
from k8s_lab import exposure
from k8s_lab.config import ConfigError
from k8s_lab.ports import ports_for_slot, slot_port_owner
from lab_mocks import evaluate

SLOT = 3
LOCAL, REMOTE = "", "ssh://teacher@lab2"
BINDS = ("127.0.0.1", "192.168.0.10", "0.0.0.0")
COMBINATIONS = [(bind, host) for bind in BINDS for host in (LOCAL, REMOTE) if (bind, host) != ("127.0.0.1", REMOTE)]
# Defaults when a stack leaves the address out: pulumi-docker's `ports.ip` is "0.0.0.0"
# (terraform-provider-docker resource_docker_container.go), kind's listenAddress is 0.0.0.0
# and its apiServerAddress 127.0.0.1 (kind pkg/internal/apis/config/default.go).
DOCKER_DEFAULT_IP, KIND_DEFAULT_LISTEN, KIND_DEFAULT_API = "0.0.0.0", "0.0.0.0", "127.0.0.1"


def stack_config(workspace_root: str, bind: str, host: str, **extra: str) -> dict[str, str]:
    config = {"workspaceRoot": workspace_root, "slot": str(SLOT), "bindAddress": bind, "dockerHost": host, **extra}
    if not exposure.is_loopback(bind):
        config["allowRemoteAccess"] = "true"
    return config


def container_protection(inputs: dict, internal: int) -> str:
    """What the stack itself puts in front of a container port."""
    envs = inputs.get("envs") or []
    if internal == 8443 and "FILE__PASSWORD=/run/secrets/code-server-password" in envs:
        https = any(env.startswith("CODE_SERVER_CONFIG=") for env in envs)
        return f"{exposure.PASSWORD}, HTTPS" if https else exposure.PASSWORD
    if any(env.startswith("REGISTRY_AUTH") for env in envs):
        return exposure.PASSWORD
    return exposure.NONE


def api_protection(kind: dict) -> str:
    """kind's API server takes client certificates unless a patch opens it."""
    patches = " ".join(kind["nodes"][0].get("kubeadmConfigPatches", []))
    opened = "anonymous-auth" in patches or "AlwaysAllow" in patches
    return exposure.NONE if opened else exposure.CLIENT_CERT


def published(lab) -> list[tuple[int, str, str]]:
    """(host port, address, protection) of everything the stack publishes on its host."""
    found = []
    for container in lab.by_type("docker:index/container:Container"):
        for port in container.inputs.get("ports") or []:
            protection = container_protection(container.inputs, port["internal"])
            found.append((int(port["external"]), port.get("ip", DOCKER_DEFAULT_IP), protection))
    (cluster,) = [r for r in lab.by_type("command:local:Command") if r.name == "cluster-cluster"]
    kind = yaml.safe_load(cluster.inputs["stdin"])
    for node in kind["nodes"]:
        for mapping in node.get("extraPortMappings", []):
            found.append((int(mapping["hostPort"]), mapping.get("listenAddress", KIND_DEFAULT_LISTEN), exposure.NONE))
    networking = kind["networking"]
    found.append((int(networking["apiServerPort"]), networking.get("apiServerAddress", KIND_DEFAULT_API), api_protection(kind)))
    return found


def auth(protection: str) -> str:
    """What a stack can show of a protection: "meant to be shown" is the table's intent."""
    return exposure.NONE if protection == exposure.SHOWN else protection


def mismatches(lab, bind: str, remote: bool) -> list[str]:
    wrong, seen = [], []
    for host_port, address, protection in published(lab):
        owner = slot_port_owner(host_port)
        if owner is None or owner[0] != SLOT:
            wrong.append(f"port {host_port} is no slot-{SLOT} port of the table")
            continue
        purpose = owner[1]
        seen.append(purpose)
        want = (exposure.address(purpose, bind, remote), auth(exposure.protection(purpose, bind, remote)))
        if (address, protection) != want:
            wrong.append(f"{purpose} ({host_port}) is published on {address} with {protection}; the table says {want[0]} with {want[1]}")
    wrong += [f"{purpose} is published {seen.count(purpose)} times" for purpose in set(seen) if seen.count(purpose) > 1]
    return wrong


@pytest.mark.parametrize(("bind", "host"), COMBINATIONS)
def test_every_published_port_is_where_the_table_says_with_its_protection(workspace_root, bind, host):
    lab = evaluate(stack_config(workspace_root, bind, host), stack="kim")
    assert mismatches(lab, bind, host == REMOTE) == []
    # Every row of the table is published by this stack (registry and ingress on by default).
    purposes = {slot_port_owner(port)[1] for port, _, _ in published(lab)}  # type: ignore[index]
    assert purposes == set(exposure.BY_PURPOSE)


def test_without_registry_there_is_no_registry_port(workspace_root):
    lab = evaluate(stack_config(workspace_root, "0.0.0.0", LOCAL, registry="false"), stack="kim")
    assert mismatches(lab, "0.0.0.0", False) == []
    assert ports_for_slot(SLOT).registry not in [port for port, _, _ in published(lab)]


def test_a_docker_host_on_loopback_is_refused_so_the_table_has_no_column_for_it(workspace_root):
    with pytest.raises(ConfigError, match="bindAddress"):
        evaluate(stack_config(workspace_root, "127.0.0.1", REMOTE), stack="kim")
    assert ("127.0.0.1", True) not in exposure.COMBINATIONS


def test_an_open_labs_registry_and_api_server_stay_on_loopback_on_this_machines_docker():
    """The issue's two ports, said plainly: on 0.0.0.0 with this machine's Docker."""
    assert exposure.address("registry", "0.0.0.0", remote=False) == "127.0.0.1"
    assert exposure.address("api", "0.0.0.0", remote=False) == "127.0.0.1"
    assert exposure.address("registry", "0.0.0.0", remote=True) == "127.0.0.1"  # pushed by lab2's own daemon
    assert exposure.address("api", "0.0.0.0", remote=True) == "0.0.0.0"  # pulumi-kubernetes must reach it


def test_nothing_unauthenticated_goes_beyond_loopback_unless_it_is_meant_to_be_shown():
    assert exposure.unprotected_beyond_loopback() == []


def test_the_rule_and_the_check_can_fail(workspace_root, monkeypatch):
    """A table that opened the registry breaks the rule; a stack that disagrees with the table
    is a mismatch (the stack was made before the table moved). The components read the table,
    so the stack check catches a component that publishes around it (shown red in the
    report of issue 30: the registry, then the API server, published on the bind address)."""
    lab = evaluate(stack_config(workspace_root, "0.0.0.0", LOCAL), stack="kim")  # made with the real table
    opened = exposure.Published(**{**exposure.BY_PURPOSE["registry"].__dict__, "local": exposure.BIND})
    monkeypatch.setattr(exposure, "TABLE", tuple(opened if r.purpose == "registry" else r for r in exposure.TABLE))
    monkeypatch.setitem(exposure.BY_PURPOSE, "registry", opened)
    assert exposure.unprotected_beyond_loopback() == ["registry"]
    assert mismatches(lab, "0.0.0.0", False) == [
        f"registry ({ports_for_slot(SLOT).registry}) is published on 127.0.0.1 with none; the table says 0.0.0.0 with none"
    ]


@pytest.mark.parametrize(("readme", "lang"), [("README.md", "en"), ("README.ko.md", "ko")])
def test_readme_shows_the_table_as_generated(readme, lang):
    text = (ROOT / readme).read_text(encoding="utf-8")
    assert exposure.readme_table(lang) in text, f"regenerate: python -m k8s_lab.exposure --readme{'-ko' if lang == 'ko' else ''}"


def test_the_generator_prints_the_tables(capsys):
    assert exposure.main(["--readme"]) == 0 and capsys.readouterr().out == exposure.readme_table("en")
    assert exposure.main(["--readme-ko"]) == 0 and capsys.readouterr().out == exposure.readme_table("ko")
    assert exposure.main([]) == 2 and "usage" in capsys.readouterr().err
