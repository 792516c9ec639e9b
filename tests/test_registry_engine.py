"""The local registry on a real Docker Engine. No registry image can be pulled here, so
the stand-in is built from Debian's docker-registry package (the same distribution
registry program as registry:2), with the registry:2 data path. It is published where
k8s_lab/exposure.py puts an open lab's (bindAddress 0.0.0.0): on the host's loopback."""

import io
import json
import shutil
import subprocess
import tarfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import engine_unavailable
from k8s_lab import exposure, ide_container, network, registry
from k8s_lab.names import LabNames
from k8s_lab.ports import ports_for_slot

pytestmark = pytest.mark.engine

REGISTRY_BINARY = Path("/usr/bin/docker-registry")
CONFIG = f"""version: 0.1
storage:
  filesystem:
    rootdirectory: {registry.DATA_DIR}
http:
  addr: :{registry.CONTAINER_PORT}
"""


def shared_libraries(binary: Path) -> list[Path]:
    """What `binary` loads, with its loader; none for a static binary (ldd then says so and fails)."""
    done = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False)
    return [Path(part) for line in done.stdout.splitlines() for part in line.split() if part.startswith("/")]


@pytest.fixture(scope="module")
def cli_image(docker_client):
    """An IDE stand-in: busybox and this host's docker CLI (with its libraries, if any), so a
    push is made as the IDE makes it, from a container through the mounted socket."""
    found = shutil.which("docker")
    if found is None:
        engine_unavailable("the docker CLI is not on PATH")
    cli = Path(found).resolve()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in [cli, Path("/bin/busybox"), *shared_libraries(cli)]:
            tar.add(str(path.resolve()), arcname=str(path).lstrip("/"))
        for applet in ("sh", "wget"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        tmp = tarfile.TarInfo("tmp")
        tmp.type, tmp.mode = tarfile.DIRTYPE, 0o1777
        tar.addfile(tmp)
    docker_client.api.import_image_from_data(buffer.getvalue(), repository="k8s-lab-test/docker-cli", tag="1")
    return "k8s-lab-test/docker-cli:1", str(cli)


@pytest.fixture(scope="module")
def registry_image(docker_client):
    if not REGISTRY_BINARY.exists():
        engine_unavailable(f"{REGISTRY_BINARY} is missing (apt-get install docker-registry)")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in [REGISTRY_BINARY, *shared_libraries(REGISTRY_BINARY)]:
            tar.add(str(path.resolve()), arcname=str(path).lstrip("/"))
        config = CONFIG.encode()
        info = tarfile.TarInfo("etc/docker/registry/config.yml")
        info.size = len(config)
        tar.addfile(info, io.BytesIO(config))
    docker_client.api.import_image_from_data(
        buffer.getvalue(),
        repository="k8s-lab-test/registry",
        tag="1",
        changes=['CMD ["/usr/bin/docker-registry", "serve", "/etc/docker/registry/config.yml"]'],
    )
    return "k8s-lab-test/registry:1"


def wait_until_answering(url: str, seconds: float = 15) -> None:
    """Until `url` answers 200; TimeoutError naming the last answer once `seconds` pass,
    whatever the answers were (an endless 204 or 503 must not hang the suite)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except OSError as error:
            last = repr(error)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer 200 within {seconds} s; last: {last}")
        time.sleep(0.2)


@pytest.fixture
def lab_with_registry(docker_client, registry_image):
    names = LabNames(f"k8slabtest-{uuid.uuid4().hex[:6]}")
    created = []
    try:
        lab_network = docker_client.networks.create(
            names.network, driver=network.DRIVER, options=network.network_options(None)
        )
        created.append(lab_network)
        data = docker_client.volumes.create(names.registry_volume)
        created.append(data)
        host_port = ports_for_slot(400).registry  # far from any lab a developer runs
        container = docker_client.containers.run(
            registry_image,
            name=names.registry_container,
            network=names.network,
            ports={f"{registry.CONTAINER_PORT}/tcp": (exposure.address("registry", "0.0.0.0", remote=False), host_port)},
            volumes={names.registry_volume: {"bind": registry.DATA_DIR, "mode": "rw"}},
            detach=True,
        )
        created.insert(0, container)
        wait_until_answering(f"http://127.0.0.1:{host_port}/v2/")
        yield names, host_port
    finally:
        for thing in created:
            try:
                thing.remove(force=True) if hasattr(thing, "attach") else thing.remove()
            except Exception:  # noqa: BLE001 - best-effort cleanup
                pass


def test_registry_answers_by_its_network_name(docker_client, base_image, lab_with_registry):
    names, _ = lab_with_registry
    url = f"{registry.endpoint(names.registry_container)}/v2/"
    # Not run(remove=True): docker-py may read the logs after the container is gone.
    probe = docker_client.containers.run(base_image, ["wget", "-q", "-O", "-", url], network=names.network, detach=True)
    try:
        assert probe.wait(timeout=30)["StatusCode"] == 0
        assert probe.logs(stdout=True, stderr=False).strip() == b"{}"
    finally:
        probe.remove(force=True)


def test_image_pushed_through_the_published_port_can_be_pulled_back(docker_client, base_image, lab_with_registry):
    names, host_port = lab_with_registry
    reference = f"{registry.push_host(host_port)}/app"
    original = docker_client.images.get(base_image)
    original.tag(reference, "1")
    try:
        for line in docker_client.images.push(reference, tag="1", stream=True, decode=True):
            assert "error" not in line, line
        docker_client.images.remove(f"{reference}:1")
        pulled = docker_client.images.pull(reference, tag="1")
        assert pulled.id == original.id
    finally:
        try:
            docker_client.images.remove(f"{reference}:1")
        except Exception:  # noqa: BLE001
            pass


def test_the_ides_docker_cli_pushes_through_the_hosts_daemon_to_the_registry_on_loopback(docker_client, base_image, cli_image, lab_with_registry):
    """As in the IDE: the docker CLI in a container on the lab network, with the host's socket
    mounted, pushes localhost:<port>/... The container's own loopback has no registry (wget
    fails there); the push still lands, because the daemon makes it from the host."""
    if not Path(ide_container.DOCKER_SOCKET).exists():
        engine_unavailable(f"the engine's socket is not at {ide_container.DOCKER_SOCKET}, where the IDE mounts it from")
    names, host_port = lab_with_registry
    image, cli = cli_image
    reference = f"{registry.push_host(host_port)}/from-ide"
    docker_client.images.get(base_image).tag(reference, "1")
    script = f"wget -q -T 3 -O - http://localhost:{host_port}/v2/ && echo OWN-LOOPBACK-ANSWERED; {cli} push {reference}:1"
    socket = {ide_container.DOCKER_SOCKET: {"bind": ide_container.DOCKER_SOCKET, "mode": "rw"}}
    ide = docker_client.containers.run(image, ["sh", "-c", script], network=names.network, volumes=socket, environment={"HOME": "/tmp"}, detach=True)
    try:
        status = ide.wait(timeout=120)["StatusCode"]
        logs = ide.logs().decode(errors="replace")
        assert status == 0, logs
        assert "OWN-LOOPBACK-ANSWERED" not in logs
        with urllib.request.urlopen(f"http://127.0.0.1:{host_port}/v2/from-ide/tags/list", timeout=5) as answer:
            assert json.load(answer)["tags"] == ["1"]
    finally:
        ide.remove(force=True)
        try:
            docker_client.images.remove(f"{reference}:1")
        except Exception:  # noqa: BLE001
            pass
