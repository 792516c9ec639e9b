"""What the lab asks of a real Docker Engine, with the same names, options and paths the
Pulumi program renders, on a tiny busybox image (no registry needed).

Every object is named `k8slabtest-<hex>...`, so teardown removes exactly what the test
made, even what a failed call left behind (a container created but never started).
"""

from __future__ import annotations

import http.client
import io
import os
import secrets
import socket
import stat
import tarfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import docker
import pytest

from k8s_lab import host_ports, ide_container, network, workspace
from k8s_lab.config import parse_lab_config
from k8s_lab.names import LabNames
from k8s_lab.ports import ports_for_slot
from k8s_lab.workspace import bind_volume_driver_opts, ensure_folders, workspace_paths

pytestmark = pytest.mark.engine

LOOPBACK = "127.0.0.1"
WAIT_SECONDS = 15


# --- helpers ---------------------------------------------------------------------------


def remove_everything_named(client, prefix: str) -> None:
    # Docker's name filters match substrings; the check on the name keeps it to ours.
    for container in client.containers.list(all=True, filters={"name": prefix}):
        if prefix in container.name:
            container.remove(force=True)
    for net in client.networks.list(names=[prefix]):
        if prefix in net.name:
            net.remove()
    for volume in client.volumes.list(filters={"name": prefix}):
        if prefix in volume.name:
            volume.remove(force=True)


@pytest.fixture
def prefix(docker_client):
    """A student name no other test run uses; everything carrying it goes at teardown."""
    name = f"k8slabtest-{secrets.token_hex(3)}"
    remove_everything_named(docker_client, name)
    try:
        yield name
    finally:
        remove_everything_named(docker_client, name)


def eventually(attempt, what: str):
    """attempt() until it returns without raising, or fail with its last error."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            return attempt()
        except (AssertionError, OSError, http.client.HTTPException) as error:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not happen within {WAIT_SECONDS}s: {error!r}") from error
            time.sleep(0.1)


def run_to_exit(client, image: str, command: list[str], name: str, **kwargs) -> tuple[int, str]:
    """Run a one-shot container; its exit code and output."""
    container = client.containers.run(image, command, name=name, detach=True, **kwargs)
    try:
        code = container.wait(timeout=WAIT_SECONDS)["StatusCode"]
        return code, container.logs().decode()
    finally:
        container.remove(force=True)


def create_bind_volume(client, name: str, folder: str):
    return client.volumes.create(name=name, driver="local", driver_opts=bind_volume_driver_opts(folder))


def serve_command(files: dict[str, str], port: int) -> list[str]:
    """sh -c that writes each (web path, content) under a web root and serves it on `port`."""
    root = f"/www/{port}"
    writes = [f"mkdir -p {root} && echo '{content}' > {root}/{path}" for path, content in files.items()]
    return ["sh", "-c", " && ".join(writes + [f"exec httpd -f -p {port} -h {root}"])]


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.read().decode().strip()


# --- a. workspace ----------------------------------------------------------------------


def test_student_files_outlive_the_container_and_the_volumes(docker_client, base_image, tmp_path, prefix):
    names = LabNames(prefix)
    paths = workspace_paths(str(tmp_path / "labs"), prefix)
    ensure_folders(paths)
    volumes = [
        create_bind_volume(docker_client, names.src_volume, paths.src),
        create_bind_volume(docker_client, names.vscode_volume, paths.vscode),
    ]
    # What the IDE writes: code under SRC_DIR, VS Code settings under CONFIG_DIR.
    # (mount in the container, host folder behind it, file under both, content)
    written = [
        (ide_container.SRC_DIR, paths.src, "app/main.py", f"print('{secrets.token_hex(4)}')"),
        (ide_container.CONFIG_DIR, paths.vscode, "data/User/settings.json", secrets.token_hex(4)),
    ]
    script = " && ".join(
        f"mkdir -p {os.path.dirname(f'{mount}/{relative}')} && echo \"{content}\" > {mount}/{relative}"
        for mount, _, relative, content in written
    )
    code, output = run_to_exit(
        docker_client,
        base_image,
        ["sh", "-c", script],
        name=names.ide_container,
        volumes={
            names.src_volume: {"bind": ide_container.SRC_DIR, "mode": "rw"},
            names.vscode_volume: {"bind": ide_container.CONFIG_DIR, "mode": "rw"},
        },
    )
    assert code == 0, output

    def files_on_host() -> list:
        found = []
        for mount, folder, relative, _ in written:
            file = Path(folder, relative)
            found.append((mount, folder, relative, file.read_text().strip() if file.is_file() else None))
        return found

    assert files_on_host() == written
    # Destroy: the container is already gone; the volumes go next, the files stay.
    for volume in volumes:
        volume.remove()
    assert not docker_client.volumes.list(filters={"name": prefix})
    assert files_on_host() == written


def test_bind_volume_fails_at_start_until_its_folder_exists(docker_client, base_image, tmp_path, prefix):
    names = LabNames(prefix)
    paths = workspace_paths(str(tmp_path / "labs"), prefix)
    # Docker accepts the volume without looking at the folder...
    create_bind_volume(docker_client, names.src_volume, paths.src)
    container = docker_client.containers.create(
        base_image,
        ["test", "-d", ide_container.SRC_DIR],
        name=names.ide_container,
        volumes={names.src_volume: {"bind": ide_container.SRC_DIR, "mode": "rw"}},
    )
    # ...and fails only when a container mounts it: that is why the program makes the folders.
    with pytest.raises(docker.errors.APIError) as refused:
        container.start()
    assert paths.src in str(refused.value)

    ensure_folders(paths)
    container.start()
    assert container.wait(timeout=WAIT_SECONDS)["StatusCode"] == 0


def test_preflight_refuses_a_workspace_root_under_a_file(tmp_path):
    """Whether the folders can be made is the student's machine's question (lab.py's
    preflight); the config check itself reads no file system."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    assert workspace.writable_problem(str(a_file / "labs")) == f"its parent {a_file} is a file, not a folder"
    assert workspace.writable_problem(str(tmp_path / "new" / "labs")) is None
    assert parse_lab_config({"workspaceRoot": str(a_file / "labs")}, stack="kim").workspace_root == str(a_file / "labs")


# --- b. network ------------------------------------------------------------------------


def create_lab_network(client, student: str, mtu: int | None = None):
    return client.networks.create(LabNames(student).network, driver=network.DRIVER, options=network.network_options(mtu))


@pytest.mark.parametrize("mtu", [None, 1450])
def test_lab_network_reads_back_as_it_was_made(docker_client, prefix, mtu):
    """What the bridged docker_network reads on refresh (`options`, `ipv6`) equals what the
    program gives, so a refresh never turns into a replacement: IPv6 off explicitly, the
    MTU only when configured (the daemon's default otherwise)."""
    lab = create_lab_network(docker_client, prefix, mtu)
    lab.reload()
    assert lab.attrs["Options"] == network.network_options(mtu)
    assert lab.attrs["EnableIPv6"] is False
    assert lab.attrs["Driver"] == network.DRIVER


def test_ide_reaches_the_control_plane_by_name_and_other_students_do_not(docker_client, base_image, prefix):
    ours, theirs = LabNames(prefix), LabNames(f"{prefix}-other")
    create_lab_network(docker_client, ours.student)
    create_lab_network(docker_client, theirs.student)
    # The in-network kubeconfig's server: the control plane's container name and port.
    # httpd speaks plain HTTP where the API server speaks HTTPS; the name is what matters.
    server = urlsplit(ours.in_network_server)
    assert server.hostname == ours.control_plane
    token = secrets.token_hex(8)
    control_plane = docker_client.containers.run(
        base_image,
        serve_command({"probe": token}, server.port),
        name=ours.control_plane,
        network=ours.network,
        detach=True,
    )
    # Ready before anyone asks, so a refusal below means "unreachable", not "not up yet".
    local_probe = ["wget", "-q", "-O", "-", f"http://{LOOPBACK}:{server.port}/probe"]
    eventually(lambda: assert_exit_zero(control_plane.exec_run(local_probe)), "the stand-in control plane serving")
    # No `-T <timeout>`: this busybox's wget crashes (exit 139) with it.
    probe = ["wget", "-q", "-O", "-", f"http://{server.hostname}:{server.port}/probe"]

    code, output = run_to_exit(docker_client, base_image, probe, name=ours.ide_container, network=ours.network)
    assert (code, output.strip()) == (0, token)

    # Docker's DNS answers container names only on their own network.
    code, output = run_to_exit(docker_client, base_image, probe, name=theirs.ide_container, network=theirs.network)
    assert code != 0, f"another student's IDE reached {server.hostname}: {output}"
    assert "bad address" in output


def assert_exit_zero(result) -> None:
    assert result.exit_code == 0, result.output.decode()


# --- c. ports --------------------------------------------------------------------------


def slot_container(client, image: str, name: str, slot: int, content: str = ""):
    """A stand-in IDE publishing the slot's ports; each container port serves `content` plus
    its own port number, so a reply shows which mapping it came through."""
    ports = ports_for_slot(slot)
    published = ide_container.published_ports(ports)
    script = " && ".join(
        f"mkdir -p /www/{inside} && echo '{content}{inside}' > /www/{inside}/probe && httpd -p {inside} -h /www/{inside}"
        for inside, _ in published
    )
    return client.containers.run(
        image,
        ["sh", "-c", f"{script} && exec sleep 300"],
        name=name,
        ports={f"{inside}/tcp": (LOOPBACK, outside) for inside, outside in published},
        detach=True,
    )


def free_slots(count: int, first: int) -> list[int]:
    """`count` slots from `first` on whose published IDE ports nothing on this host holds:
    a developer's own lab in slot 0 moves the test along instead of skipping it."""
    found = []
    for slot in range(first, 571):
        ports = ports_for_slot(slot)
        published = {outside for _, outside in ide_container.published_ports(ports)}
        if not [port for _, port in host_ports.taken_ports(LOOPBACK, ports) if port in published]:
            found.append(slot)
            if len(found) == count:
                return found
    raise AssertionError(f"no {count} free slots on this host")


def test_two_slots_serve_side_by_side(docker_client, base_image, prefix):
    slots = free_slots(2, first=0)  # slots 0 and 1 unless this host already uses them
    for slot in slots:
        slot_container(docker_client, base_image, f"{prefix}-slot{slot}-ide", slot, content=f"slot{slot}-")
    for slot in slots:
        for inside, outside in ide_container.published_ports(ports_for_slot(slot)):
            body = eventually(lambda port=outside: fetch(f"http://{LOOPBACK}:{port}/probe"), f"slot {slot} serving on {outside}")
            assert body == f"slot{slot}-{inside}"


def test_port_held_outside_docker_is_reported_and_refused(docker_client, base_image, prefix):
    (slot,) = free_slots(1, first=2)
    ports = ports_for_slot(slot)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind((LOOPBACK, ports.ide))
        squatter.listen()

        taken = host_ports.taken_ports(LOOPBACK, ports)
        assert ("ide", ports.ide) in taken
        message = host_ports.port_conflict_message(LOOPBACK, slot, taken)
        assert f"{LOOPBACK}:{ports.ide} (ide)" in message
        assert f"slot {slot}" in message

        with pytest.raises(docker.errors.APIError) as refused:
            slot_container(docker_client, base_image, f"{prefix}-slot{slot}-ide", slot)
        assert f"{LOOPBACK}:{ports.ide}" in str(refused.value)


def test_lab_already_in_the_slot_is_reported_and_refused(docker_client, base_image, prefix):
    (slot,) = free_slots(1, first=3)
    ports = ports_for_slot(slot)
    slot_container(docker_client, base_image, f"{prefix}-first-ide", slot)
    # Docker's proxy listens on the published ports, so the check sees a running lab too.
    published = [(purpose, getattr(ports, purpose)) for purpose in ("ide", "live_server")]
    assert set(published) <= set(host_ports.taken_ports(LOOPBACK, ports))

    with pytest.raises(docker.errors.APIError) as refused:
        slot_container(docker_client, base_image, f"{prefix}-second-ide", slot)
    assert "port is already allocated" in str(refused.value)


# --- d. secret upload ------------------------------------------------------------------


def upload_like_pulumi_docker(container, path: str, content: str, permissions: str) -> None:
    """As the provider does for each `uploads` entry: a tar of one file named by its full
    path, mode from `permissions` (octal), no owner (root), copied to "/"."""
    data = content.encode()
    entry = tarfile.TarInfo(path)
    entry.mode = int(permissions, 8)
    entry.size = len(data)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        tar.addfile(entry, io.BytesIO(data))
    assert container.put_archive("/", archive.getvalue())


def read_in_a_container(docker_client, image: str, folder: str, relative: str) -> tuple[str, str]:
    """A file of a host folder as a container sees it: its mode and owner, and its text."""
    script = f'stat -c "%a %u" "/host/{relative}" && cat "/host/{relative}"'
    output = docker_client.containers.run(image, ["sh", "-c", script], volumes={folder: {"bind": "/host", "mode": "ro"}}, remove=True)
    first, _, text = output.decode().partition("\n")
    return first, text


def test_uploads_land_before_start_with_their_modes(docker_client, base_image, tmp_path, prefix):
    names = LabNames(prefix)
    paths = workspace_paths(str(tmp_path / "labs"), prefix)
    ensure_folders(paths)
    create_bind_volume(docker_client, names.vscode_volume, paths.vscode)
    container = docker_client.containers.create(
        base_image,
        ["sleep", "300"],
        name=names.ide_container,
        volumes={names.vscode_volume: {"bind": ide_container.CONFIG_DIR, "mode": "rw"}},
    )
    password, kubeconfig = secrets.token_hex(12), f"server: {names.in_network_server}\n"
    upload_like_pulumi_docker(container, ide_container.PASSWORD_FILE, password, ide_container.PASSWORD_FILE_MODE)
    upload_like_pulumi_docker(container, ide_container.KUBECONFIG_FILE, kubeconfig, ide_container.KUBECONFIG_FILE_MODE)
    container.reload()
    assert container.status == "created"  # as pulumi-docker: the files are there before code-server starts
    container.start()

    mode_and_owner = container.exec_run(["stat", "-c", "%a %u", ide_container.PASSWORD_FILE])
    assert mode_and_owner.output.decode().split() == [f"{int(ide_container.PASSWORD_FILE_MODE, 8):o}", "0"]
    as_root = container.exec_run(["cat", ide_container.PASSWORD_FILE])
    assert (as_root.exit_code, as_root.output.decode()) == (0, password)
    as_nobody = container.exec_run(["cat", ide_container.PASSWORD_FILE], user="65534")
    assert as_nobody.exit_code != 0, as_nobody.output.decode()
    assert "Permission denied" in as_nobody.output.decode()

    # The kubeconfig went through the volume into the student's folder, parent made. It is
    # root's there (the IDE runs as root, PUID=0), so on a Linux host the student's own user,
    # like CI's runner user, cannot read it: a container reads it, as the daemon wrote it.
    relative = os.path.relpath(ide_container.KUBECONFIG_FILE, ide_container.CONFIG_DIR)
    on_host = Path(paths.vscode, relative)
    assert read_in_a_container(docker_client, base_image, paths.vscode, relative) == (f"{int(ide_container.KUBECONFIG_FILE_MODE, 8):o} 0", kubeconfig)
    assert stat.S_IMODE(on_host.stat().st_mode) == int(ide_container.KUBECONFIG_FILE_MODE, 8)
    # ...and the password did not: it stays in the container, out of the student's folders.
    every_file = {str(p.relative_to(paths.vscode)) for p in Path(paths.vscode).rglob("*") if p.is_file()}
    assert every_file == {str(on_host.relative_to(paths.vscode))}
