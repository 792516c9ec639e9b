"""k8s_lab.kind_lifecycle as the Pulumi commands run it: a process, with a fake `kind`
first on PATH that makes real containers on a real lab network."""

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from k8s_lab import kind_lifecycle, network
from k8s_lab.kind_lifecycle import Kind, LifecycleError

ROOT = Path(__file__).resolve().parent.parent
FAKE_KIND = Path(__file__).parent / "fake_kind" / "kind.py"


@pytest.fixture
def fake_kind_bin(tmp_path):
    folder = tmp_path / "bin"
    folder.mkdir()
    launcher = folder / "kind"
    launcher.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE_KIND} \"$@\"\n")
    launcher.chmod(0o755)
    return folder


@pytest.fixture
def lab(docker_client, base_image, fake_kind_bin, tmp_path):
    """A student name, their lab network, and the environment the Pulumi command gives."""
    student = f"k8slabtest-{uuid.uuid4().hex[:6]}"
    net = docker_client.networks.create(f"kind-{student}", driver=network.DRIVER, options=network.network_options(None))
    env = dict(os.environ)
    env.update(
        PATH=f"{fake_kind_bin}{os.pathsep}{env['PATH']}",
        KIND_EXPERIMENTAL_DOCKER_NETWORK=net.name,
        FAKE_KIND_IMAGE=base_image,
        FAKE_KIND_LOG=str(tmp_path / "kind.log"),
    )
    yield student, env, tmp_path / "kind.log"
    for container in docker_client.containers.list(all=True, filters={"label": f"{kind_lifecycle.CLUSTER_LABEL}={student}"}):
        container.remove(force=True, v=True)
    net.remove()


CONFIG = """kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
- role: worker
"""


def lifecycle(env, *args, stdin=""):
    return subprocess.run(
        [sys.executable, "-m", "k8s_lab.kind_lifecycle", *args], input=stdin, capture_output=True, text=True, env=env, cwd=ROOT
    )


def node_names(docker_client, student):
    found = docker_client.containers.list(all=True, filters={"label": f"{kind_lifecycle.CLUSTER_LABEL}={student}"})
    return sorted(c.name for c in found)


def kind_creates(log: Path) -> int:
    return sum(1 for line in log.read_text().splitlines() if line.startswith("create cluster"))


@pytest.mark.engine
def test_create_twice_is_one_cluster(docker_client, lab):
    student, env, log = lab
    first = lifecycle(env, "create", "--name", student, "--workers", "1", "--timeout", "30", stdin=CONFIG)
    assert first.returncode == 0, first.stderr
    assert "all 2 nodes Ready" in first.stderr
    second = lifecycle(env, "create", "--name", student, "--workers", "1", "--timeout", "30", stdin=CONFIG)
    assert second.returncode == 0, second.stderr
    assert "kept" in second.stderr
    assert kind_creates(log) == 1
    assert node_names(docker_client, student) == [f"{student}-control-plane", f"{student}-worker"]
    network_of = docker_client.containers.get(f"{student}-worker").attrs["NetworkSettings"]["Networks"]
    assert list(network_of) == [f"kind-{student}"]


@pytest.mark.engine
def test_failure_halfway_leaves_nothing_and_a_retry_makes_one_healthy_cluster(docker_client, lab):
    student, env, log = lab
    failed = lifecycle(dict(env, FAKE_KIND_FAIL_AT="control-plane"), "create", "--name", student, "--workers", "1", stdin=CONFIG)
    assert failed.returncode == 1
    assert "kubeadm init failed" in failed.stderr
    assert node_names(docker_client, student) == []  # no leftovers
    retried = lifecycle(env, "create", "--name", student, "--workers", "1", "--timeout", "30", stdin=CONFIG)
    assert retried.returncode == 0, retried.stderr
    assert node_names(docker_client, student) == [f"{student}-control-plane", f"{student}-worker"]


@pytest.mark.engine
def test_half_made_cluster_found_on_create_is_made_again(docker_client, lab):
    student, env, log = lab
    assert lifecycle(env, "create", "--name", student, "--workers", "1", "--timeout", "30", stdin=CONFIG).returncode == 0
    docker_client.containers.get(f"{student}-worker").remove(force=True)  # e.g. a crash between runs
    again = lifecycle(env, "create", "--name", student, "--workers", "1", "--timeout", "30", stdin=CONFIG)
    assert again.returncode == 0, again.stderr
    assert "half-made" in again.stderr
    assert kind_creates(log) == 2
    assert node_names(docker_client, student) == [f"{student}-control-plane", f"{student}-worker"]


@pytest.mark.engine
def test_nodes_never_ready_is_a_clear_timeout(docker_client, lab):
    student, env, log = lab
    result = lifecycle(dict(env, FAKE_KIND_NOT_READY="1"), "create", "--name", student, "--workers", "1", "--timeout", "3", stdin=CONFIG)
    assert result.returncode == 1
    assert f"nodes not Ready after 3s: {student}-control-plane, {student}-worker" in result.stderr


@pytest.mark.engine
def test_delete_twice_is_fine(docker_client, lab):
    student, env, log = lab
    assert lifecycle(env, "create", "--name", student, "--workers", "1", "--timeout", "30", stdin=CONFIG).returncode == 0
    for _ in range(2):
        result = lifecycle(env, "delete", "--name", student)
        assert result.returncode == 0, result.stderr
    assert node_names(docker_client, student) == []


@pytest.mark.engine
def test_kubeconfig_host_and_internal(docker_client, lab):
    student, env, log = lab
    assert lifecycle(env, "create", "--name", student, "--workers", "1", "--timeout", "30", stdin=CONFIG).returncode == 0
    assert "https://127.0.0.1:6550" in lifecycle(env, "kubeconfig", "--name", student).stdout
    internal = lifecycle(env, "kubeconfig", "--name", student, "--internal").stdout
    assert f"https://{student}-control-plane:6443" in internal


def test_missing_kind_is_a_clear_error(tmp_path):
    env = {"PATH": str(tmp_path), "SYSTEMROOT": os.environ.get("SYSTEMROOT", "")}
    result = lifecycle(env, "delete", "--name", "kim")
    assert result.returncode == 1
    assert "`kind` executable was not found on PATH" in result.stderr and "choco install kind" in result.stderr


def test_wait_reports_exactly_the_nodes_not_ready():
    answers = iter([None, {"kim-control-plane": True, "kim-worker": False}, {"kim-control-plane": True, "kim-worker": False}])

    class Stub(Kind):
        def node_readiness(self, cluster):
            return next(answers)

    clock = iter([0, 1, 2, 99])
    with pytest.raises(LifecycleError, match=r"not Ready after 5s: kim-worker\."):
        kind_lifecycle.wait_until_ready(Stub("kind", "docker"), "kim", 1, timeout=5, sleep=lambda s: None, clock=lambda: next(clock))


def test_expected_node_names_follow_kinds_naming():
    assert kind_lifecycle.expected_nodes("kim", 3) == {"kim-control-plane", "kim-worker", "kim-worker2", "kim-worker3"}


@pytest.mark.engine
def test_cluster_deleted_outside_pulumi_is_made_again_with_a_new_identity(docker_client, lab):
    student, env, log = lab
    args = ("create", "--name", student, "--workers", "1", "--timeout", "30")
    first = lifecycle(env, *args, stdin=CONFIG)
    assert lifecycle(env, *args, stdin=CONFIG).stdout == first.stdout  # kept: same identity
    subprocess.run(["kind", "delete", "cluster", "--name", student], env=env, check=True, capture_output=True)
    again = lifecycle(env, *args, stdin=CONFIG)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() and again.stdout != first.stdout  # new control plane: kubeconfig re-read
    assert node_names(docker_client, student) == [f"{student}-control-plane", f"{student}-worker"]


@pytest.mark.engine
def test_registry_hosts_reach_every_node(docker_client, lab):
    from k8s_lab import registry

    student, env, log = lab
    assert lifecycle(env, "create", "--name", student, "--workers", "1", "--timeout", "30", stdin=CONFIG).returncode == 0
    directory = registry.hosts_dir(5001)
    endpoint = registry.endpoint(f"{student}-registry")
    result = lifecycle(env, "registry-hosts", "--name", student, "--directory", directory, "--endpoint", endpoint)
    assert result.returncode == 0, result.stderr
    for node in (f"{student}-control-plane", f"{student}-worker"):
        written = docker_client.containers.get(node).exec_run(["cat", f"{directory}/hosts.toml"])
        assert written.exit_code == 0 and written.output.decode() == registry.hosts_toml(endpoint), node


@pytest.mark.engine
def test_parallel_creates_on_one_machine_never_share_a_kubeconfig(docker_client, base_image, fake_kind_bin, tmp_path):
    """kind locks the kubeconfig it writes without waiting; three stacks at once, all
    with the user's ~/.kube/config, fail at random (classroom.py --parallel). Each call
    gets a file of its own, and the user's file is never touched."""
    home = tmp_path / "home"
    home.mkdir()
    students = [f"k8slabpar-{uuid.uuid4().hex[:5]}" for _ in range(3)]
    nets = [docker_client.networks.create(f"kind-{s}", driver=network.DRIVER, options=network.network_options(None)) for s in students]
    log = tmp_path / "kind.log"
    try:
        processes = []
        for student, net in zip(students, nets, strict=True):
            env = dict(os.environ, HOME=str(home), PATH=f"{fake_kind_bin}{os.pathsep}{os.environ['PATH']}",
                       KIND_EXPERIMENTAL_DOCKER_NETWORK=net.name, FAKE_KIND_IMAGE=base_image, FAKE_KIND_LOG=str(log))
            env.pop("KUBECONFIG", None)
            argv = [sys.executable, "-m", "k8s_lab.kind_lifecycle", "create", "--name", student, "--workers", "0", "--timeout", "30"]
            processes.append(subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT))
        for process in processes:
            process.stdin.write(CONFIG.replace("- role: worker\n", ""))
            process.stdin.close()
        results = [(process.wait(timeout=120), process.stderr.read()) for process in processes]
        assert all(code == 0 for code, _ in results), results
        creates = [line.split() for line in log.read_text().splitlines() if line.startswith("create cluster")]
        paths = {argv[argv.index("--kubeconfig") + 1] for argv in creates}
        assert len(paths) == 3 and not any(path.startswith(str(home)) for path in paths)
        assert not (home / ".kube").exists()
        assert not any(os.path.exists(path) for path in paths)  # removed afterwards
    finally:
        for student in students:
            for container in docker_client.containers.list(all=True, filters={"label": f"{kind_lifecycle.CLUSTER_LABEL}={student}"}):
                container.remove(force=True, v=True)
        for net in nets:
            net.remove()


def test_fake_kind_locks_like_kind(tmp_path):
    """The stand-in really refuses a kubeconfig that another kind call holds."""
    sys.path.insert(0, str(FAKE_KIND.parent))
    try:
        import kind as fake
    finally:
        sys.path.pop(0)
    path = tmp_path / "config"
    lock = os.open(str(path) + ".lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    try:
        with pytest.raises(SystemExit, match="failed to lock config file"):
            fake.write_kubeconfig(str(path), "kim", waits=(0, 0.001))
    finally:
        os.close(lock)
        os.unlink(str(path) + ".lock")
    fake.write_kubeconfig(str(path), "kim", waits=(0,))
    assert path.read_text() == "# context kind-kim\n"


def write_manifest(tmp_path, text="kind: Namespace\nmetadata:\n  name: probe\n"):
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(text)
    return manifest.as_uri(), hashlib.sha256(text.encode()).hexdigest(), text


@pytest.mark.engine
def test_manifest_is_applied_verified_and_removed(docker_client, lab, tmp_path):
    student, env, log = lab
    env = dict(env, K8S_LAB_CACHE_DIR=str(tmp_path / "cache"))
    url, sha, text = write_manifest(tmp_path)
    assert lifecycle(env, "create", "--name", student, "--workers", "0", "--timeout", "30", stdin=CONFIG.replace("- role: worker\n", "")).returncode == 0
    applied = lifecycle(env, "manifest", "--name", student, "--url", url, "--sha256", sha)
    assert applied.returncode == 0, applied.stderr
    control_plane = docker_client.containers.get(f"{student}-control-plane")
    assert control_plane.exec_run(["cat", "/etc/applied.yaml"]).output.decode() == text
    assert (tmp_path / "cache" / f"{sha}.yaml").read_text() == text  # fetched once, kept outside git
    removed = lifecycle(env, "manifest", "--name", student, "--url", url, "--sha256", sha, "--remove")
    assert removed.returncode == 0, removed.stderr
    assert control_plane.exec_run(["cat", "/etc/applied.yaml"]).exit_code != 0
    assert lifecycle(env, "delete", "--name", student).returncode == 0
    gone = lifecycle(env, "manifest", "--name", student, "--url", url, "--sha256", sha, "--remove")
    assert gone.returncode == 0 and "nothing to remove" in gone.stderr


def test_a_manifest_that_is_not_the_pinned_one_is_refused_and_not_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("K8S_LAB_CACHE_DIR", str(tmp_path / "cache"))
    url, sha, _ = write_manifest(tmp_path)
    with pytest.raises(LifecycleError, match="checksum mismatch"):
        kind_lifecycle.cached_manifest(url, "0" * 64)
    assert not list((tmp_path / "cache").glob("*"))
    assert kind_lifecycle.cached_manifest(url, sha).startswith("kind: Namespace")
    (tmp_path / "deploy.yaml").unlink()  # the network is gone: the verified cache serves
    assert kind_lifecycle.cached_manifest(url, sha).startswith("kind: Namespace")
    (tmp_path / "cache" / f"{sha}.yaml").write_text("tampered")
    with pytest.raises(LifecycleError, match="could not be fetched"):
        kind_lifecycle.cached_manifest(url, sha)  # a bad cache is fetched again, never used


def test_the_lifecycle_helper_needs_only_the_standard_library():
    """It runs on whatever `python` the provider finds: no PyYAML, Pulumi or other package."""
    script = (
        "import sys\n"
        "for blocked in ('yaml', 'pulumi', 'docker', 'rich', 'semver'):\n"
        "    sys.modules[blocked] = None\n"
        "import k8s_lab.kind_lifecycle\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
