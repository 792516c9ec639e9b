"""k8s_lab.mirror: the class's pull-through caches, their ports, the nodes' hosts.toml and the
host's daemon.json; on a real engine with the Debian docker-registry stand-in."""

import json
import subprocess
import uuid

import pytest

from k8s_lab import mirror, network, registry
from k8s_lab.shell_form import class_command
from k8s_lab.kind_lifecycle import CLUSTER_LABEL
from k8s_lab.runner import ProcessRunner
from fakes import Answer, FakeRunner, fails, ok
from test_kind_lifecycle import CONFIG, fake_kind_bin, lifecycle  # noqa: F401 - fake_kind_bin is a fixture
from test_registry_engine import registry_image, wait_until_answering  # noqa: F401 - registry_image is a fixture
from k8s_lab.exits import lab_command

LAB = lab_command()  # `venv/bin/python lab.py` as the messages name it


def test_each_upstream_has_its_port_and_hosts_dir():
    docker_io, k8s_io = mirror.UPSTREAMS
    assert mirror.endpoint("http://teacher:5000", docker_io) == "http://teacher:5000"
    assert mirror.endpoint("http://teacher:5000", k8s_io) == "http://teacher:5001"
    assert mirror.endpoint("https://cache.school.example", k8s_io) == "https://cache.school.example:444"
    assert mirror.hosts_dir(k8s_io) == "/etc/containerd/certs.d/registry.k8s.io"
    argv = mirror.run_argv(docker_io, 5000)
    assert "REGISTRY_PROXY_REMOTEURL=https://registry-1.docker.io" in argv and "0.0.0.0:5000:5000" in argv
    assert argv[-1] == registry.IMAGE and "unless-stopped" in argv


def test_daemon_json_adds_the_hub_cache_and_keeps_the_rest():
    config = json.loads(mirror.daemon_json("http://teacher:5000", {"log-driver": "local", "registry-mirrors": ["https://other"]}))
    assert config["registry-mirrors"] == ["http://teacher:5000", "https://other"]
    assert config["insecure-registries"] == ["teacher:5000"] and config["log-driver"] == "local"
    assert "insecure-registries" not in json.loads(mirror.daemon_json("https://cache.example:443"))


INSPECT = ("docker", "inspect", "--format", "{{.State.Status}}")
HUB, K8S = "k8s-lab-mirror-docker-io", "k8s-lab-mirror-registry-k8s-io"


def test_ensure_keeps_a_running_cache_starts_a_stopped_one_and_makes_a_missing_one():
    runner = FakeRunner({(*INSPECT, HUB): ok("running\n"), (*INSPECT, K8S): ok("exited\n"), ("docker", "start"): ok()})
    done = mirror.ensure_caches(mirror.docker_cli(runner))
    assert done == [f"{HUB}: running, kept", f"{K8S}: started, caching https://registry.k8s.io on port {mirror.DEFAULT_PORT + 1}"]
    assert runner.argvs == [(*INSPECT, HUB), (*INSPECT, K8S), ("docker", "start", K8S)]
    assert all(call.timeout == 300 for call in runner.calls)


def test_a_cache_listens_on_every_interface_unless_told():
    runner = FakeRunner({(*INSPECT, HUB): fails("No such object"), (*INSPECT, K8S): ok("running"), ("docker", "run"): ok()})
    mirror.ensure_caches(mirror.docker_cli(runner))
    assert f"0.0.0.0:{mirror.DEFAULT_PORT}:5000" in runner.argvs[1] and runner.argvs[1][-1] == registry.IMAGE


def test_a_missing_cache_is_made_with_the_exact_docker_run():
    runner = FakeRunner({(*INSPECT, HUB): fails("Error: No such object"), (*INSPECT, K8S): ok("running"), ("docker", "run"): ok("id\n")})
    done = mirror.ensure_caches(mirror.docker_cli(runner), port=6000, image="registry:2.8.3", bind_address="10.0.0.5")
    assert done == [f"{HUB}: made, caching https://registry-1.docker.io on port 6000", f"{K8S}: running, kept"]
    assert runner.argvs[1] == (
        "docker", "run", "-d", "--name", HUB, "--restart", "unless-stopped", "-p", "10.0.0.5:6000:5000",
        "-v", f"{HUB}:/var/lib/registry", "-e", "REGISTRY_PROXY_REMOTEURL=https://registry-1.docker.io", "registry:2.8.3",
    )
    assert len(runner.argvs) == 3


def test_a_cache_that_does_not_start_stops_the_rest_and_says_why():
    runner = FakeRunner({(*INSPECT, HUB): ok("exited"), ("docker", "start"): fails("port is already allocated")})
    with pytest.raises(RuntimeError, match=f"^{HUB} did not start: port is already allocated$"):
        mirror.ensure_caches(mirror.docker_cli(runner))
    assert runner.argvs == [(*INSPECT, HUB), ("docker", "start", HUB)]  # the next cache is not tried


@pytest.fixture
def upstream(docker_client, registry_image):  # noqa: F811 - the imported fixture
    """A plain registry standing in for Docker Hub (no registry is reachable here)."""
    container = docker_client.containers.run(registry_image, detach=True, ports={"5000/tcp": ("127.0.0.1", None)})
    try:
        container.reload()
        host_port = int(container.attrs["NetworkSettings"]["Ports"]["5000/tcp"][0]["HostPort"])
        wait_until_answering(f"http://127.0.0.1:{host_port}/v2/")
        yield container.attrs["NetworkSettings"]["IPAddress"], host_port, container
    finally:
        container.remove(force=True, v=True)


@pytest.mark.engine
def test_the_class_cache_pulls_once_and_serves_again_when_the_upstream_is_gone(docker_client, registry_image, base_image, upstream):  # noqa: F811
    upstream_ip, upstream_port, upstream_container = upstream
    stand_in = mirror.Upstream("docker.io", f"http://{upstream_ip}:5000", 0)
    port = 45000 + uuid.uuid4().int % 900 * 2
    name = mirror.container_name(stand_in)
    image = docker_client.images.get(base_image)

    docker = mirror.docker_cli(ProcessRunner())  # as classroom.py mirror runs it

    pushed = f"127.0.0.1:{upstream_port}/class/app"
    cached = f"127.0.0.1:{port}/class/app"
    try:
        image.tag(pushed, "1")
        for line in docker_client.images.push(pushed, tag="1", stream=True, decode=True):
            assert "error" not in line, line
        assert ["made" in line for line in mirror.ensure_caches(docker, port, registry_image, "127.0.0.1", (stand_in,))] == [True]
        assert ["kept" in line for line in mirror.ensure_caches(docker, port, registry_image, "127.0.0.1", (stand_in,))] == [True]
        wait_until_answering(f"http://127.0.0.1:{port}/v2/")
        assert docker_client.images.pull(cached, tag="1").id == image.id  # fetched from the upstream once
        docker_client.images.remove(f"{cached}:1")
        upstream_container.stop()  # the school's NAT is down, or the limit is reached
        assert docker_client.images.pull(cached, tag="1").id == image.id  # served from the cache
    finally:
        for reference in (f"{pushed}:1", f"{cached}:1"):
            try:
                docker_client.images.remove(reference)
            except Exception:  # noqa: BLE001 - not there
                pass
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True)
        subprocess.run(["docker", "volume", "rm", name], capture_output=True)


@pytest.mark.engine
def test_every_node_is_pointed_at_the_caches(docker_client, base_image, fake_kind_bin):  # noqa: F811
    import os

    student = f"k8slabmir-{uuid.uuid4().hex[:6]}"
    net = docker_client.networks.create(f"kind-{student}", driver=network.DRIVER, options=network.network_options(None))
    try:
        env = dict(os.environ, PATH=f"{fake_kind_bin}{os.pathsep}{os.environ['PATH']}", KIND_EXPERIMENTAL_DOCKER_NETWORK=net.name,
                   FAKE_KIND_IMAGE=base_image)
        assert lifecycle(env, "create", "--name", student, "--workers", "1", "--timeout", "30", stdin=CONFIG).returncode == 0
        setting = "http://teacher.school.example:5000"
        for upstream in mirror.UPSTREAMS:  # what the program's <cluster>-mirror-<upstream> commands run
            wired = lifecycle(env, "registry-hosts", "--name", student, "--directory", mirror.hosts_dir(upstream),
                              "--endpoint", mirror.endpoint(setting, upstream))
            assert wired.returncode == 0, wired.stderr
        for node in (f"{student}-control-plane", f"{student}-worker"):
            container = docker_client.containers.get(node)
            for upstream in mirror.UPSTREAMS:
                hosts = container.exec_run(["cat", f"{mirror.hosts_dir(upstream)}/hosts.toml"]).output.decode()
                assert hosts == registry.hosts_toml(mirror.endpoint(setting, upstream)), (node, upstream)
    finally:
        for container in docker_client.containers.list(all=True, filters={"label": f"{CLUSTER_LABEL}={student}"}):
            container.remove(force=True, v=True)
        net.remove()


def test_endpoints_take_the_schemes_default_port():
    docker_io, k8s_io = mirror.UPSTREAMS
    assert mirror.endpoint("http://teacher", docker_io) == "http://teacher:80"
    assert mirror.endpoint("http://teacher", k8s_io) == "http://teacher:81"
    assert mirror.endpoint("https://cache.example", docker_io) == "https://cache.example:443"
    assert [u.slug for u in mirror.UPSTREAMS] == ["docker-io", "registry-k8s-io"]
    assert mirror.container_name(k8s_io) == "k8s-lab-mirror-registry-k8s-io"


def test_the_second_cache_runs_on_the_next_port_with_its_own_volume():
    assert mirror.run_argv(mirror.UPSTREAMS[1], 5000) == [
        "run", "-d", "--name", "k8s-lab-mirror-registry-k8s-io", "--restart", "unless-stopped", "-p", "0.0.0.0:5001:5000",
        "-v", "k8s-lab-mirror-registry-k8s-io:/var/lib/registry", "-e", "REGISTRY_PROXY_REMOTEURL=https://registry.k8s.io", registry.IMAGE,
    ]


def test_daemon_json_exactly_and_the_hub_cache_first_once():
    text = mirror.daemon_json("http://teacher:5000", {"registry-mirrors": ["http://teacher:5000", "https://b"], "insecure-registries": ["z:1"]})
    assert text == json.dumps(
        {"registry-mirrors": ["http://teacher:5000", "https://b"], "insecure-registries": ["teacher:5000", "z:1"]}, indent=2
    )
    assert json.loads(mirror.daemon_json("http://teacher:5000")) == {"registry-mirrors": ["http://teacher:5000"], "insecure-registries": ["teacher:5000"]}


def test_instructions_name_the_setting_and_the_daemon_json():
    text = mirror.instructions("http://teacher:5000")
    assert "registryMirror" in text.splitlines()[1] and "http://teacher:5000" in text.splitlines()[1]
    assert mirror.daemon_json("http://teacher:5000") in text and text.rstrip().endswith("Settings > Docker Engine).")


def test_a_failed_docker_run_says_what_docker_said_on_stdout_too():
    runner = FakeRunner({(*INSPECT, HUB): fails("No such object"), ("docker", "run"): Answer(125, "port taken\n", "")})
    with pytest.raises(RuntimeError, match=f"^{HUB} did not start: port taken$"):
        mirror.ensure_caches(mirror.docker_cli(runner))


def test_the_second_cache_is_checked_on_the_port_after_the_first():
    assert mirror.port_problems(5000) == [
        "port 5000 is often held by macOS's AirPlay Receiver (the docker.io cache's); "
        f"fix: {class_command('mirror', '--port', '5010')}, or another port off the slot plan",
        "port 5001 is slot 0's registry port (the registry.k8s.io cache's); "
        f"fix: {class_command('mirror', '--port', '5010')}, or another port off the slot plan",
    ]
    asked = []
    runner = FakeRunner({INSPECT: fails("Error: No such object"), ("docker", "run"): ok("id\n")})
    mirror.ensure_caches(mirror.docker_cli(runner), port=6000, bind_address="10.0.0.5",
                         can_bind=lambda address, port: asked.append((address, port)) or True)
    assert asked == [("10.0.0.5", 6000), ("10.0.0.5", 6001)]
    with pytest.raises(RuntimeError) as caught:
        mirror.ensure_caches(mirror.docker_cli(runner), port=6000, bind_address="10.0.0.5", can_bind=lambda address, port: port != 6001)
    assert str(caught.value) == (
        "k8s-lab-mirror-registry-k8s-io cannot start: 10.0.0.5:6001 is already in use; stop what listens there, or pick --port")
