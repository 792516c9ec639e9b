"""k8s_lab/tools.py and lab.py's tool check: platform names, the verified download against
a local HTTP server (a fake kind release), and which tools are used, fetched or reported.

No test reaches the internet or runs Pulumi's installer: the release is served from
127.0.0.1 and the installer is injected."""

import functools
import hashlib
import re
import http.client
import http.server
import os
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from k8s_lab import session
from k8s_lab import tools
from k8s_lab.exits import Exit

FAKE_KIND = b"#!/bin/sh\necho 'kind v0.23.0 fake'\n" + b"#" * 100_000  # big enough for several reads
FAKE_SHA = hashlib.sha256(FAKE_KIND).hexdigest()
LINUX = tools.Platform("linux", "amd64")
# No proxy, whatever the environment says: the server is on this machine.
NO_PROXY_OPEN = urllib.request.build_opener(urllib.request.ProxyHandler({})).open


# --- a fake release on 127.0.0.1 ------------------------------------------------------------


class _ReleaseHandler(http.server.BaseHTTPRequestHandler):
    """Serves server.routes: path -> (body, announced Content-Length or None for the true one)."""

    def do_GET(self):  # noqa: N802 - http.server's naming
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        body, announced = route
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) if announced is None else announced))
        self.end_headers()
        self.wfile.write(body)  # HTTP/1.0: the connection closes after this, short or not

    def log_message(self, *args):
        pass


@pytest.fixture
def release():
    """A server in a thread that stops when the test ends, and on its own after 20 s."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ReleaseHandler)
    server.routes = {}
    server.timeout = 0.05
    stop = threading.Event()
    deadline = time.monotonic() + 20

    def serve():
        while not stop.is_set() and time.monotonic() < deadline:
            server.handle_request()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(timeout=5)
        server.server_close()


def base_url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/releases/{{version}}/{{asset}}"


def serve_kind(server, body=FAKE_KIND, checksum=FAKE_SHA, announced=None, asset="kind-linux-amd64"):
    path = f"/releases/{tools.KIND_VERSION}/{asset}"
    server.routes[path] = (body, announced)
    if checksum is not None:
        server.routes[path + ".sha256sum"] = (f"{checksum}  {asset}\n".encode(), None)


def install(server, tools_root: Path, pinned=None, opener=NO_PROXY_OPEN, plat=LINUX):
    return tools.install_kind(
        tools.ToolsLayout(tools_root, plat),
        base_url=base_url(server),
        pinned={} if pinned is None else pinned,
        opener=opener,
        timeout=5,
        log=lambda message: None,
    )


def leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed on exit: nothing listens there


# --- platform and layout ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "machine", "os_name", "arch", "asset", "exe"),
    [
        ("Windows", "AMD64", "windows", "amd64", "kind-windows-amd64", ".exe"),
        ("Darwin", "arm64", "darwin", "arm64", "kind-darwin-arm64", ""),
        ("Linux", "x86_64", "linux", "amd64", "kind-linux-amd64", ""),
        ("Linux", "aarch64", "linux", "arm64", "kind-linux-arm64", ""),
    ],
)
def test_platform_names_assets_and_layout(system, machine, os_name, arch, asset, exe, tmp_path):
    plat = tools.detect_platform(system, machine)
    assert (plat.os, plat.arch, plat.exe_suffix) == (os_name, arch, exe)
    # The asset keeps kind's own name (no .exe); the installed file gets the suffix.
    assert tools.kind_asset(plat) == asset
    assert tools.kind_url(plat) == f"https://github.com/kubernetes-sigs/kind/releases/download/v0.23.0/{asset}"
    layout = tools.ToolsLayout(tmp_path / ".tools", plat)
    assert layout.kind == tmp_path / ".tools" / "bin" / f"kind{exe}"
    assert layout.pulumi_root == tmp_path / ".tools" / "pulumi"
    assert layout.pulumi == tmp_path / ".tools" / "pulumi" / "bin" / f"pulumi{exe}"
    installer = "install.ps1" if os_name == "windows" else "install.sh"
    assert tools.pulumi_installer_url(plat) == f"https://get.pulumi.com/{installer}"


def test_a_platform_kind_does_not_build_for_is_refused_by_name():
    with pytest.raises(tools.UnsupportedPlatform, match="windows/arm64"):
        tools.kind_asset(tools.detect_platform("Windows", "ARM64"))
    with pytest.raises(tools.UnsupportedPlatform, match="freebsd/amd64"):
        tools.kind_url(tools.detect_platform("FreeBSD", "amd64"))


def test_pinned_checksums_cover_the_published_unix_assets():
    pinned = tools.KIND_SHA256[tools.KIND_VERSION]
    assert set(pinned) == {"kind-linux-amd64", "kind-linux-arm64", "kind-darwin-amd64", "kind-darwin-arm64"}
    assert all(len(value) == 64 and int(value, 16) >= 0 for value in pinned.values())


def test_tools_folders_come_first_on_path_once(tmp_path):
    layout = tools.ToolsLayout(tmp_path, LINUX)
    path = tools.path_with_tools(layout, os.pathsep.join(["/usr/bin", str(layout.bin_dir), "/bin"]))
    assert path.split(os.pathsep) == [str(layout.bin_dir), str(layout.pulumi_bin_dir), "/usr/bin", "/bin"]
    windows = tools.path_with_tools(layout, r"C:\Windows;C:\Program Files\Docker\Docker\resources\bin", pathsep=";")
    assert windows.split(";")[2:] == [r"C:\Windows", r"C:\Program Files\Docker\Docker\resources\bin"]
    assert tools.path_with_tools(layout, "").split(os.pathsep) == layout.path_entries()


def test_sha256sum_files_are_read_as_published():
    digest = "ab" * 32
    assert tools.parse_sha256sum(f"{digest}  kind-linux-amd64\n", "kind-linux-amd64") == digest
    assert tools.parse_sha256sum(f"{digest.upper()} *kind-windows-amd64", "kind-windows-amd64") == digest
    assert tools.parse_sha256sum(digest, "kind-linux-amd64") == digest
    with pytest.raises(tools.FetchError, match="no sha256"):
        tools.parse_sha256sum(f"{digest}  kind-darwin-arm64\n", "kind-linux-amd64")
    with pytest.raises(tools.FetchError, match="no sha256"):
        tools.parse_sha256sum("<html>not found</html>", "kind-linux-amd64")


# --- the verified download ----------------------------------------------------------------


def test_good_download_against_the_release_checksum_file_is_installed_executable(release, tmp_path):
    serve_kind(release)
    root = tmp_path / ".tools"
    path = install(release, root)
    assert path == root / "bin" / "kind" and path.read_bytes() == FAKE_KIND
    assert leftovers(root) == ["bin", "bin/kind"]  # no temporary file left
    if os.name != "nt":
        assert stat.S_IMODE(path.stat().st_mode) == 0o755
        assert subprocess.run([str(path)], capture_output=True, text=True, timeout=5).stdout.strip() == "kind v0.23.0 fake"


def test_good_download_against_a_pinned_checksum_needs_no_checksum_file(release, tmp_path):
    serve_kind(release, checksum=None)
    path = install(release, tmp_path, pinned={tools.KIND_VERSION: {"kind-linux-amd64": FAKE_SHA}})
    assert path.read_bytes() == FAKE_KIND


def test_windows_asset_is_installed_as_kind_exe(release, tmp_path):
    serve_kind(release, asset="kind-windows-amd64")
    path = install(release, tmp_path, plat=tools.Platform("windows", "amd64"))
    assert path.name == "kind.exe" and path.read_bytes() == FAKE_KIND


def test_the_download_is_not_executable_until_verified(release, tmp_path):
    serve_kind(release)
    modes = []

    def watching_open(url, timeout):
        response = NO_PROXY_OPEN(url, timeout=timeout)
        read = response.read

        def read_and_look(*args):
            for part in (tmp_path / "bin").glob(".kind.*.part"):
                modes.append(stat.S_IMODE(part.stat().st_mode))
            return read(*args)

        response.read = read_and_look
        return response

    install(release, tmp_path, opener=watching_open)
    assert modes, "the temporary file was never seen"
    assert all(mode & 0o111 == 0 for mode in modes)


def test_wrong_checksum_is_a_clear_error_and_leaves_nothing(release, tmp_path):
    serve_kind(release, checksum="0" * 64)
    root = tmp_path / ".tools"
    with pytest.raises(tools.FetchError, match="checksum mismatch") as caught:
        install(release, root)
    assert "0" * 64 in str(caught.value) and FAKE_SHA in str(caught.value) and "Nothing was installed" in str(caught.value)
    assert leftovers(root) == [] and not root.exists()


def test_wrong_pinned_checksum_is_refused_too(release, tmp_path):
    serve_kind(release)  # the release's own file would agree: the pin wins
    with pytest.raises(tools.FetchError, match="checksum mismatch"):
        install(release, tmp_path / ".tools", pinned={tools.KIND_VERSION: {"kind-linux-amd64": "f" * 64}})
    assert leftovers(tmp_path / ".tools") == []


def test_truncated_download_is_a_clear_error_and_leaves_nothing(release, tmp_path):
    # The server announces more than it sends, then closes the connection.
    serve_kind(release, body=FAKE_KIND[:5000], announced=len(FAKE_KIND))
    root = tmp_path / ".tools"
    with pytest.raises(tools.FetchError, match=rf"truncated: got 5000 of {len(FAKE_KIND)} bytes|broke off"):
        install(release, root)
    assert leftovers(root) == []


def test_server_down_is_a_clear_error_and_leaves_nothing(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/releases/{{version}}/{{asset}}"
    root = tmp_path / ".tools"
    with pytest.raises(tools.FetchError, match="could not reach http://127.0.0.1") as caught:
        tools.install_kind(
            tools.ToolsLayout(root, LINUX), base_url=url, pinned=tools.KIND_SHA256, opener=NO_PROXY_OPEN, timeout=2, log=lambda m: None
        )
    assert "--no-fetch" in str(caught.value)
    assert leftovers(root) == []


def test_missing_checksum_file_stops_before_downloading(release, tmp_path):
    serve_kind(release, checksum=None)
    with pytest.raises(tools.FetchError, match="HTTP 404"):
        install(release, tmp_path / ".tools")
    assert leftovers(tmp_path / ".tools") == []


def test_a_failed_fetch_keeps_what_was_there_before(release, tmp_path):
    root = tmp_path / ".tools"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "kind").write_bytes(b"the kind that was here")
    serve_kind(release, checksum="1" * 64)
    with pytest.raises(tools.FetchError):
        install(release, root)
    assert leftovers(root) == ["bin", "bin/kind"] and (root / "bin" / "kind").read_bytes() == b"the kind that was here"


# --- the Pulumi CLI: Pulumi's own installer, injected -----------------------------------------


def test_pulumi_is_installed_under_tools_pulumi_at_the_pinned_version(tmp_path):
    calls = []
    layout = tools.ToolsLayout(tmp_path / ".tools", LINUX)
    messages = []
    result = tools.install_pulumi(layout, installer=lambda root, version: calls.append((root, version)) or "cmd", log=messages.append)
    assert result == "cmd"
    [(root, version)] = calls
    assert root == str(tmp_path / ".tools" / "pulumi") and str(version) == tools.PULUMI_VERSION
    assert any("https://get.pulumi.com/install.sh" in m and tools.PULUMI_VERSION in m for m in messages)


def test_pulumi_installer_failure_is_a_fetch_error(tmp_path):
    def failing(root, version):
        raise RuntimeError("curl: (6) Could not resolve host: get.pulumi.com")

    with pytest.raises(tools.FetchError, match="Pulumi CLI v.* failed: curl") as caught:
        tools.install_pulumi(tools.ToolsLayout(tmp_path, LINUX), installer=failing, log=lambda m: None)
    # What to do next, as the kind download's failure says it (issue 28): the proxy, or install it and --no-fetch.
    message = str(caught.value)
    assert "HTTPS_PROXY" in message and "--no-fetch" in message and f"v{tools.PULUMI_MINIMUM} or newer" in message
    assert "https://www.pulumi.com/docs/iac/download-install/" in message


def test_the_default_installer_is_the_automation_apis(monkeypatch):
    from pulumi.automation import PulumiCommand
    from semver import VersionInfo

    calls = []
    monkeypatch.setattr(PulumiCommand, "install", classmethod(lambda cls, **kwargs: calls.append(kwargs) or "cmd"))
    version = VersionInfo.parse(tools.PULUMI_VERSION)
    assert tools.pulumi_install("/p/.tools/pulumi", version) == "cmd"
    assert calls == [{"root": "/p/.tools/pulumi", "version": version}]


# --- lab.py: what is used, fetched or reported ----------------------------------------------------


# What the real tools print for their version command (tools.VERSION_ARGS), at the pins.
PINNED_SAYS = {
    "docker": "28.0.4",
    "kind": f"kind {tools.KIND_VERSION} go1.22.2 linux/amd64",
    "pulumi": f"v{tools.PULUMI_VERSION}",
}


def executable(folder: Path, name: str, says: str | None = None, code: int = 0) -> Path:
    """A stand-in `name` that prints `says` (by default what the pinned release prints) and exits `code`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    text = PINNED_SAYS.get(name, "") if says is None else says
    path.write_text(f"#!/bin/sh\nprintf '%s\\n' '{text}'\nexit {code}\n")
    path.chmod(0o755)
    return path


def refuse(*args, **kwargs):
    raise AssertionError("nothing may be fetched here")


def prepare(tmp_path, action="up", fetch=True, **overrides):
    layout = overrides.pop("layout", tools.ToolsLayout(tmp_path / ".tools", LINUX))
    out, err = [], []
    kwargs = dict(
        fetch=fetch,
        environ={"PATH": str(tmp_path / "path")},
        layout=layout,
        docker_check=lambda: None,
        kind_installer=refuse,
        pulumi_installer=refuse,
        pulumi_opener=refuse,
        log=out.append,
        err=err.append,
    )
    kwargs.update(overrides)
    return session.prepare_tools(action, **kwargs), layout, "\n".join(out), "\n".join(err)


posix_only = pytest.mark.skipif(os.name == "nt", reason="fake executables are shell scripts")


@posix_only
def test_no_fetch_downloads_nothing_and_names_what_is_missing(tmp_path):
    executable(tmp_path / "path", "docker")
    result, layout, out, err = prepare(tmp_path, fetch=False)
    assert result == 2
    assert "kind is missing" in err and "pulumi is missing" in err and "choco install kind" in err
    assert not layout.root.exists()


@posix_only
def test_tools_on_path_are_used_and_not_fetched(tmp_path):
    for name in ("docker", "kind", "pulumi"):
        executable(tmp_path / "path", name)
    result, layout, out, err = prepare(tmp_path)
    assert isinstance(result, session.PreparedTools) and result.pulumi_command is None  # the Automation API finds it on PATH
    assert result.path.split(os.pathsep)[:3] == [str(layout.bin_dir), str(layout.pulumi_bin_dir), str(tmp_path / "path")]
    assert not layout.root.exists() and err == ""


@posix_only
def test_tools_already_in_the_tools_folder_are_used(tmp_path):
    executable(tmp_path / "path", "docker")
    layout = tools.ToolsLayout(tmp_path / ".tools", LINUX)
    executable(layout.bin_dir, "kind")
    executable(layout.pulumi_bin_dir, "pulumi")
    opened = []
    result, _, out, err = prepare(tmp_path, layout=layout, pulumi_opener=lambda lay: opened.append(lay) or "tools-pulumi")
    assert isinstance(result, session.PreparedTools) and result.pulumi_command == "tools-pulumi" and opened == [layout]
    assert "Fetching" not in out and err == ""


@posix_only
def test_a_broken_pulumi_in_the_tools_folder_is_named(tmp_path):
    executable(tmp_path / "path", "docker")
    layout = tools.ToolsLayout(tmp_path / ".tools", LINUX)
    executable(layout.bin_dir, "kind")
    executable(layout.pulumi_bin_dir, "pulumi")

    def broken(lay):
        raise subprocess.CalledProcessError(126, ["pulumi", "version"])

    result, _, out, err = prepare(tmp_path, layout=layout, pulumi_opener=broken)
    assert result == 2 and f"the Pulumi CLI in {layout.pulumi_root} does not run" in err and "Delete that folder" in err


@posix_only
def test_what_is_missing_is_fetched_saying_what_and_from_where(release, tmp_path):
    executable(tmp_path / "path", "docker")
    serve_kind(release)
    layout = tools.ToolsLayout(tmp_path / ".tools", LINUX)
    installs = []

    def pulumi_installer(root, version):
        installs.append((root, str(version)))
        return "installed-pulumi"

    kind_installer = functools.partial(tools.install_kind, base_url=base_url(release), pinned={}, opener=NO_PROXY_OPEN, timeout=5)
    result, _, out, err = prepare(tmp_path, layout=layout, kind_installer=kind_installer, pulumi_installer=pulumi_installer)
    assert isinstance(result, session.PreparedTools), err
    assert layout.kind.read_bytes() == FAKE_KIND
    # lab.py hands Pulumi's installer .tools/pulumi and the pinned version, and runs what it installed.
    assert installs == [(str(layout.pulumi_root), tools.PULUMI_VERSION)] and result.pulumi_command == "installed-pulumi"
    assert f"http://127.0.0.1:{release.server_address[1]}/releases/v0.23.0/kind-linux-amd64" in out
    assert f"sha256 {FAKE_SHA}" in out and "get.pulumi.com/install.sh" in out
    assert result.path.startswith(str(layout.bin_dir) + os.pathsep + str(layout.pulumi_bin_dir))


@posix_only
def test_a_failed_fetch_stops_with_the_reason(tmp_path):
    executable(tmp_path / "path", "docker")
    executable(tmp_path / "path", "pulumi")
    url = f"http://127.0.0.1:{free_port()}/releases/{{version}}/{{asset}}"
    kind_installer = functools.partial(tools.install_kind, base_url=url, opener=NO_PROXY_OPEN, timeout=2)
    result, layout, out, err = prepare(tmp_path, kind_installer=kind_installer)
    assert result == 2 and "k8s-lab: could not reach" in err
    assert leftovers(layout.root) == []


@posix_only
def test_nothing_is_fetched_while_docker_is_missing_or_down(tmp_path):
    result, layout, out, err = prepare(tmp_path)
    assert result == 2 and "docker is missing" in err and "kind is missing" in err
    executable(tmp_path / "path", "docker")
    result, layout, out, err = prepare(tmp_path, docker_check=lambda: "Docker is installed but its daemon does not answer")
    assert result == 2 and "daemon does not answer" in err
    assert not layout.root.exists()


@posix_only
def test_check_says_what_up_would_fetch_and_fetches_nothing(tmp_path):
    executable(tmp_path / "path", "docker")
    result, layout, out, err = prepare(tmp_path, action="check")
    assert result == 0 and "kind-linux-amd64" in out and "sha256 checked first" in out and "Pulumi's installer" in out
    assert not layout.root.exists()
    windows_arm = tools.ToolsLayout(tmp_path / ".tools", tools.Platform("windows", "arm64"))
    result, _, out, err = prepare(tmp_path, action="check", layout=windows_arm)
    assert result == 2 and "kind publishes no binary for windows/arm64" in err


def test_the_tools_folder_is_the_projects_unless_overridden(tmp_path):
    assert session.tools_layout({}, LINUX).root == session.ROOT / ".tools"
    assert session.tools_layout({}, LINUX).pulumi_root == session.ROOT / ".tools" / "pulumi"
    assert session.tools_layout({session.TOOLS_DIR_ENV: str(tmp_path)}, LINUX).root == tmp_path.resolve()
    assert ".tools/" in (session.ROOT / ".gitignore").read_text().splitlines()


def test_the_workspace_gets_path_with_tools_and_the_tools_pulumi(tmp_path):
    captured = {}
    prepared = session.PreparedTools(path=os.pathsep.join([str(tmp_path / ".tools" / "bin"), "/usr/bin"]), pulumi_command="tools-pulumi")
    environ = {"PULUMI_BACKEND_URL": f"file://{tmp_path.as_posix()}", "PULUMI_CONFIG_PASSPHRASE": "test", "PATH": "/usr/bin"}
    session.select_stack("kim", prepared, environ, LINUX, create=lambda **kwargs: captured.update(kwargs) or "stack")
    opts = captured["opts"]
    assert captured["stack_name"] == "kim" and captured["work_dir"] == str(session.ROOT)
    assert opts.env_vars["PATH"] == prepared.path and opts.pulumi_command == "tools-pulumi"
    assert opts.env_vars["PULUMI_BACKEND_URL"] == environ["PULUMI_BACKEND_URL"] and "DOCKER_HOST" not in opts.env_vars


# --- Docker Desktop's named pipe on Windows -----------------------------------------------------------

WINDOWS = tools.Platform("windows", "amd64")


def test_windows_uses_the_docker_clis_own_endpoint_or_docker_desktops_pipe():
    desktop = "npipe:////./pipe/dockerDesktopLinuxEngine"
    assert session.docker_host_env({}, WINDOWS, lambda: desktop) == {"DOCKER_HOST": desktop}
    assert session.docker_host_env({}, WINDOWS, lambda: None) == {"DOCKER_HOST": "npipe:////./pipe/docker_engine"}
    assert session.docker_host_env({"DOCKER_HOST": "tcp://10.0.0.5:2376"}, WINDOWS, refuse) == {}
    assert session.docker_host_env({"DOCKER_CONTEXT": "rancher"}, WINDOWS, refuse) == {}
    for plat in (LINUX, tools.Platform("darwin", "arm64")):
        assert session.docker_host_env({}, plat, refuse) == {}


def test_docker_context_endpoint_is_read_from_the_cli():
    def answers(stdout, code=0):
        return lambda argv, **kwargs: subprocess.CompletedProcess(argv, code, stdout, "")

    assert session.docker_context_host(answers("npipe:////./pipe/docker_engine\n")) == "npipe:////./pipe/docker_engine"
    assert session.docker_context_host(answers("", 1)) is None

    def missing(argv, **kwargs):
        raise FileNotFoundError("docker")

    assert session.docker_context_host(missing) is None


def test_lab_py_still_imports_nothing_heavy_at_start():
    # `python lab.py check` must answer fast on a machine without Pulumi's CLI.
    code = "import sys, lab; print('pulumi' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=session.ROOT, timeout=30)
    assert result.stdout.strip() == "False", result.stderr


@posix_only
@pytest.mark.parametrize("action", ["info", "password", "config"])
def test_reading_a_stack_needs_only_pulumi(tmp_path, action):
    """No kind (or Docker) is fetched or asked for to read outputs or config."""
    executable(tmp_path / "path", "pulumi")
    docker_asked = []
    result, layout, out, err = prepare(tmp_path, action=action, docker_check=lambda: docker_asked.append(1) or "down")
    assert isinstance(result, session.PreparedTools) and err == "" and docker_asked == []
    assert not layout.root.exists()


@posix_only
def test_check_fetch_fetches_what_is_missing_then_says_ready(tmp_path):
    executable(tmp_path / "path", "docker")
    executable(tmp_path / "path", "pulumi")
    fetched = []

    def kind_installer(layout, log):
        fetched.append(layout)
        return executable(layout.bin_dir, "kind")

    result, layout, out, err = prepare(tmp_path, action="check", fetch_now=True, kind_installer=kind_installer)
    assert result == 0 and fetched == [layout] and "ready" in out
    assert f"kind    {tools.KIND_VERSION}          {layout.kind}  used" in out  # asked again after fetching
    result, other, out, _ = prepare(tmp_path, action="check", layout=tools.ToolsLayout(tmp_path / "other", LINUX))
    assert result == 0 and "`lab.py up` fetches it" in out and not other.root.exists()  # without --fetch: only said


# --- versions: the pins decide, not PATH --------------------------------------------------------------


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("kind v0.32.0 go1.24.5 linux/amd64", "v0.32.0"),
        ("kind v0.24.0-alpha+a1b2c3d go1.22.2 linux/amd64", "v0.24.0-alpha"),
        ("v3.257.0\n", "v3.257.0"),
        ("v3.260.1-dev.0", "v3.260.1-dev.0"),
        ("warning: a newer version of Pulumi is available\nv3.272.0", "v3.272.0"),
        ("28.0.4", "v28.0.4"),
        ("go1.21.10", None),
        ("1.2.3.4", None),
        ("", None),
        ("command not found", None),
    ],
)
def test_versions_are_read_as_the_tools_print_them(printed, expected):
    version = tools.parse_version(printed)
    assert (str(version) if version else None) == expected


def test_kind_must_be_the_pinned_release_and_pulumi_at_least_the_minimum():
    v = tools.parse_version
    assert tools.usable("kind", v(f"kind {tools.KIND_VERSION} go1.22.2 linux/amd64")) is None
    for other in ("v0.32.0", "v0.22.0", f"{tools.KIND_VERSION}-alpha"):
        assert f"built for kind {tools.KIND_VERSION}" in tools.usable("kind", v(other)), other
    assert "older than v3.260.0" in tools.usable("pulumi", v("v3.257.0"))
    assert "the oldest Pulumi CLI whose engine the lab is checked against" in tools.usable("pulumi", v("v3.259.9"))
    assert tools.usable("pulumi", v("v3.260.0-dev.0")) is not None  # a pre-release comes before its release
    for fine in ("v3.260.0", "v3.260.1-dev.0", f"v{tools.PULUMI_VERSION}", "v3.300.0", "v4.0.0"):
        assert tools.usable("pulumi", v(fine)) is None, fine
    for command in ("kind", "pulumi"):
        assert tools.usable(command, None) == "its version could not be read"
    assert tools.usable("docker", None) is None


def test_in_ci_only_the_pinned_pulumi_cli_is_usable_and_kind_is_judged_as_anywhere():
    v = tools.parse_version
    assert tools.usable("pulumi", v(f"v{tools.PULUMI_VERSION}"), exact_pulumi=True) is None
    for other in ("v3.260.0", "v3.300.0", "v4.0.0", f"v{tools.PULUMI_VERSION}-dev.0"):
        assert tools.usable("pulumi", v(other)) is None, other  # a student's: at least the minimum
        assert tools.usable("pulumi", v(other), exact_pulumi=True) == (
            f"in CI (CI or GITHUB_ACTIONS is set) the Pulumi CLI must be the pinned v{tools.PULUMI_VERSION}, "
            f"so that CI tests the engine the lab pins (students may keep any release from v{tools.PULUMI_MINIMUM} on)"
        ), other
    assert tools.usable("kind", v(tools.KIND_VERSION), exact_pulumi=True) is None
    assert tools.usable("pulumi", None, exact_pulumi=True) == "its version could not be read"
    # Older than the minimum is said as such in CI too: it is the stronger reason.
    assert "older than v3.260.0" in tools.usable("pulumi", v("v3.257.0"), exact_pulumi=True)


@pytest.mark.parametrize(
    "environ, ci",
    [
        ({}, False),
        ({"CI": "true"}, True),
        ({"CI": "1"}, True),
        ({"GITHUB_ACTIONS": "true"}, True),
        ({"CI": "", "GITHUB_ACTIONS": ""}, False),
        ({"CI": "false"}, False),
        ({"CI": "FALSE", "GITHUB_ACTIONS": "0"}, False),
        ({"GITLAB_CI": "true"}, False),
    ],
)
def test_ci_is_told_by_ci_or_github_actions(environ, ci):
    assert tools.in_ci(environ) is ci


def test_the_pinned_pulumi_cli_has_what_the_program_needs():
    pinned, minimum = tools.parse_version(tools.PULUMI_VERSION), tools.parse_version(tools.PULUMI_MINIMUM)
    assert pinned and minimum and pinned.at_least(minimum)
    assert tools.PULUMI_MINIMUM == "3.260.0"  # the first release of the engine source the read-back model cites


def test_versions_are_asked_through_the_runner():
    from fakes import FakeRunner, fails, ok

    fake = FakeRunner({("/x/pulumi", "version"): ok("v3.257.0\n"), ("/x/docker",): fails("daemon down")})
    assert str(tools.read_version("pulumi", "/x/pulumi", fake)) == "v3.257.0"
    assert tools.read_version("docker", "/x/docker", fake) is None  # failed, printed no version
    (call, _) = fake.calls
    assert call.env == {"PULUMI_SKIP_UPDATE_CHECK": "true"} and call.timeout == tools.VERSION_TIMEOUT_SECONDS
    assert fake.argvs[1] == ("/x/docker", "version", "--format", "{{.Client.Version}}")
    client_only = FakeRunner({("/x/docker",): fails("Cannot connect to the Docker daemon")})
    assert tools.read_version("docker", "/x/docker", client_only) is None


@posix_only
def test_a_tool_that_does_not_start_or_hangs_has_no_version(tmp_path):
    from k8s_lab.runner import ProcessRunner

    broken = tmp_path / "kind"
    broken.write_text("not a program")
    broken.chmod(0o755)
    assert tools.read_version("kind", str(broken), ProcessRunner()) is None
    assert tools.read_version("kind", str(tmp_path / "absent"), ProcessRunner()) is None


def old_tools_on_path(tmp_path):
    """What GitHub's ubuntu-24.04 image has on PATH (Ubuntu2404-Readme.md): kind 0.32.0, Pulumi 3.257.0."""
    executable(tmp_path / "path", "docker")
    kind = executable(tmp_path / "path", "kind", "kind v0.32.0 go1.24.5 linux/amd64")
    pulumi = executable(tmp_path / "path", "pulumi", "v3.257.0")
    return kind, pulumi


@posix_only
def test_up_fetches_the_pinned_tools_over_the_wrong_ones_on_path_saying_so(tmp_path):
    kind, pulumi = old_tools_on_path(tmp_path)
    fetched = []

    def kind_installer(layout, log):
        fetched.append("kind")
        return executable(layout.bin_dir, "kind")

    def pulumi_installer(root, version):
        fetched.append(("pulumi", str(version)))
        return "pinned-pulumi"

    result, layout, out, err = prepare(tmp_path, kind_installer=kind_installer, pulumi_installer=pulumi_installer)
    assert isinstance(result, session.PreparedTools), err
    assert fetched == ["kind", ("pulumi", tools.PULUMI_VERSION)] and result.pulumi_command == "pinned-pulumi"
    assert f"kind v0.32.0 at {kind} is not the one the lab uses: the lab's node image is built for kind {tools.KIND_VERSION}" in out
    assert f"pulumi v3.257.0 at {pulumi} is not the one the lab uses: it is older than v3.260.0" in out
    assert result.path.split(os.pathsep)[:2] == layout.path_entries()  # the fetched ones come first


@posix_only
def test_no_fetch_refuses_the_wrong_tools_naming_version_path_and_fix(tmp_path):
    kind, pulumi = old_tools_on_path(tmp_path)
    result, layout, out, err = prepare(tmp_path, fetch=False)
    assert result == 2 and not layout.root.exists()
    assert f"- kind v0.32.0 at {kind} is not the one the lab uses" in err
    assert f"- pulumi v3.257.0 at {pulumi} is not the one the lab uses" in err
    assert f"releases/tag/{tools.KIND_VERSION}" in err and "v3.260.0 or newer" in err


@posix_only
def test_a_tool_of_unknown_version_is_replaced_and_a_newer_pulumi_is_used(tmp_path):
    executable(tmp_path / "path", "docker", "")  # docker's version is only shown
    executable(tmp_path / "path", "kind", "kind: symbol lookup error", code=127)
    executable(tmp_path / "path", "pulumi", "v3.300.2")
    fetched = []
    result, layout, out, err = prepare(tmp_path, kind_installer=lambda lay, log: fetched.append("kind"))
    assert isinstance(result, session.PreparedTools) and fetched == ["kind"] and result.pulumi_command is None
    assert "its version could not be read" in out
    result, _, out, _ = prepare(tmp_path, action="check")
    lines = {line.split()[0]: line for line in out.splitlines() if line and not line.startswith(" ")}
    assert lines["docker"].split()[1:3] == ["version", "unknown"] and lines["docker"].endswith("used")
    assert "v3.300.2" in lines["pulumi"] and lines["pulumi"].endswith("used")
    assert "not used: its version could not be read" in lines["kind"]


def stand_ins(folder: Path, kind="kind v0.32.0 go1.24.5 linux/amd64", pulumi="v3.257.0") -> str:
    """docker, kind and pulumi stand-ins, as GitHub's ubuntu-24.04 image has them by default."""
    executable(folder, "docker", "28.0.4")
    executable(folder, "kind", kind)
    executable(folder, "pulumi", pulumi)
    return str(folder)


def lab_py(*args, path: str, tools_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": path, session.TOOLS_DIR_ENV: str(tools_dir)}
    return subprocess.run([sys.executable, "lab.py", *args], cwd=session.ROOT, env=env, capture_output=True, text=True, timeout=60)


@posix_only
def test_lab_py_check_says_the_runner_images_tools_are_not_the_ones_used(tmp_path):
    """The done-when of issue #19: with kind v0.32.0 and Pulumi v3.257.0 on PATH, `lab.py
    check` says neither is the one it uses and what it does instead, and fetches nothing."""
    path = stand_ins(tmp_path / "bin")
    tools_dir = tmp_path / "tools"
    done = lab_py("check", path=path, tools_dir=tools_dir)
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    (kind,) = [line for line in lines if line.startswith("kind ")]
    (pulumi,) = [line for line in lines if line.startswith("pulumi ")]
    (docker,) = [line for line in lines if line.startswith("docker ")]
    assert "v0.32.0" in kind and f"{tmp_path}/bin/kind" in kind and f"not used: the lab's node image is built for kind {tools.KIND_VERSION}" in kind
    assert "v3.257.0" in pulumi and f"{tmp_path}/bin/pulumi" in pulumi and "not used: it is older than v3.260.0" in pulumi
    assert "v28.0.4" in docker and docker.endswith("used")
    instead = "\n".join(line for line in lines if "instead, `lab.py up` fetches it" in line)
    assert f"kind {tools.KIND_VERSION} from https://github.com/kubernetes-sigs/kind/releases/download/{tools.KIND_VERSION}/" in instead
    assert f"the Pulumi CLI v{tools.PULUMI_VERSION}" in instead and str(tools_dir.resolve()) in instead
    assert not tools_dir.exists()  # check without --fetch fetches nothing
    refused = lab_py("up", "--no-fetch", path=path, tools_dir=tools_dir)
    assert refused.returncode == Exit.NOT_READY and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("k8s-lab cannot start yet:") and "v0.32.0" in refused.stderr and "v3.257.0" in refused.stderr
    assert not tools_dir.exists()


@posix_only
def test_lab_py_check_says_ready_with_the_pinned_tools(tmp_path):
    path = stand_ins(tmp_path / "bin", kind=f"kind {tools.KIND_VERSION} go1.22.2 linux/amd64", pulumi=f"v{tools.PULUMI_VERSION}")
    done = lab_py("check", path=path, tools_dir=tmp_path / "tools")
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "docker, kind, pulumi: ready.", done.stdout + done.stderr
    assert sum(line.endswith("  used") for line in done.stdout.splitlines()) == 3
    # Before the verdict, the lab's kubernetesVersion row and what it runs.
    assert re.match(r"^lab '[^']+': kubernetesVersion 1\.29 .*kind v0\.23\.0 as kind, ", done.stdout.splitlines()[-2])


def test_versions_come_through_the_runner_and_a_fetch_that_does_not_help_is_an_error(tmp_path):
    """With a FakeRunner: each found tool is asked its version through the runner (and only
    those), and `check --fetch` that leaves a kind still of the wrong version says so."""
    from fakes import FakeRunner, ok

    layout = tools.ToolsLayout(tmp_path / ".tools", LINUX)
    fake = FakeRunner(
        {
            ("/usr/local/bin/docker",): ok("28.0.4\n"),
            ("/usr/local/bin/kind", "version"): ok("kind v0.32.0 go1.24.5 linux/amd64\n"),
            ("/usr/local/bin/pulumi", "version"): ok(f"v{tools.PULUMI_VERSION}\n"),
            (str(layout.kind), "version"): ok("kind v0.31.0 go1.24.5 linux/amd64\n"),
        }
    )
    installed = []

    def which(name, path):
        if name == "kind" and installed:
            return str(layout.kind)
        return f"/usr/local/bin/{name}"

    def wrong_kind(lay, log):
        installed.append(lay)
        return lay.kind

    result, _, out, err = prepare(tmp_path, action="check", fetch_now=True, which=which, runner=fake, kind_installer=wrong_kind, layout=layout)
    assert result == 2 and installed == [layout]
    assert f"- kind: still kind v0.31.0 at {layout.kind} after fetching" in err
    assert fake.argvs[:3] == [
        ("/usr/local/bin/docker", "version", "--format", "{{.Client.Version}}"),
        ("/usr/local/bin/kind", "version"),
        ("/usr/local/bin/pulumi", "version"),
    ]
    assert (str(layout.kind), "version") in fake.argvs  # asked again after fetching
    fake.calls.clear()
    installed.clear()
    result, _, out, err = prepare(tmp_path, action="info", which=which, runner=fake)
    assert isinstance(result, session.PreparedTools) and fake.argvs == [("/usr/local/bin/pulumi", "version")]  # info needs pulumi only


# --- survivors of mutation testing: each checks what a user gets back or reads ---------------------


class FakeResponse:
    """What urlopen returns, in memory: `body` read in the sizes asked, `headers` as sent,
    and `fail_after` bytes then an OSError (a connection that breaks off)."""

    def __init__(self, body: bytes, headers=None, fail_after: int | None = None):
        self.body, self.fail_after = body, fail_after
        self.headers = http.client.HTTPMessage()  # case-insensitive, as urlopen's responses have
        for key, value in (headers or {}).items():
            self.headers[key] = value
        self.sizes: list = []

    def read(self, size=None):
        self.sizes.append(size)
        if self.fail_after is not None and not self.body[: self.fail_after]:
            raise OSError("connection reset")
        limit = len(self.body) if size is None else size
        if self.fail_after is not None:
            limit = min(limit, self.fail_after)
            self.fail_after -= min(limit, len(self.body))
        chunk, self.body = self.body[:limit], self.body[limit:]
        return chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def fake_opener(routes: dict, calls: list):
    """An opener answering from `routes` (url -> FakeResponse), recording (url, timeout)."""

    def opener(url, timeout):
        calls.append((url, timeout))
        return routes[url]

    return opener


def test_a_machine_name_not_in_the_table_is_kept_as_the_host_says_it():
    plat = tools.detect_platform("Linux", " RISCV64 ")
    assert plat == tools.Platform("linux", "riscv64") and str(plat) == "linux/riscv64"
    with pytest.raises(tools.UnsupportedPlatform, match="linux/riscv64"):
        tools.kind_asset(plat)


def test_a_checksum_file_with_blank_lines_before_the_digest_is_read():
    digest = "cd" * 32
    assert tools.parse_sha256sum(f"\n   \n{digest}  kind-linux-amd64\n", "kind-linux-amd64") == digest


def test_an_unreachable_server_names_the_reason_and_the_fix():
    url = "https://github.example/kind"
    fix = "Check the network or proxy (HTTPS_PROXY); or install the tool yourself and run with --no-fetch"
    for error, reason in [
        (urllib.error.URLError("Name or service not known"), "Name or service not known"),
        (TimeoutError("timed out"), "timed out"),  # an OSError without a .reason
    ]:

        def failing(u, timeout, error=error):
            raise error

        with pytest.raises(tools.FetchError) as caught:
            tools.fetch_text(url, opener=failing)
        assert str(caught.value) == f"could not reach {url} ({reason}). {fix}"


def test_a_checksum_file_is_read_with_the_timeout_and_at_most_one_byte_past_the_limit():
    calls: list = []
    url = "https://x/kind.sha256sum"
    exact = FakeResponse(b"a" * 10)
    assert tools.fetch_text(url, opener=fake_opener({url: exact}, calls), timeout=7, limit=10) == "a" * 10
    assert calls == [(url, 7)] and all(size is not None and size <= 11 for size in exact.sizes)
    with pytest.raises(tools.FetchError) as caught:
        tools.fetch_text(url, opener=fake_opener({url: FakeResponse(b"a" * 11)}, []), limit=10)
    assert str(caught.value) == f"{url} is larger than a checksum file can be"


def test_a_checksum_file_that_breaks_off_or_is_not_utf8_is_named_or_read_with_replacements():
    url = "https://x/kind.sha256sum"
    with pytest.raises(tools.FetchError) as caught:
        tools.fetch_text(url, opener=fake_opener({url: FakeResponse(b"", fail_after=0)}, []))
    assert str(caught.value) == f"reading {url} failed (connection reset)"
    assert tools.fetch_text(url, opener=fake_opener({url: FakeResponse(b"ab\xffcd")}, [])) == "ab\ufffdcd"


def download(tmp_path, response, sha256, max_bytes=10, calls=None):
    url = "https://x/kind"
    return tools.download_verified(
        url, tmp_path / "bin" / "kind", sha256, opener=fake_opener({url: response}, [] if calls is None else calls),
        timeout=9, max_bytes=max_bytes,
    )


def test_a_download_of_exactly_the_limit_is_installed_with_or_without_an_announced_length(tmp_path):
    body = b"0123456789"
    sha = hashlib.sha256(body).hexdigest()
    calls: list = []
    for headers in ({}, {"Content-Length": "10"}, {"Content-Length": "unknown"}):
        path = download(tmp_path, FakeResponse(body, headers), sha, calls=calls)
        assert path.read_bytes() == body
    assert calls == [("https://x/kind", 9)] * 3


def test_a_download_over_the_limit_is_refused_by_what_it_announces_or_sends(tmp_path):
    body = b"0123456789A"
    sha = hashlib.sha256(body).hexdigest()
    with pytest.raises(tools.FetchError) as caught:
        download(tmp_path, FakeResponse(body, {"Content-Length": "11"}), sha)
    assert str(caught.value) == "https://x/kind announces 11 bytes, more than 10"
    with pytest.raises(tools.FetchError) as caught:
        download(tmp_path, FakeResponse(body), sha)
    assert str(caught.value) == "https://x/kind sent more than 10 bytes"
    assert leftovers(tmp_path) == []


def test_a_download_that_breaks_off_says_after_how_many_bytes(tmp_path):
    with pytest.raises(tools.FetchError) as caught:
        download(tmp_path, FakeResponse(b"0123456789", fail_after=4), "a" * 64, max_bytes=100)
    assert str(caught.value) == "download of https://x/kind broke off after 4 bytes (connection reset)"
    assert leftovers(tmp_path) == []


def test_a_bad_digest_and_a_mismatch_are_named_exactly(tmp_path):
    with pytest.raises(tools.FetchError) as caught:
        download(tmp_path, FakeResponse(b"x"), "not-a-digest")
    assert str(caught.value) == "not a sha256 digest: 'not-a-digest'"
    with pytest.raises(tools.FetchError) as caught:
        download(tmp_path, FakeResponse(b"x"), "0" * 64)
    assert str(caught.value) == (
        f"checksum mismatch for https://x/kind: expected sha256 {'0' * 64}, got {hashlib.sha256(b'x').hexdigest()}. "
        "Nothing was installed; try again, and if it persists, do not use this file"
    )


def test_when_the_temporary_file_cannot_be_made_that_error_is_raised_and_the_new_folder_removed(tmp_path, monkeypatch):
    def no_space(**kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tools.tempfile, "mkstemp", no_space)
    with pytest.raises(OSError, match="No space left"):
        download(tmp_path, FakeResponse(b"x"), "0" * 64)
    assert leftovers(tmp_path) == []


def test_a_failure_is_raised_even_when_someone_else_wrote_into_the_new_folder(tmp_path):
    def failing_after_a_stranger_wrote(url, timeout):
        (tmp_path / "bin" / "theirs").write_text("not ours")
        raise urllib.error.URLError("Name or service not known")

    with pytest.raises(tools.FetchError, match="could not reach"):
        tools.download_verified("https://x/kind", tmp_path / "bin" / "kind", "0" * 64, opener=failing_after_a_stranger_wrote)
    assert leftovers(tmp_path) == ["bin", "bin/theirs"]  # ours removed, theirs and its folder kept


def test_the_checksum_comes_from_the_pin_or_the_release_file_fetched_with_the_timeout():
    digest = "ef" * 32
    assert tools.kind_expected_sha256(LINUX, url="https://x/kind", pinned={tools.KIND_VERSION: {"kind-linux-amd64": digest}}) == (
        digest,
        "pinned in k8s_lab/tools.py",
    )
    calls: list = []
    routes = {"https://x/kind.sha256sum": FakeResponse(f"{digest}  kind-linux-amd64\n".encode())}
    found = tools.kind_expected_sha256(LINUX, url="https://x/kind", pinned={}, opener=fake_opener(routes, calls), timeout=7)
    assert found == (digest, "https://x/kind.sha256sum") and calls == [("https://x/kind.sha256sum", 7)]


def test_install_kind_uses_the_given_version_opener_and_timeout_for_every_request(tmp_path):
    body = b"kind v0.99.0"
    digest = hashlib.sha256(body).hexdigest()
    base = "https://x/{version}/{asset}"
    layout = tools.ToolsLayout(tmp_path, LINUX)
    calls: list = []
    pinned_routes = {"https://x/v0.99.0/kind-linux-amd64": FakeResponse(body)}
    path = tools.install_kind(
        layout, version="v0.99.0", base_url=base, pinned={"v0.99.0": {"kind-linux-amd64": digest}},
        opener=fake_opener(pinned_routes, calls), timeout=3, log=lambda m: None,
    )
    assert path.read_bytes() == body and calls == [("https://x/v0.99.0/kind-linux-amd64", 3)]
    # Another release than the seed's lands beside the seed's `kind`, never over it.
    assert path == tmp_path / "bin" / "kind-v0.99.0" and not (tmp_path / "bin" / "kind").exists()
    calls.clear()
    path.unlink()
    routes = {
        "https://x/v0.99.0/kind-linux-amd64.sha256sum": FakeResponse(f"{digest}  kind-linux-amd64".encode()),
        "https://x/v0.99.0/kind-linux-amd64": FakeResponse(body),
    }
    tools.install_kind(layout, version="v0.99.0", base_url=base, pinned={}, opener=fake_opener(routes, calls), timeout=3, log=lambda m: None)
    assert calls == [("https://x/v0.99.0/kind-linux-amd64.sha256sum", 3), ("https://x/v0.99.0/kind-linux-amd64", 3)]


def test_a_docker_client_whose_daemon_is_down_still_says_its_version():
    from fakes import Answer, FakeRunner

    # `docker version --format {{.Client.Version}}` prints the client's version, then fails on the daemon.
    fake = FakeRunner({("/x/docker",): Answer(1, "28.0.4\n", "Cannot connect to the Docker daemon")})
    assert str(tools.read_version("docker", "/x/docker", fake)) == "v28.0.4"


def test_why_a_kind_or_pulumi_is_not_used_is_said_in_full():
    assert tools.usable("kind", tools.parse_version("v0.32.0")) == (
        f"the lab's node image is built for kind {tools.KIND_VERSION}, "
        "and kind supports a node image only with the release it was built for"
    )
    assert tools.usable("pulumi", tools.parse_version("v3.257.0")) == (
        f"it is older than v{tools.PULUMI_MINIMUM}, the oldest Pulumi CLI whose engine the lab "
        "is checked against (k8s_lab/tools.py PULUMI_MINIMUM)"
    )


def test_two_kind_releases_live_side_by_side_each_verified(tmp_path):
    """The seed's kind and a maintained row's, in one tools folder: each under its own name,
    each checked against its own release's sha256."""
    base = "https://x/{version}/{asset}"
    layout = tools.ToolsLayout(tmp_path, LINUX)
    bodies = {tools.KIND_VERSION: b"seed kind", "v0.32.0": b"maintained kind"}
    pinned = {v: {"kind-linux-amd64": hashlib.sha256(b).hexdigest()} for v, b in bodies.items()}
    routes = {f"https://x/{v}/kind-linux-amd64": FakeResponse(b) for v, b in bodies.items()}
    for version in bodies:
        tools.install_kind(layout, version=version, base_url=base, pinned=pinned, opener=fake_opener(routes, []), log=lambda m: None)
    assert (tmp_path / "bin" / "kind").read_bytes() == b"seed kind"
    assert (tmp_path / "bin" / "kind-v0.32.0").read_bytes() == b"maintained kind"
    assert tools.kind_command("v0.32.0") == "kind-v0.32.0" and tools.kind_command(tools.KIND_VERSION) == "kind"
    wrong = {"v0.32.0": {"kind-linux-amd64": "0" * 64}}
    (tmp_path / "bin" / "kind-v0.32.0").unlink()
    with pytest.raises(tools.FetchError):
        tools.install_kind(layout, version="v0.32.0", base_url=base, pinned=wrong, opener=fake_opener(routes, []), log=lambda m: None)
    assert not (tmp_path / "bin" / "kind-v0.32.0").exists() and (tmp_path / "bin" / "kind").exists()


def test_a_rows_kind_is_judged_by_its_own_release():
    v032, v023 = tools.parse_version("kind v0.32.0 go1.26.3 linux/amd64"), tools.parse_version("kind v0.23.0")
    assert tools.usable("kind-v0.32.0", v032) is None
    assert "built for kind v0.32.0" in (tools.usable("kind-v0.32.0", v023) or "")
    assert "built for kind v0.23.0" in (tools.usable("kind", v032) or "")
