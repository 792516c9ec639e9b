import pytest
import yaml

from k8s_lab.kubeconfig import KubeconfigError, rewrite_server
from lab_mocks import fake_kind_kubeconfig


def test_rewrites_only_the_server_of_the_named_cluster():
    original = fake_kind_kubeconfig("kim", 6550)
    rewritten = rewrite_server(original, "kind-kim", "https://kim-control-plane:6443")
    before, after = yaml.safe_load(original), yaml.safe_load(rewritten)
    assert after["clusters"][0]["cluster"]["server"] == "https://kim-control-plane:6443"
    after["clusters"][0]["cluster"]["server"] = before["clusters"][0]["cluster"]["server"]
    assert after == before  # credentials, contexts and users untouched


def test_other_clusters_are_left_alone():
    config = yaml.safe_load(fake_kind_kubeconfig("kim", 6550))
    config["clusters"].append({"name": "other", "cluster": {"server": "https://10.0.0.1:6443"}})
    rewritten = yaml.safe_load(rewrite_server(yaml.safe_dump(config), "kind-kim", "https://x:6443"))
    servers = {c["name"]: c["cluster"]["server"] for c in rewritten["clusters"]}
    assert servers == {"kind-kim": "https://x:6443", "other": "https://10.0.0.1:6443"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("clusters: [", "not valid YAML"),
        ("apiVersion: v1\n", "no clusters"),
        ("", "no clusters"),
        ("clusters:\n- name: kind-other\n  cluster: {server: x}\n", "no cluster named 'kind-kim'"),
    ],
)
def test_unusable_kubeconfig_is_a_clear_error(text, message):
    with pytest.raises(KubeconfigError, match=message):
        rewrite_server(text, "kind-kim", "https://kim-control-plane:6443")


def test_merge_adds_the_lab_under_its_own_name_keeps_the_rest_and_replaces_an_earlier_merge():
    import yaml as _yaml

    from k8s_lab.kubeconfig import merge_into

    lab = _yaml.safe_dump({
        "clusters": [{"name": "kind-kim", "cluster": {"server": "https://127.0.0.1:6550"}}],
        "users": [{"name": "kind-kim", "user": {"token": "t"}}],
        "contexts": [{"name": "kind-kim", "context": {"cluster": "kind-kim", "user": "kind-kim"}}],
    })
    mine = _yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "work",
        "clusters": [{"name": "work", "cluster": {"server": "https://work"}}],
        "users": [{"name": "work", "user": {}}], "contexts": [{"name": "work", "context": {"cluster": "work", "user": "work"}}],
    })
    once = merge_into(mine, lab, "k8s-lab-kim")
    twice = _yaml.safe_load(merge_into(once, lab.replace("6550", "6650"), "k8s-lab-kim"))
    assert [c["name"] for c in twice["clusters"]] == ["work", "k8s-lab-kim"]
    assert twice["clusters"][1]["cluster"]["server"] == "https://127.0.0.1:6650"
    assert twice["contexts"][1]["context"] == {"cluster": "k8s-lab-kim", "user": "k8s-lab-kim"}
    assert twice["current-context"] == "k8s-lab-kim" and twice["users"][0]["name"] == "work"
    assert _yaml.safe_load(merge_into("", lab, "k8s-lab-kim"))["kind"] == "Config"


def test_a_first_merge_writes_the_kubeconfig_kubectl_reads_in_kubectls_own_order():
    from k8s_lab.kubeconfig import merge_into

    lab = yaml.safe_dump({
        "clusters": [{"name": "kind-kim", "cluster": {"server": "https://127.0.0.1:6550"}}],
        "users": [{"name": "kind-kim"}],  # no user body: an empty one, not null
        "contexts": [{"name": "kind-kim", "context": {"cluster": "kind-kim", "user": "kind-kim", "namespace": "kim"}}],
    })
    assert merge_into("", lab, "k8s-lab-kim") == (
        "apiVersion: v1\n"
        "kind: Config\n"
        "preferences: {}\n"
        "clusters:\n"
        "- name: k8s-lab-kim\n"
        "  cluster:\n"
        "    server: https://127.0.0.1:6550\n"
        "users:\n"
        "- name: k8s-lab-kim\n"
        "  user: {}\n"
        "contexts:\n"
        "- name: k8s-lab-kim\n"
        "  context:\n"
        "    cluster: k8s-lab-kim\n"
        "    namespace: kim\n"
        "    user: k8s-lab-kim\n"
        "current-context: k8s-lab-kim\n"
    )
    no_cluster_body = yaml.safe_dump({**yaml.safe_load(lab), "clusters": [{"name": "kind-kim"}]})
    assert yaml.safe_load(merge_into("", no_cluster_body, "k8s-lab-kim"))["clusters"] == [{"name": "k8s-lab-kim", "cluster": {}}]


@pytest.mark.parametrize("lab", ["just text", "clusters: []\nusers: [{name: u}]\ncontexts: [{name: c}]\n"])
def test_a_lab_kubeconfig_without_its_parts_is_refused_by_name(lab):
    from k8s_lab.kubeconfig import merge_into

    with pytest.raises(KubeconfigError, match="^the lab's kubeconfig has no cluster, user or context$"):
        merge_into("", lab, "k8s-lab-kim")
    with pytest.raises(KubeconfigError, match="^your kubeconfig is not a YAML mapping; fix or move it, then merge again$"):
        merge_into("- a list\n", "clusters: [{name: c}]\nusers: [{name: u}]\ncontexts: [{name: x}]\n", "k8s-lab-kim")


LAB = """\
clusters:
- name: kind-kim
  cluster: {server: 'https://127.0.0.1:6550'}
users:
- name: kind-kim
  user: {token: t}
contexts:
- name: kind-kim
  context: {cluster: kind-kim, user: kind-kim, namespace: web}
"""


def test_a_merge_into_no_kubeconfig_writes_a_whole_one_in_kubectls_order_and_block_style():
    from k8s_lab.kubeconfig import merge_into

    assert merge_into("\n", LAB, "k8s-lab-kim") == """\
apiVersion: v1
kind: Config
preferences: {}
clusters:
- name: k8s-lab-kim
  cluster:
    server: https://127.0.0.1:6550
users:
- name: k8s-lab-kim
  user:
    token: t
contexts:
- name: k8s-lab-kim
  context:
    cluster: k8s-lab-kim
    user: k8s-lab-kim
    namespace: web
current-context: k8s-lab-kim
"""


def test_a_lab_entry_without_details_is_merged_with_empty_ones():
    from k8s_lab.kubeconfig import merge_into

    bare = "clusters: [{name: kind-kim}]\nusers: [{name: kind-kim}]\ncontexts: [{name: kind-kim}]\n"
    merged = yaml.safe_load(merge_into("", bare, "lab"))
    assert merged["clusters"] == [{"name": "lab", "cluster": {}}] and merged["users"] == [{"name": "lab", "user": {}}]
    assert merged["contexts"] == [{"name": "lab", "context": {"cluster": "lab", "user": "lab"}}]


@pytest.mark.parametrize("lab", ["just text", "clusters: {a: 1}\nusers: {a: 1}\ncontexts: {a: 1}\n", LAB.replace("users:\n- name: kind-kim\n  user: {token: t}\n", "users: []\n")])
def test_a_lab_kubeconfig_without_a_cluster_user_or_context_is_refused(lab):
    from k8s_lab.kubeconfig import merge_into

    with pytest.raises(KubeconfigError) as refused:
        merge_into("", lab, "lab")
    assert str(refused.value) == "the lab's kubeconfig has no cluster, user or context"


def test_a_kubeconfig_that_is_not_a_mapping_is_left_as_it_is_with_the_fix():
    from k8s_lab.kubeconfig import merge_into

    with pytest.raises(KubeconfigError) as refused:
        merge_into("- a\n- list\n", LAB, "lab")
    assert str(refused.value) == "your kubeconfig is not a YAML mapping; fix or move it, then merge again"
