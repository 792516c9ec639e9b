"""CI runs the suite the way GitHub's ubuntu-24.04 runner does: .ci/run, started as root,
hands the lint, type gate and tests to .ci/as-runner, which runs them as the non-root user
`runner` (uid 1001) in the docker group with the runner's and the image's variables. On
GitHub (and in that stage here) the suite itself checks that it runs that way."""

from __future__ import annotations

import grp
import os
import pwd
import re
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AS_RUNNER = (ROOT / ".ci" / "as-runner").read_text()
CI_RUN = (ROOT / ".ci" / "run").read_text()

# What a job step sees on GitHub's ubuntu-24.04 runner: the runner's own variables, and the
# image's from /etc/environment (actions/runner-images, images/ubuntu/scripts/build/
# configure-environment.sh lines 11-35).
RUNNER_VARIABLES = {
    "CI", "GITHUB_ACTIONS", "GITHUB_WORKSPACE", "GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STEP_SUMMARY",
    "GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_REF", "GITHUB_EVENT_NAME", "RUNNER_OS", "RUNNER_ARCH", "RUNNER_TEMP",
    "RUNNER_TOOL_CACHE", "RUNNER_ENVIRONMENT", "RUNNER_NAME", "ImageOS", "ImageVersion", "AGENT_TOOLSDIRECTORY",
    "XDG_CONFIG_HOME", "HOME", "USER",
}  # fmt: skip


def test_as_runner_sets_what_githubs_runner_sets():
    invocation = AS_RUNNER[AS_RUNNER.index("exec runuser") :]
    given = dict(re.findall(r"\b([A-Za-z_]+)=(\"[^\"]*\"|\S+)", invocation))
    assert RUNNER_VARIABLES <= set(given), RUNNER_VARIABLES - set(given)
    assert given["CI"] == given["GITHUB_ACTIONS"] == "true"
    assert (given["RUNNER_OS"], given["RUNNER_ARCH"], given["ImageOS"]) == ("Linux", "X64", "ubuntu24")
    assert re.fullmatch(r"\d{8}\.\d+\.\d+", given["ImageVersion"]), "as the image's readme names it"
    assert re.search(r"^uid=1001$", AS_RUNNER, re.M) and re.search(r"^user=runner$", AS_RUNNER, re.M)
    assert 'usermod -a -G docker "$user"' in AS_RUNNER and 'chgrp docker "$socket"' in AS_RUNNER


def test_ci_run_hands_the_rest_to_the_runner_only_as_root():
    branch = CI_RUN[CI_RUN.index('if [ "$(id -u)" = 0 ]') :]
    branch = branch[: branch.index("\nfi\n")]
    assert "bash .ci/as-runner bash .ci/run || status=$?" in branch and "exit $status" in branch
    # Root's own work comes first (packages, dockerd), the tests after the hand-over.
    assert CI_RUN.index("apt-get install") < CI_RUN.index(branch) < CI_RUN.index("-m pytest")


in_github_actions = pytest.mark.skipif(
    os.environ.get("GITHUB_ACTIONS") != "true", reason="not in GitHub Actions, nor in .ci/run's runner stage (.ci/as-runner)"
)


@in_github_actions
def test_this_run_is_a_non_root_docker_group_user_with_the_runners_variables():
    assert os.geteuid() != 0, "tests of permissions mean nothing as root"
    user = pwd.getpwuid(os.geteuid()).pw_name
    assert "docker" in {grp.getgrgid(gid).gr_name for gid in os.getgroups()}, user
    missing = {name for name in RUNNER_VARIABLES if not os.environ.get(name)}
    assert not missing, missing
    assert os.environ["HOME"] == pwd.getpwuid(os.geteuid()).pw_dir
    socket = Path("/var/run/docker.sock")
    if socket.exists():
        assert os.access(socket, os.R_OK | os.W_OK) and stat.S_ISSOCK(socket.stat().st_mode)
    assert ROOT.stat().st_uid == os.geteuid(), "the checkout is the runner's"


@pytest.mark.parametrize(
    "lint, pytest_exit, expected",
    [(0, 0, 0), (0, 1, 1), (0, 5, 5), (1, 0, 1), (1, 2, 2)],
    ids=["all pass", "a test fails", "no test ran", "a lint finding", "pytest interrupted after a lint finding"],
)
def test_ci_runs_exit_code_is_pytests_else_the_lint_gates(tmp_path, lint, pytest_exit, expected):
    """The tail of .ci/run (from the README's test command on), with a stand-in pytest."""
    tail = CI_RUN[CI_RUN.index("# The README's test command.") :]
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    python = tmp_path / "venv" / "bin" / "python"
    python.write_text(f"#!/bin/sh\necho \"$K8S_LAB_REQUIRE_ENGINE $*\"\nexit {pytest_exit}\n")
    python.chmod(0o755)
    script = f"set -euo pipefail\nstarted=$(date +%s)\nstatus={lint}\n{tail}"
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == expected, done.stdout + done.stderr
    assert done.stdout.startswith("1 -m pytest --run-slow\n")
    assert ("ci: pytest ran no test (exit 5)" in done.stdout) is (pytest_exit == 5)
