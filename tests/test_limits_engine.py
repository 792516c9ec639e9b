"""Caps on a real engine: the lifecycle helper caps the nodes kind made, and a student's
runaway process is killed inside that student's lab while a neighbour keeps answering."""

import os
import uuid

import pytest

from k8s_lab import kind_lifecycle, limits, network
from test_kind_lifecycle import CONFIG, fake_kind_bin, lifecycle  # noqa: F401 - fake_kind_bin is a fixture

# A shell that doubles a string to 512 MB (busybox has no stress tool): past the worker's
# cap, yet bounded, so without a cap the test fails instead of eating the host.
RUNAWAY = ["sh", "-c", "a=xxxxxxxxxxxxxxxx; i=0; while [ $i -lt 25 ]; do a=\"$a$a\"; i=$((i+1)); done; echo done"]
SHARES = limits.shares(1800, "0.5", workers=1)  # the smallest cap for 1 worker: IDE 600, control plane 800, worker 400 MB


@pytest.fixture
def two_labs(docker_client, base_image, fake_kind_bin, tmp_path):  # noqa: F811 - the imported fixture
    made = []
    for _ in range(2):
        student = f"k8slabcap-{uuid.uuid4().hex[:6]}"
        net = docker_client.networks.create(f"kind-{student}", driver=network.DRIVER, options=network.network_options(None))
        env = dict(os.environ, PATH=f"{fake_kind_bin}{os.pathsep}{os.environ['PATH']}", KIND_EXPERIMENTAL_DOCKER_NETWORK=net.name,
                   FAKE_KIND_IMAGE=base_image)
        made.append((student, env, net))
    yield [(student, env) for student, env, _ in made]
    for student, _, net in made:
        for container in docker_client.containers.list(all=True, filters={"label": f"{kind_lifecycle.CLUSTER_LABEL}={student}"}):
            container.remove(force=True, v=True)
        net.remove()


def create_capped(student, env):
    caps = ["--control-plane-memory", str(SHARES.control_plane_mb), "--worker-memory", str(SHARES.worker_mb), "--cpus", SHARES.cpus]
    return lifecycle(env, "create", "--name", student, "--workers", "1", "--timeout", "30", *caps, stdin=CONFIG)


@pytest.mark.engine
def test_nodes_get_their_share_on_create_and_again_when_made_anew(docker_client, two_labs):
    student, env = two_labs[0]
    created = create_capped(student, env)
    assert created.returncode == 0, created.stderr
    assert "caps set on 2 nodes" in created.stderr
    for role, megabytes in (("control-plane", SHARES.control_plane_mb), ("worker", SHARES.worker_mb)):
        host = docker_client.containers.get(f"{student}-{role}").attrs["HostConfig"]
        assert host["Memory"] == host["MemorySwap"] == megabytes * 1024 * 1024, role
        assert host["NanoCpus"] == 500_000_000, role
    docker_client.containers.get(f"{student}-worker").remove(force=True)  # the cluster is made anew
    again = create_capped(student, env)
    assert again.returncode == 0 and "half-made" in again.stderr, again.stderr
    assert docker_client.containers.get(f"{student}-worker").attrs["HostConfig"]["Memory"] == SHARES.worker_mb * 1024 * 1024


@pytest.mark.engine
def test_a_runaway_process_is_killed_in_its_own_lab_and_the_neighbour_keeps_answering(docker_client, two_labs):
    (runaway, env_a), (neighbour, env_b) = two_labs
    for student, env in two_labs:
        assert create_capped(student, env).returncode == 0
    worker = docker_client.containers.get(f"{runaway}-worker")
    result = worker.exec_run(RUNAWAY)
    assert result.exit_code == 137  # SIGKILL from the OOM killer at the worker's 372 MB
    worker.reload()
    assert worker.status == "running"  # the node itself survives; only the process went
    kind = kind_lifecycle.Kind("kind", "docker")
    assert kind.node_readiness(neighbour) == {f"{neighbour}-control-plane": True, f"{neighbour}-worker": True}
    assert kind.node_readiness(runaway) == {f"{runaway}-control-plane": True, f"{runaway}-worker": True}
