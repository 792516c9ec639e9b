"""lab.py stop/start on a real engine: a lab of stand-ins (fake kind's nodes, a busybox IDE
whose kubectl reaches the control plane by name, a registry stand-in) is stopped with
everything kept, not taken for a lost lab, and started again with new node IPs."""

import re
import os
import uuid

import pytest

from k8s_lab import drift, kind_lifecycle, network, power, session
from k8s_lab.kind_lifecycle import Kind, LifecycleError
from k8s_lab.names import LabNames
from k8s_lab.exits import lab_command
from test_kind_lifecycle import CONFIG, fake_kind_bin, lifecycle  # noqa: F401 - fake_kind_bin is a fixture


def fake_kubectl(names: LabNames) -> str:
    """kubectl in the IDE stand-in: answers only when the control plane's name resolves
    and answers on the lab network, as a real kubectl with the in-network kubeconfig."""
    return (
        "#!/bin/sh\n"
        f'ping -c 1 -W 2 {names.control_plane} >/dev/null 2>&1 || {{ echo "dial tcp: lookup {names.control_plane}: no such host" >&2; exit 1; }}\n'
        f"echo node/{names.control_plane}\necho node/{names.cluster}-worker\n"
    )


@pytest.fixture
def stand_in_lab(docker_client, base_image, fake_kind_bin, monkeypatch):  # noqa: F811 - the imported fixture
    names = LabNames(f"k8slabpow-{uuid.uuid4().hex[:6]}")
    net = docker_client.networks.create(names.network, driver=network.DRIVER, options=network.network_options(None))
    env = dict(os.environ, PATH=f"{fake_kind_bin}{os.pathsep}{os.environ['PATH']}", KIND_EXPERIMENTAL_DOCKER_NETWORK=net.name,
               FAKE_KIND_IMAGE=base_image)
    made = []
    try:
        assert lifecycle(env, "create", "--name", names.cluster, "--workers", "1", "--timeout", "30", stdin=CONFIG).returncode == 0
        for name in (names.registry_container, names.ide_container):
            made.append(docker_client.containers.run(base_image, ["sleep", "3600"], name=name, network=net.name, detach=True))
        made[-1].exec_run(["sh", "-c", f"cat > /bin/kubectl <<'EOF'\n{fake_kubectl(names)}EOF\nchmod 755 /bin/kubectl"])
        yield names
    finally:
        for container in docker_client.containers.list(all=True, filters={"network": net.name}) + made:
            try:
                container.remove(force=True, v=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
        for container in docker_client.containers.list(all=True, filters={"label": f"{kind_lifecycle.CLUSTER_LABEL}={names.cluster}"}):
            container.remove(force=True, v=True)
        net.remove()


def states(docker_client, names):
    wanted = [names.ide_container, names.registry_container, names.control_plane, f"{names.cluster}-worker"]
    return {name: docker_client.containers.get(name).status for name in wanted}


@pytest.mark.engine
def test_stop_keeps_everything_and_start_brings_it_back_with_new_ips(docker_client, stand_in_lab, base_image):
    names = stand_in_lab
    kind = Kind("kind", "docker")
    old_ip = docker_client.containers.get(names.control_plane).attrs["NetworkSettings"]["Networks"][names.network]["IPAddress"]
    stopped = power.stop(kind, names, log=lambda _: None)
    assert stopped[0] == names.ide_container and stopped[-1] == names.control_plane  # IDE first, control plane last
    assert set(states(docker_client, names).values()) == {"exited"}
    assert power.lab_parts(kind, names).stopped

    # Not a lost lab: nothing to repair, so `lab.py up` replaces nothing.
    assert drift.probe(names) == drift.Presence(cluster=True, ide=True)
    repair = session.look_for_repairs(names.student, {"student": names.student, "ideImage": base_image}, deployed=True)
    assert not repair and repair.reasons == []

    # Another container takes the control plane's old address meanwhile.
    squatter = docker_client.containers.run(base_image, ["sleep", "600"], network=names.network, detach=True)
    squatter.reload()
    assert squatter.attrs["NetworkSettings"]["Networks"][names.network]["IPAddress"] == old_ip
    messages = []
    power.start(kind, names, workers=1, timeout=30, log=messages.append)
    assert set(states(docker_client, names).values()) == {"running"}
    new_ip = docker_client.containers.get(names.control_plane).attrs["NetworkSettings"]["Networks"][names.network]["IPAddress"]
    assert new_ip != old_ip
    assert any("sees every node" in m for m in messages)


@pytest.mark.engine
def test_start_names_what_is_missing_and_the_command_that_repairs_it(docker_client, stand_in_lab):
    names = stand_in_lab
    kind = Kind("kind", "docker")
    power.stop(kind, names, log=lambda _: None)
    docker_client.containers.get(f"{names.cluster}-worker").remove()
    with pytest.raises(LifecycleError, match=rf"lacks {names.cluster}-worker: `{re.escape(lab_command('up', '--stack', names.student))}` makes"):
        power.start(kind, names, workers=1, timeout=5)


@pytest.mark.engine
def test_a_kubeconfig_that_no_longer_reaches_the_cluster_fails_start(docker_client, stand_in_lab):
    names = stand_in_lab
    kind = Kind("kind", "docker")
    power.stop(kind, names, log=lambda _: None)
    docker_client.networks.get(names.network).disconnect(names.ide_container)  # the IDE cannot see the cluster
    with pytest.raises(LifecycleError, match="does not reach the cluster after start"):
        power.start(kind, names, workers=1, timeout=30)


@pytest.mark.engine
def test_status_sees_a_stopped_lab_and_up_starts_it_first(docker_client, stand_in_lab):
    from k8s_lab import status, verbs

    names = stand_in_lab
    lab = verbs.target(names.student, {"workers": "1"})
    power.stop(lab.kind(), names, log=lambda _: None)
    report = status.assess(verbs.gather_status(lab, "kim", None))
    assert report.state == "stopped" and report.repair == lab_command("start", "--stack", "kim")
    messages = []
    assert verbs.start_if_stopped(lab, log=messages.append) == 0
    assert messages[0].startswith("Your lab is stopped: starting it before `up`")
    report = status.assess(verbs.gather_status(lab, "kim", None))
    assert report.nodes_ready == "2 of 2" and report.ide == "running" and report.memory_mb is not None
    assert verbs.start_if_stopped(lab, log=messages.append) == 0 and len(messages) == 5  # running: nothing more to do
