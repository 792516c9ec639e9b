"""The e2e harness's dry run: tests/test_e2e.py, job by job as e2e.yml's matrix runs it (a
group on a kubernetesVersion row: K8S_LAB_E2E_KUBERNETES_VERSION), with its own fixtures and calls (lab.py, classroom.py, the Automation API) in their order,
against the stand-in docker, kind and pulumi of tests/stand_ins/, in a fresh copy of the
project. The stand-ins make no cluster, so the checks of the real world fail there and stay
the e2e run's; what fails here is a harness that cannot get past its own setup (a fixture
that errors) or a call the CLI refuses: a usage error, "no such lab", a missing file, a
traceback (test_e2e.py's Runner fails those as "refused:"). Issue 27: every e2e test once
errored at setup, because bring_up set a slot on a lab that did not exist yet, and nothing
here noticed. On the 1.36 row the lab is set to that row before its first `up`, which finds
the row's kind release (the stand-in kind, also installed as kind-v0.32.0), and the first-up
group runs the Gateway scenario where the 1.29 row runs the Ingress one. Slow (10-25 s per
job): `pytest --run-slow`, the README's test command."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from github_matrix import expand
from k8s_lab import tools, versions

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name == "nt", reason="the stand-ins are scripts with a #! line")]

E2E_WORKFLOW = ROOT / ".github" / "workflows" / "e2e.yml"
# What a refused call leaves in a failure: Runner's verdict, or the Automation API's error.
REFUSED = re.compile(r"refused: |no stack named|there is no lab named|usage: |No such file or directory|Traceback \(most recent")
# What a check of the real world fails with in the dry run: an assertion, or nothing there to answer.
REAL_WORLD = re.compile(r"(AssertionError|urllib\.error\.URLError|ConnectionRefusedError|ssl\.SSLError|Failed: DID NOT RAISE)\b")
OUTPUTS = {
    name: {"value": value, "secret": name in ("idePassword", "kubeconfig", "hostKubeconfig")}
    for name, value in {
        "ideUrl": "http://127.0.0.1:8444", "idePassword": "dry-run-password-1", "clusterName": "dry", "networkName": "kind-dry",
        "ideContainer": "dry-ide", "ingressUrl": "http://127.0.0.1:8080", "registry": "127.0.0.1:5001",
        "kubeconfig": "apiVersion: v1\nkind: Config\n", "hostKubeconfig": "apiVersion: v1\nkind: Config\n",
    }.items()
}


# Each row's way-in scenario; on the other row it is skipped, and that skip is expected.
WAY_IN_TESTS = {
    "ingress-nginx": "test_image_pushed_from_the_ide_runs_behind_the_ingress",
    "gateway-api": "test_a_service_is_served_through_the_gateway_from_the_host_and_the_ide",
}


def matrix_jobs() -> list[tuple[str, str]]:
    """(group, kubernetesVersion row) of every job of e2e.yml's matrix, in its order."""
    matrix = yaml.safe_load(E2E_WORKFLOW.read_text())["jobs"]["e2e"]["strategy"]["matrix"]
    return [(job["group"], job["kubernetes-version"]) for job in expand(matrix)]


def project_copy(destination: Path) -> Path:
    """The project as a clone has it, tests included, with the venv running this linked in."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in filter(None, listed.stdout.split("\0")):
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    (destination / "venv").symlink_to(Path(sys.executable).parent.parent)
    return destination


def stand_ins(folder: Path) -> Path:
    """The stand-ins, and the stand-in kind under each other row's name (kind-v0.32.0), as
    `up` would fetch it for a lab of that row (it answers as the release it is named for)."""
    folder.mkdir()
    row_kinds = [tools.kind_command(row.kind_version) for row in versions.ROWS.values() if row.kind_version != tools.KIND_VERSION]
    for tool, name in [("docker", "docker"), ("kind", "kind"), ("pulumi", "pulumi"), *(("kind", kind) for kind in row_kinds)]:
        text = (ROOT / "tests" / "stand_ins" / tool).read_text().replace("#!/usr/bin/env python3", f"#!{sys.executable}", 1)
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    return folder


def dry_run(
    tmp_path: Path, group: str, project: Path | None = None, row: str = versions.SEED
) -> tuple[subprocess.CompletedProcess, ElementTree.Element]:
    project = project or project_copy(tmp_path / "k8s-lab")
    bin_dir = stand_ins(tmp_path / "bin")
    keep = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TMPDIR")}
    env = {
        **keep,
        "PATH": os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"]),  # the stand-ins, never the host's docker
        "HOME": str(tmp_path / "home"),
        "USER": "dry",
        "K8S_LAB_TOOLS_DIR": str(tmp_path / "tools"),
        "K8S_LAB_E2E_DRY_RUN": "1",
        "K8S_LAB_REQUIRE_E2E": "1",  # a module that skips would pass here: it fails instead
        "K8S_LAB_E2E_LOGS": str(tmp_path / "logs"),
        "K8S_LAB_E2E_TIMINGS": str(tmp_path / "timings.json"),
        "K8S_LAB_E2E_KUBERNETES_VERSION": row,
        "STAND_IN_OUTPUTS": json.dumps(OUTPUTS),
        "STAND_IN_CALLS": str(tmp_path / "calls"),
    }
    report = tmp_path / "report.xml"
    command = [sys.executable, "-m", "pytest", "--run-e2e", "-m", "e2e", "--e2e-group", group, "-p", "no:cacheprovider",
               "-q", f"--junitxml={report}", f"--basetemp={tmp_path / 'base'}", "tests/test_e2e.py"]
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert report.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    return done, ElementTree.parse(report).getroot()


def problems(report: ElementTree.Element, row: str = versions.SEED) -> dict[str, dict[str, str]]:
    """What the dry run may not show, by kind, each test's message: a fixture that errors
    (setup or teardown), a skip (but the other row's way-in scenario's, on `row`), a refused
    call, and a failure that is no check of the real world (a NameError, a KeyError, a Pulumi
    call the stand-in does not know: the harness's own bug, or a stand-in to extend). Left
    out: checks of the real world, which fail here."""
    other_way_in = {test for way_in, test in WAY_IN_TESTS.items() if way_in != versions.row(row).way_in}

    def message(element: ElementTree.Element) -> str:
        return (element.get("message") or "") + "\n" + (element.text or "")[-1500:]

    found: dict[str, dict[str, str]] = {"errors": {}, "skipped": {}, "refused": {}, "other": {}}
    for case in report.iter("testcase"):
        name = case.get("name") or ""
        for error in case.findall("error"):
            found["errors"][name] = message(error)
        for skip in case.findall("skipped"):
            if name not in other_way_in:
                found["skipped"][name] = message(skip)
        for failure in case.findall("failure"):
            if REFUSED.search(message(failure)):
                found["refused"][name] = message(failure)
            elif not REAL_WORLD.match(failure.get("message") or ""):
                found["other"][name] = message(failure)
    return found


@pytest.mark.parametrize(("group", "row"), matrix_jobs(), ids=[f"{group}-{row}" for group, row in matrix_jobs()])
def test_the_e2e_harness_gets_past_its_setup_and_no_call_is_refused(tmp_path, group, row):
    done, report = dry_run(tmp_path, group, row=row)
    ran = {case.get("name") for case in report.iter("testcase")}
    assert ran, done.stdout[-3000:]
    assert problems(report, row) == {"errors": {}, "skipped": {}, "refused": {}, "other": {}}
    if group == "first-up":  # the row's way in, not the other's, was tried
        assert set(WAY_IN_TESTS.values()) <= ran, ran
        tried = {case.get("name") for case in report.iter("testcase") if not case.findall("skipped")}
        assert tried & set(WAY_IN_TESTS.values()) == {WAY_IN_TESTS[versions.row(row).way_in]}, tried
    # The calls ran through the stand-ins: bring_up's, in order, at least (on another row
    # than the seed's, the lab is set to it before its first `up`).
    calls = (tmp_path / "calls").read_text().splitlines()
    assert any(call.startswith("pulumi up ") for call in calls), calls[-20:]
    steps = sorted(path.name for path in (tmp_path / "logs").glob("*.log"))
    expected = ["lab-config-slot.log", "lab-config-workers.log", *(["lab-config-version.log"] if row != versions.SEED else []), "lab-up.log"]
    assert [re.sub(r"^\d+-e2e\w+-", "", name) for name in steps[: len(expected)]] == expected, steps
    settings = yaml.safe_load(next((tmp_path / "k8s-lab").glob("Pulumi.e2e*-lab.yaml")).read_text())["config"]
    assert settings.get("k8s-lab:kubernetesVersion", versions.SEED) == row, settings


BROKEN = {
    # bring_up naming a setting that is no setting: lab.py config exits 2, every test errors at setup.
    "refused": ('f"{name}-config-slot", "config", "slot"', 'f"{name}-config-slot", "config", "slto"'),
    # a harness bug in a test body, after its calls.
    "other": ('    url = runner.outputs(LAB)["ideUrl"]\n', '    url = runner.outputs(LAB)["ideUrl"] + undefined_name\n'),
}


@pytest.mark.parametrize("kind", BROKEN)
def test_the_dry_run_fails_on_a_refused_call_and_on_a_harness_bug(tmp_path, kind):
    """It can fail: the same run with test_e2e.py broken one way."""
    project = project_copy(tmp_path / "k8s-lab")
    test_file = project / "tests" / "test_e2e.py"
    source = test_file.read_text()
    broken = source.replace(*BROKEN[kind], 1)
    assert broken != source, BROKEN[kind][0]
    test_file.write_text(broken)
    done, report = dry_run(tmp_path, "beyond-loopback", project)
    found = problems(report)
    if kind == "refused":
        assert found["errors"] and all("refused: " in text for text in found["errors"].values()), done.stdout[-3000:]
    else:
        assert list(found["other"]) == ["test_beyond_loopback_the_ide_serves_https_without_the_socket_and_idle_stop_keeps_it"], found
        assert "NameError" in found["other"]["test_beyond_loopback_the_ide_serves_https_without_the_socket_and_idle_stop_keeps_it"]
