"""Config limits: every reserved name is refused by name, and every edge value is accepted.

The lists here are written out rather than read from k8s_lab.config, so dropping a name
from the module's set fails a test instead of shrinking it."""

import json

import pytest

from k8s_lab.config import ConfigError, parse_lab_config

# What the lab sets on the IDE itself: overriding any of these changes its password, owner
# or start folder behind the lab's back.
LAB_IDE_ENV = ["PUID", "PGID", "TZ", "DEFAULT_WORKSPACE", "PASSWORD", "HASHED_PASSWORD", "FILE__PASSWORD", "FILE__HASHED_PASSWORD"]
# Namespaces Kubernetes or the ingress controller own.
NOT_THE_STUDENTS = ["default", "kube-system", "kube-public", "kube-node-lease", "ingress-nginx", "nginx-gateway", "local-path-storage"]


def parse(workspace_root, **raw):
    return parse_lab_config({"workspaceRoot": workspace_root, **raw}, stack="kim")


def problem(workspace_root, **raw) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(workspace_root, **raw)
    assert [p.key for p in caught.value.problems] == list(raw)
    return str(caught.value)


@pytest.mark.parametrize("name", LAB_IDE_ENV)
def test_every_variable_the_lab_sets_is_refused_in_ide_env(workspace_root, name):
    message = problem(workspace_root, ideEnv=json.dumps([f"{name}=x"]))
    assert f"{name} is set by the lab itself" in message and f"'{name}=x'" in message


@pytest.mark.parametrize("namespace", NOT_THE_STUDENTS)
def test_namespaces_of_kubernetes_and_ingress_are_refused(workspace_root, namespace):
    message = problem(workspace_root, namespace=namespace)
    assert f"namespace = {namespace!r}" in message and "belongs to Kubernetes or the lab" in message


def test_a_similar_namespace_of_the_student_is_fine(workspace_root):
    assert parse(workspace_root, namespace="kube-kim").namespace == "kube-kim"


def test_edge_values_are_accepted(workspace_root):
    cfg = parse(workspace_root, slot="570", idePassword="8-chars!", workers="9")
    assert (cfg.slot, cfg.ide_password, cfg.workers) == (570, "8-chars!", 9)
    assert cfg.ports.api == 6550 + 100 * 570  # the highest port still fits
    low = parse(workspace_root, slot="0", workers="0")
    assert (low.slot, low.workers) == (0, 0)


def test_one_past_each_edge_is_refused(workspace_root):
    assert "shorter than 8 characters" in problem(workspace_root, idePassword="7-chars")
    assert "outside 0..9" in problem(workspace_root, workers="10")
    assert "past 65535" in problem(workspace_root, slot="571")
