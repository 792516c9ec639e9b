"""The rules in k8s_lab/ (safe during evaluation) import nothing that acts: no process, no
socket, no HTTP, no Docker or Pulumi client, and none of k8s_lab's action modules."""

import ast

import pytest

import k8s_lab
from conftest import ROOT

ACTING = {"subprocess", "socket", "http", "urllib.request", "docker", "pulumi", "asyncio", "threading.Thread"}


def imported(module: str) -> set[str]:
    tree = ast.parse((ROOT / "k8s_lab" / f"{module}.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_every_module_is_listed_as_one_kind():
    modules = {p.stem for p in (ROOT / "k8s_lab").glob("*.py")} - {"__init__"}
    assert sorted(modules) == sorted(set(k8s_lab.RULES) | set(k8s_lab.ACTIONS))
    assert not set(k8s_lab.RULES) & set(k8s_lab.ACTIONS)


@pytest.mark.parametrize("module", k8s_lab.RULES)
def test_a_rule_imports_nothing_that_acts(module):
    names = imported(module)
    acting = {n for n in names if n in ACTING or n.split(".")[0] in {"subprocess", "socket", "docker", "pulumi"}}
    actions = {n for n in names if n.startswith("k8s_lab.") and n.split(".")[1] in k8s_lab.ACTIONS}
    assert not acting and not actions, (module, acting | actions)


def test_the_check_can_fail():
    assert "subprocess" in imported("runner") and "k8s_lab.kind_lifecycle" in imported("drift")
