"""Kubeconfig rewriting, as text: kind's key order and block style kept, sparse entries
filled in, and every unusable input refused with what was found."""

import pytest

from k8s_lab.kubeconfig import KubeconfigError, rewrite_server, set_namespace
from k8s_lab.names import student_name_problem

# Keys deliberately out of alphabetical order, as kind writes them.
KIND = """\
clusters:
- name: kind-kim
  cluster:
    server: https://127.0.0.1:6550
    certificate-authority-data: Q0E=
contexts:
- name: kind-kim
  context:
    user: kind-kim
    cluster: kind-kim
users:
- name: kind-kim
  user:
    token: t
"""


def test_rewrite_keeps_kinds_order_and_block_style():
    assert rewrite_server(KIND, "kind-kim", "https://kim-control-plane:6443") == KIND.replace(
        "https://127.0.0.1:6550", "https://kim-control-plane:6443"
    )


def test_set_namespace_keeps_kinds_order_and_block_style():
    assert set_namespace(KIND, "kind-kim", "kim") == KIND.replace("    cluster: kind-kim\n", "    cluster: kind-kim\n    namespace: kim\n")


def test_a_cluster_or_context_without_details_gets_them():
    assert rewrite_server("clusters:\n- name: a\n", "a", "https://x:1") == "clusters:\n- name: a\n  cluster:\n    server: https://x:1\n"
    assert set_namespace("contexts:\n- name: a\n", "a", "n") == "contexts:\n- name: a\n  context:\n    namespace: n\n"


@pytest.mark.parametrize(
    "text, message",
    [
        ("apiVersion: v1\n", "kubeconfig has no clusters list"),
        ("clusters: {}\n", "kubeconfig has no clusters list"),
        ("clusters:\n- name: b\n- name: c\n- x\n", "kubeconfig has no cluster named 'a' (found ['b', 'c'])"),
        ("clusters:\n- name: a\n  cluster: x\n", "cluster 'a' has no cluster details"),
    ],
)
def test_unusable_clusters_are_refused_with_what_was_found(text, message):
    with pytest.raises(KubeconfigError) as caught:
        rewrite_server(text, "a", "https://x:1")
    assert str(caught.value) == message


@pytest.mark.parametrize("text", ["- a list\n", "contexts:\n- name: b\n", "contexts: \n"])
def test_a_missing_context_is_refused_by_name(text):
    with pytest.raises(KubeconfigError) as caught:
        set_namespace(text, "a", "n")
    assert str(caught.value) == "kubeconfig has no context named 'a'"


def test_an_empty_student_name_says_so():
    assert student_name_problem("") == "it is empty"
