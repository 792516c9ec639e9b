"""The IDE's HTTPS, login and idle paths against the real code-server 4.93.1 (the image's
version), not a stand-in: started from npm (.ci/code-server, installed by .ci/run) with the
config file the lab writes (k8s_lab.ide_container.https_config, named by CODE_SERVER_CONFIG
as linuxserver's image passes it on), on a loopback port of this machine.

What only the stand-ins in test_idle.py still cover: heartbeats hours old (a real server
would have to idle that long) and a server that answers TLS only. VS Code itself (the page
at /) is not installed: its install downloads ripgrep from GitHub, and none of these paths
need it.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import tls_pairs

from k8s_lab import idle, ide_container
from k8s_lab.ide_container import Https

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / ".ci" / "code-server"
ENTRY = INSTALL / "node_modules" / "code-server" / "out" / "node" / "entry.js"
PASSWORD = "s3cret-pass"
START_TIMEOUT_SECONDS = 30


def node_and_code_server() -> str:
    """node's path; without it or code-server, a skip here and a failure in CI, saying why."""
    node = shutil.which("node")
    if node and ENTRY.is_file():
        return node
    reason = "the real code-server needs node and its npm install: bash .ci/code-server/install (.ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


@dataclass(frozen=True)
class CodeServer:
    port: int
    home: Path

    def url(self, scheme: str, path: str = "/") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"code-server exited {server.returncode}:\n{log.read_text(errors='replace')}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"code-server did not listen within {START_TIMEOUT_SECONDS}s:\n{log.read_text(errors='replace')}")


@contextmanager
def code_server(tmp_path: Path, config_text: str | None) -> Iterator[CodeServer]:
    """code-server as the IDE runs it: password auth from $PASSWORD, HOME its own (the
    self-signed pair is written under it, as under /config in the image), the lab's config
    file when HTTPS is on."""
    node = node_and_code_server()
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "PASSWORD": PASSWORD}
    if config_text is not None:
        config = tmp_path / "code-server-https.yaml"
        config.write_text(config_text, encoding="utf-8")
        env["CODE_SERVER_CONFIG"] = str(config)
    port = free_port()
    log = tmp_path / "code-server.log"
    argv = [node, str(ENTRY), "--bind-addr", f"127.0.0.1:{port}", "--auth", "password", "--disable-telemetry",
            "--disable-update-check", "--user-data-dir", str(tmp_path / "data"), "--extensions-dir", str(tmp_path / "ext")]
    with log.open("wb") as output:
        server = subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_until_listening(port, server, log)
        yield CodeServer(port, home)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def served_names(port: int) -> str:
    """The served certificate's subjectAltName as openssl prints it (verification off: self-signed)."""
    pem = ssl.get_server_certificate(("127.0.0.1", port), timeout=10)
    done = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName"], input=pem,
                          capture_output=True, text=True, timeout=10, check=True)
    return " ".join(done.stdout.split())


def unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003 - urllib's signature
        return None


def get(url: str, *, follow: bool = True) -> tuple[int, dict[str, str], bytes]:
    handlers: list[urllib.request.BaseHandler] = [urllib.request.HTTPSHandler(context=unverified())]
    if not follow:
        handlers.append(NoRedirect())
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as answered:
        return answered.code, dict(answered.headers), answered.read()


def probe(server: CodeServer) -> idle.Reading:
    """The idle probe the teacher's cron job runs in the IDE (k8s_lab.idle.PROBE_SCRIPT), run
    here by sh and curl against the real server's port instead of the container's 8443."""
    script = idle.PROBE_SCRIPT.replace(f"localhost:{ide_container.CODE_SERVER_PORT}", f"127.0.0.1:{server.port}")
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)
    return idle.read_probe(done.stdout, started=time.time())


needs_curl = pytest.mark.skipif(not shutil.which("curl"), reason="the idle probe and the health check run curl")


# --- HTTPS as the lab configures it ------------------------------------------------------------


def test_a_self_signed_ide_for_an_address_serves_https_with_that_address_in_an_ip_san(tmp_path):
    with code_server(tmp_path, ide_container.https_config(Https(cert_host="192.0.2.10"))) as server:
        names = served_names(server.port)
    assert names == "X509v3 Subject Alternative Name: IP Address:192.0.2.10"


def test_a_self_signed_ide_for_a_name_serves_https_with_that_name_in_a_dns_san(tmp_path):
    with code_server(tmp_path, ide_container.https_config(Https(cert_host="lab7.school.example"))) as server:
        names = served_names(server.port)
        # Written under HOME, which is /config (the vscode volume) in the image: kept across restarts.
        kept = list((server.home / ".local" / "share" / "code-server").glob("*.crt"))
    assert names == "X509v3 Subject Alternative Name: DNS:lab7.school.example"
    assert [path.name for path in kept] == ["lab7_school_example.crt"]


def test_a_given_certificate_is_the_one_served(tmp_path):
    pem_cert, pem_key = tls_pairs.pair("lab.school.example")
    # The lab uploads the pair to these paths; here they are files of the test's own.
    cert, key = tmp_path / "given.crt", tmp_path / "given.key"
    cert.write_text(pem_cert, encoding="ascii")
    key.write_text(pem_key, encoding="ascii")
    config = ide_container.https_config(Https(cert_host="lab.school.example", certificate=pem_cert, key=pem_key))
    config = config.replace(ide_container.HTTPS_CERT_FILE, str(cert)).replace(ide_container.HTTPS_KEY_FILE, str(key))
    with code_server(tmp_path, config) as server:
        served = ssl.get_server_certificate(("127.0.0.1", server.port), timeout=10)
    assert ssl.PEM_cert_to_DER_cert(served) == ssl.PEM_cert_to_DER_cert(pem_cert)


def test_plain_http_on_the_https_port_is_redirected_to_https(tmp_path):
    with code_server(tmp_path, ide_container.https_config(Https(cert_host="192.0.2.10"))) as server:
        status, headers, _ = get(server.url("http", "/login?from=x"), follow=False)
    assert status == 302
    assert headers["Location"] == f"https://127.0.0.1:{server.port}/login?from=x"


def test_without_the_config_file_the_ide_serves_plain_http(tmp_path):
    with code_server(tmp_path, None) as server:
        status, _, body = get(server.url("http", "/healthz"))
    assert status == 200
    assert b'"lastHeartbeat"' in body


# --- the password ------------------------------------------------------------------------------


def test_the_ide_asks_for_the_password_and_takes_only_the_right_one(tmp_path):
    with code_server(tmp_path, ide_container.https_config(Https(cert_host="192.0.2.10"))) as server:
        wrong = login(server, "not-the-password")
        right = login(server, PASSWORD)
    assert wrong[0] == 200 and b"Incorrect password" in wrong[1]  # the login page again, saying why
    assert right[0] == 302 and "code-server-session=" in right[2]


def login(server: CodeServer, password: str) -> tuple[int, bytes, str]:
    request = urllib.request.Request(server.url("https", "/login"), data=f"password={password}".encode(), method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=unverified()), NoRedirect())
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read(), response.headers.get("Set-Cookie", "")
    except urllib.error.HTTPError as answered:
        return answered.code, answered.read(), answered.headers.get("Set-Cookie", "")


# --- health and idle ---------------------------------------------------------------------------


@needs_curl
@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_the_containers_health_check_passes_against_the_real_server(tmp_path, https):
    config = ide_container.https_config(Https(cert_host="192.0.2.10")) if https else None
    test = ide_container.healthcheck(https=https).tests
    assert test[0] == "CMD"
    with code_server(tmp_path, config) as server:
        argv = [part.replace(f"localhost:{ide_container.CODE_SERVER_PORT}", f"127.0.0.1:{server.port}") for part in test[1:]]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert '"lastHeartbeat"' in done.stdout


@needs_curl
@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_health_probes_are_not_activity_and_a_page_request_is(tmp_path, https):
    """/healthz is left out of code-server's heartbeat (src/node/routes/index.ts at v4.93.1: the
    middleware beats for every path but ^/healthz/?$), so the cron job's probe and Docker's
    health check every 5 s never keep an idle lab alive; any other request is activity."""
    config = ide_container.https_config(Https(cert_host="192.0.2.10")) if https else None
    with code_server(tmp_path, config) as server:
        before = [probe(server) for _ in range(3)]
        get(server.url("https" if https else "http", "/login"))  # a browser opening the page
        after = [probe(server) for _ in range(3)]
    assert [reading.note for reading in before] == ["no browser activity since the IDE started"] * 3
    assert all(reading.note == "since its last browser activity" for reading in after), after
    assert all(reading.idle_seconds is not None and reading.idle_seconds < 10 for reading in after), after
