import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The Pulumi program runs from the project root (its `components` and `k8s_lab` packages).
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


@pytest.fixture
def workspace_root(tmp_path: Path) -> str:
    root = tmp_path / "labs"
    root.mkdir()
    return str(root)


def tool_missing(*names: str) -> list[str]:
    return [name for name in names if shutil.which(name) is None]


REQUIRE_ENGINE = bool(os.environ.get("K8S_LAB_REQUIRE_ENGINE"))


def engine_unavailable(reason: str):
    """Skip, saying why; in CI (K8S_LAB_REQUIRE_ENGINE=1) an engine test may not skip."""
    if REQUIRE_ENGINE:
        pytest.fail(f"K8S_LAB_REQUIRE_ENGINE is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client():
    try:
        import docker
    except ImportError:
        engine_unavailable("docker-py is not installed (pip install -r requirements-dev.txt)")
    try:
        client = docker.from_env()
        client.ping()
    except Exception as error:  # noqa: BLE001 - any failure means: no engine here
        engine_unavailable(f"no Docker Engine answers ({error})")
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_client) -> str:
    """A tiny image made here, since no registry is reachable: Debian's busybox-static in
    an otherwise empty file system, `docker import`ed once per session."""
    tag = "k8s-lab-test/busybox:1"
    busybox = Path("/bin/busybox")
    if not busybox.exists():
        engine_unavailable("/bin/busybox is missing (apt-get install busybox-static)")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(str(busybox), arcname="bin/busybox")
        for applet in ("sh", "sleep", "cat", "ls", "id", "stat", "mkdir", "touch", "echo", "nslookup", "ping", "wget", "nc", "httpd", "test", "rm", "cp", "wc"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
        for folder in ("tmp", "etc", "run"):
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
    docker_client.api.import_image_from_data(buffer.getvalue(), repository="k8s-lab-test/busybox", tag="1")
    return tag



def clone_this_repository(target: Path, *git_options: str, umask: int = 0o022) -> Path:
    """A `git clone` of this checkout's HEAD (what a student gets), made with `git_options`
    (e.g. `-c core.autocrlf=true`) under `umask`; skips, saying why, without git or a checkout."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed (.ci/run installs it)")
    inside = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--is-inside-work-tree"], capture_output=True, text=True)
    if inside.stdout.strip() != "true":
        pytest.skip(f"this test clones the repository, and {ROOT} is not a git checkout ({inside.stderr.strip()})")
    subprocess.run(
        ["git", *git_options, "clone", "-q", "--no-hardlinks", str(ROOT), str(target)],
        check=True, capture_output=True, timeout=120, preexec_fn=lambda: os.umask(umask),  # noqa: PLW1509 - the umask is the point
    )
    return target


_DIAGNOSED: set[str] = set()  # a module fixture's failure repeats for every test after it


def e2e_diagnostics(item, failure: str) -> None:
    """A failed e2e test, while the lab is still as it left it: .ci/e2e-diagnostics gathers
    kind's logs, `docker ps -a` and the IDE containers' logs into K8S_LAB_E2E_DIAGNOSTICS."""
    folder = os.environ.get("K8S_LAB_E2E_DIAGNOSTICS")
    if not folder or item.get_closest_marker("e2e") is None or failure in _DIAGNOSED:
        return
    _DIAGNOSED.add(failure)
    tools = Path(os.environ.get("K8S_LAB_TOOLS_DIR") or ROOT / ".tools")
    path = os.pathsep.join([str(tools / "bin"), str(tools / "pulumi" / "bin"), os.environ.get("PATH", "")])
    script = ROOT / ".ci" / "e2e-diagnostics"
    try:
        subprocess.run(["bash", str(script), str(Path(folder) / item.name)], env={**os.environ, "PATH": path}, timeout=600)
    except (subprocess.TimeoutExpired, OSError) as error:
        # Raised from a report hook, it would end the whole session, not this test's report.
        print(f"e2e diagnostics for {item.name} gave up: {type(error).__name__}: {error}", file=sys.stderr)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and report.when in ("setup", "call"):
        e2e_diagnostics(item, str(report.longrepr))
    return report


E2E_ENV = "K8S_LAB_E2E"  # =1 asks for the e2e tests, as --run-e2e does
E2E_GROUP_ENV = "K8S_LAB_E2E_GROUP"  # =NAME selects one group of them, as --e2e-group does
_E2E_ASKED: list[bool] = []  # set once per run by pytest_configure
_LEFT_OUT = pytest.StashKey[dict]()  # marker -> how many tests of it were deselected


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run the tests marked slow (.ci/run does)")
    parser.addoption(
        "--run-e2e",
        action="store_true",
        help=f"also run the e2e tests (real docker, kind and pulumi; .github/workflows/e2e.yml does; or {E2E_ENV}=1)",
    )
    parser.addoption(
        "--e2e-group",
        default=os.environ.get(E2E_GROUP_ENV) or None,
        metavar="NAME",
        help=f"only the e2e tests of this group (their e2e_group marker), as one job of e2e.yml's matrix runs them (or {E2E_GROUP_ENV}=NAME)",
    )


def e2e_requested() -> bool:
    """Whether this run asked for the e2e tests: never because kind and pulumi happen to be installed."""
    return bool(_E2E_ASKED and _E2E_ASKED[0])


def pytest_configure(config):
    _E2E_ASKED[:] = [bool(config.getoption("--run-e2e", False)) or os.environ.get(E2E_ENV) == "1"]
    if os.environ.get("K8S_LAB_REQUIRE_E2E") and not e2e_requested():
        raise pytest.UsageError(f"K8S_LAB_REQUIRE_E2E is set but the e2e tests were not asked for: add --run-e2e (or {E2E_ENV}=1)")


def pytest_report_header(config):
    if e2e_requested():
        return "e2e: asked for, the e2e tests run against real docker, kind and pulumi"
    return f"e2e: not asked for, the e2e tests are deselected (--run-e2e or {E2E_ENV}=1 runs them)"


def pytest_collection_modifyitems(config, items):
    """Slow tests (the quick benchmark, whole-program evaluations in several processes) run
    when asked: `pytest --run-slow`, as .ci/run does; e2e tests only with --run-e2e (or
    K8S_LAB_E2E=1), as e2e.yml does, never because the tools are on PATH. Deselected, not
    skipped: the run says how many it left out, and why."""
    leave_out = []
    if not config.getoption("--run-slow"):
        leave_out.append("slow")
    if not e2e_requested():
        leave_out.append("e2e")
    left = [item for item in items if any(item.get_closest_marker(marker) for marker in leave_out)]
    left += other_e2e_groups(config, [item for item in items if item not in left])
    left_ids = {id(item) for item in left}
    config.stash[_LEFT_OUT] = {marker: sum(1 for item in left if item.get_closest_marker(marker)) for marker in leave_out}
    if config.getoption("--e2e-group"):
        config.stash[_LEFT_OUT]["e2e_group"] = len(left) - sum(config.stash[_LEFT_OUT].values())
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = [item for item in items if id(item) not in left_ids]


def e2e_group_of(item) -> str | None:
    marker = item.get_closest_marker("e2e_group")
    return str(marker.args[0]) if marker and marker.args else None


def other_e2e_groups(config, items) -> list:
    """With --e2e-group NAME: the e2e tests of every other group. A name no test has is a
    usage error (a typo in the matrix would otherwise run nothing, and pass)."""
    wanted = config.getoption("--e2e-group")
    if not wanted:
        return []
    e2e_items = [item for item in items if item.get_closest_marker("e2e")]
    known = {e2e_group_of(item) for item in e2e_items}
    if e2e_items and wanted not in known:
        raise pytest.UsageError(f"--e2e-group {wanted}: no e2e test is in that group; the groups: {', '.join(sorted(str(g) for g in known))}")
    return [item for item in e2e_items if e2e_group_of(item) != wanted]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    left = config.stash.get(_LEFT_OUT, {})
    why = {
        "slow": "not asked for (--run-slow)",
        "e2e": f"not asked for (--run-e2e or {E2E_ENV}=1)",
        "e2e_group": f"in other groups than --e2e-group {config.getoption('--e2e-group')}",
    }
    for marker, count in left.items():
        if count:
            terminalreporter.write_line(f"{count} {marker} tests deselected: {why[marker]}")


@pytest.fixture
def ascii_locale():
    """A locale whose default text encoding is not UTF-8, as Windows' cp1252 is not: Python's
    default for open() and Popen follows LC_CTYPE, which is set here for this process only."""
    import locale

    before = locale.setlocale(locale.LC_CTYPE)
    try:
        locale.setlocale(locale.LC_CTYPE, "C")
        if locale.getpreferredencoding(False).replace("-", "").lower() == "utf8":
            pytest.skip("this Python runs in UTF-8 mode (PYTHONUTF8=1 or -X utf8): every locale reads as UTF-8")
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, before)
