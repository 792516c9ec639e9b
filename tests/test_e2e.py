"""End to end: every scenario the README promises, driven as a student drives the lab
(`python lab.py ...`, `python classroom.py ...`), against real Docker, kind and Pulumi.

Runs only when asked: `pytest --run-e2e` (or K8S_LAB_E2E=1), as .github/workflows/e2e.yml
does; without it tests/conftest.py deselects every test here, whatever is installed, and
the run's header and summary say so. When asked, on a machine without docker, kind and
pulumi the module skips, naming what is missing (K8S_LAB_REQUIRE_E2E=1 turns that into a
failure, as the e2e workflow sets). Tests run in file order and share module-scoped labs,
so one `up` serves many checks:

  lab  (slot 37, workers 1)  first up (timed) -> password -> kubectl -> registry+ingress
                             (or, on a Gateway API row, registry+HTTPRoute from host and IDE) ->
                             memory -> second up changes nothing -> ...
  pre  (slot 38, workers 0)  up with the image cached (timed) -> preview from a second
                             checkout (own folder, own venv) changes nothing -> destroy
                             from that checkout
  lab                        kind delete cluster, up recovers -> docker rmi the IDE image,
                             up recovers
  gone (slot 39, workers 0)  up -> kind delete cluster -> destroy leaves nothing
  k1..k3 (slots 40-42)       classroom.py up --parallel 3 -> classroom.py destroy
  lab                        destroy (timed) leaves no container, network or volume; files stay

Groups: each test carries an e2e_group marker; `--e2e-group NAME` (K8S_LAB_E2E_GROUP)
runs one group, with whatever fixtures it needs (every group makes its own `lab`), as one
job of e2e.yml's matrix does: first-up, second-checkout, repairs, caps-refresh, classroom,
beyond-loopback. K8S_LAB_E2E_DRY_RUN=1 is the harness's dry run (tests/test_e2e_dry_run.py):
the same fixtures and calls against stand-in tools, failing only on a refused call.

K8S_LAB_E2E_KUBERNETES_VERSION picks the kubernetesVersion row of the lab, pre and gone
stacks (default the seed's 1.29). e2e.yml runs the groups that touch the cluster and its
way in on both rows; the classroom's stacks are the seed's whatever the row (the roster
sets none), and beyond-loopback checks the IDE alone, so those two run on the seed's row
only (SEED_ROW_ONLY_GROUPS).

State: a file backend in pytest's tmp dir and a fixed passphrase (nothing of it is
uploaded). Each command's output is kept, with every secret the test knows replaced, in
K8S_LAB_E2E_LOGS (default: tmp dir)/NN-step.log: that is the Pulumi engine's output of the
step as the student sees it (lab.py prints the engine's events). Pulumi's own `-v`/
`--logflow` logs are not used: at useful levels they carry resource inputs, secrets
included. When a test fails and K8S_LAB_E2E_DIAGNOSTICS names a folder, .ci/e2e-diagnostics
collects kind's logs, `docker ps -a` and the IDE containers' logs there before anything is
torn down (tests/conftest.py's report hook). K8S_LAB_E2E_KEEP_LABS=1 skips the final safety-net destroy (CI: the runner is
thrown away). Timings: see tests/e2e_timings.py.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, e2e_requested
from k8s_lab import limits
from e2e_timings import Timings, memory_by_container, redact, secret_values

pytestmark = pytest.mark.e2e

# The harness's dry run (tests/test_e2e_dry_run.py): the same fixtures and calls against
# the stand-in docker, kind and pulumi of tests/stand_ins/. A call the CLI refuses fails
# the test ("refused:"); a call that ran and failed is what a stand-in cannot do (it makes
# no cluster), and the checks of the real world after it are the e2e run's alone.
# Each test belongs to one group (`--e2e-group NAME`, tests/conftest.py); e2e.yml runs the
# groups as parallel jobs, each making its own lab, with its own cluster budget and timeout.
group = pytest.mark.e2e_group
# The groups whose checks do not follow K8S_LAB_E2E_KUBERNETES_VERSION's row: e2e.yml runs
# them on the seed's row only (its matrix excludes them from the others; tests/test_workflows.py
# holds it to this). Every other group touches the cluster or its way in, and runs on every row.
SEED_ROW_ONLY_GROUPS = {
    "classroom": "the classroom's three stacks are the seed's whatever the row: the roster names no kubernetesVersion",
    "beyond-loopback": "its checks are the IDE's (https, no socket, idle stop); repairs and caps-refresh remake each row's cluster",
}

DRY_RUN_ENV = "K8S_LAB_E2E_DRY_RUN"
DRY_RUN = os.environ.get(DRY_RUN_ENV) == "1"
REFUSED_CODES = {2, 3, 4, 5, 70}  # k8s_lab/exits.py: usage, no such lab, not ready, wrong Python, a bug
REFUSAL_SIGNS = ("Traceback (most recent call last)", "usage: ", "No such file or directory", "there is no lab named", "no stack named")


def refused(code: int | None, output: str) -> bool:
    """Whether a call was refused (not merely failed): a refusal code of lab.py's, or what
    a refused or broken call prints."""
    return code in REFUSED_CODES or any(sign in output for sign in REFUSAL_SIGNS)



def tools_dir() -> Path:
    return Path(os.environ["K8S_LAB_TOOLS_DIR"]) if os.environ.get("K8S_LAB_TOOLS_DIR") else ROOT / ".tools"


# What lab.py fetches lives in .tools/bin (kind) and .tools/pulumi/bin (pulumi).
SEARCH_PATH = os.pathsep.join([str(tools_dir() / "bin"), str(tools_dir() / "pulumi" / "bin"), os.environ.get("PATH", "")])


def what_is_missing() -> list[str]:
    absent = [tool for tool in ("docker", "kind", "pulumi") if not shutil.which(tool, path=SEARCH_PATH)]
    missing = [f"{tool} (on PATH or in {tools_dir()})" for tool in absent]
    if not (ROOT / "venv").is_dir():
        missing.append(f"{ROOT / 'venv'} (Pulumi.yaml's virtualenv: python -m venv venv && venv/bin/pip install -r requirements-dev.txt)")
    if "docker" not in absent and subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        missing.append("a Docker Engine that answers `docker info`")
    return missing


# Not asked for: collected only to be deselected (tests/conftest.py), so nothing is probed.
MISSING = what_is_missing() if e2e_requested() else []
if MISSING:
    reason = "e2e needs " + "; ".join(MISSING)
    if os.environ.get("K8S_LAB_REQUIRE_E2E"):
        pytest.fail(f"K8S_LAB_REQUIRE_E2E is set but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from pulumi import automation as auto  # noqa: E402  (only where the CLI exists)

from k8s_lab import gateway, versions  # noqa: E402
from k8s_lab.ports import ports_for_slot  # noqa: E402

RUN_ID = uuid.uuid4().hex[:6]
LAB, PRE, GONE = f"e2e{RUN_ID}-lab", f"e2e{RUN_ID}-pre", f"e2e{RUN_ID}-gone"
CLASS = {f"e2e{RUN_ID}-k{n}": 39 + n for n in (1, 2, 3)}  # slots 40..42
PASSPHRASE = "e2e-only-not-a-secret"
MINUTE = 60
# The kubernetesVersion row the labs run (e2e.yml's matrix axis): the seed's by default.
ROW = versions.row(os.environ.get("K8S_LAB_E2E_KUBERNETES_VERSION") or versions.SEED)
GATEWAY_ROW = ROW.way_in == "gateway-api"
WAY_IN_NAMESPACE = gateway.NAMESPACE if GATEWAY_ROW else "ingress-nginx"


# --- running commands as a student, keeping their output ---------------------------------------------


def docker_endpoint() -> str | None:
    """The docker CLI's endpoint, set once for every command so lab.py, the Automation API
    and the docker provider all see the same DOCKER_HOST (lab.py keeps one already set)."""
    done = subprocess.run(["docker", "context", "inspect", "--format", "{{.Endpoints.docker.Host}}"], capture_output=True, text=True)
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


@dataclass
class Runner:
    state: Path
    logs: Path
    known_secrets: set[str] = field(default_factory=set)
    stacks: list[str] = field(default_factory=list)
    steps: int = 0
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PULUMI_CONFIG_PASSPHRASE_FILE"}
        env.update(PATH=SEARCH_PATH, PULUMI_BACKEND_URL=f"file://{self.state.as_posix()}",
                   PULUMI_CONFIG_PASSPHRASE=PASSPHRASE, PULUMI_SKIP_UPDATE_CHECK="true")
        if "DOCKER_HOST" not in env and (endpoint := docker_endpoint()):
            env["DOCKER_HOST"] = endpoint
        self.env = env

    def log(self, step: str, text: str) -> Path:
        self.steps += 1
        path = self.logs / f"{self.steps:02d}-{step}.log"
        path.write_text(redact(text, self.known_secrets), encoding="utf-8")
        return path

    def run(self, step: str, argv: list[str], *, cwd: Path = ROOT, timeout: float = 15 * MINUTE) -> float:
        """Run a command; its output goes to the step's log. Fails with the log's tail."""
        began = time.monotonic()
        try:
            done = subprocess.run(argv, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout)
            output, code = done.stdout + done.stderr, done.returncode
        except subprocess.TimeoutExpired as expired:
            output, code = _text(expired.stdout) + _text(expired.stderr), None
        seconds = time.monotonic() - began
        path = self.log(step, f"$ {' '.join(argv)}  (in {cwd})\n{output}\nexit {code} after {seconds:.1f} s\n")
        if code != 0 and not (DRY_RUN and code is not None and not refused(code, output)):
            tail = "\n".join(path.read_text(encoding="utf-8").splitlines()[-40:])
            outcome = f"timed out after {timeout:.0f} s" if code is None else f"exited {code}"
            verdict = "refused: " if refused(code, output) else ""
            pytest.fail(f"{verdict}{step}: {outcome}; full log {path}\n{tail}", pytrace=False)
        return seconds

    def lab(self, step: str, *args: str, stack: str, timeout: float = 15 * MINUTE) -> float:
        if stack not in self.stacks:
            self.stacks.append(stack)
        return self.run(step, [sys.executable, "lab.py", *args, "--stack", stack], timeout=timeout)

    def options(self) -> auto.LocalWorkspaceOptions:
        """The Automation API with this run's backend, passphrase and tools (the Pulumi CLI
        from the tools folder when it is not on this process's PATH)."""
        command = None
        if not shutil.which("pulumi") and (tools_dir() / "pulumi" / "bin").is_dir():
            command = auto.PulumiCommand(root=str(tools_dir() / "pulumi"))
        return auto.LocalWorkspaceOptions(env_vars=self.env, pulumi_command=command)

    def stack(self, name: str, work_dir: Path = ROOT) -> auto.Stack:
        return auto.select_stack(stack_name=name, work_dir=str(work_dir), opts=self.options())

    def outputs(self, name: str) -> dict[str, Any]:
        """A stack's outputs, secrets in clear (for the checks; never printed). Each secret
        learnt here is also taken out of the logs already written."""
        values = {key: item.value for key, item in self.stack(name).outputs().items()}
        new = secret_values(values) - self.known_secrets
        if new:
            self.known_secrets |= new
            for path in self.logs.glob("*.log"):
                path.write_text(redact(path.read_text(encoding="utf-8"), new), encoding="utf-8")
        return values


def _text(data: bytes | str | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


# --- looking at Docker and the lab -----------------------------------------------------------------------


def docker(*args: str, check: bool = True) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=5 * MINUTE)
    if check:
        assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr}"
    return done.stdout


def leftovers(student: str) -> list[str]:
    """Containers, networks and volumes of `student` that Docker still has."""
    listings = {
        "container": ["ps", "-a", "--format", "{{.Names}}"],
        "network": ["network", "ls", "--format", "{{.Name}}"],
        "volume": ["volume", "ls", "--format", "{{.Name}}"],
    }
    return [
        f"{kind} {name}"
        for kind, args in listings.items()
        for name in docker(*args).split()
        if name.startswith(f"{student}-") or name == f"kind-{student}"
    ]


def kind_clusters() -> list[str]:
    done = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True, env={**os.environ, "PATH": SEARCH_PATH})
    return done.stdout.split()


def ide_images() -> list[str]:
    return docker("images", "k8s-lab-ide", "--format", "{{.Repository}}:{{.Tag}}").split()


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=5).close()
        return True
    except urllib.error.HTTPError:
        return True  # an HTTP status is an answer
    except (urllib.error.URLError, OSError):
        return False


def wait_until(check, seconds: float, every: float = 3) -> bool:
    """Whether `check` came true within `seconds` (in the dry run: at once, or never)."""
    deadline = time.monotonic() + (0 if DRY_RUN else seconds)
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


def node_readiness(ide: str) -> dict[str, bool]:
    """Each node and whether it is Ready, as kubectl in the IDE sees them (ValueError when kubectl fails)."""
    argv = ["docker", "exec", ide, "kubectl", "get", "nodes", "-o", "json"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=MINUTE)
    if done.returncode != 0:
        raise ValueError(f"kubectl get nodes in {ide}: {done.stderr.strip()}")
    return {
        node["metadata"]["name"]: any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"])
        for node in json.loads(done.stdout)["items"]
    }


def nodes_seen_ready(ide: str, expected: int, within: float = 60) -> None:
    """`expected` nodes, every one Ready, as the IDE's kubectl sees them. `up` waits for
    Ready itself; the short retry only absorbs an IDE container replaced a moment before."""
    seen: object = None

    def ready() -> bool:
        nonlocal seen
        try:
            seen = node_readiness(ide)
        except ValueError as error:
            seen = error
            return False
        return len(seen) == expected and all(seen.values())

    assert wait_until(ready, within), f"nodes as kubectl in {ide} sees them: {seen}"


class FirstAnswer(threading.Thread):
    """Polls a URL from the moment it starts; `seconds` is when it first answered."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.began, self.seconds = url, time.monotonic(), None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            if answers(self.url):
                self.seconds = time.monotonic() - self.began
                return
            self.stop.wait(1)

    def finish(self) -> None:
        """Stop polling and wait for the poll under way (up to answers()'s 5 s timeout), so
        `seconds` is read after the thread's last write, never during it."""
        self.stop.set()
        self.join(timeout=30)


# --- module-scoped fixtures: state, timings, the labs ----------------------------------------------------


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    logs = Path(os.environ.get("K8S_LAB_E2E_LOGS") or tmp_path_factory.mktemp("e2e-logs"))
    logs.mkdir(parents=True, exist_ok=True)
    run = Runner(state=tmp_path_factory.mktemp("state"), logs=logs)
    yield run
    if not os.environ.get("K8S_LAB_E2E_KEEP_LABS"):
        safety_net_destroy(run)


def safety_net_destroy(run: Runner) -> None:
    """Whatever a failed test left: destroy each stack the run made and its cluster."""
    for name in run.stacks:
        try:
            run.stack(name).destroy()
            run.stack(name).workspace.remove_stack(name)
        except Exception as error:  # noqa: BLE001 - best effort, reported, the rest still cleaned
            print(f"e2e cleanup of {name}: {type(error).__name__}")
        subprocess.run(["kind", "delete", "cluster", "--name", name], capture_output=True, env={**os.environ, "PATH": SEARCH_PATH})


@pytest.fixture(scope="module")
def timings(tmp_path_factory, request):
    runner_name = os.environ.get("K8S_LAB_E2E_RUNNER") or f"{platform.node()} ({os.cpu_count()} CPUs)"
    record = Timings(runner=runner_name, group=request.config.getoption("--e2e-group"), kubernetes_version=ROW.minor)
    began = time.monotonic()
    yield record
    record.wall_seconds = round(time.monotonic() - began, 1)
    path = Path(os.environ.get("K8S_LAB_E2E_TIMINGS") or tmp_path_factory.getbasetemp() / "e2e-timings.json")
    path.write_text(json.dumps(record.as_json(), indent=2) + "\n", encoding="utf-8")
    print(f"e2e timings: {path}")
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as summary:
            summary.write(record.markdown())


@dataclass
class Lab:
    name: str
    outputs: dict[str, Any]
    workspace_root: Path


def bring_up(run: Runner, timings: Timings, name: str, slot: int, workers: int, root: Path, measure: str | None) -> Lab:
    """`lab.py config` slot and workers, then `lab.py up`, timed as `measure` (None: not
    recorded); checks that the IDE answered on the slot's port by the time `up` returned."""
    run.lab(f"{name}-config-slot", "config", "slot", str(slot), stack=name)
    run.lab(f"{name}-config-workers", "config", "workers", str(workers), stack=name)
    if ROW.minor != versions.SEED:
        run.lab(f"{name}-config-version", "config", "kubernetesVersion", ROW.minor, stack=name)
    image_cached = bool(ide_images())
    poll = FirstAnswer(f"http://127.0.0.1:{ports_for_slot(slot).ide}")
    poll.start()
    seconds = run.lab(f"{name}-up", "up", "--workspace-root", str(root), stack=name, timeout=45 * MINUTE)
    poll.finish()
    if measure:
        timings.record(measure, seconds, image_cached=image_cached, workers=workers)
    if measure == "first_up" and poll.seconds is not None:
        timings.record("ide_answers", poll.seconds, image_cached=image_cached)
    outputs = run.outputs(name)
    if not DRY_RUN:  # the stand-ins serve no IDE
        assert outputs["ideUrl"] == poll.url, "ideUrl is not where slot's IDE port is"
        assert poll.seconds is not None, f"{poll.url} did not answer by the end of `up`"
    return Lab(name, outputs, root)


@pytest.fixture(scope="module")
def lab(runner, timings, tmp_path_factory) -> Lab:
    return bring_up(runner, timings, LAB, 37, 1, tmp_path_factory.mktemp("labs"), "first_up")


@pytest.fixture(scope="module")
def pre_lab(runner, timings, lab, tmp_path_factory) -> Lab:
    return bring_up(runner, timings, PRE, 38, 0, lab.workspace_root, "up_cached")


# --- the first up and what it gives ----------------------------------------------------------------------


@group("first-up")
def test_first_up_gives_the_lab_and_its_outputs(lab):
    outputs = lab.outputs
    expected = {"ideUrl", "idePassword", "kubeconfig", "hostKubeconfig", "clusterName", "networkName", "ideContainer", "ingressUrl", "registry"}
    assert expected <= set(outputs), expected - set(outputs)
    assert (outputs["clusterName"], outputs["networkName"], outputs["ideContainer"]) == (LAB, f"kind-{LAB}", f"{LAB}-ide")
    assert LAB in kind_clusters()
    assert (lab.workspace_root / LAB / "src").is_dir()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

    def http_error_302(self, req, fp, code, msg, headers):
        return fp


def logs_in(url: str, password: str) -> bool:
    data = urllib.parse.urlencode({"password": password}).encode()
    request = urllib.request.Request(f"{url}/login", data=data, method="POST")
    # A lab beyond loopback serves code-server's self-signed certificate: the test, like a
    # student who accepted the browser's warning, does not verify it.
    unverified = urllib.request.HTTPSHandler(context=ssl._create_unverified_context())
    try:
        response = urllib.request.build_opener(NoRedirect, unverified).open(request, timeout=30)
    except urllib.error.HTTPError as refused:
        response = refused
    cookies = response.headers.get_all("Set-Cookie") or []
    return any(c.startswith("code-server-session=") for c in cookies)


@group("first-up")
def test_code_server_takes_the_password_and_refuses_another(lab):
    # Results in variables: pytest would print a call's arguments, the password among them.
    accepted = logs_in(lab.outputs["ideUrl"], lab.outputs["idePassword"])
    assert accepted, "code-server refused the stack's idePassword"
    wrong_accepted = logs_in(lab.outputs["ideUrl"], "wrong-" + secrets.token_hex(4))
    assert not wrong_accepted, "code-server accepted a wrong password"


@group("first-up")
def test_kubectl_in_the_ide_sees_every_node_ready(lab):
    nodes_seen_ready(lab.outputs["ideContainer"], expected=2, within=0)  # workers=1: control plane + 1


def in_ide(ide: str, command: str) -> str:
    done = subprocess.run(["docker", "exec", ide, "sh", "-c", command], capture_output=True, text=True, timeout=10 * MINUTE)
    assert done.returncode == 0, f"{command}: {done.stderr}"
    return done.stdout


def registry_answers(url: str) -> bool:
    """The registry's API root answers `{}`: the student's app, reached through the way in."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200 and response.read().strip() == b"{}"
    except (urllib.error.URLError, OSError):
        return False


@group("first-up")
@pytest.mark.skipif(GATEWAY_ROW, reason=f"kubernetesVersion {ROW.minor} has no ingress-nginx: its way in is the Gateway API (next test)")
def test_image_pushed_from_the_ide_runs_behind_the_ingress(lab):
    ide, registry = lab.outputs["ideContainer"], lab.outputs["registry"]
    # The host's docker already has registry:2 (the lab pulled it): push it as the student's app.
    in_ide(ide, f"docker tag registry:2.8.3 {registry}/app:1 && docker push {registry}/app:1")
    in_ide(ide, f"kubectl run app --image={registry}/app:1 --port=5000 && kubectl wait --for=condition=ready pod/app --timeout=180s")
    in_ide(ide, "kubectl wait -n ingress-nginx --for=condition=ready pod --selector=app.kubernetes.io/component=controller --timeout=180s")
    in_ide(ide, "kubectl expose pod app --port=5000")
    create = ["docker", "exec", ide, "kubectl", "create", "ingress", "app", "--class=nginx", "--rule=/v2/*=app:5000"]
    created = until_admitted(lambda: subprocess.run(create, capture_output=True, text=True, timeout=MINUTE))
    assert created.returncode == 0, f"kubectl create ingress: {created.stderr}"
    url = lab.outputs["ingressUrl"].rstrip("/") + "/v2/"
    assert wait_until(lambda: registry_answers(url), 90), f"{url} never answered with the registry's {{}}"


HTTP_ROUTE = f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: app
spec:
  parentRefs:
  - name: {gateway.GATEWAY}
    namespace: {gateway.NAMESPACE}
  rules:
  - matches:
    - path: {{type: PathPrefix, value: /v2}}
    backendRefs:
    - name: app
      port: 5000
"""


@group("first-up")
@pytest.mark.skipif(not GATEWAY_ROW, reason=f"kubernetesVersion {ROW.minor}'s way in is ingress-nginx (previous test)")
def test_a_service_is_served_through_the_gateway_from_the_host_and_the_ide(lab):
    """The README's HTTPRoute to a Service, attached to the lab's Gateway: reached at the
    slot's port 80 from the host (ingressUrl) and from the IDE (the control plane's port 80
    on the lab network, where NGINX Gateway Fabric's hostPort is)."""
    ide, registry = lab.outputs["ideContainer"], lab.outputs["registry"]
    in_ide(ide, f"docker tag registry:2.8.3 {registry}/app:1 && docker push {registry}/app:1")
    in_ide(ide, f"kubectl run app --image={registry}/app:1 --port=5000 && kubectl wait --for=condition=ready pod/app --timeout=180s")
    in_ide(ide, "kubectl expose pod app --port=5000")
    in_ide(ide, f"kubectl wait -n {gateway.NAMESPACE} --for=condition=Programmed gateway/{gateway.GATEWAY} --timeout=300s")
    in_ide(ide, f"printf '%s' '{HTTP_ROUTE}' | kubectl apply -f -")
    url = lab.outputs["ingressUrl"].rstrip("/") + "/v2/"
    assert wait_until(lambda: registry_answers(url), 120), f"{url} never answered with the registry's {{}}"
    assert in_ide(ide, f"curl -fsS http://{LAB}-control-plane/v2/").strip() == "{}"
    assert in_ide(ide, "kubectl version --client -o json").count(f'"minor": "{ROW.minor.split(".")[1]}"') == 1


def until_admitted(
    create: Callable[[], subprocess.CompletedProcess], attempts: int = 24, pause: float = 5, sleep: Callable[[float], None] = time.sleep
) -> subprocess.CompletedProcess:
    """ingress-nginx's admission webhook answers some seconds after its controller pod is
    Ready; until then the API server refuses an Ingress with "failed calling webhook
    validate.nginx.ingress.kubernetes.io ... connection refused". Retried while that is the
    reason, at most `attempts` times (2 minutes); any other failure is returned at once."""
    done = create()
    for _ in range(attempts - 1):
        if done.returncode == 0 or "webhook" not in done.stderr:
            break
        sleep(pause)
        done = create()
    return done


@group("first-up")
def test_host_memory_of_the_lab_is_measured(lab, timings):
    lines = docker("stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}").splitlines()
    found = memory_by_container(lines, f"{LAB}-")
    assert {f"{LAB}-ide", f"{LAB}-control-plane", f"{LAB}-worker"} <= set(found), lines
    assert all(size > 0 for size in found.values()), found
    timings.record_memory(LAB, found)


@group("first-up")
def test_second_up_changes_nothing(runner, timings, lab):
    seconds = runner.lab("lab-second-up", "up", stack=LAB)
    timings.record("second_up", seconds, workers=1)
    (last,) = runner.stack(LAB).history(page_size=1, show_secrets=False)
    assert (last.kind, last.result) == ("update", "succeeded")
    changes = {k: v for k, v in (last.resource_changes or {}).items() if k != "same"}
    assert changes == {}, changes


# --- a second checkout in another folder --------------------------------------------------------------------

COPY_IGNORE = shutil.ignore_patterns("venv", ".git", ".tools", ".pulumi-state", "handouts", "__pycache__", ".pytest_cache")


@pytest.fixture(scope="module")
def second_checkout(runner, tmp_path_factory) -> Path:
    """The project copied to another folder with its own venv, as a second clone would be."""
    copy = tmp_path_factory.mktemp("second-checkout") / "k8s-lab"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORE)
    if DRY_RUN:  # the venv running this, as tests/test_user_path.py's fresh copies have it: nothing fetched
        (copy / "venv").symlink_to(Path(sys.executable).parent.parent)
        return copy
    runner.run("second-checkout-venv", [sys.executable, "-m", "venv", str(copy / "venv")])
    pip = [str(copy / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", "-r", "requirements.txt"]
    runner.run("second-checkout-pip", pip, cwd=copy)
    return copy


@group("second-checkout")
def test_up_of_a_second_stack_uses_the_cached_image(pre_lab):
    assert pre_lab.outputs["clusterName"] == PRE
    assert ide_images(), "the IDE image is gone"


@group("second-checkout")
def test_preview_from_a_second_checkout_changes_nothing(runner, pre_lab, second_checkout):
    lines: list[str] = []
    try:
        runner.stack(PRE, work_dir=second_checkout).preview(expect_no_changes=True, diff=True, on_output=lines.append)
        failure = None
    except auto.CommandError as error:
        failure = str(error)
    path = runner.log("pre-preview-second-checkout", "\n".join(lines) + (f"\n{failure}" if failure else ""))
    assert failure is None, f"preview from {second_checkout} expected no changes; see {path}"


@group("second-checkout")
def test_destroy_from_the_second_checkout_succeeds(runner, pre_lab, second_checkout):
    python = str(second_checkout / "venv" / "bin" / "python")
    runner.run("pre-destroy-second-checkout", [python, "lab.py", "destroy", "--yes", "--stack", PRE], cwd=second_checkout)
    assert leftovers(PRE) == []
    assert PRE not in kind_clusters()


# --- repairs: what a student does after deleting things by hand ---------------------------------------------


@group("repairs")
def test_up_recovers_after_kind_delete_cluster(runner, lab):
    runner.run("lab-kind-delete", ["kind", "delete", "cluster", "--name", LAB])
    assert LAB not in kind_clusters()
    runner.lab("lab-up-after-kind-delete", "up", stack=LAB)
    assert LAB in kind_clusters()
    nodes_seen_ready(f"{LAB}-ide", expected=2)


@group("repairs")
def test_up_recovers_after_docker_rmi_of_the_ide_image(runner, lab):
    image = docker("inspect", "--format", "{{.Config.Image}}", f"{LAB}-ide").strip()
    docker("rmi", "-f", image)
    assert image not in ide_images()
    runner.lab("lab-up-after-rmi", "up", stack=LAB, timeout=45 * MINUTE)
    assert image in ide_images(), f"{image} was not rebuilt"
    assert docker("inspect", "--format", "{{.State.Running}}", f"{LAB}-ide").strip() == "true"
    assert wait_until(lambda: answers(lab.outputs["ideUrl"]), 60)
    nodes_seen_ready(f"{LAB}-ide", expected=2)


# --- issue #18: caps changed on a running lab, a stopped lab refreshed, a plain `up --refresh` -------------------

CLUSTER_COMMAND_URN = "k8s-lab:index:KindCluster$command:local:Command::cluster-cluster"


def last_changes(runner: Runner, name: str) -> dict[str, int]:
    (last,) = runner.stack(name).history(page_size=1, show_secrets=False)
    return {k: v for k, v in (last.resource_changes or {}).items() if k != "same"}


def host_caps(container: str) -> tuple[int, int]:
    memory, nano = docker("inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}", container).split()
    return int(memory), int(nano)


@group("caps-refresh")
def test_caps_changed_then_switched_off_on_a_running_lab(runner, lab):
    stack = runner.stack(LAB)
    stack.set_config("labMemory", auto.ConfigValue("3g"))
    stack.set_config("labCpus", auto.ConfigValue("1"))
    runner.lab("lab-up-caps-3g", "up", stack=LAB)
    shares = limits.shares(3072, "1", 1)
    assert isinstance(shares, limits.Shares)
    assert host_caps(f"{LAB}-ide") == (shares.ide_mb * 2**20, 10**9)
    assert host_caps(f"{LAB}-control-plane") == (shares.control_plane_mb * 2**20, 10**9)
    runner.lab("lab-up-caps-3g-again", "up", stack=LAB)
    assert last_changes(runner, LAB) == {}  # cpus "1.0" and swap -1 read back as sent
    stack.set_config("labMemory", auto.ConfigValue("0"))
    stack.set_config("labCpus", auto.ConfigValue("0"))
    with pytest.raises(auto.CommandError, match="cannot lift"):
        stack.up(on_output=lambda _: None)  # the nodes' caps cannot be lifted in place: it says so
    stack.up(replace=[f"urn:pulumi:{LAB}::k8s-lab::{CLUSTER_COMMAND_URN}"], on_output=lambda _: None)
    assert host_caps(f"{LAB}-ide") == (0, 0) and host_caps(f"{LAB}-control-plane") == (0, 0)
    nodes_seen_ready(f"{LAB}-ide", expected=2)
    stack.remove_all_config(["labMemory", "labCpus"])
    runner.lab("lab-up-caps-default", "up", stack=LAB)


@group("caps-refresh")
def test_a_stopped_lab_refreshed_then_started_keeps_its_namespace(runner, lab):
    runner.lab("lab-stop", "stop", stack=LAB)
    runner.stack(LAB).refresh(on_output=lambda _: None)  # drops the namespace from state (cluster unreachable)
    runner.lab("lab-start", "start", stack=LAB)
    runner.lab("lab-up-after-stopped-refresh", "up", stack=LAB)  # adopts it (upsertExistingObjects)
    docker("exec", f"{LAB}-ide", "kubectl", "get", "namespace", LAB)
    runner.lab("lab-up-after-stopped-refresh-again", "up", stack=LAB)
    assert last_changes(runner, LAB) == {}


@group("caps-refresh")
def test_a_plain_refresh_and_up_of_a_stopped_lab_keeps_the_ide_and_the_registry(runner, lab):
    """Issue #31: the refresh reads the stopped containers without ports (tpd Read), which
    `ports` (ForceNew) turned into a replace; k8s_lab/docker_diff.py diffs them by a trigger."""
    containers = [f"{LAB}-ide", f"{LAB}-registry"]
    before = docker("inspect", "--format", "{{.Id}}", *containers).split()
    runner.lab("lab-stop-for-plain-refresh", "stop", stack=LAB)
    stack = runner.stack(LAB)
    stack.refresh(on_output=lambda _: None)
    try:
        stack.up(on_output=lambda _: None)  # the stopped cluster's objects may fail: "unreachable"
    except auto.CommandError as error:
        assert "unreachable" in str(error), str(error)[-2000:]
    assert docker("inspect", "--format", "{{.Id}}", *containers).split() == before, "replaced by refresh + up"
    runner.lab("lab-start-after-plain-refresh", "start", stack=LAB)
    runner.lab("lab-up-after-plain-refresh", "up", stack=LAB)
    runner.lab("lab-up-after-plain-refresh-again", "up", stack=LAB)
    assert last_changes(runner, LAB) == {}
    assert docker("inspect", "--format", "{{.Id}}", *containers).split() == before


@group("caps-refresh")
def test_plain_up_refresh_after_containers_and_network_were_removed(runner, lab):
    for container in docker("ps", "-aq", "--filter", f"label=io.x-k8s.kind.cluster={LAB}").split():
        docker("rm", "-f", "-v", container)
    docker("rm", "-f", f"{LAB}-ide", f"{LAB}-registry")
    docker("network", "rm", f"kind-{LAB}")
    runner.stack(LAB).up(refresh=True, on_output=lambda _: None)
    nodes_seen_ready(f"{LAB}-ide", expected=2)
    control_plane = f"{LAB}-control-plane"
    kubectl = ["exec", control_plane, "kubectl", "--kubeconfig=/etc/kubernetes/admin.conf"]
    assert docker(*kubectl, "get", "namespace", WAY_IN_NAMESPACE, "-o", "name").strip() == f"namespace/{WAY_IN_NAMESPACE}"
    docker(*kubectl, "get", "namespace", LAB)
    assert wait_until(lambda: answers(lab.outputs["ideUrl"]), 120)


@group("repairs")
def test_destroy_after_the_cluster_is_gone_leaves_nothing(runner, timings, lab):
    bring_up(runner, timings, GONE, 39, 0, lab.workspace_root, None)
    runner.run("gone-kind-delete", ["kind", "delete", "cluster", "--name", GONE])
    runner.lab("gone-destroy", "destroy", "--yes", stack=GONE)
    assert leftovers(GONE) == []


# --- a classroom: three stacks at once ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def roster(runner, lab, tmp_path_factory) -> Path:
    """Three students with one node each; their passwords are set here, so the logs can be
    redacted from the start (classroom.py keeps a password a stack already has)."""
    for student in CLASS:
        stack = auto.create_stack(stack_name=student, work_dir=str(ROOT), opts=runner.options())
        password = secrets.token_urlsafe(15)
        runner.known_secrets.add(password)
        stack.set_config("workers", auto.ConfigValue("0"))
        stack.set_config("idePassword", auto.ConfigValue(password, secret=True))
        runner.stacks.append(student)
    path = tmp_path_factory.mktemp("class") / "roster.csv"
    path.write_text("student,slot,dockerHost\n" + "".join(f"{s},{slot},\n" for s, slot in CLASS.items()), encoding="utf-8")
    return path


def classroom(runner: Runner, action: str, roster: Path, root: Path) -> None:
    argv = [sys.executable, "classroom.py", action, str(roster), "--parallel", "3", "--backend", runner.env["PULUMI_BACKEND_URL"],
            "--workspace-root", str(root), "--handouts", str(roster.parent / "handouts"), "--logs", str(roster.parent / "logs")]
    # One-node labs use about 1.4 GB each (README, Benchmark), far under their 6g caps,
    # which the capacity check counts in full; a CI runner's inotify limits are its own.
    argv += {"up": ["--over-capacity"], "destroy": ["--yes"]}.get(action, [])
    runner.run(f"classroom-{action}", argv, timeout=30 * MINUTE)


@group("classroom")
def test_classroom_brings_up_three_stacks_in_parallel(runner, lab, roster):
    classroom(runner, "up", roster, lab.workspace_root)
    for student in CLASS:
        outputs = runner.outputs(student)
        assert student in kind_clusters()
        assert answers(outputs["ideUrl"]), f"{student}'s IDE does not answer"
        accepted = logs_in(outputs["ideUrl"], outputs["idePassword"])
        assert accepted, f"{student}'s password is refused"


@group("classroom")
def test_classroom_destroy_removes_all_three(runner, lab, roster):
    classroom(runner, "destroy", roster, lab.workspace_root)
    assert {s: leftovers(s) for s in CLASS} == {s: [] for s in CLASS}


# --- beyond loopback: HTTPS, no socket, idle stop ----------------------------------------------------------


@group("beyond-loopback")
def test_beyond_loopback_the_ide_serves_https_without_the_socket_and_idle_stop_keeps_it(runner, lab):
    """bindAddress 0.0.0.0: code-server serves its self-signed certificate (CODE_SERVER_CONFIG,
    cert: true), the health check passes over https, the password is taken over it, a second
    `up` changes nothing; mountDockerSocket false leaves no socket in the IDE; a lab in use is
    kept by `stop --idle-for`, and status reads its idle time. Last before the final destroy:
    the bind address remakes the cluster (its port mappings), once."""
    stack = runner.stack(LAB)
    for key, value in (("bindAddress", "0.0.0.0"), ("allowRemoteAccess", "true"), ("mountDockerSocket", "false")):
        stack.set_config(key, auto.ConfigValue(value))
    runner.lab("lab-up-https", "up", stack=LAB)
    url = runner.outputs(LAB)["ideUrl"]
    assert url == f"https://127.0.0.1:{ports_for_slot(37).ide}"
    accepted = logs_in(url, lab.outputs["idePassword"])
    assert accepted, "code-server over https refused the stack's idePassword"
    served = ssl.get_server_certificate(("127.0.0.1", ports_for_slot(37).ide), timeout=10)
    assert served.startswith("-----BEGIN CERTIFICATE-----")
    runner.lab("lab-up-https-again", "up", stack=LAB)
    assert last_changes(runner, LAB) == {}
    socket_there = subprocess.run(["docker", "exec", f"{LAB}-ide", "test", "-S", "/var/run/docker.sock"], env=runner.env, check=False)
    assert socket_there.returncode == 1
    runner.lab("lab-stop-idle", "stop", "--idle-for", "30m", stack=LAB)  # just logged in: kept
    assert docker("inspect", "--format", "{{.State.Status}}", f"{LAB}-ide").strip() == "running"
    status = subprocess.run([sys.executable, "lab.py", "status", "--json", "--stack", LAB], cwd=ROOT, env=runner.env,
                            capture_output=True, text=True, timeout=5 * MINUTE)
    idle = json.loads(status.stdout)["idle_seconds"]
    assert idle is not None and idle < 30 * MINUTE, status.stdout


# --- last: destroy ---------------------------------------------------------------------------------------------


@group("first-up")
def test_destroy_leaves_no_docker_object_and_keeps_the_files(runner, timings, lab):
    keep = lab.workspace_root / LAB / "src" / "homework.txt"
    keep.parent.mkdir(parents=True, exist_ok=True)  # `up` made it (test_first_up...); the dry run's stand-ins did not
    keep.write_text("mine", encoding="utf-8")
    timings.record("destroy", runner.lab("lab-destroy", "destroy", "--yes", stack=LAB), workers=1)
    assert leftovers(LAB) == []
    assert LAB not in kind_clusters()
    assert keep.read_text(encoding="utf-8") == "mine"
