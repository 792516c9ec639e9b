"""End to end, for machines with pulumi, kind and docker (a laptop, the GitHub workflow):
a real `up` on a throwaway stack and local backend, the IDE and the cluster checked from
outside and inside, `up` again with no changes, `destroy` leaving the student's files.
Skips, naming what is missing, elsewhere. Takes several minutes (image build, 3 nodes)."""

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from conftest import ROOT, tool_missing

pytestmark = pytest.mark.e2e

MISSING = tool_missing("pulumi", "kind", "docker")
if MISSING:
    pytest.skip(f"e2e needs pulumi, kind and docker on PATH; missing: {', '.join(MISSING)}", allow_module_level=True)

from pulumi import automation as auto  # noqa: E402  (only where the CLI exists)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    workspace_root = tmp_path_factory.mktemp("labs")
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    env = {"PULUMI_BACKEND_URL": f"file://{state.as_posix()}", "PULUMI_CONFIG_PASSPHRASE": "e2e-only"}
    stack = auto.create_stack(stack_name=name, work_dir=str(ROOT), opts=auto.LocalWorkspaceOptions(env_vars=env))
    stack.set_config("workspaceRoot", auto.ConfigValue(str(workspace_root)))
    stack.set_config("slot", auto.ConfigValue("37"))  # away from a developer's own lab
    stack.set_config("workers", auto.ConfigValue("1"))
    try:
        result = stack.up(on_output=print)
        yield stack, result.outputs, workspace_root, name
    finally:
        stack.destroy(on_output=print)
        stack.workspace.remove_stack(name)


def test_code_server_takes_the_password_and_refuses_another(stack):
    _, outputs, _, _ = stack
    url = outputs["ideUrl"].value
    for password, expect_ok in ((outputs["idePassword"].value, True), ("wrong-password", False)):
        data = urllib.parse.urlencode({"password": password}).encode()
        request = urllib.request.Request(f"{url}/login", data=data, method="POST")
        opener = urllib.request.build_opener(NoRedirect)
        response = opener.open(request, timeout=30)
        cookies = response.headers.get_all("Set-Cookie") or []
        assert any(c.startswith("code-server-session=") for c in cookies) is expect_ok


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

    def http_error_302(self, req, fp, code, msg, headers):
        return fp


def test_kubectl_in_the_ide_sees_every_node_ready(stack):
    _, outputs, _, _ = stack
    container = outputs["ideContainer"].value
    nodes = subprocess.run(
        ["docker", "exec", container, "kubectl", "get", "nodes", "-o", "json"], capture_output=True, text=True, check=True
    )
    items = json.loads(nodes.stdout)["items"]
    assert len(items) == 2
    for node in items:
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "True", node["metadata"]["name"]


def test_image_pushed_from_the_ide_runs_behind_the_ingress(stack):
    _, outputs, _, _ = stack
    ide, registry = outputs["ideContainer"].value, outputs["registry"].value

    def in_ide(command: str) -> str:
        done = subprocess.run(["docker", "exec", ide, "sh", "-c", command], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}: {done.stderr}"
        return done.stdout

    # The host's docker already has registry:2 (the lab pulled it): push it as the student's app.
    in_ide(f"docker tag registry:2.8.3 {registry}/app:1 && docker push {registry}/app:1")
    in_ide(f"kubectl run app --image={registry}/app:1 --port=5000 && kubectl wait --for=condition=ready pod/app --timeout=180s")
    in_ide(
        "kubectl wait -n ingress-nginx --for=condition=ready pod "
        "--selector=app.kubernetes.io/component=controller --timeout=180s"
    )
    in_ide("kubectl expose pod app --port=5000 && kubectl create ingress app --class=nginx --rule='/v2/*=app:5000'")
    url = outputs["ingressUrl"].value + "v2/"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                assert response.status == 200 and response.read().strip() == b"{}"
                return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(3)


def test_second_up_changes_nothing(stack):
    st, _, _, _ = stack
    result = st.up(on_output=print)
    changes = {k: v for k, v in (result.summary.resource_changes or {}).items() if k != "same"}
    assert changes == {}, changes


def test_destroy_leaves_no_docker_object_and_keeps_files(stack):
    st, outputs, workspace_root, name = stack
    keep = workspace_root / name / "src" / "homework.txt"
    keep.write_text("mine")
    st.destroy(on_output=print)
    for kind, listing in (("container", ["docker", "ps", "-a"]), ("network", ["docker", "network", "ls"]), ("volume", ["docker", "volume", "ls"])):
        out = subprocess.run(listing + ["--format", "{{.Names}}" if kind == "container" else "{{.Name}}"], capture_output=True, text=True).stdout
        assert not [line for line in out.split() if line.startswith(f"{name}-") or line == f"kind-{name}"], (kind, out)
    assert keep.read_text() == "mine"
