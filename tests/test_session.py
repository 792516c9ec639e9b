"""k8s_lab/session.py in-process: what lab.py and classroom.py share, driven with injected
`which`/`run` callables, tests/fakes.py's FakeRunner and FakeStack/FakeWorkspace, and temp
folders for settings files, logs, passphrases and KUBECONFIG. Each test asserts what a user
or the calling CLI sees: the exact finding and its fix, the exit code, which stack is
selected or made, the files written and their modes, and that secrets never reach a log."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from fakes import FakeRunner, FakeStack, FakeWorkspace, fails, ok
from k8s_lab import session, tools
from k8s_lab.exits import lab_command
from k8s_lab.runner import RunError

LINUX = tools.Platform("linux", "amd64")
WINDOWS = tools.Platform("windows", "amd64")
DOCKER, KIND, PULUMI = session.TOOLS
GOOD = {"docker": "28.0.4", "kind": "kind v0.23.0 go1.21.10 linux/amd64", "pulumi": f"v{tools.PULUMI_VERSION}"}


def run_answering(returncode=0, stdout="", stderr="", asked=None):
    def run(argv, **kwargs):
        if asked is not None:
            asked.append((argv, kwargs))
        return subprocess.CompletedProcess(argv, returncode, stdout, stderr)

    return run


# --- Needs and the tools table -------------------------------------------------------------------


def test_needs_describe_names_each_tool_the_settings_file_and_fetching():
    assert session.Needs(("docker",), fetch=False, stack="none").describe() == "Docker"
    assert session.Needs(("docker", "pulumi"), fetch=False, stack="none").describe() == "Docker and the Pulumi CLI"
    assert session.Needs(("docker",), fetch=False, stack="settings").describe() == "Docker and the lab's settings file"
    assert session.NEEDS["up"].describe() == (
        "Docker, kind and the Pulumi CLI (kind and the Pulumi CLI fetched when missing)"
    )
    assert session.NEEDS["list"].describe() == "the Pulumi CLI"


def test_only_up_and_preview_make_a_stack_and_reading_verbs_fetch_nothing():
    assert sorted(verb for verb, needs in session.NEEDS.items() if needs.stack == "create") == ["preview", "up"]
    assert sorted(verb for verb, needs in session.NEEDS.items() if needs.fetch) == ["check", "destroy", "preview", "up"]
    assert session.NEEDS["status"] == session.Needs(("docker",), fetch=False, stack="settings")
    assert session.NEEDS["doctor"].stack == "optional" and session.NEEDS["list"].stack == "list"
    assert session.NEEDS["info"] == session.Needs(("pulumi",), fetch=False, stack="select")


def test_missing_tools_are_the_ones_which_does_not_find_in_order():
    assert session.missing_tools(lambda name: None) == [DOCKER, KIND, PULUMI]
    assert session.missing_tools(lambda name: None if name == "kind" else f"/usr/bin/{name}") == [KIND]
    assert session.missing_tools(lambda name: f"/usr/bin/{name}") == []


# --- docker's daemon ----------------------------------------------------------------------------


def test_a_daemon_that_answers_is_no_problem_and_is_asked_with_a_timeout():
    asked = []
    assert session.docker_problem(run_answering(stdout="28.0.4\n", asked=asked)) is None
    argv, kwargs = asked[0]
    assert argv == ["docker", "info", "--format", "{{.ServerVersion}}"]
    assert kwargs == {"capture_output": True, "text": True, "timeout": 30}


@pytest.mark.parametrize("raised", [OSError("no such file"), subprocess.TimeoutExpired(["docker"], 30)])
def test_a_docker_that_does_not_start_or_hangs_is_named(raised):
    def run(argv, **kwargs):
        raise raised

    assert session.docker_problem(run) == f"`docker info` did not answer ({raised})"


def test_a_daemon_refusing_the_user_names_the_docker_group():
    problem = session.docker_problem(run_answering(1, stderr="permission denied while trying to connect to the Docker daemon socket\n"))
    assert problem == (
        "Docker's daemon runs but refuses you: permission denied while trying to connect to the Docker daemon socket. "
        "Add yourself to the docker group (`sudo usermod -aG docker $USER`), log out and in, and try again"
    )


def test_a_daemon_that_is_down_says_why_and_how_to_start_it():
    problem = session.docker_problem(run_answering(1, stderr="Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n"))
    assert problem == (
        "Docker is installed but its daemon does not answer: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
        "Start Docker Desktop (or `sudo systemctl start docker`) and try again"
    )
    # Docker's own question ends the sentence: no "running?. Start" (issue 28).
    asked = session.docker_problem(run_answering(1, stderr="Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?\n"))
    assert "Is the docker daemon running? Start Docker Desktop" in asked
    # Nothing said on stderr: stdout is read; nothing at all: no detail, the same fix.
    assert session.docker_problem(run_answering(1, stdout="daemon not running")).startswith(
        "Docker is installed but its daemon does not answer: daemon not running. Start"
    )
    assert session.docker_problem(run_answering(1)) == (
        "Docker is installed but its daemon does not answer. Start Docker Desktop (or `sudo systemctl start docker`) and try again"
    )


def test_the_telling_line_of_a_failed_docker_info_is_picked():
    old_cli = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock\ntemplate: info:1:2: executing \"\" at <.ServerVersion>\n"
    assert session.daemon_error_line(old_cli) == "Cannot connect to the Docker daemon at unix:///var/run/docker.sock"
    # Several telling lines: the first; none: the last plain line; only template noise: the last line.
    assert session.daemon_error_line("error during connect: a\nPermission denied: b\n") == "error during connect: a"
    assert session.daemon_error_line("  first  \n\n  second  \n  third\n") == "third"
    assert session.daemon_error_line("ERROR DURING CONNECT: pipe\nsomething else\n") == "ERROR DURING CONNECT: pipe"
    assert session.daemon_error_line("it failed\nTemplate: info:1:2: executing\n") == "it failed"
    assert session.daemon_error_line("template: x\nerrors pretty printing info\n") == "errors pretty printing info"
    assert session.daemon_error_line("Template: x\nother\n") == "other"
    assert session.daemon_error_line("") is None and session.daemon_error_line(" \n \n") is None


# --- the preflight report -----------------------------------------------------------------------


def finding(tool, path, version=None, unusable=None):
    return session.Finding(tool, path, tools.parse_version(version) if version else None, unusable)


def test_the_report_names_each_missing_and_unusable_tool_with_how_to_get_it():
    old = finding(KIND, "/usr/bin/kind", "v0.20.0", "built for another kind")
    report = session.preflight_report([PULUMI], "Docker is down", [old])
    assert report == "\n".join(
        [
            "k8s-lab cannot start yet:",
            f"- pulumi is missing (creates and removes the lab). Get it: {PULUMI.how_to_get}",
            f"- kind v0.20.0 at /usr/bin/kind is not the one the lab uses: built for another kind. Get it: {KIND.how_to_get}",
            "- Docker is down",
        ]
    )
    # docker missing says so once: its daemon's problem is then no news.
    assert "Docker is down" not in session.preflight_report([DOCKER], "Docker is down")
    assert session.preflight_report([], None) is None and session.preflight_report([], "") is None
    assert session.preflight_report([], "down") == "k8s-lab cannot start yet:\n- down"


def test_a_finding_says_what_it_is_and_whether_it_is_fetched():
    assert finding(KIND, "/x/kind", "v0.23.0").described() == "kind v0.23.0 at /x/kind"
    assert finding(KIND, "/x/kind").described() == "kind (version unknown) at /x/kind"
    assert finding(KIND, None).to_fetch and finding(PULUMI, "/p", unusable="old").to_fetch
    assert not finding(KIND, "/x/kind", "v0.23.0").to_fetch
    assert not finding(DOCKER, None).to_fetch  # docker is never fetched
    assert finding(PULUMI, "/p").command == "pulumi"


def fake_which(found: dict[str, str]):
    asked = []

    def which(name, path=None):
        asked.append((name, path))
        return found.get(name)

    which.asked = asked
    return which


def versions_runner(said: dict[str, str]):
    return FakeRunner({(path, *tools.VERSION_ARGS[Path(path).name]): ok(text) for path, text in said.items()})


def test_survey_looks_where_the_pulumi_run_looks_asks_each_version_and_judges_it(tmp_path):
    layout = tools.ToolsLayout(tmp_path / ".tools", LINUX)
    which = fake_which({"docker": "/usr/bin/docker", "kind": "/usr/bin/kind"})
    runner = versions_runner({"/usr/bin/docker": "28.0.4", "/usr/bin/kind": "kind v0.20.0 go1.21 linux/amd64"})
    found = session.survey(session.TOOLS, layout, "/usr/bin", which, runner)
    assert [(f.command, f.path, str(f.version) if f.version else None) for f in found] == [
        ("docker", "/usr/bin/docker", "v28.0.4"),
        ("kind", "/usr/bin/kind", "v0.20.0"),
        ("pulumi", None, None),
    ]
    assert found[0].unusable is None and "built for kind v0.23.0" in found[1].unusable and found[2].unusable is None
    assert which.asked == [(name, tools.path_with_tools(layout, "/usr/bin")) for name in ("docker", "kind", "pulumi")]
    assert runner.argvs == [("/usr/bin/docker", "version", "--format", "{{.Client.Version}}"), ("/usr/bin/kind", "version")]


def good_tools(tmp_path, **overrides):
    said = {f"/usr/bin/{name}": overrides.get(name, GOOD[name]) for name in ("docker", "kind", "pulumi")}
    which = fake_which({name: f"/usr/bin/{name}" for name in ("docker", "kind", "pulumi") if said.get(f"/usr/bin/{name}") is not None})
    return which, versions_runner({path: text for path, text in said.items() if text is not None})


def test_blocking_problem_is_none_when_all_is_usable_and_docker_answers():
    findings = [finding(DOCKER, "/d"), finding(KIND, "/k", "v0.23.0"), finding(PULUMI, "/p", tools.PULUMI_VERSION)]
    asked = []
    assert session.blocking_problem(findings, False, lambda: asked.append(1)) is None and asked == [1]
    assert session.blocking_problem(findings, False, None) is None


def test_blocking_problem_names_a_down_docker_but_does_not_ask_a_missing_one():
    tools_ok = [finding(KIND, "/k", "v0.23.0"), finding(PULUMI, "/p", tools.PULUMI_VERSION)]
    down = session.blocking_problem([finding(DOCKER, "/d"), *tools_ok], True, lambda: "Docker is down")
    assert down == "k8s-lab cannot start yet:\n- Docker is down"

    def never():
        raise AssertionError("a missing docker is not asked")

    missing = session.blocking_problem([finding(DOCKER, None), *tools_ok], True, never)
    assert missing == f"k8s-lab cannot start yet:\n- docker is missing (runs the IDE and the cluster's nodes). Get it: {DOCKER.how_to_get}"


def test_blocking_problem_with_no_fetch_names_what_would_have_been_fetched():
    findings = [finding(DOCKER, "/d"), finding(KIND, None), finding(PULUMI, "/p", "v3.100.0", "too old")]
    assert session.blocking_problem(findings, True, None) is None  # both are fetched
    problem = session.blocking_problem(findings, False, None)
    assert problem == "\n".join(
        [
            "k8s-lab cannot start yet:",
            f"- kind is missing (creates the Kubernetes cluster). Get it: {KIND.how_to_get}",
            f"- pulumi v3.100.0 at /p is not the one the lab uses: too old. Get it: {PULUMI.how_to_get}",
        ]
    )


def prepare(tmp_path, action="up", which=None, runner=None, **overrides):
    layout = tools.ToolsLayout(tmp_path / ".tools", LINUX)
    out, err = [], []
    if which is None:
        which, runner = good_tools(tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("nothing may be fetched or opened here")

    kwargs = dict(
        fetch=True,
        environ={"PATH": "/usr/bin"},
        layout=layout,
        which=which,
        runner=runner,
        docker_check=lambda: None,
        kind_installer=refuse,
        pulumi_installer=refuse,
        pulumi_opener=refuse,
        log=out.append,
        err=err.append,
    )
    kwargs.update(overrides)
    return session.prepare_tools(action, **kwargs), layout, out, err


def test_prepare_tools_with_everything_usable_puts_the_tools_folder_first(tmp_path):
    result, layout, out, err = prepare(tmp_path)
    assert result == session.PreparedTools(path=tools.path_with_tools(layout, "/usr/bin"), pulumi_command=None)
    assert out == [] and err == []


def test_prepare_tools_asks_only_the_tools_the_verb_needs(tmp_path):
    docker_asked = []
    which, runner = good_tools(tmp_path)
    result, *_ = prepare(tmp_path, "info", which, runner, docker_check=lambda: docker_asked.append(1))
    assert isinstance(result, session.PreparedTools) and docker_asked == []
    assert runner.argvs == [("/usr/bin/pulumi", "version")]
    which, runner = good_tools(tmp_path)
    result, *_ = prepare(tmp_path, "status", which, runner, docker_check=lambda: docker_asked.append(1) or "down")
    assert result == 2 and docker_asked == [1] and [argv[0] for argv in runner.argvs] == ["/usr/bin/docker"]


def test_prepare_tools_stops_with_2_before_fetching_when_docker_is_down(tmp_path):
    which, runner = good_tools(tmp_path, kind=None)
    result, _, out, err = prepare(tmp_path, which=which, runner=runner, docker_check=lambda: "Docker is down")
    assert result == 2 and err == ["k8s-lab cannot start yet:\n- kind is missing (creates the Kubernetes cluster). Get it: "
                                  f"{KIND.how_to_get}\n- Docker is down"] and out == []


def test_prepare_tools_fetches_the_missing_kind_and_pulumi_and_runs_the_fetched_cli(tmp_path):
    which, runner = good_tools(tmp_path, kind=None, pulumi="v3.100.0")
    kinds, pulumis = [], []
    result, layout, out, err = prepare(
        tmp_path,
        which=which,
        runner=runner,
        kind_installer=lambda lay, log: kinds.append(lay),
        pulumi_installer=lambda root, version: pulumis.append((root, str(version))) or "fetched-pulumi",
    )
    assert kinds == [layout] and pulumis == [(str(layout.pulumi_root), tools.PULUMI_VERSION)]
    assert result == session.PreparedTools(path=tools.path_with_tools(layout, "/usr/bin"), pulumi_command="fetched-pulumi")
    assert out[0].startswith("pulumi v3.100.0 at /usr/bin/pulumi is not the one the lab uses: it is older than") and err == []


@pytest.mark.parametrize("ci", [{"CI": "true"}, {"GITHUB_ACTIONS": "true"}])
def test_in_ci_a_newer_pulumi_than_the_pin_is_replaced_by_the_pin(tmp_path, ci):
    which, runner = good_tools(tmp_path, pulumi="v3.300.0")
    pulumis = []
    result, layout, out, err = prepare(
        tmp_path,
        which=which,
        runner=runner,
        environ={"PATH": "/usr/bin", **ci},
        pulumi_installer=lambda root, version: pulumis.append((root, str(version))) or "fetched-pulumi",
    )
    assert pulumis == [(str(layout.pulumi_root), tools.PULUMI_VERSION)] and err == []
    assert result == session.PreparedTools(path=tools.path_with_tools(layout, "/usr/bin"), pulumi_command="fetched-pulumi")
    assert out[0].startswith(f"pulumi v3.300.0 at /usr/bin/pulumi is not the one the lab uses: in CI ({' or '.join(tools.CI_VARIABLES)} is set)")


@pytest.mark.parametrize("environ", [{}, {"CI": ""}, {"CI": "false"}, {"GITHUB_ACTIONS": "0"}])
def test_a_student_keeps_a_newer_pulumi_than_the_pin(tmp_path, environ):
    which, runner = good_tools(tmp_path, pulumi="v3.300.0")
    result, layout, out, err = prepare(tmp_path, which=which, runner=runner, environ={"PATH": "/usr/bin", **environ})
    assert result == session.PreparedTools(path=tools.path_with_tools(layout, "/usr/bin"), pulumi_command=None)
    assert out == [] and err == []


def test_check_no_fetch_in_ci_refuses_a_pulumi_that_is_not_the_pin(tmp_path):
    which, runner = good_tools(tmp_path, pulumi="v3.300.0")
    result, _, out, err = prepare(tmp_path, "check", which, runner, fetch=False, environ={"PATH": "/usr/bin", "CI": "true"})
    assert result == 2 and "pulumi v3.300.0 at /usr/bin/pulumi" in err[0] and f"must be the pinned v{tools.PULUMI_VERSION}" in err[0]


def test_a_failed_fetch_is_exit_2_with_the_reason(tmp_path):
    which, runner = good_tools(tmp_path, kind=None)

    def failing(layout, log):
        raise tools.FetchError("the download of kind failed: connection refused")

    result, _, out, err = prepare(tmp_path, which=which, runner=runner, kind_installer=failing)
    assert result == 2 and err == ["k8s-lab: the download of kind failed: connection refused"]


def in_tools_folder(tmp_path):
    layout = tools.ToolsLayout(tmp_path / ".tools", LINUX)
    where = {"docker": "/usr/bin/docker", "kind": str(layout.kind), "pulumi": str(layout.pulumi)}
    runner = FakeRunner({(where[name], *tools.VERSION_ARGS[name]): ok(GOOD[name]) for name in where})
    return fake_which(where), runner


def test_a_pulumi_cli_in_the_tools_folder_is_opened_and_handed_on(tmp_path):
    which, runner = in_tools_folder(tmp_path)
    opened = []
    result, layout, out, err = prepare(tmp_path, which=which, runner=runner, pulumi_opener=lambda lay: opened.append(lay) or "tools-pulumi")
    assert opened == [layout] and isinstance(result, session.PreparedTools) and result.pulumi_command == "tools-pulumi"


def test_a_pulumi_cli_in_the_tools_folder_that_does_not_run_is_exit_2_with_the_fix(tmp_path):
    which, runner = in_tools_folder(tmp_path)

    def broken(layout):
        raise OSError("exec format error")

    result, layout, out, err = prepare(tmp_path, which=which, runner=runner, pulumi_opener=broken)
    assert result == 2 and err == [
        f"k8s-lab: the Pulumi CLI in {layout.pulumi_root} does not run (exec format error). "
        f"Delete that folder and run again to fetch v{tools.PULUMI_VERSION}, or put a Pulumi CLI on PATH"
    ]


def test_check_lists_each_tool_as_used_and_says_ready(tmp_path):
    result, layout, out, err = prepare(tmp_path, "check")
    assert result == 0 and err == []
    assert out == [
        "docker  v28.0.4          /usr/bin/docker  used",
        "kind    v0.23.0          /usr/bin/kind  used",
        f"pulumi  v{tools.PULUMI_VERSION:<15} /usr/bin/pulumi  used",
        "docker, kind, pulumi: ready.",
    ]


def test_check_says_what_up_would_fetch_instead_and_fetches_nothing(tmp_path):
    which, runner = good_tools(tmp_path, kind="no version here", pulumi=None)
    result, layout, out, err = prepare(tmp_path, "check", which, runner)
    assert result == 0 and err == []
    assert out == [
        "docker  v28.0.4          /usr/bin/docker  used",
        "kind    version unknown  /usr/bin/kind  not used: its version could not be read",
        f"        instead, `lab.py up` fetches it: {session.fetch_plan('kind', layout)}",
        "pulumi  -                -  not found",
        f"        `lab.py up` fetches it: {session.fetch_plan('pulumi', layout)}",
        f"`{lab_command('check', '--fetch')}` fetches that now; with --no-fetch, `lab.py up` refuses instead.",
    ]


def test_check_on_a_platform_kind_has_no_binary_for_is_exit_2(tmp_path):
    layout = tools.ToolsLayout(tmp_path / ".tools", tools.Platform("windows", "arm64"))
    out, err = [], []
    status = session.report_check([finding(KIND, None), finding(PULUMI, "/p", tools.PULUMI_VERSION)], layout, out.append, err.append)
    assert status == 2 and len(err) == 1 and err[0].startswith("- kind: ") and "windows" in err[0]
    assert out[-1].startswith("pulumi ") and not any("ready" in line or "check --fetch" in line for line in out)


def test_check_fetch_fetches_and_asks_again(tmp_path):
    layout = tools.ToolsLayout(tmp_path / ".tools", LINUX)
    state = {"fetched": False}

    def which(name, path=None):
        if name == "kind":
            return str(layout.kind) if state["fetched"] else None
        return f"/usr/bin/{name}"

    runner = FakeRunner({("/usr/bin/docker",): ok("28.0.4"), ("/usr/bin/pulumi",): ok(GOOD["pulumi"]), (str(layout.kind),): ok(GOOD["kind"])})
    result, _, out, err = prepare(tmp_path, "check", which, runner, fetch_now=True, kind_installer=lambda lay, log: state.update(fetched=True))
    assert result == 0 and err == [] and out[-1] == "docker, kind, pulumi: ready."
    assert out[1] == f"kind    v0.23.0          {layout.kind}  used"


def test_check_fetch_that_does_not_help_is_exit_2_naming_the_tool(tmp_path):
    layout = tools.ToolsLayout(tmp_path / ".tools", LINUX)
    out, err = [], []
    still = [finding(DOCKER, "/d"), finding(KIND, None), finding(PULUMI, "/p", "v3.1.0", "too old")]
    assert session.report_check(still, layout, out.append, err.append, fetched=True) == 2
    assert err == ["- kind: still not found after fetching", "- pulumi: still pulumi v3.1.0 at /p after fetching"] and out == []
    assert session.report_check(still[:1], layout, out.append, err.append, fetched=True) == 0


def test_fetch_pinned_fetches_only_what_is_to_fetch_saying_why(tmp_path):
    layout = tools.ToolsLayout(tmp_path / ".tools", LINUX)
    said, kinds = [], []
    found = [finding(DOCKER, None), finding(KIND, "/k", "v0.20.0", "wrong kind"), finding(PULUMI, "/p", tools.PULUMI_VERSION)]
    assert session.fetch_pinned(found, layout, lambda lay, log: kinds.append((lay, log)), None, said.append) is None
    assert kinds == [(layout, said.append)] and said == ["kind v0.20.0 at /k is not the one the lab uses: wrong kind."]
    said.clear()
    got = session.fetch_pinned([finding(PULUMI, None)], layout, None, lambda root, version: "cli", said.append)
    assert got == "cli" and not said[0].startswith("pulumi ")  # nothing found: nothing to say about it


def test_the_fetch_plan_names_the_source_and_the_folder(tmp_path):
    layout = tools.ToolsLayout(tmp_path / ".tools", LINUX)
    assert session.fetch_plan("kind", layout) == (
        f"kind {tools.KIND_VERSION} from {tools.kind_url(LINUX)} into {layout.kind}, its sha256 checked first"
    )
    assert session.fetch_plan("pulumi", layout) == (
        f"the Pulumi CLI v{tools.PULUMI_VERSION} with Pulumi's installer ({tools.pulumi_installer_url(LINUX)}) into {layout.pulumi_root}"
    )


def test_open_tools_pulumi_runs_the_cli_of_the_tools_folder(tmp_path):
    layout = tools.ToolsLayout(tmp_path / ".tools", LINUX)
    layout.pulumi_bin_dir.mkdir(parents=True)
    layout.pulumi.write_text(f"#!/bin/sh\necho v{tools.PULUMI_VERSION}\n")
    layout.pulumi.chmod(0o755)
    command = session.open_tools_pulumi(layout)
    assert command.command == str(layout.pulumi)
    with pytest.raises(FileNotFoundError, match="nothing/pulumi/bin/pulumi"):
        session.open_tools_pulumi(tools.ToolsLayout(tmp_path / "nothing", LINUX))


# --- backend, passphrase and the Automation API's options ---------------------------------------


def test_default_stack_names_are_shaped_from_the_login_name(monkeypatch):
    assert session.default_stack_name("Kim Min-su") == "kim-min-su"
    assert session.default_stack_name("--first.LAST__") == "first-last"
    assert session.default_stack_name("x" * 80) == "x" * session.MAX_STUDENT_LENGTH
    assert session.default_stack_name("a" * (session.MAX_STUDENT_LENGTH - 1) + "-b") == "a" * (session.MAX_STUDENT_LENGTH - 1)
    assert session.default_stack_name("관리자") == "student"
    monkeypatch.setattr(session.getpass, "getuser", lambda: "Lee")
    assert session.default_stack_name() == "lee"
    monkeypatch.setattr(session.getpass, "getuser", lambda: "")
    assert session.default_stack_name() == "student"


def test_the_backend_is_the_projects_state_folder():
    assert session.backend_url() == "file://" + session.STATE_DIR.resolve().as_posix()


def test_a_reading_verb_makes_no_passphrase_on_a_fresh_machine(tmp_path):
    file = tmp_path / "state" / "passphrase"
    assert session.passphrase_env({}, file, make=False) == ({}, None) and not file.parent.exists()
    file.parent.mkdir()
    file.write_text("kept")
    assert session.passphrase_env({}, file, make=False) == ({"PULUMI_CONFIG_PASSPHRASE_FILE": str(file)}, None)
    assert file.read_text() == "kept"
    # An empty PULUMI_CONFIG_PASSPHRASE_FILE is no file: the lab's own is used.
    assert session.passphrase_env({"PULUMI_CONFIG_PASSPHRASE_FILE": ""}, file) == ({"PULUMI_CONFIG_PASSPHRASE_FILE": str(file)}, None)


def test_a_new_passphrase_is_random_owner_only_and_announced(tmp_path):
    file = tmp_path / "state" / "deeper" / "passphrase"
    env, notice = session.passphrase_env({}, file)
    assert env == {"PULUMI_CONFIG_PASSPHRASE_FILE": str(file)} and stat.S_IMODE(file.stat().st_mode) == 0o600
    assert notice == (
        f"Made a passphrase for this machine's lab secrets in {file} (readable by you only). "
        "Keep it: without it, the stacks' secrets cannot be read."
    )
    other = tmp_path / "other" / "passphrase"
    session.passphrase_env({}, other)
    # 32 random bytes, URL-safe base64 without padding.
    assert len(file.read_text()) == 43 and file.read_text() != other.read_text()


def test_the_workspace_env_keeps_the_users_backend_and_passphrase():
    env, notice = session.workspace_env({"PULUMI_BACKEND_URL": "s3://bucket", "PULUMI_CONFIG_PASSPHRASE": "x"})
    assert env == {"PULUMI_BACKEND_URL": "s3://bucket"} and notice is None
    env, notice = session.workspace_env({"PULUMI_CONFIG_PASSPHRASE_FILE": "/secure/p"}, make=False)
    assert env == {"PULUMI_BACKEND_URL": session.backend_url()} and notice is None and session.STATE_DIR.is_dir()


def test_the_state_folder_is_made_only_for_the_labs_own_backend(tmp_path, monkeypatch):
    state = tmp_path / "state"
    monkeypatch.setattr(session, "STATE_DIR", state)
    session.workspace_env({"PULUMI_BACKEND_URL": "s3://bucket", "PULUMI_CONFIG_PASSPHRASE": "x"})
    assert not state.exists()
    for _ in range(2):  # and again when it is there
        env, _notice = session.workspace_env({"PULUMI_CONFIG_PASSPHRASE": "x"})
        assert state.is_dir() and env == {"PULUMI_BACKEND_URL": session.backend_url()}


def test_the_workspace_env_adds_the_labs_passphrase(tmp_path, monkeypatch):
    file = tmp_path / "passphrase"
    real = session.passphrase_env
    monkeypatch.setattr(session, "passphrase_env", lambda environ, make=True: real(environ, file, make=make))
    env, notice = session.workspace_env({"PULUMI_BACKEND_URL": "file:///b"}, make=False)
    assert env == {"PULUMI_BACKEND_URL": "file:///b"} and notice is None and not file.exists()
    env, notice = session.workspace_env({"PULUMI_BACKEND_URL": "file:///b"})
    assert env == {"PULUMI_BACKEND_URL": "file:///b", "PULUMI_CONFIG_PASSPHRASE_FILE": str(file)} and "Keep it" in notice


def test_workspace_options_carry_the_backend_path_and_the_tools_pulumi(capsys):
    prepared = session.PreparedTools(path="/tools/bin:/usr/bin", pulumi_command="tools-pulumi")
    environ = {"PULUMI_BACKEND_URL": "file:///b", "PULUMI_CONFIG_PASSPHRASE": "x"}
    opts = session.workspace_options(prepared, environ, LINUX)
    assert opts.env_vars == {
        "PULUMI_BACKEND_URL": "file:///b", "PATH": "/tools/bin:/usr/bin", "PULUMI_K8S_DELETE_UNREACHABLE": "true", "K8S_LAB_FIXES": "lab"
    }  # K8S_LAB_FIXES: the program's errors name lab.py config (issue 28)
    assert opts.pulumi_command == "tools-pulumi" and capsys.readouterr().out == ""
    opts = session.workspace_options(prepared, {**environ, "DOCKER_CONTEXT": "rancher"}, WINDOWS)
    assert "DOCKER_HOST" not in opts.env_vars
    opts = session.workspace_options(prepared, {**environ, "DOCKER_HOST": "tcp://h:2376"}, LINUX)
    assert "DOCKER_HOST" not in opts.env_vars  # the user's own reaches Pulumi through its environment


def test_workspace_options_on_windows_point_docker_at_the_clis_endpoint(monkeypatch):
    monkeypatch.setattr(session, "docker_context_host", lambda: "npipe:////./pipe/dockerDesktopLinuxEngine")
    prepared = session.PreparedTools(path="C:/tools")
    opts = session.workspace_options(prepared, {"PULUMI_BACKEND_URL": "file:///b", "PULUMI_CONFIG_PASSPHRASE": "x"}, WINDOWS)
    assert opts.env_vars["DOCKER_HOST"] == "npipe:////./pipe/dockerDesktopLinuxEngine"


def test_workspace_options_announce_a_new_passphrase(tmp_path, monkeypatch, capsys):
    file = tmp_path / "passphrase"
    real = session.passphrase_env
    monkeypatch.setattr(session, "passphrase_env", lambda environ, make=True: real(environ, file, make=make))
    opts = session.workspace_options(session.PreparedTools(path="/p"), {"PULUMI_BACKEND_URL": "file:///b"}, LINUX, make=False)
    assert "PULUMI_CONFIG_PASSPHRASE_FILE" not in opts.env_vars and capsys.readouterr().out == ""
    opts = session.workspace_options(session.PreparedTools(path="/p"), {"PULUMI_BACKEND_URL": "file:///b"}, LINUX)
    assert opts.env_vars["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(file)
    assert capsys.readouterr().out.startswith(f"Made a passphrase for this machine's lab secrets in {file}")


def test_workspace_options_default_to_this_process_environment(monkeypatch):
    monkeypatch.setenv("PULUMI_BACKEND_URL", "file:///from-env")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "x")
    opts = session.workspace_options(session.PreparedTools(path="/p"), plat=LINUX)
    assert opts.env_vars["PULUMI_BACKEND_URL"] == "file:///from-env"


# --- which stack -------------------------------------------------------------------------------------

QUIET = {"PULUMI_BACKEND_URL": "file:///b", "PULUMI_CONFIG_PASSPHRASE": "x"}


def test_up_and_preview_create_or_select_the_stack_in_the_project(monkeypatch):
    made = []
    prepared = session.PreparedTools(path="/p", pulumi_command="cli")
    stack = session.select_stack("kim", prepared, QUIET, LINUX, create=lambda **kwargs: made.append(kwargs) or "the stack")
    assert stack == "the stack" and [sorted(call) for call in made] == [["opts", "stack_name", "work_dir"]]
    assert made[0]["stack_name"] == "kim" and made[0]["work_dir"] == str(session.ROOT)
    assert made[0]["opts"].env_vars["PULUMI_BACKEND_URL"] == "file:///b" and made[0]["opts"].pulumi_command == "cli"
    from pulumi import automation as auto

    monkeypatch.setattr(auto, "create_or_select_stack", lambda **kwargs: ("created", kwargs["stack_name"]))
    assert session.select_stack("lee", prepared, QUIET, LINUX) == ("created", "lee")


def test_an_unknown_lab_lists_the_ones_there_are_and_how_to_make_it():
    error = session.NoSuchLab("kimm", ["kim", "lee"], "lab.py up --stack kimm")
    assert str(error) == "there is no lab named 'kimm' on this machine (the labs here: kim, lee). Make it with: lab.py up --stack kimm"
    assert error.name == "kimm" and error.known == ["kim", "lee"] and isinstance(error, LookupError)
    assert str(session.NoSuchLab("kim", [], "lab.py up")) == "there is no lab named 'kim' on this machine (there is none yet). Make it with: lab.py up"


def test_stack_names_are_the_last_part_sorted():
    workspace = SimpleNamespace(list_stacks=lambda: [SimpleNamespace(name="organization/k8s-lab/lee"), SimpleNamespace(name="kim")])
    assert session.stack_names(workspace) == ["kim", "lee"]
    assert session.stack_names(FakeWorkspace({"b": FakeStack("b"), "a": FakeStack("a")})) == ["a", "b"]


def test_every_verb_but_up_selects_an_existing_stack_and_never_makes_one(monkeypatch):
    from pulumi import automation as auto

    selected = []
    monkeypatch.setattr(auto.Stack, "select", classmethod(lambda cls, name, workspace: selected.append((name, workspace)) or f"stack {name}"))
    workspace = FakeWorkspace({"kim": FakeStack("kim"), "lee": FakeStack("lee")})
    assert session.existing_stack("lee", workspace, "lab.py up --stack lee") == "stack lee" and selected == [("lee", workspace)]
    with pytest.raises(session.NoSuchLab) as raised:
        session.existing_stack("kimm", workspace, "lab.py up --stack kimm")
    assert raised.value.known == ["kim", "lee"] and "Make it with: lab.py up --stack kimm" in str(raised.value)
    assert len(selected) == 1


def test_open_workspace_reads_without_making_a_passphrase(monkeypatch, tmp_path):
    from pulumi import automation as auto

    file = tmp_path / "passphrase"
    real = session.passphrase_env
    monkeypatch.setattr(session, "passphrase_env", lambda environ, make=True: real(environ, file, make=make))
    opened = []
    monkeypatch.setattr(auto, "LocalWorkspace", lambda **kwargs: opened.append(kwargs) or "workspace")
    prepared = session.PreparedTools(path="/p", pulumi_command="cli")
    assert session.open_workspace(prepared, {"PULUMI_BACKEND_URL": "file:///b"}, LINUX) == "workspace"
    assert opened == [
        {"work_dir": str(session.ROOT), "env_vars": {"PULUMI_BACKEND_URL": "file:///b", "PATH": "/p", "PULUMI_K8S_DELETE_UNREACHABLE": "true",
                                                         "K8S_LAB_FIXES": "lab"}, "pulumi_command": "cli"}
    ]
    assert not file.exists()


# --- the port check and Docker's view --------------------------------------------------------------


def test_the_port_check_is_skipped_while_the_students_own_lab_runs(monkeypatch):
    from k8s_lab import host_ports

    asked = []
    monkeypatch.setattr(host_ports, "taken_ports", lambda *args: pytest.fail("no port is probed"))
    assert session.port_problem("kim", {"student": "lee"}, lambda student: asked.append(student) or True) is None
    assert session.port_problem("kim", {}, lambda student: asked.append(student) or True) is None
    assert asked == ["lee", "kim"]


def test_the_port_check_names_the_taken_ports_of_the_slot(monkeypatch):
    from k8s_lab import host_ports
    from k8s_lab.ports import ports_for_slot

    probed = []

    def taken(bind_address, ports):
        probed.append((bind_address, ports))
        return [("ide", ports.as_dict()["ide"])] if bind_address == "0.0.0.0" else []

    monkeypatch.setattr(host_ports, "taken_ports", taken)
    problem = session.port_problem("kim", {"slot": "2", "bindAddress": "0.0.0.0"}, lambda student: False)
    assert problem == host_ports.port_conflict_message("0.0.0.0", 2, [("ide", ports_for_slot(2).as_dict()["ide"])], "kim")
    assert "--stack kim)" in problem  # the fix names the lab it is for (issue 28)
    assert probed == [("0.0.0.0", ports_for_slot(2))]
    assert session.port_problem("kim", {}, lambda student: False) is None and probed[-1] == ("127.0.0.1", ports_for_slot(0))


def test_the_port_check_leaves_a_remote_docker_hosts_ports_to_that_host(monkeypatch):
    from k8s_lab import host_ports

    monkeypatch.setattr(host_ports, "taken_ports", lambda *args: pytest.fail("this machine's ports are not the lab's"))
    remote = {"dockerHost": "ssh://teacher@lab-host", "bindAddress": "0.0.0.0", "allowRemoteAccess": "true"}
    assert session.port_problem("kim", remote, lambda student: pytest.fail("its IDE is on that host")) is None


def test_ide_container_exists_asks_docker_for_the_students_names(monkeypatch):
    from k8s_lab import drift
    from k8s_lab.names import LabNames

    asked = []
    answers = {"kim": drift.Presence(cluster=True, ide=True), "lee": drift.Presence(cluster=True, ide=False), "off": None}
    monkeypatch.setattr(drift, "probe", lambda names: asked.append(names) or answers[names.student])
    assert session.ide_container_exists("kim") is True
    assert session.ide_container_exists("lee") is False and session.ide_container_exists("off") is False
    assert asked == [LabNames("kim"), LabNames("lee"), LabNames("off")]


def test_the_interpreters_folder_comes_first_on_path_once(tmp_path):
    venv_bin = str(tmp_path / "venv" / "bin")
    path = session.path_with_interpreter(os.pathsep.join(["", "/usr/bin", venv_bin, "", "/bin"]), os.path.join(venv_bin, "python"))
    assert path == os.pathsep.join([venv_bin, "/usr/bin", "/bin"])
    assert session.path_with_interpreter("/usr/bin").split(os.pathsep) == [os.path.dirname(os.path.abspath(sys.executable)), "/usr/bin"]


def test_without_python_on_path_the_lab_names_the_venvs_python():
    asked = []
    problem = session.interpreter_problem("/a:/b", which=lambda name, path: asked.append((name, path)))
    assert problem.startswith(f"the lab's commands run `python`, and none is on PATH next to this interpreter ({sys.executable}). Run lab.py with the venv's python: ")
    assert problem.endswith("up") and asked == [("python", "/a:/b")]


# --- settings files (stop, start, status: no Pulumi CLI) -------------------------------------------


def write_settings(root: Path, name: str, config: dict | None, raw: str | None = None) -> None:
    (root / f"Pulumi.{name}.yaml").write_text(raw if raw is not None else yaml.safe_dump({"config": config}), encoding="utf-8")


def test_settings_files_are_listed_by_stack_name(tmp_path):
    assert session.settings_file("kim", tmp_path) == tmp_path / "Pulumi.kim.yaml"
    assert session.settings_file("kim") == session.ROOT / "Pulumi.kim.yaml"
    for name in ("lee", "kim", "a.b"):
        write_settings(tmp_path, name, {})
    (tmp_path / "Pulumi.yaml").write_text("name: k8s-lab\n")
    (tmp_path / "Pulumi.x.yml").write_text("")
    assert session.settings_file_names(tmp_path) == ["a.b", "kim", "lee"]


def test_file_settings_are_the_projects_as_pulumi_config_json_shows_them(tmp_path):
    write_settings(
        tmp_path,
        "kim",
        {
            "k8s-lab:idePassword": {"secure": "v1:abc"},
            "k8s-lab:slot": 3,
            "k8s-lab:registry": "insecure-mirror",
            "k8s-lab:ns:inner": "x",
            "k8s-lab:mirror": True,
            "k8s-lab:gpu": False,
            "k8s-lab:extraPorts": [8080, 9090],
            "k8s-lab:ideEnv": {"A": "1"},
            "k8s-lab:note": None,
            "k8s-lab:student": "kim",
            "k8s-lab:ideToken": {"secure": "v1:def"},
            "other:slot": 9,
            "k8s-lab": "no key",
        },
    )
    assert session.file_settings("kim", tmp_path) == {
        "slot": "3",
        "mirror": "true",
        "gpu": "false",
        "extraPorts": "[8080, 9090]",
        "ideEnv": '{"A": "1"}',
        "note": "",
        "student": "kim",
        "registry": "insecure-mirror",
        "ns:inner": "x",
    }


def test_an_empty_settings_file_has_no_settings_and_a_missing_one_is_none(tmp_path):
    write_settings(tmp_path, "empty", None, raw="")
    write_settings(tmp_path, "bare", None, raw="config:\n")
    assert session.file_settings("empty", tmp_path) == {} and session.file_settings("bare", tmp_path) == {}
    assert session.file_settings("nobody", tmp_path) is None
    (tmp_path / "Pulumi.folder.yaml").mkdir()
    assert session.file_settings("folder", tmp_path) is None


def test_settings_of_an_unknown_lab_lists_the_labs_with_settings_files(tmp_path):
    write_settings(tmp_path, "kim", {"k8s-lab:slot": "1"})
    write_settings(tmp_path, "lee", {})
    assert session.settings_of("kim", "lab.py up", tmp_path) == {"slot": "1"}
    with pytest.raises(session.NoSuchLab) as raised:
        session.settings_of("kimm", "lab.py up --stack kimm", tmp_path)
    assert raised.value.known == ["kim", "lee"] and str(raised.value).endswith("Make it with: lab.py up --stack kimm")


def test_a_settings_only_stack_has_no_history_without_a_pulumi_cli(tmp_path):
    stack = session.SettingsOnlyStack("kim", {"PATH": str(tmp_path / "empty"), session.TOOLS_DIR_ENV: str(tmp_path / "tools")})
    assert stack.name == "kim" and stack.history() == []


def test_a_settings_only_stack_reads_its_history_through_a_pulumi_cli_at_hand(tmp_path, monkeypatch):
    from pulumi import automation as auto

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text("#!/bin/sh\n")
    (bin_dir / "pulumi").chmod(0o755)
    environ = {"PATH": str(bin_dir), session.TOOLS_DIR_ENV: str(tmp_path / "tools"), **QUIET}
    opened, paged = [], []
    monkeypatch.setattr(session, "open_workspace", lambda prepared, environ: opened.append((prepared, environ)) or "ws")

    class Selected:
        def history(self, page_size):
            paged.append(page_size)
            return ["the last update"]

    monkeypatch.setattr(auto.Stack, "select", classmethod(lambda cls, name, workspace: Selected() if (name, workspace) == ("kim", "ws") else None))
    assert session.SettingsOnlyStack("kim", environ).history(page_size=5) == ["the last update"] and paged == [5]
    layout = session.tools_layout(environ)
    assert opened == [(session.PreparedTools(path=tools.path_with_tools(layout, str(bin_dir)), pulumi_command=None), environ)]
    assert session.SettingsOnlyStack("kim", environ).history() == ["the last update"] and paged[-1] == 1
    # A Pulumi CLI that fails (no such stack, no passphrase) is no history, never a failed status.
    monkeypatch.setattr(auto.Stack, "select", classmethod(lambda cls, name, workspace: (_ for _ in ()).throw(RuntimeError("no stack"))))
    assert session.SettingsOnlyStack("kim", environ).history() == []


def test_a_settings_only_stack_uses_the_tools_folders_pulumi(tmp_path, monkeypatch):
    from pulumi import automation as auto

    environ = {"PATH": str(tmp_path / "empty"), session.TOOLS_DIR_ENV: str(tmp_path / "tools"), **QUIET}
    layout = session.tools_layout(environ)
    layout.pulumi_bin_dir.mkdir(parents=True)
    layout.pulumi.write_text("#!/bin/sh\n")
    layout.pulumi.chmod(0o755)
    opened = []
    monkeypatch.setattr(session, "open_tools_pulumi", lambda lay: f"cli in {lay.root}")
    monkeypatch.setattr(session, "open_workspace", lambda prepared, environ: opened.append(prepared) or "ws")
    monkeypatch.setattr(auto.Stack, "select", classmethod(lambda cls, name, workspace: SimpleNamespace(history=lambda page_size: ["h"])))
    assert session.SettingsOnlyStack("kim", environ).history() == ["h"]
    assert opened[0].pulumi_command == f"cli in {layout.root}"


def test_a_settings_only_stack_defaults_to_this_process_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv(session.TOOLS_DIR_ENV, str(tmp_path / "tools"))
    stack = session.SettingsOnlyStack("kim")
    assert stack.environ["PATH"] == str(tmp_path / "empty") and stack.history() == []


def test_the_tools_layout_defaults_to_this_process_environment_and_platform(monkeypatch, tmp_path):
    monkeypatch.setenv(session.TOOLS_DIR_ENV, str(tmp_path / "shared"))
    layout = session.tools_layout()
    assert layout.root == (tmp_path / "shared").resolve() and layout.platform == tools.detect_platform()
    monkeypatch.setenv(session.TOOLS_DIR_ENV, "~/tools")
    assert session.tools_layout(plat=LINUX).root == (Path.home() / "tools").resolve()
    assert session.tools_layout({session.TOOLS_DIR_ENV: ""}, LINUX).root == session.TOOLS_DIR


def test_stack_settings_drop_the_project_prefix():
    stack = FakeStack(settings={"slot": "3", "student": "kim"})
    stack.config["other:key"] = stack.config["k8s-lab:slot"]
    stack.config["plain"] = stack.config["k8s-lab:student"]
    stack.config["k8s-lab:ns:inner"] = stack.config["k8s-lab:slot"]
    assert session.stack_settings(stack) == {"slot": "3", "student": "kim", "key": "3", "plain": "kim", "ns:inner": "3"}


# --- logs of failed operations ------------------------------------------------------------------------


def test_a_failed_operations_log_is_owner_only_with_secrets_redacted(tmp_path):
    folder = tmp_path / "logs" / "deeper"
    path = session.write_log("kim", "up", "set password s3cret!\nand token tok-1 and s3cret! again\n", redact=("s3cret!", "", "tok-1"), log_dir=folder)
    assert path.parent == folder and path.name.startswith("kim-up-") and path.suffix == ".log"
    assert len(path.stem) == len("kim-up-") + len("20260101-120000")
    assert path.read_text(encoding="utf-8") == "set password [secret]\nand token [secret] and [secret] again\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A log of the same second is replaced, never appended to or left with the old tail.
    import datetime

    now = datetime.datetime.now()
    for ahead in range(3):
        stamp = (now + datetime.timedelta(seconds=ahead)).strftime("%Y%m%d-%H%M%S")
        (folder / f"kim-up-{stamp}.log").write_text("an older and much longer log", encoding="utf-8")
    again = session.write_log("kim", "up", "short", log_dir=folder)
    assert again.read_text(encoding="utf-8") == "short"
    assert session.write_log("lee", "destroy", "ünïcode", log_dir=folder).read_text(encoding="utf-8") == "ünïcode"


def test_logs_go_to_the_state_folder_by_default(monkeypatch, tmp_path):
    monkeypatch.setattr(session, "LOG_DIR", tmp_path / "state" / "logs")
    path = session.write_log("kim", "preview", "text")
    assert path.parent == tmp_path / "state" / "logs" and path.read_text() == "text"


def test_the_failure_summary_is_pulumis_error_lines():
    output = "\n".join(
        [
            "code: 255",
            "stdout: Updating (kim):",
            "stderr: error: update failed",
            "  error: docker: port is already allocated",
            "error: update failed",
            "Error: a",
            "error: b",
        ]
    )
    # Each error once, in the order first said; the last three by default.
    assert session.failure_summary(output) == ["error: docker: port is already allocated", "Error: a", "error: b"]
    assert session.failure_summary(output, limit=1) == ["error: b"]
    assert session.failure_summary(output, limit=5) == ["error: update failed", "error: docker: port is already allocated", "Error: a", "error: b"]
    assert session.failure_summary("code: 1\nstdout: resources: 3 unchanged\ncode: 2\n") == ["resources: 3 unchanged"]
    assert session.failure_summary("code: 1\n") == ["code: 1"]
    assert session.failure_summary("  \n") == ["(Pulumi said nothing)"]


# --- kubeconfig ------------------------------------------------------------------------------------------


def test_the_users_kubeconfig_is_the_first_file_of_kubeconfig_or_the_home_one(tmp_path):
    first, second = str(tmp_path / "a"), str(tmp_path / "b")
    assert session.user_kubeconfig_path({"KUBECONFIG": os.pathsep.join(["", first, second])}) == Path(first)
    assert session.user_kubeconfig_path({"KUBECONFIG": "~/k/config"}) == Path.home() / "k" / "config"
    assert session.user_kubeconfig_path({}) == Path.home() / ".kube" / "config"
    assert session.user_kubeconfig_path({"KUBECONFIG": os.pathsep}) == Path.home() / ".kube" / "config"


def kubeconfig(name: str, server: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server}}],
        "users": [{"name": name, "user": {"token": f"token-{name}"}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }


def test_merging_keeps_the_users_other_contexts_and_replaces_the_labs(tmp_path):
    target = tmp_path / "kube" / "config"
    environ = {"KUBECONFIG": str(target)}
    assert session.merge_kubeconfig(yaml.safe_dump(kubeconfig("kind-kim", "https://127.0.0.1:1")), "lab-kim", environ) == target
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    work = kubeconfig("work", "https://work.example")
    merged = yaml.safe_load(target.read_text())
    target.write_text(yaml.safe_dump({**work, "clusters": work["clusters"] + merged["clusters"],
                                      "users": work["users"] + merged["users"], "contexts": work["contexts"] + merged["contexts"]}))
    target.chmod(0o644)
    session.merge_kubeconfig(yaml.safe_dump(kubeconfig("kind-kim", "https://127.0.0.1:2")), "lab-kim", environ)
    merged = yaml.safe_load(target.read_text())
    assert [c["name"] for c in merged["contexts"]] == ["work", "lab-kim"] and merged["current-context"] == "lab-kim"
    assert [c["cluster"]["server"] for c in merged["clusters"]] == ["https://work.example", "https://127.0.0.1:2"]
    assert merged["users"][1] == {"name": "lab-kim", "user": {"token": "token-kind-kim"}}
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


# --- version -----------------------------------------------------------------------------------------------


def test_version_names_the_checkout_python_and_the_pins(monkeypatch):
    from k8s_lab import runner

    fake = FakeRunner({("git",): ok("abc1234\n")})
    monkeypatch.setattr(runner, "ProcessRunner", lambda: fake)
    python = ".".join(str(part) for part in sys.version_info[:3])
    assert session.version_text() == (
        f"k8s-lab (checkout abc1234), Python {python}; pins kind {tools.KIND_VERSION} and the Pulumi CLI v{tools.PULUMI_VERSION}"
    )
    assert fake.argvs == [("git", "-C", str(session.ROOT), "rev-parse", "--short", "HEAD")] and fake.calls[0].timeout == 10


def test_version_of_a_download_without_git_says_unknown(monkeypatch):
    from k8s_lab import runner

    monkeypatch.setattr(runner, "ProcessRunner", lambda: FakeRunner({("git",): fails("not a git repository", 128)}))
    assert session.version_text().startswith("k8s-lab (checkout unknown), Python ")

    class NoGit:
        def run(self, argv, **kwargs):
            raise RunError(runner.Result(tuple(argv), 127), "could not start")

    monkeypatch.setattr(runner, "ProcessRunner", NoGit)
    assert session.version_text().startswith("k8s-lab (checkout unknown), Python ")


def test_the_docker_clis_endpoint_is_asked_with_a_timeout():
    asked = []
    assert session.docker_context_host(run_answering(stdout="  unix:///run/docker.sock \n", asked=asked)) == "unix:///run/docker.sock"
    assert asked == [(["docker", "context", "inspect", "--format", "{{.Endpoints.docker.Host}}"], {"capture_output": True, "text": True, "timeout": 30})]
    assert session.docker_context_host(run_answering(1, stdout="unix:///x")) is None
    assert session.docker_context_host(run_answering(stdout="\n")) is None

    def hangs(argv, **kwargs):
        raise subprocess.TimeoutExpired(argv, 30)

    assert session.docker_context_host(hangs) is None


def test_a_kind_in_the_tools_folder_with_pulumi_on_path_opens_no_tools_pulumi(tmp_path):
    layout = tools.ToolsLayout(tmp_path / ".tools", LINUX)
    where = {"docker": "/usr/bin/docker", "kind": str(layout.kind), "pulumi": "/usr/bin/pulumi"}
    runner = FakeRunner({(where[name], *tools.VERSION_ARGS[name]): ok(GOOD[name]) for name in where})
    result, *_ = prepare(tmp_path, which=fake_which(where), runner=runner)
    assert result == session.PreparedTools(path=tools.path_with_tools(layout, "/usr/bin"), pulumi_command=None)


def test_check_fetch_that_fetched_nothing_usable_is_exit_2(tmp_path):
    which, runner = good_tools(tmp_path, kind=None)
    fetched = []
    result, layout, out, err = prepare(tmp_path, "check", which, runner, fetch_now=True, kind_installer=lambda lay, log: fetched.append(lay))
    assert result == 2 and fetched == [layout] and err == ["- kind: still not found after fetching"]
    # The tools were asked twice: before fetching and after.
    assert [argv[0] for argv in runner.argvs] == ["/usr/bin/docker", "/usr/bin/pulumi"] * 2


def test_check_with_no_fetch_and_a_tool_missing_is_exit_2_before_anything(tmp_path):
    which, runner = good_tools(tmp_path, pulumi=None)
    result, layout, out, err = prepare(tmp_path, "check", which, runner, fetch=False)
    assert result == 2 and out == [] and err[0].startswith("k8s-lab cannot start yet:\n- pulumi is missing")


def test_prepare_tools_reads_path_from_the_given_environment(tmp_path):
    which, runner = good_tools(tmp_path)
    result, layout, out, err = prepare(tmp_path, which=which, runner=runner, environ={"PATH": "/opt/bin:/usr/bin"})
    assert result.path == tools.path_with_tools(layout, "/opt/bin:/usr/bin")
    assert which.asked[0] == ("docker", tools.path_with_tools(layout, "/opt/bin:/usr/bin"))
    which, runner = good_tools(tmp_path)
    result, layout, out, err = prepare(tmp_path, which=which, runner=runner, environ={})
    assert result.path == tools.path_with_tools(layout, "")


# --- repairs and the stored workspace root ----------------------------------------------------------


def docker_sees(monkeypatch, presence, image):
    from k8s_lab import drift

    asked = []
    monkeypatch.setattr(drift, "probe", lambda names, env=None: asked.append(("probe", names.student, env)) or presence)
    monkeypatch.setattr(drift, "image_present", lambda ref, env=None: asked.append(("image", ref, env)) or image)
    return asked


def test_repairs_ask_the_labs_docker_host_for_the_students_containers(monkeypatch):
    from k8s_lab import drift, ide_image, repair

    asked = docker_sees(monkeypatch, drift.Presence(cluster=True, ide=False), True)
    plan = session.look_for_repairs("kim", {"dockerHost": "ssh://teacher@lab2"}, deployed=True)
    env = {"DOCKER_HOST": "ssh://teacher@lab2"}
    assert asked == [("probe", "kim", env), ("image", ide_image.image_name(), env)]
    assert plan and plan == repair.plan("kim", repair.Findings(cluster_missing=False, ide_missing=True, image_missing=False, prebuilt_image=False))
    asked.clear()
    # The image the program names: its tag follows the stored platform.
    session.look_for_repairs("kim", {"dockerHost": "ssh://teacher@lab2", "idePlatform": "linux/arm64"}, deployed=True)
    assert asked[1] == ("image", ide_image.image_name(platform="linux/arm64"), env) and asked[1][1] != ide_image.image_name()
    asked.clear()
    session.look_for_repairs("kim", {}, deployed=True)
    assert asked[0] == ("probe", "kim", None) and asked[1][2] is None  # this machine's Docker


def test_a_missing_prebuilt_image_is_pulled_again(monkeypatch):
    from k8s_lab import drift, repair

    docker_sees(monkeypatch, drift.Presence(cluster=True, ide=True), False)
    plan = session.look_for_repairs("kim", {"ideImage": "registry.example.com/ide:1"}, deployed=True)
    assert plan.replace == [repair.child_urn("kim", repair.PULLED_IMAGE)]
    docker_sees(monkeypatch, drift.Presence(cluster=True, ide=True), None)  # Docker could not say
    assert not session.look_for_repairs("kim", {}, deployed=True)


def test_nothing_vanished_is_no_repair(monkeypatch):
    from k8s_lab import drift, repair

    docker_sees(monkeypatch, drift.Presence(cluster=True, ide=True), True)
    assert session.look_for_repairs("kim", {}, deployed=True) == repair.Repair()
    docker_sees(monkeypatch, drift.Presence(cluster=False, ide=True), True)
    assert session.look_for_repairs("kim", {}, deployed=True).replace == [repair.child_urn("kim", repair.CLUSTER_COMMAND)]


def test_a_bad_setting_looks_for_no_repairs(monkeypatch):
    from k8s_lab import repair

    asked = docker_sees(monkeypatch, None, None)
    assert session.look_for_repairs("kim", {"dockerHost": "ftp://nowhere"}, deployed=True) == repair.Repair() and asked == []


def test_an_empty_docker_host_still_stores_the_workspace_root(tmp_path, capsys):
    stack = FakeStack(settings={"dockerHost": ""})
    assert session.store_workspace_root(stack, None, home=tmp_path) is None
    assert stack.config["k8s-lab:workspaceRoot"] == session_config_value(str(tmp_path / "k8s-lab"))
    assert capsys.readouterr().out == f"workspaceRoot: {tmp_path / 'k8s-lab'} (stored in stack kim's config)\n"


def test_an_explicit_workspace_root_is_stored_for_another_docker_host_too(tmp_path):
    stack = FakeStack(settings={"dockerHost": "ssh://teacher@lab2"})
    assert session.store_workspace_root(stack, str(tmp_path / "labs"), home=tmp_path) is None
    assert stack.config["k8s-lab:workspaceRoot"].value == str(tmp_path / "labs")


def test_an_unwritable_workspace_root_names_the_value_and_the_fix(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    problem = session.store_workspace_root(FakeStack(), str(blocker / "labs"), home=tmp_path)
    assert problem.startswith(f"workspaceRoot = {str(blocker / 'labs')!r} cannot hold your files: ")
    assert problem.endswith(f". Fix: {lab_command('up', '--workspace-root', '<folder you can write>')}")


def session_config_value(value):
    from fakes import FakeConfigValue

    return FakeConfigValue(value, False)


# --- what the first mutation run of this file left ----------------------------------------------------


def test_a_connection_error_is_the_telling_line_even_before_other_output():
    said = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is it running?\nClient: Docker Engine\n"
    assert session.daemon_error_line(said) == "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is it running?"
    noise = "it failed\nerrors pretty printing info: template parsing error\n"
    assert session.daemon_error_line(noise) == "it failed"


def test_a_long_login_name_is_cut_after_its_leading_dashes_go():
    longest = session.MAX_STUDENT_LENGTH
    assert session.default_stack_name("-" + "a" * longest) == "a" * longest


def test_up_and_reading_verbs_pass_the_platform_on_to_the_workspace(monkeypatch):
    from pulumi import automation as auto

    monkeypatch.setattr(session, "docker_context_host", lambda: "npipe:////./pipe/desktop")
    prepared = session.PreparedTools(path="C:/tools")
    made = []
    session.select_stack("kim", prepared, QUIET, WINDOWS, create=lambda **kwargs: made.append(kwargs))
    assert made[0]["opts"].env_vars["DOCKER_HOST"] == "npipe:////./pipe/desktop"
    opened = []
    monkeypatch.setattr(auto, "LocalWorkspace", lambda **kwargs: opened.append(kwargs))
    session.open_workspace(prepared, QUIET, WINDOWS)
    assert opened[0]["env_vars"]["DOCKER_HOST"] == "npipe:////./pipe/desktop"


def test_an_unknown_lab_is_named_in_the_error(tmp_path, monkeypatch):
    write_settings(tmp_path, "kim", {})
    with pytest.raises(session.NoSuchLab) as raised:
        session.settings_of("kimm", "lab.py up --stack kimm", tmp_path)
    assert raised.value.name == "kimm" and str(raised.value).startswith("there is no lab named 'kimm' on this machine (the labs here: kim)")
    with pytest.raises(session.NoSuchLab) as raised:
        session.existing_stack("lee", FakeWorkspace({"kim": FakeStack("kim")}), "lab.py up --stack lee")
    assert raised.value.name == "lee" and str(raised.value).startswith("there is no lab named 'lee' on this machine")


def test_a_settings_only_stack_without_path_uses_only_the_tools_folder(tmp_path, monkeypatch):
    from pulumi import automation as auto

    environ = {session.TOOLS_DIR_ENV: str(tmp_path / "tools"), **QUIET}
    layout = session.tools_layout(environ)
    layout.pulumi_bin_dir.mkdir(parents=True)
    layout.pulumi.write_text("#!/bin/sh\n")
    layout.pulumi.chmod(0o755)
    opened = []
    monkeypatch.setattr(session, "open_tools_pulumi", lambda lay: "cli")
    monkeypatch.setattr(session, "open_workspace", lambda prepared, environ: opened.append(prepared) or "ws")
    monkeypatch.setattr(auto.Stack, "select", classmethod(lambda cls, name, workspace: SimpleNamespace(history=lambda page_size: ["h"])))
    assert session.SettingsOnlyStack("kim", environ).history() == ["h"]
    assert opened == [session.PreparedTools(path=tools.path_with_tools(layout, ""), pulumi_command="cli")]


def test_without_error_lines_the_summary_is_the_last_line_only():
    assert session.failure_summary("code: 1\nstdout: Previewing update (kim):\nresources: 3 unchanged\n") == ["resources: 3 unchanged"]


def test_a_kubeconfig_in_a_folder_that_is_not_there_yet_is_made_with_its_folders(tmp_path):
    target = tmp_path / "home" / "me" / ".kube" / "config"
    session.merge_kubeconfig(yaml.safe_dump(kubeconfig("kind-kim", "https://127.0.0.1:1")), "lab-kim", {"KUBECONFIG": str(target)})
    assert yaml.safe_load(target.read_text())["current-context"] == "lab-kim" and stat.S_IMODE(target.stat().st_mode) == 0o600


# --- text and modes whatever the machine ------------------------------------------------------------


def test_a_failure_log_is_utf8_whatever_the_locale(tmp_path, ascii_locale):
    # Pulumi prints ✔ and box lines, a student's error may be Korean: Windows' cp1252 could write neither.
    text = "✔ created\nerror: 포트가 사용 중입니다\n"
    assert session.write_log("kim", "up", text, log_dir=tmp_path).read_bytes() == text.encode("utf-8")


def test_a_users_kubeconfig_with_non_ascii_names_is_read_as_utf8_whatever_the_locale(tmp_path, ascii_locale):
    target = tmp_path / "config"
    target.write_bytes(yaml.safe_dump(kubeconfig("작업", "https://work.example"), allow_unicode=True).encode("utf-8"))
    session.merge_kubeconfig(yaml.safe_dump(kubeconfig("kind-kim", "https://127.0.0.1:1")), "lab-kim", {"KUBECONFIG": str(target)})
    assert [c["name"] for c in yaml.safe_load(target.read_bytes().decode("utf-8"))["contexts"]] == ["작업", "lab-kim"]


def test_a_new_kubeconfig_is_owner_only_from_its_first_byte(tmp_path, monkeypatch):
    # The chmod is for a file that existed; a new one must never be readable by others, even for a moment.
    monkeypatch.setattr(os, "chmod", lambda path, mode: None)
    target = tmp_path / "config"
    session.merge_kubeconfig(yaml.safe_dump(kubeconfig("kind-kim", "https://127.0.0.1:1")), "lab-kim", {"KUBECONFIG": str(target)})
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_stack_file_with_a_hangul_home_folder_is_read_as_utf8_whatever_the_locale(tmp_path, ascii_locale):
    # Pulumi writes Pulumi.<stack>.yaml in UTF-8; a student's home folder may be C:\Users\김민수.
    text = "config:\n  k8s-lab:workspaceRoot: C:\\Users\\김민수\\k8s-lab\n  k8s-lab:slot: \"3\"\n"
    (tmp_path / "Pulumi.kim.yaml").write_bytes(text.encode("utf-8"))
    assert session.file_settings("kim", tmp_path) == {"workspaceRoot": "C:\\Users\\김민수\\k8s-lab", "slot": "3"}


def test_the_labs_of_this_checkout_are_known_without_the_pulumi_cli(tmp_path):
    """A settings file or a state file of the lab's own backend names a lab; with the user's
    own backend only the Pulumi CLI can tell (None), and nothing is refused early."""
    root, state = tmp_path / "project", tmp_path / "project" / ".pulumi-state"
    root.mkdir()
    assert session.labs_known_here({}, root, state) == set()
    (root / "Pulumi.kim.yaml").write_text("encryptionsalt: v1:salt\n")
    stacks = state / ".pulumi" / "stacks"
    (stacks / "k8s-lab").mkdir(parents=True)
    (stacks / "k8s-lab" / "lee.json").write_text("{}")
    (stacks / "k8s-lab" / "lee.json.bak").write_text("{}")
    (stacks / "park.json.gz").write_bytes(b"")  # the file backend's legacy layout, gzipped
    assert session.labs_known_here({}, root, state) == {"kim", "lee", "park"}
    assert session.labs_known_here({"PULUMI_BACKEND_URL": "s3://class-state"}, root, state) is None
    with pytest.raises(session.NoSuchLab) as raised:
        session.refuse_unknown_lab("kmi", {}, "lab.py up --stack kmi", root, state)
    assert raised.value.known == ["kim", "lee", "park"]
    session.refuse_unknown_lab("lee", {}, "lab.py up --stack lee", root, state)
    session.refuse_unknown_lab("kmi", {"PULUMI_BACKEND_URL": "s3://class-state"}, "lab.py up", root, state)
