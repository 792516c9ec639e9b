"""lab.py: the checks and set-up it does before handing over to Pulumi."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import lab
from k8s_lab import session
from k8s_lab.exits import Exit, lab_command
from k8s_lab.names import student_name_problem

ROOT = Path(__file__).resolve().parent.parent


def test_missing_tools_are_named_with_how_to_get_them():
    report = session.preflight_report(session.missing_tools(lambda name: None if name in ("kind", "pulumi") else "/x"), None)
    assert "kind is missing" in report and "choco install kind" in report
    assert "pulumi is missing" in report and "brew install pulumi" in report
    assert "docker is missing" not in report
    # ... and that `lab.py up` fetches them when allowed.
    assert "fetches kind v0.23.0 into .tools/" in report and "without --no-fetch" in report


def test_all_present_and_docker_answering_is_no_report():
    assert session.preflight_report(session.missing_tools(lambda name: "/usr/bin/" + name), None) is None


def test_docker_daemon_down_is_explained():
    def fake_run(*args, **kwargs):
        return subprocess.CompletedProcess(args, 1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock\n")

    problem = session.docker_problem(fake_run)
    assert "daemon does not answer" in problem and "Cannot connect" in problem and "Start Docker Desktop" in problem
    assert "Start Docker Desktop" in session.preflight_report([], problem)


def test_docker_refusing_the_user_says_how_to_join_the_docker_group():
    def fake_run(*args, **kwargs):
        return subprocess.CompletedProcess(args, 1, "", "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock\n")

    problem = session.docker_problem(fake_run)
    assert "refuses you" in problem and "usermod -aG docker" in problem and "Start Docker Desktop" not in problem


def test_default_stack_names_are_valid_student_names():
    for user in ("Kim Min-su", "KHP", "first.last", "___", "x" * 80, "관리자"):
        name = session.default_stack_name(user)
        assert student_name_problem(name) is None, (user, name)


def test_passphrase_is_made_once_readable_by_owner_only(tmp_path):
    file = tmp_path / "state" / "passphrase"
    env, notice = session.passphrase_env({}, file)
    assert env == {"PULUMI_CONFIG_PASSPHRASE_FILE": str(file)} and "Keep it" in notice
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    first = file.read_text()
    env, notice = session.passphrase_env({}, file)
    assert notice is None and file.read_text() == first and len(first) >= 40


def test_users_own_passphrase_wins(tmp_path):
    file = tmp_path / "passphrase"
    assert session.passphrase_env({"PULUMI_CONFIG_PASSPHRASE": ""}, file) == ({}, None)
    assert session.passphrase_env({"PULUMI_CONFIG_PASSPHRASE_FILE": "/secure/p"}, file) == ({}, None)
    assert not file.exists()


def test_backend_is_a_file_url_inside_the_project(tmp_path):
    assert session.backend_url(tmp_path / "s") == "file://" + (tmp_path / "s").as_posix()


def run_lab(tmp_path, *args, fake_docker=False):
    """`python lab.py ...` with a PATH of python only (and a docker that answers, if asked),
    and a tools folder of its own."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if not (bin_dir / "python").exists():
        (bin_dir / "python").symlink_to(sys.executable)
    if fake_docker:
        (bin_dir / "docker").write_text("#!/bin/sh\necho 27.0.0\n")
        (bin_dir / "docker").chmod(0o755)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "K8S_LAB_TOOLS_DIR": str(tmp_path / "tools")}
    return subprocess.run([sys.executable, str(ROOT / "lab.py"), *args], capture_output=True, text=True, env=env, timeout=60)


def test_check_names_missing_tools_and_exits_not_ready(tmp_path):
    # A PATH with python only: no docker, kind or pulumi. Without docker nothing is fetched.
    result = run_lab(tmp_path, "check")
    assert result.returncode == Exit.NOT_READY
    for tool in ("docker", "kind", "pulumi"):
        assert f"{tool} is missing" in result.stderr
    assert not (tmp_path / "tools").exists()


def test_check_with_no_fetch_reports_kind_and_pulumi_missing(tmp_path):
    result = run_lab(tmp_path, "check", "--no-fetch", fake_docker=True)
    assert result.returncode == Exit.NOT_READY
    assert "kind is missing" in result.stderr and "pulumi is missing" in result.stderr
    assert "docker is missing" not in result.stderr and "daemon" not in result.stderr
    assert not (tmp_path / "tools").exists()


def test_check_says_what_up_would_fetch_from_where_and_fetches_nothing(tmp_path):
    result = run_lab(tmp_path, "check", fake_docker=True)
    assert result.returncode == 0, result.stderr
    assert "https://github.com/kubernetes-sigs/kind/releases/download/v0.23.0/kind-" in result.stdout
    assert str(tmp_path / "tools") in result.stdout and "https://get.pulumi.com/install" in result.stdout
    assert not (tmp_path / "tools").exists()


def test_port_check_names_a_taken_port_before_up():
    import socket

    from k8s_lab.ports import ports_for_slot

    # Hold the IDE port of the first high slot whose port is free here, as another program would.
    for slot in range(300, 571):
        holder = socket.socket()
        try:
            holder.bind(("127.0.0.1", ports_for_slot(slot).ide))
            break
        except OSError:
            holder.close()
    with holder:
        holder.listen()
        message = session.port_problem("kim", {"slot": str(slot)}, own_lab_running=lambda s: False)
    assert f"127.0.0.1:{ports_for_slot(slot).ide} (ide)" in message and "lab.py config slot '<n>' --stack kim" in message


def test_port_check_skips_a_lab_that_is_already_up(monkeypatch):
    from k8s_lab import host_ports

    monkeypatch.setattr(host_ports, "taken_ports", lambda address, ports: [("ide", ports.ide)])
    assert session.port_problem("kim", {}, own_lab_running=lambda s: True) is None
    message = session.port_problem("kim", {"student": "lee", "slot": "1"}, own_lab_running=lambda s: False)
    assert "127.0.0.1:8544 (ide)" in message and "slot 1" in message


class FakeStack:
    name = "kim"

    def __init__(self):
        self.config = {}

    def set_config(self, key, value):
        self.config[f"k8s-lab:{key}"] = value

    def remove_config(self, key):
        self.config.pop(f"k8s-lab:{key}", None)

    def get_all_config(self):
        return self.config


def config(stack, *setting, secret=False, unset=False):
    return lab.verb_config(stack, lab.build_parser().parse_args(["config", *setting, *(["--secret"] if secret else []), *(["--unset"] if unset else [])]))


def test_config_subcommand_sets_shows_and_hides_secrets(capsys):
    stack = FakeStack()
    assert config(stack, "slot", "3") == 0
    assert stack.config["k8s-lab:slot"].value == "3" and not stack.config["k8s-lab:slot"].secret
    # idePassword is a secret even without --secret.
    assert config(stack, "idePassword", "long-password") == 0 and stack.config["k8s-lab:idePassword"].secret
    capsys.readouterr()
    config(stack, "idePassword")
    assert capsys.readouterr().out.strip() == "[secret]"
    config(stack, "slot")
    assert capsys.readouterr().out.strip() == "3"
    assert config(stack, "slot", "--unset") == 0 and "k8s-lab:slot" not in stack.config


def test_config_refuses_a_bad_value_with_the_tables_reason_and_stores_nothing(capsys):
    stack = FakeStack()
    assert config(stack, "slot", "x") == Exit.USAGE
    assert config(stack, "workers", "12") == Exit.USAGE
    assert config(stack, "idePassword", "short") == Exit.USAGE
    assert config(stack, "slto", "1") == Exit.USAGE
    err = capsys.readouterr().err
    assert "slot = 'x': is not a whole number" in err and "nothing was stored" in err
    assert f"Fix: {lab_command('config', 'slot', '1', '--stack', stack.name)} (a whole number" in err  # not a bare `pulumi config set`
    assert "workers = '12': is outside 0..9" in err
    assert "idePassword = (hidden)" in err and "short" not in err.replace("shorter", "")
    assert "'slto' is not a k8s-lab setting; did you mean slot?" in err
    assert stack.config == {}


def test_config_lists_every_setting_with_its_value_or_default_and_masks_secrets(capsys):
    from k8s_lab.config import KEYS

    stack = FakeStack()
    config(stack, "slot", "3")
    config(stack, "idePassword", "long-password")
    capsys.readouterr()
    assert config(stack) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(KEYS)
    shown = dict(line.split(None, 1) for line in lines)
    assert shown["slot"] == "3" and shown["idePassword"] == "[secret]" and shown["workers"] == "(default: 2)"
    assert "long-password" not in "\n".join(lines)


def test_class_host_verbs_parse_with_the_common_options():
    parser = lab.build_parser()
    for verb in ("stop", "start", "status", "doctor"):
        args = parser.parse_args([verb, "--stack", "kim", "--no-fetch"])
        assert (args.action, args.stack, args.no_fetch) == (verb, "kim", True)
    assert parser.parse_args(["status", "--json"]).json is True


def test_an_unexpected_error_is_one_line_and_a_log_not_a_traceback(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(session, "LOG_DIR", tmp_path / "logs")

    def broken(args):
        raise KeyError("ideUrl")

    monkeypatch.setattr(lab, "run_verb", broken)
    assert lab.main(["info", "--stack", "kim"]) == Exit.INTERNAL
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "KeyError: 'ideUrl'" in err and "Traceback" not in err
    (log,) = (tmp_path / "logs").iterdir()
    assert log.name.startswith("kim-info-") and "Traceback" in log.read_text()


def test_a_program_that_failed_is_said_with_what_it_said(monkeypatch, capsys):
    from k8s_lab.runner import Result, RunError

    def failing(args):
        raise RunError(Result(("docker", "start", "kim-ide"), 1, "", "Error: No such container: kim-ide\n"))

    monkeypatch.setattr(lab, "run_verb", failing)
    assert lab.main(["start"]) == Exit.FAILED
    assert capsys.readouterr().err == "k8s-lab: `start` failed: `docker start kim-ide` exited with 1: Error: No such container: kim-ide\n"


def test_help_at_80_columns_breaks_no_word(tmp_path):
    """argparse broke a long word ("pa\\nssword") where it did not fit: at 80 columns the help
    has the same words as at 500."""
    def words(columns: int, *args: str) -> list[str]:
        env = {**os.environ, "COLUMNS": str(columns)}
        result = subprocess.run([sys.executable, str(ROOT / "lab.py"), *args, "--help"], capture_output=True, text=True, env=env, check=True)
        return result.stdout.split()

    for verb in ([], ["config"], ["up"]):
        assert words(80, *verb) == words(500, *verb), verb


def test_a_bad_config_value_is_refused_first_under_a_latin1_locale_as_a_subprocess(tmp_path):
    """`config labMemory -1g` on a fresh clone (no Pulumi CLI, no lab): the setting's own
    refusal, exit 2, no argparse usage line, no traceback, under PYTHONIOENCODING=latin-1 too."""
    env = {**os.environ, "PYTHONIOENCODING": "latin-1", "PATH": "/nonexistent", "K8S_LAB_TOOLS_DIR": str(tmp_path / "tools")}
    result = subprocess.run([sys.executable, str(ROOT / "lab.py"), "config", "labMemory", "-1g", "--stack", "김"],
                            capture_output=True, env=env, cwd=tmp_path)
    err = result.stderr.decode("latin-1")
    assert result.returncode == 2, err
    assert err.startswith("k8s-lab: labMemory = '-1g': is not a memory size. Fix: ") and "Traceback" not in err
    assert "config labMemory 6g --stack" in err and "usage:" not in err


def test_doctor_names_caps_a_docker_without_cgroups_cannot_apply(tmp_path):
    """Issue #31, as a student runs it: one problem per cap with its fix, exit 1, no traceback."""
    info = '{"MemTotal": 68719476736, "OperatingSystem": "Ubuntu 24.04", "MemoryLimit": false, "CpuCfsQuota": false, "NCPU": 8}'
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(f"#!/bin/sh\ncase \"$*\" in *info*) echo '{info}';; *) echo '';; esac\n")
    (bin_dir / "docker").chmod(0o755)
    result = run_lab(tmp_path, "doctor", "--stack", "kim")
    assert result.returncode == Exit.FAILED, result.stderr
    assert "[problem] labMemory = '6g': this Docker host has no memory cgroup (docker info MemoryLimit false" in result.stdout
    assert f"    Fix: {lab_command('config', 'labMemory', '0', '--stack', 'kim')} (no cap)" in result.stdout.splitlines()
    assert f"    Fix: {lab_command('config', 'labCpus', '0', '--stack', 'kim')} (no cap)" in result.stdout.splitlines()
    assert "Traceback" not in result.stdout + result.stderr
