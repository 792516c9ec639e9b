"""k8s_lab.kind_lifecycle without Docker: the exact docker and kind calls, in order, for a new,
a kept and a half-made cluster, a failed create, delete, the node caps, the manifest and the
registry-hosts steps, and the command line's exit codes. tests/test_kind_lifecycle.py runs
the same steps against a real engine with a fake `kind` (the proof that this fake is right)."""

import io
import itertools
import json
from pathlib import Path

import pytest

from k8s_lab import kind_lifecycle, limits
from k8s_lab.exits import lab_command
from k8s_lab.kind_lifecycle import NODE_READY_QUERY, Kind, LifecycleError
from k8s_lab.registry import hosts_toml
from k8s_lab.runner import ProcessRunner, Result, RunError
from fakes import FakeRunner, fails, in_turn, ok

PS = ("docker", "ps", "-a", "--filter", "label=io.x-k8s.kind.cluster=kim", "--format", "{{json .}}")
READY = ("docker", "exec", "kim-control-plane", *NODE_READY_QUERY)
CREATE = ("kind", "create", "cluster", "--name", "kim", "--config", "-", "--kubeconfig")
DELETE = ("kind", "delete", "cluster", "--name", "kim", "--kubeconfig")
CP, W1, W2 = "kim-control-plane", "kim-worker", "kim-worker2"
CONFIG = "kind: Cluster\n"
SHARES = limits.Shares(ide_mb=500, control_plane_mb=800, worker_mb=400, cpus="1.5")


def nodes(**states: str) -> object:
    """`docker ps --format {{json .}}` for these nodes (name=state, dashes as underscores)."""
    return ok("".join(json.dumps({"Names": name.replace("_", "-"), "State": state, "ID": "x"}) + "\n" for name, state in states.items()))


NONE = ok("")
CAPS = ("docker", "inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.NanoCPUs}}")
NO_CAPS = ok("0 0\n")
ALL_RUNNING = nodes(kim_control_plane="running", kim_worker="running", kim_worker2="running")
ALL_READY = ok(f"{CP}=True\n{W1}=True\n{W2}=True\n")


def kind_with(answers) -> Kind:
    return Kind("kind", "docker", runner=FakeRunner(in_turn(answers)))


def argvs(kind: Kind) -> list[tuple[str, ...]]:
    return kind.runner.argvs  # type: ignore[attr-defined]


def without_kubeconfig(argv: tuple[str, ...]) -> tuple[str, ...]:
    """kind's own kubeconfig is a fresh temporary file each call: compared apart."""
    return argv[:-1] if argv[:1] == ("kind",) and argv[-2] == "--kubeconfig" else argv


def calls(kind: Kind) -> list[tuple[str, ...]]:
    return [without_kubeconfig(argv) for argv in argvs(kind)]


def update(node: str, megabytes: int) -> tuple[str, ...]:
    return ("docker", "update", "--memory", f"{megabytes}m", "--memory-swap", f"{megabytes}m", "--cpus", "1.5", node)


# ---- create ---------------------------------------------------------------------------


def test_a_new_cluster_is_made_capped_then_waited_for():
    kind = kind_with({PS: [NONE, NONE, ALL_RUNNING], CREATE: ok(), ("docker", "update"): ok(), READY: ALL_READY})
    said = []
    assert kind_lifecycle.create(kind, "kim", CONFIG, workers=2, timeout=60, log=said.append, shares=SHARES) == "created"
    assert calls(kind) == [PS, PS, CREATE, PS, update(CP, 800), update(W1, 400), update(W2, 400), READY]
    create_call = kind.runner.calls[2]  # type: ignore[attr-defined]
    assert create_call.stdin == CONFIG and create_call.env == {}
    assert said[-2:] == [
        "kind cluster 'kim': caps set on 3 nodes (memory 800 MB control plane, 400 MB per worker; cpus 1.5)",
        "kind cluster 'kim': all 3 nodes Ready",
    ]


def test_kind_gets_a_kubeconfig_of_its_own_removed_afterwards():
    kind = kind_with({PS: [NONE, NONE, ALL_RUNNING], CREATE: ok(), READY: ALL_READY, DELETE: ok()})
    kind_lifecycle.create(kind, "kim", CONFIG, workers=2, timeout=60, log=lambda _: None)
    kind_lifecycle.delete(kind, "kim", log=lambda _: None)
    paths = [Path(argv[-1]) for argv in argvs(kind) if argv[0] == "kind"]
    assert len(paths) == 2 and paths[0] != paths[1]
    for path in paths:
        assert path.name == "kubeconfig" and path.parent.name.startswith("k8s-lab-kind-") and not path.parent.exists()


def test_without_caps_no_node_is_updated_and_nothing_is_said_of_caps():
    kind = kind_with({PS: [NONE, NONE, ALL_RUNNING], CREATE: ok(), READY: ALL_READY})
    said = []
    kind_lifecycle.create(kind, "kim", CONFIG, workers=2, timeout=60, log=said.append)
    assert calls(kind) == [PS, PS, CREATE, PS, READY]
    assert not any("caps" in line for line in said)


def test_a_cpu_cap_alone_is_set_and_said():
    kind = kind_with({PS: [NONE, NONE, ALL_RUNNING], CREATE: ok(), ("docker", "update"): ok(), READY: ALL_READY})
    said = []
    kind_lifecycle.create(kind, "kim", CONFIG, workers=2, timeout=60, log=said.append, shares=limits.Shares(cpus="2"))
    assert calls(kind)[4:7] == [("docker", "update", "--cpus", "2", node) for node in (CP, W1, W2)]
    assert "kind cluster 'kim': caps set on 3 nodes (no memory cap; cpus 2)" in said


def test_a_healthy_cluster_is_kept_and_capped_again():
    kind = kind_with({PS: ALL_RUNNING, READY: ALL_READY, CAPS: NO_CAPS, ("docker", "update"): ok()})
    said = []
    assert kind_lifecycle.create(kind, "kim", CONFIG, workers=2, timeout=60, log=said.append, shares=SHARES) == "kept"
    assert calls(kind) == [PS, PS, READY, PS, (*CAPS, CP), (*CAPS, W1), (*CAPS, W2), PS, update(CP, 800), update(W1, 400), update(W2, 400)]
    assert said[0] == "kind cluster 'kim' exists and every node is Ready: kept"


@pytest.mark.parametrize(
    "found, readiness",
    [
        (nodes(kim_control_plane="running", kim_worker="running"), ALL_READY),  # a node is missing
        (nodes(kim_control_plane="running", kim_worker="running", kim_worker2="exited"), ALL_READY),  # one stopped
        (ALL_RUNNING, ok(f"{CP}=True\n{W1}=False\n{W2}=True\n")),  # one not Ready
        (ALL_RUNNING, ok(f"{CP}=True\n{W1}=True\n")),  # the API server does not know a node
        (ALL_RUNNING, fails("connection refused")),  # the API server does not answer
        (nodes(kim_control_plane="running", kim_worker="running", kim_worker2="running", kim_worker3="running"), ALL_READY),
    ],
    ids=["missing", "stopped", "not-ready", "unknown-to-api", "api-down", "extra-node"],
)
def test_a_half_made_or_unhealthy_cluster_is_deleted_and_made_again(found, readiness):
    kind = kind_with({PS: [found, found, found, ALL_RUNNING], READY: [readiness, ALL_READY], DELETE: ok(), CREATE: ok()})
    said = []
    assert kind_lifecycle.create(kind, "kim", CONFIG, workers=2, timeout=60, log=said.append) == "created"
    made = calls(kind)
    assert made.index(DELETE) < made.index(CREATE) and made.count(DELETE) == 1 and made.count(CREATE) == 1
    assert said[0] == "kind cluster 'kim' is half-made or unhealthy: removing it to make it again"
    assert "kind cluster 'kim' deleted" in said


def test_a_failed_create_leaves_nothing_and_says_what_kind_said():
    kind = kind_with({PS: NONE, CREATE: fails("ERROR: failed to create cluster: node(s) already exist\n"), DELETE: ok()})
    said = []
    with pytest.raises(LifecycleError) as raised:
        kind_lifecycle.create(kind, "kim", CONFIG, workers=2, timeout=60, log=said.append, shares=SHARES)
    assert str(raised.value) == "`kind create cluster --name kim` failed:\nERROR: failed to create cluster: node(s) already exist"
    assert calls(kind) == [PS, PS, CREATE, DELETE]  # no caps, no wait: the half-made nodes are removed
    assert said == []  # the clean-up is silent; the error says what happened


def test_kinds_progress_is_passed_on():
    kind = kind_with({PS: [NONE, NONE, ALL_RUNNING], CREATE: ok().__class__(0, "", " ✓ Ensuring node image\n"), READY: ALL_READY})
    said = []
    kind_lifecycle.create(kind, "kim", CONFIG, workers=2, timeout=60, log=said.append)
    assert said[0] == "✓ Ensuring node image"


# ---- waiting and health ---------------------------------------------------------------


def test_wait_asks_again_every_two_seconds_until_every_node_is_ready():
    kind = kind_with({READY: [fails("refused"), ok(f"{CP}=True\n{W1}=False\n"), ok(f"{CP}=True\n{W1}=True\n")]})
    slept = []
    kind_lifecycle.wait_until_ready(kind, "kim", 1, timeout=60, sleep=slept.append, clock=itertools.count().__next__)
    assert slept == [2, 2] and calls(kind) == [READY] * 3


def test_wait_gives_up_at_the_deadline_naming_the_nodes_and_where_to_look():
    kind = kind_with({READY: fails("refused")})
    times = iter([0, 10, 30, 31])
    with pytest.raises(LifecycleError) as raised:
        kind_lifecycle.wait_until_ready(kind, "kim", 2, timeout=30, sleep=lambda s: None, clock=lambda: next(times))
    assert str(raised.value).startswith("cluster 'kim': nodes not Ready after 30s: kim-control-plane, kim-worker, kim-worker2. ")
    assert "docker logs kim-control-plane" in str(raised.value)
    assert len(argvs(kind)) == 2  # asked at 10 and at 30, when the deadline (0 + 30) is reached


def test_node_containers_and_readiness_are_parsed():
    kind = kind_with({PS: ok('{"Names":"kim-control-plane","State":"running"}\n\n{"Names":"kim-worker","State":"exited"}\n'),
                      READY: ok("kim-control-plane=True\nkim-worker=Unknown\ngarbage\n")})
    assert kind.node_containers("kim") == {CP: "running", W1: "exited"}
    assert kind.node_readiness("kim") == {CP: True, W1: False}


def test_control_plane_id_is_the_containers_id():
    kind = kind_with({("docker", "inspect", "--format", "{{.Id}}", CP): ok("abc123\n")})
    assert kind_lifecycle.control_plane_id(kind, "kim") == "abc123"


# ---- delete, registry hosts, manifest, kubeconfig --------------------------------------


def test_delete_asks_kind_and_says_so():
    kind = kind_with({DELETE: ok()})
    said = []
    kind_lifecycle.delete(kind, "kim", log=said.append)
    assert calls(kind) == [DELETE] and said == ["kind cluster 'kim' deleted"]


def test_a_failed_delete_is_an_error_naming_the_command():
    kind = kind_with({DELETE: fails("permission denied")})
    with pytest.raises(LifecycleError, match=r"^`kind delete cluster --name kim --kubeconfig \S+/kubeconfig` exited with 1: permission denied$"):
        kind_lifecycle.delete(kind, "kim")


def test_registry_hosts_are_written_into_every_node():
    kind = kind_with({PS: nodes(kim_worker="running", kim_control_plane="running"), ("docker", "exec"): ok()})
    said = []
    kind_lifecycle.registry_hosts(kind, "kim", "/etc/containerd/certs.d/r:5000", "server = 'x'\n", log=said.append)
    folder = "/etc/containerd/certs.d/r:5000"
    assert calls(kind) == [
        PS,
        ("docker", "exec", CP, "mkdir", "-p", folder),
        ("docker", "exec", "-i", CP, "cp", "/dev/stdin", f"{folder}/hosts.toml"),
        ("docker", "exec", W1, "mkdir", "-p", folder),
        ("docker", "exec", "-i", W1, "cp", "/dev/stdin", f"{folder}/hosts.toml"),
    ]
    assert [c.stdin for c in kind.runner.calls] == [None, None, "server = 'x'\n", None, "server = 'x'\n"]  # type: ignore[attr-defined]
    assert said == [f"local registry configured on 2 nodes: {folder}"]


def test_registry_hosts_without_nodes_is_an_error():
    with pytest.raises(LifecycleError, match="cluster 'kim' has no nodes to configure"):
        kind_lifecycle.registry_hosts(kind_with({PS: NONE}), "kim", "/d", "x")


APPLY = ("docker", "exec", "-i", CP, "kubectl", "--kubeconfig=/etc/kubernetes/admin.conf")


def test_manifest_is_applied_by_kubectl_in_the_control_plane():
    kind = kind_with({("docker", "exec"): ok()})
    said = []
    kind_lifecycle.manifest(kind, "kim", "kind: Namespace\n", remove=False, log=said.append)
    assert calls(kind) == [(*APPLY, "apply", "-f", "-")]  # applying never asks which nodes exist
    assert kind.runner.calls[0].stdin == "kind: Namespace\n"  # type: ignore[attr-defined]
    assert said == ["manifest applied to cluster 'kim'"]


def test_manifest_is_removed_without_waiting_and_a_gone_cluster_is_done():
    kind = kind_with({PS: [ALL_RUNNING, NONE], ("docker", "exec"): ok()})
    said = []
    kind_lifecycle.manifest(kind, "kim", "x", remove=True, log=said.append)
    kind_lifecycle.manifest(kind, "kim", "x", remove=True, log=said.append)
    assert calls(kind) == [PS, (*APPLY, "delete", "--ignore-not-found", "--wait=false", "-f", "-"), PS]
    assert said == ["manifest removed from cluster 'kim'", "cluster 'kim' is gone: nothing to remove"]


def test_a_manifest_that_does_not_apply_is_an_error():
    with pytest.raises(LifecycleError, match="exited with 1: error validating"):
        kind_lifecycle.manifest(kind_with({("docker", "exec"): fails("error validating")}), "kim", "x", remove=False)


CRDS = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gateways.gateway.networking.k8s.io\n"
DEPLOY = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: nginx-gateway\n"
OWN = "kind: Gateway\n"


def test_several_manifests_apply_server_side_in_order_each_crd_established_first():
    kind = kind_with({("docker", "exec"): ok()})
    said = []
    kind_lifecycle.manifests(kind, "kim", [CRDS, DEPLOY, OWN], remove=False, log=said.append)
    server_side = (*APPLY, "apply", "--server-side", "--force-conflicts", "-f", "-")
    established = (*APPLY, "wait", "--for=condition=Established", "--timeout=120s", "-f", "-")
    assert calls(kind) == [server_side, established, server_side, server_side]
    assert [c.stdin for c in kind.runner.calls] == [CRDS, CRDS, DEPLOY, OWN]  # type: ignore[attr-defined]
    assert said == ["3 manifests applied to cluster 'kim'"]


def test_several_manifests_are_removed_in_reverse_keeping_the_crds_and_a_gone_cluster_is_done():
    kind = kind_with({PS: [ALL_RUNNING, NONE], ("docker", "exec"): ok()})
    said = []
    kind_lifecycle.manifests(kind, "kim", [CRDS, DEPLOY, OWN], remove=True, log=said.append)
    kind_lifecycle.manifests(kind, "kim", [CRDS, DEPLOY, OWN], remove=True, log=said.append)
    delete = (*APPLY, "delete", "--ignore-not-found", "--wait=false", "-f", "-")
    assert calls(kind) == [PS, delete, delete, PS]
    assert [c.stdin for c in kind.runner.calls if c.argv[:2] == ("docker", "exec")] == [OWN, DEPLOY]  # type: ignore[attr-defined]
    assert said == ["manifests removed from cluster 'kim' (their CRDs kept)", "cluster 'kim' is gone: nothing to remove"]


def test_main_manifest_takes_several_pinned_files_then_the_labs_own_objects(monkeypatch, capsys, tmp_path):
    texts = {"https://x/crds.yaml": CRDS, "https://x/deploy.yaml": DEPLOY}
    monkeypatch.setattr(kind_lifecycle, "cached_manifest", lambda url, sha: texts[url])
    kind = kind_with({("docker", "exec"): ok()})
    argv = ("manifest", "--name", "kim", "--url", "https://x/crds.yaml", "--sha256", "a" * 64,
            "--url", "https://x/deploy.yaml", "--sha256", "b" * 64, "--stdin")
    code, out, err = main(kind, monkeypatch, capsys, *argv, stdin=OWN)
    assert (code, out) == (0, "") and "3 manifests applied" in err
    assert [c.stdin for c in kind.runner.calls if "apply" in c.argv] == [CRDS, DEPLOY, OWN]  # type: ignore[attr-defined]
    code, _, err = main(kind_with({}), monkeypatch, capsys, *argv[:-3], "--stdin")
    assert code == 1 and "k8s-lab: manifest: give one --sha256 for each --url" in err


def test_main_manifest_with_one_url_is_the_seeds_client_side_apply(monkeypatch, capsys):
    monkeypatch.setattr(kind_lifecycle, "cached_manifest", lambda url, sha: DEPLOY)
    kind = kind_with({("docker", "exec"): ok()})
    code, _, err = main(kind, monkeypatch, capsys, "manifest", "--name", "kim", "--url", "https://x/d.yaml", "--sha256", "a" * 64)
    assert code == 0 and calls(kind) == [(*APPLY, "apply", "-f", "-")] and "manifest applied" in err


@pytest.mark.parametrize("internal, extra", [(False, ()), (True, ("--internal",))])
def test_kubeconfig_is_kinds_answer(internal, extra):
    kind = kind_with({("kind", "get", "kubeconfig"): ok("apiVersion: v1\n")})
    assert kind_lifecycle.kubeconfig(kind, "kim", internal) == "apiVersion: v1\n"
    assert argvs(kind) == [("kind", "get", "kubeconfig", "--name", "kim", *extra)]


# ---- the Kind itself ---------------------------------------------------------------------


def test_kind_runs_with_the_labs_docker_environment_and_turns_failures_into_lifecycle_errors():
    runner = FakeRunner({("docker", "ps"): ok(), ("docker", "stop"): fails("no such container", 1)})
    kind = Kind("kind", "docker", runner=runner, env={"DOCKER_HOST": "ssh://lab2"})
    kind.node_containers("kim")
    assert runner.calls[0].env == {"DOCKER_HOST": "ssh://lab2"}
    assert kind.run(["docker", "stop", "x"], check=False).returncode == 1
    with pytest.raises(LifecycleError, match=r"^`docker stop x` exited with 1: no such container$"):
        kind.run(["docker", "stop", "x"])


def test_a_docker_that_cannot_start_is_a_lifecycle_error_even_unchecked():
    def gone(argv):
        raise RunError(Result(argv, 127), "could not start: docker is not installed or not on PATH")

    with pytest.raises(LifecycleError, match="could not start: docker is not installed"):
        Kind("kind", "docker", runner=FakeRunner(gone)).node_readiness("kim")


def test_locate_finds_both_programs_or_names_the_missing_one():
    found = Kind.locate(lambda name: f"/usr/bin/{name}")
    assert (found.kind, found.docker, found.env) == ("/usr/bin/kind", "/usr/bin/docker", {})
    assert isinstance(found.runner, ProcessRunner)
    with pytest.raises(LifecycleError, match="`kind` executable was not found on PATH. Install kind v0.23.0"):
        Kind.locate(lambda name: None)
    with pytest.raises(LifecycleError, match="`docker` executable was not found on PATH; install Docker"):
        Kind.locate(lambda name: "/usr/bin/kind" if name == "kind" else None)


def test_locate_takes_the_kind_release_a_version_row_names():
    found = Kind.locate(lambda name: f"/tools/bin/{name}", environ={"K8S_LAB_KIND_VERSION": "v0.32.0"})
    assert found.kind == "/tools/bin/kind-v0.32.0"
    assert Kind.locate(lambda name: f"/tools/bin/{name}", environ={}).kind == "/tools/bin/kind"
    with pytest.raises(LifecycleError, match=r"`kind-v0.32.0` \(kind v0.32.0, the release this lab's kubernetesVersion needs\) was not found"):
        Kind.locate(lambda name: None if name.startswith("kind") else "/usr/bin/docker", environ={"K8S_LAB_KIND_VERSION": "v0.32.0"})


def test_a_missing_kind_release_names_the_labs_up_with_its_stack(monkeypatch, tmp_path, capsys):
    """The command runs for a teacher's classroom.py too: a bare `lab.py up` there makes a lab
    named after the teacher, so the fix names the cluster's lab."""
    monkeypatch.setenv("PATH", str(tmp_path))  # no kind-v0.32.0 (nor docker) on it
    monkeypatch.setenv("K8S_LAB_KIND_VERSION", "v0.32.0")
    assert kind_lifecycle.main(["delete", "--name", "lee"]) == 1
    assert f"run `{lab_command('up', '--stack', 'lee')}`, which fetches it" in capsys.readouterr().err


def test_the_remake_repair_names_the_labs_stack():
    text = kind_lifecycle.remake_repair("lee")
    assert f"({lab_command('start', '--stack', 'lee')})" in text and f"`{lab_command('up', '--stack', 'lee')}`" in text


# ---- the command line --------------------------------------------------------------------


def main(kind: Kind, monkeypatch, capsys, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = kind_lifecycle.main(list(argv), kind_factory=lambda: kind)
    out, err = capsys.readouterr()
    return code, out, err


def test_main_create_prints_only_the_clusters_identity(monkeypatch, capsys):
    kind = kind_with({PS: [NONE, NONE, ALL_RUNNING], CREATE: ok(), ("docker", "update"): ok(), READY: ALL_READY,
                      ("docker", "inspect", "--format", "{{.Id}}", CP): ok("abc123\n")})
    caps = ("--control-plane-memory", "800", "--worker-memory", "400", "--cpus", "1.5")
    code, out, err = main(kind, monkeypatch, capsys, "create", "--name", "kim", "--workers", "2", *caps, stdin=CONFIG)
    assert (code, out) == (0, "abc123\n")
    assert calls(kind)[4:7] == [update(CP, 800), update(W1, 400), update(W2, 400)]
    assert "kind cluster 'kim': all 3 nodes Ready" in err
    assert kind.runner.calls[2].stdin == CONFIG  # type: ignore[attr-defined]


def test_main_create_passes_the_timeout_on(monkeypatch, capsys):
    kind = kind_with({PS: [NONE, NONE, ALL_RUNNING], CREATE: ok(), READY: fails("refused")})
    code, out, err = main(kind, monkeypatch, capsys, "create", "--name", "kim", "--workers", "2", "--timeout", "0", stdin=CONFIG)
    assert code == 1 and out == "" and "k8s-lab: cluster 'kim': nodes not Ready after 0s" in err
    assert calls(kind).count(READY) == 1  # no wait past the deadline (the default is 600 s)


def test_main_failure_is_one_line_and_exit_code_one(monkeypatch, capsys):
    code, out, err = main(kind_with({DELETE: fails("boom")}), monkeypatch, capsys, "delete", "--name", "kim")
    assert code == 1 and out == "" and err.startswith("k8s-lab: `kind delete cluster --name kim") and "Traceback" not in err


def test_main_delete_and_kubeconfig(monkeypatch, capsys):
    assert main(kind_with({DELETE: ok()}), monkeypatch, capsys, "delete", "--name", "kim") == (0, "", "kind cluster 'kim' deleted\n")
    kind = kind_with({("kind", "get", "kubeconfig"): ok("apiVersion: v1\n")})
    assert main(kind, monkeypatch, capsys, "kubeconfig", "--name", "kim", "--internal") == (0, "apiVersion: v1\n", "")
    assert argvs(kind)[-1][-1] == "--internal"


def test_main_registry_hosts_writes_containerds_hosts_toml(monkeypatch, capsys):
    kind = kind_with({PS: nodes(kim_control_plane="running"), ("docker", "exec"): ok()})
    code, out, err = main(kind, monkeypatch, capsys, "registry-hosts", "--name", "kim", "--directory", "/d", "--endpoint", "http://kim-registry:5000")
    assert (code, out, err) == (0, "", "local registry configured on 1 nodes: /d\n")
    assert kind.runner.calls[-1].stdin == hosts_toml("http://kim-registry:5000")  # type: ignore[attr-defined]


def test_main_manifest_applies_the_verified_text(monkeypatch, capsys, tmp_path):
    seen = []
    monkeypatch.setattr(kind_lifecycle, "cached_manifest", lambda url, sha: seen.append((url, sha)) or "kind: Namespace\n")
    kind = kind_with({PS: ALL_RUNNING, ("docker", "exec"): ok()})
    code, _, err = main(kind, monkeypatch, capsys, "manifest", "--name", "kim", "--url", "https://x/deploy.yaml", "--sha256", "ab", "--remove")
    assert code == 0 and seen == [("https://x/deploy.yaml", "ab")] and err == "manifest removed from cluster 'kim'\n"
    assert kind.runner.calls[-1].stdin == "kind: Namespace\n"  # type: ignore[attr-defined]


# ---- what mutation testing showed unpinned ------------------------------------------------------


@pytest.mark.parametrize(
    "argv, missing",
    [
        (["create", "--name", "kim"], "--workers"),
        (["create", "--workers", "1"], "--name"),
        (["manifest", "--name", "kim", "--sha256", "ab"], "--url"),
        (["manifest", "--name", "kim", "--url", "u"], "--sha256"),
        (["registry-hosts", "--name", "kim", "--endpoint", "e"], "--directory"),
        (["registry-hosts", "--name", "kim", "--directory", "d"], "--endpoint"),
        (["delete"], "--name"),
        (["kubeconfig"], "--name"),
    ],
)
def test_main_refuses_a_missing_option_with_its_name(argv, missing, capsys):
    with pytest.raises(SystemExit) as exited:
        kind_lifecycle.main(argv, kind_factory=lambda: pytest.fail("no option check before the work"))
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.startswith("usage: python -m k8s_lab.kind_lifecycle")
    assert f"the following arguments are required: {missing}" in err


def test_main_without_an_action_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        kind_lifecycle.main([], kind_factory=lambda: pytest.fail("no action, no work"))
    assert exited.value.code == 2 and "the following arguments are required: action" in capsys.readouterr().err


def test_main_create_defaults_to_ten_minutes_and_no_caps(monkeypatch, capsys):
    seen = {}

    def create(kind, name, config, workers, timeout, log, shares, previous, network_id):
        seen.update(name=name, config=config, workers=workers, timeout=timeout, shares=shares)

    monkeypatch.setattr(kind_lifecycle, "create", create)
    kind = kind_with({("docker", "inspect"): ok("id\n")})
    assert main(kind, monkeypatch, capsys, "create", "--name", "kim", "--workers", "1", stdin=CONFIG)[:2] == (0, "id\n")
    assert seen == {"name": "kim", "config": CONFIG, "workers": 1, "timeout": 600, "shares": limits.Shares()}


def test_main_kubeconfig_of_the_named_cluster(monkeypatch, capsys):
    kind = kind_with({("kind", "get", "kubeconfig"): ok("apiVersion: v1\n")})
    main(kind, monkeypatch, capsys, "kubeconfig", "--name", "kim")
    assert argvs(kind) == [("kind", "get", "kubeconfig", "--name", "kim")]


def test_a_memory_cap_alone_is_said_without_a_cpu_cap():
    shares = limits.Shares(control_plane_mb=800, worker_mb=400)
    assert kind_lifecycle.describe_shares(shares) == "memory 800 MB control plane, 400 MB per worker; no CPU cap"
    assert kind_lifecycle.describe_shares(limits.Shares(cpus="2")) == "no memory cap; cpus 2"


def test_kept_and_failed_creates_say_everything_through_log_and_nothing_on_stdout(capsys):
    said = []
    kind = kind_with({PS: ALL_RUNNING, READY: ALL_READY, CAPS: NO_CAPS, ("docker", "update"): ok()})
    kind_lifecycle.create(kind, "kim", CONFIG, workers=2, timeout=60, log=said.append, shares=SHARES)
    assert said == [
        "kind cluster 'kim' exists and every node is Ready: kept",
        "kind cluster 'kim': caps set on 3 nodes (memory 800 MB control plane, 400 MB per worker; cpus 1.5)",
    ]
    kind = kind_with({PS: NONE, CREATE: fails("boom"), DELETE: ok()})
    with pytest.raises(LifecycleError):
        kind_lifecycle.create(kind, "kim", CONFIG, workers=2, timeout=60, log=said.append)
    assert capsys.readouterr().out == ""  # stdout is the cluster's identity in Pulumi


def test_the_manifest_cache_is_in_the_project_unless_set(monkeypatch, tmp_path):
    monkeypatch.delenv(kind_lifecycle.CACHE_DIR_ENV, raising=False)
    assert kind_lifecycle.cache_dir() == Path(".tools/cache")
    monkeypatch.setenv(kind_lifecycle.CACHE_DIR_ENV, str(tmp_path))
    assert kind_lifecycle.cache_dir() == tmp_path


def test_a_fetched_manifest_is_kept_readable_and_read_as_utf8(monkeypatch, tmp_path):
    import hashlib

    text = "# café\nkind: Namespace\n"
    sha = hashlib.sha256(text.encode()).hexdigest()
    monkeypatch.setenv(kind_lifecycle.CACHE_DIR_ENV, str(tmp_path))
    fetched = []

    def fetch(url, path, sha256, **options):
        fetched.append((url, path, sha256, options))
        path.write_bytes(text.encode())
        return path

    assert kind_lifecycle.cached_manifest("https://x/deploy.yaml", sha, fetch=fetch) == text
    assert fetched == [("https://x/deploy.yaml", tmp_path / f"{sha}.yaml", sha, {"mode": 0o644})]
    assert kind_lifecycle.cached_manifest("https://x/deploy.yaml", sha, fetch=fetch) == text and len(fetched) == 1  # cached


def test_a_refused_remake_says_why_for_a_gone_and_for_a_foreign_cluster():
    gone = kind_lifecycle.remake_refusal("cp-1 net-a", None, "net-a")
    foreign = kind_lifecycle.remake_refusal("cp-1 net-a", "cp-2", "net-a")
    tail = "and an update keeps the identity the rest of the lab follows"
    assert gone == f"the cluster would have to be made anew (it is gone, stopped or not Ready), {tail}"
    assert foreign == f"the cluster would have to be made anew (it was made anew outside this stack), {tail}"


def test_node_caps_read_memory_and_cpus_with_none_as_zero():
    kind = kind_with({(*CAPS, CP): ok("2342518784 1500000000\n"), (*CAPS, W1): ok(" \n")})
    assert kind_lifecycle.node_caps(kind, [CP, W1]) == {CP: (2342518784, 1500000000), W1: (0, 0)}


def test_an_update_run_remakes_a_gone_cluster_on_a_new_network_and_refuses_on_the_same_one():
    # The create hands its network to the refusal: without it, a Docker reset's new network would refuse too.
    kind = kind_with({PS: [NONE, NONE, ALL_RUNNING], CREATE: ok(), READY: ALL_READY})
    made = kind_lifecycle.create(kind, "kim", CONFIG, workers=2, timeout=60, log=lambda _: None, previous="cp-1 net-a", network_id="net-b")
    assert made == "created" and calls(kind) == [PS, PS, CREATE, PS, READY]
    kind = kind_with({PS: NONE})
    with pytest.raises(kind_lifecycle.LifecycleError, match=r"^cluster 'kim': the cluster would have to be made anew \(it is gone, stopped or not Ready\)"):
        kind_lifecycle.create(kind, "kim", CONFIG, workers=2, timeout=60, log=lambda _: None, previous="cp-1 net-a", network_id="net-a")
    assert calls(kind) == [PS]


def test_an_update_run_keeps_a_healthy_cluster_whose_control_plane_is_the_last_ones():
    kind = kind_with({PS: ALL_RUNNING, READY: ALL_READY, ("docker", "inspect", "--format", "{{.Id}}", CP): ok("cp-1\n"), CAPS: NO_CAPS})
    kept = kind_lifecycle.create(kind, "kim", CONFIG, workers=2, timeout=60, log=lambda _: None, previous="cp-1 net-a", network_id="net-a")
    assert kept == "kept" and ("docker", "inspect", "--format", "{{.Id}}", CP) in calls(kind)


# ---- the command line on an update run (pulumi-command sets PULUMI_COMMAND_STDOUT, the program the network) ----

KEPT = {PS: ALL_RUNNING, READY: ALL_READY, CAPS: NO_CAPS, ("docker", "inspect", "--format", "{{.Id}}", CP): ok("abc123\n")}


def test_main_update_run_on_a_new_network_keeps_the_cluster_and_prints_that_network(monkeypatch, capsys):
    monkeypatch.setenv(kind_lifecycle.PREVIOUS_OUTPUT_ENV, "old999 net-0")
    monkeypatch.setenv(kind_lifecycle.NETWORK_ID_ENV, "net-1")
    code, out, err = main(kind_with(KEPT), monkeypatch, capsys, "create", "--name", "kim", "--workers", "2", stdin=CONFIG)
    assert (code, out) == (0, "abc123 net-1\n") and "exists and every node is Ready: kept" in err


def test_main_update_run_refuses_a_cluster_made_anew_outside_the_stack_on_the_same_network(monkeypatch, capsys):
    monkeypatch.setenv(kind_lifecycle.PREVIOUS_OUTPUT_ENV, "old999 net-1")
    monkeypatch.setenv(kind_lifecycle.NETWORK_ID_ENV, "net-1")
    code, out, err = main(kind_with(KEPT), monkeypatch, capsys, "create", "--name", "kim", "--workers", "2", stdin=CONFIG)
    assert (code, out) == (1, "")
    assert err.startswith("k8s-lab: cluster 'kim': the cluster would have to be made anew (it was made anew outside this stack)")


def test_a_cached_manifest_is_read_as_utf8_whatever_the_locale(monkeypatch, tmp_path, ascii_locale):
    import hashlib

    text = "# café ✔\nkind: Namespace\n"  # as it was verified: the same bytes go to kubectl on Windows' cp1252 too
    sha = hashlib.sha256(text.encode()).hexdigest()
    monkeypatch.setenv(kind_lifecycle.CACHE_DIR_ENV, str(tmp_path))
    (tmp_path / f"{sha}.yaml").write_bytes(text.encode())
    assert kind_lifecycle.cached_manifest("https://x/deploy.yaml", sha, fetch=None) == text


def test_a_node_cap_that_is_not_a_number_is_a_usage_error(monkeypatch, capsys):
    kind = kind_with({})
    monkeypatch.setattr("sys.stdin", io.StringIO(CONFIG))
    for flag in ("--control-plane-memory", "--worker-memory"):
        with pytest.raises(SystemExit) as stopped:
            kind_lifecycle.main(["create", "--name", "kim", flag, "800m"], kind_factory=lambda: kind)
        assert stopped.value.code == 2 and f"argument {flag}: invalid int value: '800m'" in capsys.readouterr().err
    assert kind.runner.calls == []  # type: ignore[attr-defined]
