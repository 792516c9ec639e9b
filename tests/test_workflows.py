"""The GitHub workflows (.github/workflows/): valid against GitHub's workflow schema as
check-jsonschema vendors it (SchemaStore's github-workflow.json), and saying what they
must say: the tests on push and pull_request through .ci/run, a per-stack
`pulumi preview --diff` with the policy pack, commented on the pull request, against the
shared backend and passphrase from secrets, and the e2e run (e2e.yml): its triggers, the
tools fetched by lab.py, and what it uploads on failure (never state or secrets).

The pulumi/actions input names are the ones its action.yml declares (and src/config.ts
reads): command, stack-name, work-dir, cloud-url, comment-on-pr, edit-pr-comment, diff,
policyPacks, ...; a misspelt input would be ignored by GitHub with only a warning, so it
is checked here.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
TEST_WORKFLOW = WORKFLOWS / "test.yml"
PREVIEW_WORKFLOW = WORKFLOWS / "preview.yml"
E2E_WORKFLOW = WORKFLOWS / "e2e.yml"

# pulumi/actions action.yml (v6 line: node20, pulumi-version, comment-on-summary, ...).
PULUMI_ACTION_INPUTS = frozenset(
    {
        "command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr",
        "comment-on-pr-number", "comment-on-summary", "github-token", "cloud-url", "secrets-provider",
        "parallel", "message", "config-map", "expect-no-changes", "diff", "replace", "target",
        "target-dependents", "policyPacks", "policyPackConfigs", "refresh", "upsert", "remove",
        "edit-pr-comment", "color", "exclude-protected", "plan", "suppress-outputs", "suppress-progress",
        "always-include-summary",
    }
)


def load_workflow(path_or_text: Path | str) -> dict[str, Any]:
    """A workflow as GitHub reads it (YAML 1.2: `on` is a key, not the boolean PyYAML makes of it)."""
    text = path_or_text.read_text() if isinstance(path_or_text, Path) else path_or_text
    document = yaml.safe_load(text)
    if True in document:
        document["on"] = document.pop(True)
    return document


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "github-workflows.json"
    return json.loads(vendored.read_text(encoding="utf-8"))


def schema_errors(schema: dict[str, Any], workflow: dict[str, Any]) -> list[str]:
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator_class(schema).iter_errors(workflow)]


def steps_using(workflow: dict[str, Any], action: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (job_name, step)
        for job_name, job in workflow["jobs"].items()
        for step in job.get("steps", [])
        if str(step.get("uses", "")).split("@")[0] == action
    ]


# --- the schema ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [TEST_WORKFLOW, PREVIEW_WORKFLOW, E2E_WORKFLOW], ids=lambda p: p.name)
def test_workflow_is_valid_against_the_vendored_schema(schema, path):
    assert schema_errors(schema, load_workflow(path)) == []


def test_schema_rejects_broken_workflows(schema):
    """The check can fail: a job without runs-on, steps that are not a list, a misspelt
    trigger and a top-level key GitHub does not know are each reported."""
    good = load_workflow(PREVIEW_WORKFLOW)
    assert schema_errors(schema, good) == []
    broken = []
    no_runner = copy.deepcopy(good)
    del no_runner["jobs"]["preview"]["runs-on"]
    broken.append(no_runner)
    steps_not_a_list = copy.deepcopy(good)
    steps_not_a_list["jobs"]["stacks"]["steps"] = "run: echo"
    broken.append(steps_not_a_list)
    bad_trigger = copy.deepcopy(good)
    bad_trigger["on"] = {"pull-request": None}
    broken.append(bad_trigger)
    unknown_key = copy.deepcopy(good)
    unknown_key["job"] = unknown_key.pop("jobs")
    broken.append(unknown_key)
    for workflow in broken:
        assert schema_errors(schema, workflow), workflow


def check_jsonschema_cli() -> list[str]:
    found = shutil.which("check-jsonschema", path=os.path.dirname(sys.executable)) or shutil.which("check-jsonschema")
    return [found] if found else [sys.executable, "-m", "check_jsonschema"]


def test_check_jsonschema_cli_accepts_the_workflows_and_rejects_a_broken_one(tmp_path):
    """The same schema through check-jsonschema itself (its own YAML 1.2 loader)."""
    command = [*check_jsonschema_cli(), "--builtin-schema", "vendor.github-workflows"]
    workflows = [str(TEST_WORKFLOW), str(PREVIEW_WORKFLOW), str(E2E_WORKFLOW)]
    good = subprocess.run([*command, *workflows], capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stdout + good.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(PREVIEW_WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs-on: 42\n    runs-off: true", 1))
    bad = subprocess.run([*command, str(broken)], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0, bad.stdout


# --- test.yml ----------------------------------------------------------------------------------------------


def test_tests_run_on_push_and_pull_request_through_ci_run():
    workflow = load_workflow(TEST_WORKFLOW)
    assert {"push", "pull_request"} <= set(workflow["on"])
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    uses = [step.get("uses", "") for step in job["steps"]]
    assert any(u.startswith("actions/checkout@") for u in uses)
    assert any(u.startswith("actions/setup-python@") for u in uses)
    runs = [step["run"].strip() for step in job["steps"] if "run" in step]
    assert runs[-1] == "bash .ci/run"
    assert (ROOT / ".ci" / "run").is_file()


def test_apt_packages_cover_what_ci_run_would_install():
    """.ci/run installs missing packages with apt-get (root); the workflow installs them
    first so .ci/run runs as the runner user. Both lists must agree."""
    ci_run = (ROOT / ".ci" / "run").read_text()
    wanted = set(re.findall(r"need_apt\+=\(([\w.-]+)\)", ci_run))
    workflow = load_workflow(TEST_WORKFLOW)
    installed = set()
    for step in next(iter(workflow["jobs"].values()))["steps"]:
        for line in str(step.get("run", "")).splitlines():
            if "apt-get install" in line:
                installed |= {word for word in line.split() if not word.startswith("-") and "=" not in word}
    # docker.io is only needed where Docker is missing; the runner has its own.
    assert wanted - {"docker.io"} <= installed, wanted - installed


# --- preview.yml -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def preview() -> dict[str, Any]:
    return load_workflow(PREVIEW_WORKFLOW)


def pulumi_step(preview: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    found = steps_using(preview, "pulumi/actions")
    assert len(found) == 1, found
    return found[0]


def test_preview_runs_on_pull_requests_with_pr_write_permission(preview):
    assert set(preview["on"]) == {"pull_request"}
    assert preview["permissions"]["pull-requests"] == "write"


def test_preview_uses_pulumi_actions_v6_with_diff_comment_and_policy_pack(preview):
    _, step = pulumi_step(preview)
    assert step["uses"] == "pulumi/actions@v6"
    inputs = step["with"]
    assert set(inputs) <= PULUMI_ACTION_INPUTS, set(inputs) - PULUMI_ACTION_INPUTS
    assert inputs["command"] == "preview"
    assert inputs["comment-on-pr"] is True
    assert inputs["edit-pr-comment"] is True
    assert inputs["diff"] is True
    assert inputs["policyPacks"] == "policy"
    assert (ROOT / inputs["work-dir"] / inputs["policyPacks"] / "PulumiPolicy.yaml").is_file()
    assert (ROOT / inputs["work-dir"] / "Pulumi.yaml").is_file()


def test_preview_uses_the_shared_backend_and_passphrase_from_secrets(preview):
    job_name, step = pulumi_step(preview)
    job = preview["jobs"][job_name]
    assert step["with"]["cloud-url"] == "${{ secrets.PULUMI_BACKEND_URL }}"
    env = {**job.get("env", {}), **step.get("env", {})}
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
    text = PREVIEW_WORKFLOW.read_text()
    assert "PULUMI_CONFIG_PASSPHRASE:" in text and not re.search(r"PULUMI_CONFIG_PASSPHRASE:\s*[\"']?\w", text), "no literal passphrase"


def test_preview_matrix_comes_from_the_stack_listing_job(preview):
    job_name, step = pulumi_step(preview)
    job = preview["jobs"][job_name]
    (lister,) = [name for name in job["needs"]] if isinstance(job["needs"], list) else [job["needs"]]
    output = next(iter(preview["jobs"][lister]["outputs"]))
    assert job["strategy"]["matrix"]["stack"] == f"${{{{ fromJSON(needs.{lister}.outputs.{output}) }}}}"
    assert step["with"]["stack-name"] == "${{ matrix.stack }}"
    assert f"needs.{lister}.outputs.{output} != '[]'" in job["if"], "an empty matrix is an error in GitHub"
    assert job["strategy"]["fail-fast"] is False


def test_preview_installs_the_program_and_policy_dependencies_before_pulumi(preview):
    job_name, _ = pulumi_step(preview)
    steps = preview["jobs"][job_name]["steps"]
    index = next(i for i, step in enumerate(steps) if str(step.get("uses", "")).startswith("pulumi/actions"))
    before = "\n".join(str(step.get("run", "")) for step in steps[:index])
    assert "-r requirements.txt" in before and "venv" in before
    assert "-r policy/requirements.txt" in before and "policy/venv" in before


def stack_listing_script(preview: dict[str, Any]) -> str:
    job_name, _ = pulumi_step(preview)
    lister = preview["jobs"][job_name]["needs"]
    lister = lister[0] if isinstance(lister, list) else lister
    (step,) = [step for step in preview["jobs"][lister]["steps"] if step.get("id") == "list"]
    return step["run"]


@pytest.mark.parametrize(
    "files, expected",
    [
        (["Pulumi.yaml", "Pulumi.alice.yaml", "Pulumi.bob-2.yaml", "README.md", "Pulumi.carol.yml"], ["alice", "bob-2"]),
        (["Pulumi.yaml"], []),
    ],
)
def test_stack_listing_step_lists_the_stack_files_as_json(preview, tmp_path, files, expected):
    for name in files:
        (tmp_path / name).write_text("config: {}\n")
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "Pulumi.nested.yaml").write_text("")
    output = tmp_path / "github_output"
    result = subprocess.run(
        ["bash", "-e", "-c", stack_listing_script(preview)],
        cwd=tmp_path,
        env={**os.environ, "GITHUB_OUTPUT": str(output)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in output.read_text().splitlines() if line.startswith("stacks=")]
    assert json.loads(line.removeprefix("stacks=")) == expected


def test_preview_workflow_says_what_a_runner_preview_cannot_show():
    """Only what a runner truly cannot know: the student's containers and ports. Nothing
    of the machine that evaluates the program is left to excuse."""
    header = PREVIEW_WORKFLOW.read_text().split("\nname:")[0]
    assert "truly cannot know" in header and "still" in header and "host ports" in header
    for excuse in ("Python", "project folder", "MTU", "get_network", "home"):
        assert excuse not in header, excuse


# --- e2e.yml -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def e2e() -> dict[str, Any]:
    return load_workflow(E2E_WORKFLOW)


def e2e_job(e2e: dict[str, Any]) -> dict[str, Any]:
    (job,) = e2e["jobs"].values()
    return job


def e2e_runs(e2e: dict[str, Any]) -> list[str]:
    return [str(step.get("run", "")) for step in e2e_job(e2e)["steps"]]


def test_e2e_runs_on_main_nightly_by_hand_and_on_labelled_pull_requests(e2e):
    on = e2e["on"]
    assert on["push"] == {"branches": ["main"]}
    assert [entry["cron"] for entry in on["schedule"]]
    assert "workflow_dispatch" in on
    assert "labeled" in on["pull_request"]["types"] and "synchronize" in on["pull_request"]["types"]
    condition = e2e_job(e2e)["if"]
    assert "github.event_name != 'pull_request'" in condition
    assert "contains(github.event.pull_request.labels.*.name, 'e2e')" in condition


def test_e2e_fits_a_cold_image_build_on_the_hosted_runner(e2e):
    job = e2e_job(e2e)
    assert job["runs-on"] == "ubuntu-latest"
    assert 60 <= job["timeout-minutes"] <= 120


def test_e2e_gets_kind_and_pulumi_through_lab_py_and_puts_them_on_path(e2e):
    runs = "\n".join(e2e_runs(e2e))
    fetch = runs.index("venv/bin/python lab.py check --fetch")
    assert fetch < runs.index('.tools/bin" >> "$GITHUB_PATH"')
    assert fetch < runs.index('.tools/pulumi/bin" >> "$GITHUB_PATH"')
    assert "-r requirements-dev.txt" in runs[:fetch]


def test_e2e_runs_the_e2e_marker_and_may_not_skip(e2e):
    (step,) = [step for step in e2e_job(e2e)["steps"] if "pytest" in str(step.get("run", ""))]
    assert "-m e2e" in step["run"]
    env = step["env"]
    assert env["K8S_LAB_REQUIRE_E2E"] == "1"
    for name in ("K8S_LAB_E2E_LOGS", "K8S_LAB_E2E_DIAGNOSTICS", "K8S_LAB_E2E_TIMINGS"):
        assert env[name].startswith("${{ runner.temp }}/e2e/"), name
    assert "K8S_LAB_REQUIRE_E2E" in (ROOT / "tests" / "test_e2e.py").read_text()


def test_e2e_uploads_diagnostics_on_failure_and_never_state_or_secrets(e2e):
    steps = e2e_job(e2e)["steps"]
    (diagnose,) = [s for s in steps if ".ci/e2e-diagnostics" in str(s.get("run", ""))]
    assert diagnose["if"] == "failure()"
    assert (ROOT / ".ci" / "e2e-diagnostics").is_file()
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert any(s["if"] == "failure()" and s["with"]["path"] == "${{ runner.temp }}/e2e/" for s in uploads)
    for upload in uploads:
        path = upload["with"]["path"]
        assert "pulumi-state" not in path and "passphrase" not in path and ".tools" not in path, path
    text = E2E_WORKFLOW.read_text()
    assert "secrets." not in text, "the e2e run uses a throwaway local backend, no repository secret"


def test_diagnostics_collect_what_the_workflow_promises():
    script = (ROOT / ".ci" / "e2e-diagnostics").read_text()
    for command in ("docker ps -a", "kind export logs", "docker logs", "kind get clusters"):
        assert command in script, command
    assert "-ide$" in script
    for never in ("get kubeconfig", ".pulumi-state", "PULUMI_CONFIG_PASSPHRASE", "stack export"):
        assert never not in script, never


def test_e2e_workflow_says_what_has_been_seen_to_run_where():
    header = "\n".join(line for line in E2E_WORKFLOW.read_text().splitlines() if line.startswith("#"))
    assert "WHAT HAS BEEN SEEN TO RUN, AND WHERE" in header
    assert "NOT yet run on GitHub" in header
