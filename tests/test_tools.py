"""k8s_lab/tools.py and lab.py's tool check: platform names, the verified download against
a local HTTP server (a fake kind release), and which tools are used, fetched or reported.

No test reaches the internet or runs Pulumi's installer: the release is served from
127.0.0.1 and the installer is injected."""

import functools
import hashlib
import http.server
import os
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from k8s_lab import session
from k8s_lab import tools

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

    with pytest.raises(tools.FetchError, match="Pulumi CLI v.* failed: curl"):
        tools.install_pulumi(tools.ToolsLayout(tmp_path, LINUX), installer=failing, log=lambda m: None)


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
