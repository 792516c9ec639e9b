"""lab.py's verbs run in this process, as `lab.main([...])`, against tests/fakes.py's stand-ins
for Pulumi's stacks and workspaces and with the session's machine-touching steps (tool
preflight, workspace, stack selection) recorded instead of run. tests/test_lab_cli.py and
tests/test_user_path.py run the same verbs as a subprocess, as a user does; these pin what
each verb decides: its exit code, its first lines, what it stores, which Pulumi operation
it starts with which arguments, and that secrets stay off the screen unless asked for."""

from __future__ import annotations

import io
import json
import os
import sys
from datetime import datetime
from types import SimpleNamespace

import pytest
import yaml

import lab
from k8s_lab import session
from k8s_lab import verbs as lab_verbs
from k8s_lab.config import ConfigError, Problem
from k8s_lab.exits import Exit, lab_command
from k8s_lab.runner import Result, RunError
from fakes import FakeConfigValue, FakeOutput, FakeStack, FakeWorkspace

PASSWORD = "correct-horse-battery"
KUBECONFIG = yaml.safe_dump({
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "kind-kim", "cluster": {"server": "https://127.0.0.1:6550", "certificate-authority-data": "Q0EtREFUQQ=="}}],
    "users": [{"name": "kind-kim", "user": {"client-key-data": "S0VZLURBVEE="}}],
    "contexts": [{"name": "kind-kim", "context": {"cluster": "kind-kim", "user": "kind-kim"}}],
    "current-context": "kind-kim",
})


def made_lab(name="kim", **settings) -> FakeStack:
    """A stack that has been brought up: its outputs as `up` leaves them, the secrets secret."""
    return FakeStack(
        name=name,
        settings=settings,
        stack_outputs={
            "ideUrl": "http://127.0.0.1:8443",
            "clusterName": f"{name}-cluster",
            "studentName": name,
            "idePassword": FakeOutput(PASSWORD, secret=True),
            "hostKubeconfig": FakeOutput(KUBECONFIG, secret=True),
        },
    )


class Session:
    """The session's steps that touch the machine, recorded: which were taken, with what."""

    def __init__(self, stack: FakeStack | None = None, workspace=None, prepared: object = None):
        self.stack = stack or made_lab()
        self.workspace = workspace if workspace is not None else FakeWorkspace({self.stack.name: self.stack})
        self.prepared = session.PreparedTools(path="/tools/bin") if prepared is None else prepared
        self.steps: list[tuple] = []

    def prepare_tools(self, action, **kwargs):
        self.steps.append(("prepare_tools", action, kwargs))
        return self.prepared

    def open_workspace(self, prepared, environ=None):
        self.steps.append(("open_workspace", prepared.path, environ))
        return self.workspace

    def select_stack(self, name, prepared, environ=None):
        self.steps.append(("select_stack", name, prepared.path, environ))
        return self.stack

    def existing_stack(self, name, workspace, make):
        self.steps.append(("existing_stack", name, make))
        assert workspace is self.workspace
        if name not in workspace.stacks:
            raise session.NoSuchLab(name, sorted(workspace.stacks), make)
        return workspace.stacks[name]

    def settings_of(self, name, make):
        self.steps.append(("settings_of", name, make))
        if name != self.stack.name:
            raise session.NoSuchLab(name, [self.stack.name], make)
        return dict(self.stack.settings)

    def file_settings(self, name):
        self.steps.append(("file_settings", name))
        return dict(self.stack.settings) if name == self.stack.name else None

    def names(self) -> list[str]:
        return [step[0] for step in self.steps]


@pytest.fixture
def lab_session(monkeypatch, tmp_path):
    """A Session in place of the machine's, logs under tmp_path, and `kim` as the login's lab."""
    fake = Session()
    for name in ("prepare_tools", "open_workspace", "select_stack", "existing_stack", "settings_of", "file_settings"):
        monkeypatch.setattr(session, name, getattr(fake, name))
    monkeypatch.setattr(session, "tools_layout", lambda environ: ("layout", environ.get("PATH")))
    monkeypatch.setattr(session, "path_with_interpreter", lambda path: "/venv/bin:" + path)
    monkeypatch.setattr(session, "interpreter_problem", lambda path: None)
    monkeypatch.setattr(session, "default_stack_name", lambda user=None: "kim")
    monkeypatch.setattr(session, "LOG_DIR", tmp_path / "logs")
    # As with a backend of the user's own: only the (stand-in) Pulumi CLI knows the labs.
    monkeypatch.setattr(session, "labs_known_here", lambda *where: None)
    return fake


def first_lines(text: str, count: int = 1) -> list[str]:
    return text.splitlines()[:count]


# --- reaching the lab --------------------------------------------------------------------------------


def test_a_read_only_verb_selects_the_existing_lab_through_the_workspace(lab_session, capsys):
    assert lab.main(["info", "--stack", "kim"]) == Exit.OK
    assert lab_session.names() == ["prepare_tools", "open_workspace", "existing_stack"]
    _, action, kwargs = lab_session.steps[0]
    assert action == "info" and kwargs["fetch"] is False and kwargs["fetch_now"] is False
    assert kwargs["environ"] == dict(os.environ) and kwargs["layout"] == ("layout", os.environ.get("PATH"))
    # The interpreter's folder is put in front of the tools' PATH before Pulumi is reached.
    assert lab_session.steps[1][1] == "/venv/bin:/tools/bin" and lab_session.steps[1][2] == dict(os.environ)
    assert lab_session.steps[2] == ("existing_stack", "kim", lab_command("up", "--stack", "kim"))
    assert first_lines(capsys.readouterr().out) == ["IDE:        http://127.0.0.1:8443"]


def test_without_stack_the_login_names_the_lab_and_the_hints_name_no_stack(lab_session, capsys):
    assert lab.main(["password"]) == Exit.OK
    assert lab_session.steps[2] == ("existing_stack", "kim", lab_command("up"))


def test_up_and_preview_make_the_stack_when_new_and_fetch_unless_told_not_to(lab_session, monkeypatch):
    monkeypatch.setattr(lab, "run_up", lambda stack, root: Exit.FAILED)
    assert lab.main(["up", "--stack", "lee"]) == Exit.FAILED
    # The lab's settings first: its kubernetesVersion row names the kind release to have.
    assert lab_session.names() == ["file_settings", "prepare_tools", "select_stack"]
    assert lab_session.steps[1][2]["fetch"] is True and lab_session.steps[1][2]["kind_versions"] == ("v0.23.0",)
    assert lab_session.steps[2] == ("select_stack", "lee", "/venv/bin:/tools/bin", dict(os.environ))
    lab_session.steps.clear()
    assert lab.main(["preview", "--no-fetch"]) == Exit.OK
    assert lab_session.steps[1][2]["fetch"] is False and lab_session.steps[2][1] == "kim"


def test_an_unknown_lab_is_exit_3_with_the_labs_there_are(lab_session, capsys):
    assert lab.main(["password", "--stack", "lee"]) == Exit.NO_SUCH_LAB
    err = capsys.readouterr().err
    assert err.startswith("k8s-lab: there is no lab named 'lee' on this machine (the labs here: kim). Make it with: ")
    assert err.endswith(f"{lab_command('up', '--stack', 'lee')}\n")


def test_a_tool_preflight_that_stops_is_not_ready_and_check_that_passes_is_ok(lab_session):
    lab_session.prepared = 2
    assert lab.main(["info"]) == Exit.NOT_READY
    lab_session.prepared = 0
    assert lab.main(["check", "--fetch"]) == Exit.OK
    assert lab_session.steps[-1][1] == "check" and lab_session.steps[-1][2]["fetch_now"] is True
    assert lab_session.names() == ["prepare_tools", "file_settings", "prepare_tools"]  # nothing past the preflight


def test_check_fetches_only_when_asked(lab_session):
    lab_session.prepared = 0
    assert lab.main(["check"]) == Exit.OK
    assert lab_session.steps[1][2]["fetch"] is True and lab_session.steps[1][2]["fetch_now"] is False


def test_check_and_up_take_the_kind_of_the_labs_version_row(lab_session, capsys):
    lab_session.prepared = 0
    lab_session.stack.settings["kubernetesVersion"] = "1.36"
    assert lab.main(["check"]) == Exit.OK
    assert lab_session.steps[1][2]["kind_versions"] == ("v0.32.0",)
    about = lab_session.steps[1][2]["about"]  # check's line naming the row, before its verdict
    assert "lab 'kim': kubernetesVersion 1.36" in about and "kind v0.32.0 as kind-v0.32.0" in about and "way in gateway-api" in about


def test_no_python_next_to_the_interpreter_is_not_ready_before_pulumi(lab_session, monkeypatch, capsys):
    monkeypatch.setattr(session, "interpreter_problem", lambda path: f"no python on {path}")
    assert lab.main(["info"]) == Exit.NOT_READY
    assert capsys.readouterr().err == "k8s-lab: no python on /venv/bin:/tools/bin\n"
    assert lab_session.names() == ["prepare_tools"]


# --- the class-host verbs: the settings file, no Pulumi CLI ----------------------------------------


@pytest.fixture
def host_verbs(monkeypatch):
    """k8s_lab.verbs' stop/start/status/doctor recorded: which ran, on which lab, with what."""
    ran: list[tuple] = []

    def target(name, settings):
        return ("lab", name, tuple(sorted(settings.items())))

    monkeypatch.setattr(lab_verbs, "target", target)
    monkeypatch.setattr(lab_verbs, "stop", lambda lab_, err: ran.append(("stop", lab_, err)) or 11)
    monkeypatch.setattr(lab_verbs, "stop_if_idle", lambda lab_, idle_for, err: ran.append(("stop_if_idle", lab_, idle_for, err)) or 12)
    monkeypatch.setattr(lab_verbs, "start", lambda lab_, err: ran.append(("start", lab_, err)) or 13)
    monkeypatch.setattr(lab_verbs, "status", lambda lab_, stack, as_json: ran.append(("status", lab_, stack, as_json)) or 14)
    monkeypatch.setattr(lab_verbs, "doctor", lambda lab_: ran.append(("doctor", lab_)) or 15)
    return ran


def test_stop_start_and_status_read_the_settings_file_before_the_tools(lab_session, host_verbs):
    lab_session.stack.settings.update(slot="3")
    kim = ("lab", "kim", (("slot", "3"),))
    assert lab.main(["stop", "--stack", "kim"]) == 11
    assert lab.main(["stop", "--idle-for", "2h"]) == 12
    assert lab.main(["start"]) == 13
    assert host_verbs[:3] == [("stop", kim, lab.err), ("stop_if_idle", kim, 7200, lab.err), ("start", kim, lab.err)]
    assert lab_session.names()[:2] == ["settings_of", "prepare_tools"]
    assert lab_session.steps[0] == ("settings_of", "kim", lab_command("up", "--stack", "kim"))
    assert lab_session.steps[1][2]["fetch"] is False
    assert "open_workspace" not in lab_session.names() and "existing_stack" not in lab_session.names()


def test_status_passes_a_settings_only_stack_with_the_environment_and_json(lab_session, host_verbs):
    assert lab.main(["status", "--json"]) == 14
    (_, kim, stack, as_json), = host_verbs
    assert isinstance(stack, session.SettingsOnlyStack) and stack.name == "kim" and stack.environ == dict(os.environ)
    assert as_json is True and kim == ("lab", "kim", ())
    assert lab.main(["status"]) == 14 and host_verbs[-1][3] is False


def test_a_class_host_verb_on_an_unknown_lab_stops_before_the_tool_check(lab_session, host_verbs, capsys):
    assert lab.main(["status", "--stack", "lee"]) == Exit.NO_SUCH_LAB
    assert lab_session.names() == ["settings_of"] and host_verbs == []
    assert lab_command("up", "--stack", "lee") in capsys.readouterr().err


def test_doctor_uses_the_labs_settings_when_it_has_some_and_the_defaults_otherwise(lab_session, host_verbs):
    lab_session.stack.settings.update(slot="4")
    assert lab.main(["doctor"]) == 15
    assert lab.main(["doctor", "--stack", "nobody"]) == 15
    assert host_verbs == [("doctor", ("lab", "kim", (("slot", "4"),))), ("doctor", ("lab", "nobody", ()))]
    assert "settings_of" not in lab_session.names()


def test_the_class_host_verbs_run_only_when_the_preflight_passes(lab_session, host_verbs):
    lab_session.prepared = 2
    assert lab.main(["stop"]) == Exit.NOT_READY and lab.main(["doctor"]) == Exit.NOT_READY
    assert host_verbs == []


# --- destroy asks first ------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


QUESTION = "Remove lab 'kim': its cluster, IDE and registry (your files under the workspace folder stay)? [y/N] "


def answer_with(monkeypatch, reply: str | None, terminal: bool = True) -> list[str]:
    """stdin a terminal (or not) answering `reply` (None: end of input); the list returned
    gets an entry each time the answer is read."""
    asked: list[str] = []

    class Answering(Terminal if terminal else io.StringIO):  # type: ignore[misc]
        def readline(self, *args) -> str:
            asked.append("read")
            return super().readline(*args)

    monkeypatch.setattr("sys.stdin", Answering("" if reply is None else reply + "\n"))
    return asked


@pytest.mark.parametrize("reply", ["y", "yes", " Y ", "YES"])
def test_destroy_runs_when_the_student_says_yes(lab_session, monkeypatch, capsys, reply):
    asked = answer_with(monkeypatch, reply)
    assert lab.main(["destroy", "--stack", "kim"]) == Exit.OK
    assert asked == ["read"]
    assert lab_session.stack.operations == [("destroy", {"on_output": print})]
    out, err = capsys.readouterr()
    assert out == "The lab is gone; your files under the workspace folder were kept.\n" and err == QUESTION  # stdout: no question


@pytest.mark.parametrize("reply", ["", "n", "no", "yess", None])
def test_destroy_removes_nothing_unless_the_answer_is_yes(lab_session, monkeypatch, capsys, reply):
    answer_with(monkeypatch, reply)
    assert lab.main(["destroy"]) == Exit.USAGE
    assert capsys.readouterr().err == QUESTION + "k8s-lab: nothing was removed.\n"
    assert lab_session.steps == [] and lab_session.stack.operations == []


def test_destroy_without_a_terminal_refuses_and_names_the_command_with_yes(lab_session, monkeypatch, capsys):
    asked = answer_with(monkeypatch, "y", terminal=False)
    assert lab.main(["destroy"]) == Exit.USAGE
    again = lab_command("destroy", "--stack", "kim", "--yes")
    assert capsys.readouterr().err == f"k8s-lab: destroy removes lab 'kim' (your files stay); with no terminal to confirm on, run: {again}\n"
    assert asked == [] and lab_session.steps == []


@pytest.mark.parametrize("flag", ["--yes", "-y"])
def test_destroy_with_yes_asks_nothing(lab_session, monkeypatch, flag):
    asked = answer_with(monkeypatch, "n", terminal=False)
    assert lab.main(["destroy", flag, "--stack", "kim"]) == Exit.OK
    assert asked == [] and lab_session.stack.operations == [("destroy", {"on_output": print})]
    assert lab_session.steps[1][2]["fetch"] is True and lab_session.names()[-1] == "existing_stack"


# --- up, preview -------------------------------------------------------------------------------------


def test_preview_shows_the_diff_and_changes_nothing(lab_session, capsys):
    assert lab.main(["preview"]) == Exit.OK
    assert lab_session.stack.operations == [("preview", {"on_output": print, "diff": True})]
    assert capsys.readouterr().out == ""


def test_up_that_worked_says_where_the_ide_is_and_hides_the_password(lab_session, monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(lab, "run_up", lambda stack, root: seen.append((stack.name, root)) or Exit.OK)
    assert lab.main(["up", "--workspace-root", "/data/kim"]) == Exit.OK
    assert seen == [("kim", "/data/kim")]
    out = capsys.readouterr().out
    assert first_lines(out) == ["IDE:        http://127.0.0.1:8443"] and PASSWORD not in out


def test_up_that_left_no_ide_says_how_to_bring_it_up(lab_session, monkeypatch, capsys):
    monkeypatch.setattr(lab, "run_up", lambda stack, root: Exit.OK)
    lab_session.stack.stack_outputs.clear()
    assert lab.main(["up", "--stack", "kim"]) == Exit.FAILED
    assert capsys.readouterr().err.endswith(f"Bring it up: {lab_command('up', '--stack', 'kim')}\n")


def test_up_that_failed_prints_no_info(lab_session, monkeypatch, capsys):
    monkeypatch.setattr(lab, "run_up", lambda stack, root: Exit.USAGE)
    assert lab.main(["up"]) == Exit.USAGE
    assert capsys.readouterr().out == ""


# --- info, password, kubeconfig ------------------------------------------------------------------


def test_info_names_the_ide_the_cluster_and_the_commands_for_the_secrets(lab_session, capsys):
    assert lab.main(["info", "--stack", "kim"]) == Exit.OK
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "IDE:        http://127.0.0.1:8443",
        f"Password:   {lab_command('password', '--stack', 'kim')}",
        "Cluster:    kim-cluster (kubectl works inside the IDE)",
        f"Kubeconfig: {lab_command('kubeconfig', '--merge', '--stack', 'kim')} (for kubectl on this machine)",
    ]
    assert PASSWORD not in out and "client-key-data" not in out


def test_info_json_is_the_outputs_without_the_secrets(lab_session, capsys):
    assert lab.main(["info", "--json"]) == Exit.OK
    out = capsys.readouterr().out
    assert json.loads(out) == {"clusterName": "kim-cluster", "ideUrl": "http://127.0.0.1:8443", "studentName": "kim"}
    assert out.startswith('{\n "clusterName": "kim-cluster",\n "ideUrl"')  # sorted, indented by one
    assert PASSWORD not in out and "hostKubeconfig" not in out


@pytest.mark.parametrize("verb", ["info", "password", "kubeconfig"])
def test_a_lab_not_brought_up_yet_says_how_to_bring_it_up(lab_session, capsys, verb):
    lab_session.stack.stack_outputs.clear()
    assert lab.main([verb, "--stack", "kim"]) == Exit.FAILED
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"k8s-lab: lab 'kim' has not been brought up yet (or was destroyed). Bring it up: {lab_command('up', '--stack', 'kim')}\n"
    )
    assert lab.main([verb]) == Exit.FAILED
    assert capsys.readouterr().err.endswith(f"Bring it up: {lab_command('up')}\n")


def test_password_prints_the_password_alone(lab_session, capsys):
    assert lab.main(["password"]) == Exit.OK
    assert capsys.readouterr().out == PASSWORD + "\n"


def test_kubeconfig_prints_it_once_newline_terminated(lab_session, capsys):
    assert lab.main(["kubeconfig"]) == Exit.OK
    assert capsys.readouterr().out == KUBECONFIG
    lab_session.stack.stack_outputs["hostKubeconfig"] = FakeOutput(KUBECONFIG.rstrip("\n"), secret=True)
    assert lab.main(["kubeconfig"]) == Exit.OK
    assert capsys.readouterr().out == KUBECONFIG


def test_kubeconfig_merge_writes_the_users_kubeconfig_and_prints_no_secret(lab_session, monkeypatch, tmp_path, capsys):
    target = tmp_path / "kube" / "config"
    monkeypatch.setenv("KUBECONFIG", str(target))
    assert lab.main(["kubeconfig", "--merge", "--stack", "kim"]) == Exit.OK
    out = capsys.readouterr().out
    assert out == f"Context k8s-lab-kim is in {target} and is the current one: kubectl get nodes\n"
    merged = yaml.safe_load(target.read_text())
    assert merged["current-context"] == "k8s-lab-kim"
    assert merged["users"] == [{"name": "k8s-lab-kim", "user": {"client-key-data": "S0VZLURBVEE="}}]
    assert "S0VZLURBVEE=" not in out


# --- list --------------------------------------------------------------------------------------------


def summaries(*items):
    return SimpleNamespace(list_stacks=lambda: [SimpleNamespace(name=n, last_update=u, resource_count=c) for n, u, c in items])


def test_list_shows_each_lab_sorted_with_its_size_and_last_change(lab_session, capsys):
    lab_session.workspace = summaries(
        ("organization/k8s-lab/lee", None, None),
        ("kim", datetime(2026, 3, 4, 5, 6, 7), 41),
        ("ahn", datetime(2026, 12, 1, 17, 0), 0),
    )
    assert lab.main(["list"]) == Exit.OK
    assert capsys.readouterr().out.splitlines() == [
        "LAB                      RESOURCES  LAST CHANGE",
        "ahn                              0  2026-12-01 17:00",
        "kim                             41  2026-03-04 05:06",
        "lee                                 never brought up",
    ]
    assert lab_session.names() == ["prepare_tools", "open_workspace"] and lab_session.steps[1][2] == dict(os.environ)


def test_list_of_no_labs_says_how_to_make_one(lab_session, capsys):
    lab_session.workspace = FakeWorkspace()
    assert lab.main(["list"]) == Exit.NO_SUCH_LAB
    assert capsys.readouterr().out == f"No labs on this machine yet. Make one: {lab_command('up')}\n"


# --- the parser's answers ----------------------------------------------------------------------------


def test_a_mistyped_verb_is_named_with_the_nearest_and_nothing_runs(lab_session, capsys):
    assert lab.main(["stauts", "--stack", "kim"]) == Exit.USAGE
    assert capsys.readouterr().err == (
        f"k8s-lab: there is no verb 'stauts'; did you mean `{lab_command('status', '--stack', 'kim')}`? ({lab_command('--help')} explains each)\n"
    )
    assert lab.main(["kube"]) == Exit.USAGE  # half of its letters are enough to be meant
    assert f"did you mean `{lab_command('kubeconfig')}`?" in capsys.readouterr().err
    assert lab.main(["zzz"]) == Exit.USAGE
    assert "the verbs are: up, preview, destroy, info, password, kubeconfig, list, check, config," in capsys.readouterr().err
    assert lab_session.steps == []


def test_no_verb_prints_the_help_and_version_prints_the_version(lab_session, monkeypatch, capsys):
    assert lab.main([]) == Exit.OK
    out = capsys.readouterr().out
    assert out.startswith("usage: lab.py") and "Exit codes: 0 done; 1 the operation failed" in out
    # The description is the first paragraph of lab.py's docstring, not all of it.
    words = " ".join(out.split())  # argparse wraps it to the terminal's width
    assert "Bring a k8s-lab up or down on this machine" in words and "Each verb needs only what it uses" not in words
    monkeypatch.setattr(session, "version_text", lambda: "k8s-lab (checkout abc1234)")
    assert lab.main(["--version"]) == Exit.OK
    assert capsys.readouterr().out == "k8s-lab (checkout abc1234)\n"
    assert lab_session.steps == []


def test_main_reads_the_command_line_when_given_no_arguments(lab_session, monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["lab.py", "password", "--stack", "kim"])
    assert lab.main() == Exit.OK
    assert capsys.readouterr().out == PASSWORD + "\n"
    monkeypatch.setattr("sys.argv", ["lab.py", "pasword"])
    assert lab.main() == Exit.USAGE
    assert capsys.readouterr().err.startswith("k8s-lab: there is no verb 'pasword'; did you mean")


# --- failures: one message, an exit code, the details in a log ---------------------------------------


def failing_with(monkeypatch, error: BaseException):
    def run_verb(args):
        raise error

    monkeypatch.setattr(lab, "run_verb", run_verb)


def test_ctrl_c_is_exit_130_in_one_line(lab_session, monkeypatch, capsys):
    failing_with(monkeypatch, KeyboardInterrupt())
    assert lab.main(["up"]) == Exit.INTERRUPTED
    assert capsys.readouterr().err == "k8s-lab: interrupted.\n"


def test_invalid_settings_name_each_problem_with_the_lab_py_fix(lab_session, monkeypatch, capsys):
    failing_with(monkeypatch, ConfigError([
        Problem("slot", "'x'", "is not a whole number", "[[set slot 1]]"),
        Problem("workers", "'12'", "is outside 0..9", "[[rm workers]]"),
    ]))
    assert lab.main(["status", "--stack", "lee"]) == Exit.USAGE
    assert capsys.readouterr().err == (
        "k8s-lab: this lab's settings are invalid: "
        f"slot = 'x': is not a whole number. Fix: {lab_command('config', 'slot', '1', '--stack', 'lee')}; "
        f"workers = '12': is outside 0..9. Fix: {lab_command('config', 'workers', '--unset', '--stack', 'lee')}\n"
    )


def test_a_missing_package_is_wrong_python(lab_session, monkeypatch, capsys):
    from k8s_lab import exits

    failing_with(monkeypatch, ModuleNotFoundError("No module named 'yaml'", name="yaml"))
    assert lab.main(["up"]) == Exit.WRONG_PYTHON
    assert capsys.readouterr().err == exits.missing_package_problem("yaml") + "\n"
    failing_with(monkeypatch, ModuleNotFoundError("no module"))
    assert lab.main(["up"]) == Exit.WRONG_PYTHON
    assert capsys.readouterr().err == exits.missing_package_problem("a package") + "\n"


def pulumi_failure(stderr: str):
    from pulumi.automation._cmd import CommandResult
    from pulumi.automation.errors import CommandError

    return CommandError(CommandResult("Updating (kim):\n", stderr, 255))


def test_a_failed_pulumi_operation_says_its_error_lines_and_where_the_whole_output_is(lab_session, tmp_path, capsys):
    lab_session.stack.error = pulumi_failure("error: docker:index:Container kim-ide: port is already allocated\nerror: update failed\n")
    assert lab.main(["preview", "--stack", "kim"]) == Exit.FAILED
    (log,) = (tmp_path / "logs").iterdir()
    assert log.name.startswith("kim-preview-") and "port is already allocated" in log.read_text()
    assert capsys.readouterr().err.splitlines() == [
        "k8s-lab: error: docker:index:Container kim-ide: port is already allocated",
        "k8s-lab: error: update failed",
        f"k8s-lab: `preview` failed; Pulumi's whole output is in {log}",
    ]


def test_a_failed_config_set_keeps_the_value_out_of_the_log(lab_session, monkeypatch, tmp_path, capsys):
    secret = "a-long-secret-password"

    class Refusing(FakeStack):
        def set_config(self, key, value):
            raise pulumi_failure(f"error: could not set {key}={value.value}\n")

    lab_session.stack = Refusing(name="kim")
    lab_session.workspace = FakeWorkspace({"kim": lab_session.stack})
    assert lab.main(["config", "--stack", "kim", "idePassword", secret]) == Exit.FAILED
    (log,) = (tmp_path / "logs").iterdir()
    assert log.name.startswith("kim-config-") and secret not in log.read_text() and "[secret]" in log.read_text()
    assert capsys.readouterr().err.splitlines()[-1] == f"k8s-lab: `config` failed; Pulumi's whole output is in {log}"


def test_a_failed_operation_of_another_verb_redacts_nothing(lab_session, monkeypatch, tmp_path):
    lab_session.stack.error = pulumi_failure("error: lee is not a valid name\n")
    assert lab.main(["preview", "--stack", "kim"]) == Exit.FAILED  # no VALUE of config here
    (log,) = (tmp_path / "logs").iterdir()
    assert "error: lee is not a valid name" in log.read_text()
    # `up` given its folder twice (argparse keeps the last): its third word is no secret either.
    failing_with(monkeypatch, pulumi_failure("error: /srv/b is not writable\n"))
    assert lab.main(["up", "--workspace-root", "/srv/a", "--workspace-root", "/srv/b", "--stack", "lee"]) == Exit.FAILED
    (log,) = (tmp_path / "logs").glob("lee-up-*")
    assert "error: /srv/b is not writable" in log.read_text()


def test_config_values_is_the_value_after_the_key(lab_session):
    assert lab.config_values(["config", "idePassword", "pw"]) == ("pw",)
    assert lab.config_values(["config", "--stack", "kim", "idePassword", "pw"]) == ("pw",)
    assert lab.config_values(["config", "--secret", "idePassword", "pw", "--stack", "kim"]) == ("pw",)
    assert lab.config_values(["config", "slot"]) == ()
    assert lab.config_values(["config", "timezone", "Asia/Seoul", "extra"]) == ("Asia/Seoul",)
    assert lab.config_values(["config", "idePassword", "--stack", "kim", "pw"]) == ("pw",)


def test_the_log_is_named_after_the_stack_of_the_command_line(lab_session, monkeypatch):
    monkeypatch.setattr(session, "default_stack_name", lambda user=None: "login")
    assert lab.stack_of(["info", "--stack", "kim"]) == "kim"
    assert lab.stack_of(["info", "--stack=lee", "--stack", "kim"]) == "lee"
    assert lab.stack_of(["info", "--stack=a=b"]) == "a=b"
    assert lab.stack_of(["info", "--stack"]) == "login"
    assert lab.stack_of(["info"]) == "login"


def test_a_log_that_cannot_be_written_is_said_instead_of_its_path(lab_session, monkeypatch, tmp_path, capsys):
    (tmp_path / "logs").write_text("a file where the folder should be")
    failing_with(monkeypatch, ValueError("unexpected"))
    assert lab.main(["info"]) == Exit.INTERNAL
    err = capsys.readouterr().err
    assert err.startswith("k8s-lab: `info` stopped on an error k8s-lab does not expect (ValueError: unexpected); details in no file: writing the log failed too (")
    assert "Traceback" not in err


def test_an_os_error_and_a_failed_program_are_failed_with_what_they_said(lab_session, monkeypatch, tmp_path, capsys):
    failing_with(monkeypatch, PermissionError(13, "Permission denied", "/var/run/docker.sock"))
    assert lab.main(["stop", "--stack", "kim"]) == Exit.FAILED
    assert capsys.readouterr().err == "k8s-lab: `stop` failed: [Errno 13] Permission denied: '/var/run/docker.sock'\n"
    failing_with(monkeypatch, RunError(Result(("kind", "get", "nodes"), 1, "", "boom\n")))
    assert lab.main(["status"]) == Exit.FAILED
    assert capsys.readouterr().err.startswith("k8s-lab: `status` failed: `kind get nodes` exited with 1")
    assert not (tmp_path / "logs").exists()


def test_a_failure_before_any_verb_names_the_lab(lab_session, monkeypatch, capsys):
    monkeypatch.setattr(session, "version_text", lambda: (_ for _ in ()).throw(OSError("no git")))
    assert lab.main(["--version"]) == Exit.FAILED
    assert capsys.readouterr().err == "k8s-lab: `lab` failed: no git\n"


def test_an_unexpected_error_logs_its_traceback_under_the_labs_name(lab_session, monkeypatch, tmp_path, capsys):
    failing_with(monkeypatch, KeyError("ideUrl"))
    assert lab.main(["kubeconfig", "--stack", "lee"]) == Exit.INTERNAL
    (log,) = (tmp_path / "logs").iterdir()
    lines = log.read_text().splitlines()
    assert log.name.startswith("lee-kubeconfig-") and lines[-1] == "KeyError: 'ideUrl'"
    assert lines[0] == "Traceback (most recent call last):" and lines[1].startswith('  File "')
    assert capsys.readouterr().err == (
        f"k8s-lab: `kubeconfig` stopped on an error k8s-lab does not expect (KeyError: 'ideUrl'); details in {log}\n"
    )


# --- up's steps before Pulumi --------------------------------------------------------------------


@pytest.fixture
def up_steps(monkeypatch):
    """run_up's checks recorded: the start of a stopped lab, the port check, the repair probe."""
    from k8s_lab import repair

    seen: dict[str, tuple] = {}

    def before_up(name, config, deployed, err):
        seen["before_up"] = (name, config, deployed, err)
        return 0

    def port_problem(name, config, own_lab_running):
        seen["port_problem"] = (name, config, own_lab_running)
        return None

    def look_for_repairs(name, config, deployed):
        seen["look_for_repairs"] = (name, config, deployed)
        return repair.Repair()

    monkeypatch.setattr(lab_verbs, "before_up", before_up)
    monkeypatch.setattr(session, "port_problem", port_problem)
    monkeypatch.setattr(session, "look_for_repairs", look_for_repairs)
    monkeypatch.setattr(session, "daemon_platform", lambda docker_host: "linux/amd64")
    return seen


def test_up_stores_the_folder_it_is_given_and_checks_the_lab_with_its_settings(tmp_path, up_steps, capsys):
    stack = FakeStack(name="kim", settings={"slot": "3"})
    folder = tmp_path / "mine"
    assert lab.run_up(stack, str(folder)) == Exit.OK
    assert stack.config["k8s-lab:workspaceRoot"].value == str(folder)
    assert stack.config["k8s-lab:idePlatform"].value == "linux/amd64"  # the daemon's, stored with the stack
    settings = {"slot": "3", "workspaceRoot": str(folder), "idePlatform": "linux/amd64"}
    assert up_steps["before_up"] == ("kim", settings, False, lab.err)
    assert up_steps["port_problem"] == ("kim", settings, session.ide_container_exists)
    assert up_steps["look_for_repairs"] == ("kim", settings, False)
    assert stack.operations == [("up", {"on_output": print, "replace": None, "refresh": None})]
    assert capsys.readouterr().out == (
        f"workspaceRoot: {folder} (stored in stack kim's config)\n"
        "idePlatform: linux/amd64 (the Docker host's, stored in stack kim's config)\n"
    )


def test_up_of_a_made_lab_says_it_is_deployed(tmp_path, up_steps):
    stack = made_lab(workspaceRoot=str(tmp_path))
    assert lab.run_up(stack, None) == Exit.OK
    assert up_steps["before_up"][2] is True and up_steps["look_for_repairs"][2] is True


def test_up_stops_when_the_stopped_lab_did_not_start(tmp_path, up_steps, monkeypatch):
    monkeypatch.setattr(lab_verbs, "before_up", lambda name, config, deployed, err: 1)
    stack = made_lab(workspaceRoot=str(tmp_path))
    assert lab.run_up(stack, None) == Exit.FAILED
    assert stack.operations == [] and "port_problem" not in up_steps


def test_up_refuses_a_folder_it_cannot_write_before_anything_else(tmp_path, up_steps, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    stack = FakeStack(name="kim")
    assert lab.run_up(stack, str(blocker / "lab")) == Exit.USAGE
    assert capsys.readouterr().err.startswith(f"k8s-lab: workspaceRoot = '{blocker / 'lab'}' cannot hold your files: its parent {blocker} is a file")
    assert stack.operations == [] and up_steps == {}


def test_up_stops_on_a_taken_port_and_leaves_a_bad_setting_to_the_program(tmp_path, up_steps, monkeypatch, capsys):
    stack = FakeStack(name="kim", settings={"workspaceRoot": str(tmp_path)})
    monkeypatch.setattr(session, "port_problem", lambda name, config, running: "k8s-lab: 127.0.0.1:8544 (ide) is taken")
    assert lab.run_up(stack, None) == Exit.USAGE
    assert capsys.readouterr().err == "k8s-lab: 127.0.0.1:8544 (ide) is taken\n" and stack.operations == []

    def invalid(name, config, running):
        raise ValueError("slot = 'many'")

    monkeypatch.setattr(session, "port_problem", invalid)
    assert lab.run_up(stack, None) == Exit.OK and len(stack.operations) == 1


# --- config: what the table does not cover elsewhere ----------------------------------------------


def config(stack, *words) -> int:
    return lab.verb_config(stack, lab.build_parser().parse_args(["config", *words]))


def test_config_shows_an_unset_setting_as_unset(capsys):
    assert config(FakeStack()) == Exit.OK and config(FakeStack(), "slot") == Exit.OK
    assert capsys.readouterr().out.splitlines()[-1] == "(unset)"


def test_config_with_more_than_one_value_says_to_quote_it_and_stores_nothing(capsys):
    stack = FakeStack()
    assert config(stack, "timezone", "Asia/Seoul", "extra") == Exit.USAGE
    quoted = lab_command("config", "timezone", "<a value with spaces>")  # quoted for this shell: '<a value with spaces>'
    assert capsys.readouterr().err == f"k8s-lab: config takes one KEY and one VALUE; quote a value with spaces: {quoted}\n"
    assert stack.config == {}


def test_config_reads_a_value_of_dash_from_stdin(monkeypatch, capsys):
    stack = FakeStack(name="lee")
    monkeypatch.setattr("sys.stdin", io.StringIO("  Asia/Seoul\n"))
    assert config(stack, "timezone", "-") == Exit.OK
    assert stack.config["k8s-lab:timezone"] == FakeConfigValue("Asia/Seoul", False)
    assert capsys.readouterr().out == f"timezone set for lab lee; `{lab_command('up', '--stack', 'lee')}` applies it.\n"


def test_config_secret_stores_any_setting_as_a_secret_and_never_shows_it(capsys):
    stack = FakeStack()
    assert config(stack, "timezone", "Asia/Seoul", "--secret") == Exit.OK
    assert stack.config["k8s-lab:timezone"] == FakeConfigValue("Asia/Seoul", True)
    assert capsys.readouterr().out.startswith("timezone set for lab kim (as a secret); ")
    config(stack, "timezone")
    config(stack)
    out = capsys.readouterr().out
    assert out.startswith("[secret]\n") and "Asia/Seoul" not in out


def test_config_unset_says_the_default_applies_again(capsys):
    stack = FakeStack(settings={"slot": "3"})
    assert config(stack, "slot", "--unset") == Exit.OK
    assert capsys.readouterr().out == "slot unset for lab kim: its default applies at the next `up`.\n"


def test_a_key_like_no_setting_lists_the_settings(capsys):
    from k8s_lab.config import BY_KEY

    assert config(FakeStack(), "qqqqqqqq", "1") == Exit.USAGE
    assert capsys.readouterr().err == f"k8s-lab: 'qqqqqqqq' is not a k8s-lab setting; the settings: {', '.join(BY_KEY)}\n"


def test_a_bad_value_is_checked_as_stored_and_named_with_the_tables_fix(capsys):
    stack = FakeStack()
    assert config(stack, "slot", " 7 ") == Exit.OK  # the table reads it stripped, as the program will
    assert config(stack, "idePassword", "  short   ") == Exit.USAGE  # 10 characters, 5 of them a password
    err = capsys.readouterr().err
    fix = (
        f"{lab_command('config', 'idePassword', '<a longer password>', '--stack', 'kim')}, "
        f"or {lab_command('config', 'idePassword', '--unset', '--stack', 'kim')} to generate one"
    )
    assert err == f"k8s-lab: idePassword = (hidden): is shorter than 8 characters. Fix: {fix}; nothing was stored\n"


def test_as_lab_config_renders_each_template_as_the_lab_py_command_that_does_it():
    """A PEM file goes to `config KEY -` on stdin: `config ideTlsKey < plain.pem` printed
    `(unset)`, exited 0 and stored nothing (issue 28)."""
    assert lab.as_lab_config("[[file ideTlsKey plain.pem]]", "lee") == f"{lab_command('config', 'ideTlsKey', '-', '--stack', 'lee')} < plain.pem"
    assert lab.as_lab_config("[[set slot 1]]", "lee") == lab_command("config", "slot", "1", "--stack", "lee")
    assert lab.as_lab_config("or [[rm hostName]]", "lee") == f"or {lab_command('config', 'hostName', '--unset', '--stack', 'lee')}"
    env = '[[set ideEnv ["NAME=value"]]]'
    assert lab.as_lab_config(env, "lee") == lab_command("config", "ideEnv", '["NAME=value"]', "--stack", "lee")
    assert "pulumi config" not in lab.as_lab_config(env, "lee")


def test_config_list_lines_up_the_values_and_masks_what_is_secret_either_way(capsys):
    from k8s_lab.config import SETTINGS

    stack = FakeStack()
    stack.config["k8s-lab:idePassword"] = FakeConfigValue("stored-in-plain-text")  # idePassword is secret even so
    stack.config["k8s-lab:timezone"] = FakeConfigValue("Asia/Seoul", secret=True)
    stack.config["k8s-lab:slot"] = FakeConfigValue("3")
    assert lab.list_settings(stack) == Exit.OK
    lines = capsys.readouterr().out.splitlines()
    width = max(len(setting.key) for setting in SETTINGS)
    shown = {line[:width].rstrip(): line[width + 2 :] for line in lines}
    assert all(line[width : width + 2] == "  " and line[width + 2] != " " for line in lines)
    assert shown["idePassword"] == "[secret]" and shown["timezone"] == "[secret]" and shown["slot"] == "3"
    assert shown["workers"] == "(default: 2)"
    assert "stored-in-plain-text" not in "\n".join(lines) and "Asia/Seoul" not in "\n".join(lines)


def test_without_pulumi_installed_no_error_is_taken_for_pulumis(monkeypatch):
    assert lab.is_pulumi_failure(pulumi_failure("error: x")) is True
    assert lab.is_pulumi_failure(ValueError("x")) is False
    monkeypatch.setitem(sys.modules, "pulumi.automation", None)  # `import` raises ImportError
    assert lab.is_pulumi_failure(ValueError("x")) is False
    assert lab.is_pulumi_failure(RunError(Result(("x",), 1, "", ""))) is False


# --- output under any locale (issue 28) ---------------------------------------------------------------


def latin1_output(monkeypatch):
    """stdout and stderr as a Latin-1 locale (en_US.ISO-8859-1, or PYTHONIOENCODING=latin-1)
    makes them: what they cannot encode raised UnicodeEncodeError, and lab.py ended in 70.
    Called in the test itself: pytest puts its own capture back on sys.stdout after fixtures."""
    import io

    streams = {name: io.TextIOWrapper(io.BytesIO(), encoding="latin-1", newline="\n") for name in ("stdout", "stderr")}
    for name, stream in streams.items():
        monkeypatch.setattr(sys, name, stream)

    def written(name: str) -> str:
        stream = streams[name]
        stream.flush()
        return stream.buffer.getvalue().decode("latin-1")

    return written


def test_a_hangul_password_under_a_latin1_locale_is_printed_replaced_and_said(lab_session, monkeypatch):
    written = latin1_output(monkeypatch)
    lab_session.stack.stack_outputs["idePassword"] = FakeOutput("비밀번호-secret", secret=True)
    code = lab.main(["password"])
    assert (code, written("stdout")) == (Exit.OK, "????-secret\n"), written("stderr")
    assert "cannot show" in written("stderr") and "PYTHONIOENCODING=utf-8" in written("stderr")


def test_a_hangul_setting_under_a_latin1_locale_is_listed_replaced(lab_session, monkeypatch):
    written = latin1_output(monkeypatch)
    lab_session.stack.config["k8s-lab:workspaceRoot"] = FakeConfigValue("/home/김/k8s-lab")
    assert lab.main(["config"]) == Exit.OK
    assert "/home/?/k8s-lab" in written("stdout")


# --- values that start with '-', names that are not the lab's, help text (issue 28) ------------------


def test_a_config_value_starting_with_a_dash_is_the_value_and_gets_the_settings_error(lab_session, capsys):
    """`config labMemory -1g` was argparse's "unrecognized arguments" with the top-level usage line."""
    assert lab.main(["config", "labMemory", "-1g", "--stack", "kim"]) == Exit.USAGE
    err = capsys.readouterr().err
    assert err.startswith("k8s-lab: labMemory = '-1g': is not a memory size") and "unrecognized" not in err


def test_a_pem_given_on_the_command_line_is_the_value(lab_session, capsys):
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
    assert lab.main(["config", "ideTlsCert", pem]) == Exit.USAGE
    err = capsys.readouterr().err
    assert err.startswith("k8s-lab: ideTlsCert = '-----BEGIN CERTIFICATE-----': cannot be read as an X.509 certificate")


def test_a_mistyped_option_of_config_is_still_argparses_error(lab_session, capsys):
    with pytest.raises(SystemExit) as leaving:
        lab.main(["config", "--secrte", "idePassword", "x"])
    assert leaving.value.code == 2 and "unrecognized arguments: --secrte" in capsys.readouterr().err


def test_a_lab_name_with_capitals_is_answered_with_the_name_up_would_use(lab_session, capsys):
    assert lab.main(["destroy", "--yes", "--stack", "Root"]) == Exit.NO_SUCH_LAB
    assert capsys.readouterr().err.rstrip().endswith(f"Make it with: {lab_command('up', '--stack', 'root')}")


def test_the_config_list_has_balanced_backticks(capsys):
    assert config(FakeStack()) == Exit.OK
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.count("`") % 2 == 0 for line in lines), [line for line in lines if line.count("`") % 2]
