"""The checks classroom.py makes before anything starts, as pure rules: the mirror's ports
in the port plan, the class against the host's memory, inotify and PID limits; and the
bits of the class run that need no process: destroy's question, progress clocks, fetched
tools reaching the children."""

from __future__ import annotations

import io
import socket
import time

import pytest

import classroom
from k8s_lab import capacity, mirror, ports
from k8s_lab.exits import Exit
from k8s_lab.shell_form import class_command
from k8s_lab.orchestrate import Progress
from k8s_lab.roster import parse_roster


def test_the_mirror_and_every_slot_bind_different_ports():
    every_slot_port = {p for slot in range(ports.MAX_SLOT + 1) for p in ports.ports_for_slot(slot).as_dict().values()}
    mirror_ports = {mirror.DEFAULT_PORT + upstream.offset for upstream in mirror.UPSTREAMS}
    assert mirror_ports == set(ports.MIRROR_PORTS)
    assert not mirror_ports & every_slot_port
    assert not mirror_ports & set(ports.COMMON_HOST_PORTS)
    assert mirror.port_problems(mirror.DEFAULT_PORT) == []
    assert ports.ports_for_slot(0).registry not in mirror_ports


@pytest.mark.parametrize(
    ("port", "why"),
    [(5000, "macOS's AirPlay Receiver"), (5001, "slot 0's registry port"), (8744, "slot 3's ide port"), (7000, "slot 15's live_server port"), (5353, "mDNS"), (80, "outside 1024")],
)
def test_a_class_port_off_the_plan_is_refused_with_its_owner(port, why):
    assert why in ports.class_port_problem(port)


def test_slot_port_owner_inverts_the_plan():
    for slot in (0, 1, 99, ports.MAX_SLOT):
        for purpose, port in ports.ports_for_slot(slot).as_dict().items():
            assert ports.slot_port_owner(port) == (slot, purpose)
    assert ports.slot_port_owner(5010) is None and ports.slot_port_owner(443 - 100) is None


def test_a_cache_whose_port_is_held_is_not_started():
    calls = []

    def docker(argv):
        calls.append(argv)
        from subprocess import CompletedProcess

        return CompletedProcess(argv, 1 if argv[0] == "inspect" else 0, "", "No such object")

    with pytest.raises(RuntimeError, match=r"0.0.0.0:5010 is already in use"):
        mirror.ensure_caches(docker, can_bind=lambda address, port: port != 5010)
    assert all(argv[0] == "inspect" for argv in calls)  # nothing was run


GB = 1024


def host(memory_gb=64, **kw):
    return capacity.Host("this host", memory_gb * GB, **kw)


def test_memory_is_held_against_every_lab_at_its_cap():
    assert capacity.memory_problem(host(64), [6 * GB] * 10) is None  # 60 + 2 <= 64
    problem = capacity.memory_problem(host(64), [6 * GB] * 28)
    assert problem.startswith("this host: 28 labs may use 170.0 GB at their caps (labMemory up to 6.0 GB each, plus 2 GB for the host)")
    assert "Docker has 64.0 GB: 10 fit" in problem and "--set labMemory=3g: 20 fit" in problem and "--over-capacity" in problem
    assert capacity.memory_problem(host(61, docker_desktop=True), [6 * GB] * 10) is None  # no host share inside Desktop's VM
    assert "plus 2 GB for the host" in capacity.memory_problem(host(61), [6 * GB] * 10)
    assert capacity.memory_problem(capacity.Host("x", None), [6 * GB] * 99) is None  # Docker did not say


def test_labs_that_fit_counts_the_smallest_first():
    assert capacity.labs_that_fit(10 * GB, 2 * GB, [6 * GB, 3 * GB, 3 * GB]) == 2
    assert capacity.labs_that_fit(1 * GB, 2 * GB, [1]) == 0


def test_a_lab_without_a_cap_counts_its_typical_footprint():
    assert capacity.lab_mb("0") == capacity.TYPICAL_LAB_MB
    assert capacity.lab_mb(None) == 6 * GB and capacity.lab_mb("3g") == 3 * GB


def test_inotify_and_pids():
    low = host(inotify_watches=8192, inotify_instances=128, pid_max=32768)
    found = capacity.problems(low, [GB] * 30)
    assert any("fs.inotify.max_user_watches=8192" in p and "sudo sysctl" in p for p in found)
    assert any(p.startswith("this host: kernel.pid_max is 32768; 30 labs") and "21 fit" in p for p in found)
    few_instances = host(inotify_watches=524288, inotify_instances=128)
    assert "max_user_instances=128" in capacity.inotify_problem(few_instances, 3)
    good = host(inotify_watches=524288, inotify_instances=512, pid_max=4194304)
    assert capacity.problems(good, [GB] * 30) == []


def test_every_figure_of_a_memory_problem_is_the_hosts():
    assert capacity.labs_that_fit(10 * GB, 2 * GB, [4 * GB, 4 * GB]) == 2  # exactly full fits
    assert capacity.memory_problem(host(60, docker_desktop=True), [6 * GB] * 10) is None  # exactly full fits
    # 11 GB less the host's 2 is three 3 GB labs exactly; 3124 MB is 3.05 GB (3.1 shown).
    assert capacity.memory_problem(host(11), [3124] * 3) == (
        "this host: 3 labs may use 11.2 GB at their caps (labMemory up to 3.1 GB each, plus 2 GB for the host) and Docker has "
        "11.0 GB: 2 fit. Fix: a smaller cap for the class (--set labMemory=3g: 3 fit), spread the roster over hosts (dockerHost "
        "column), add memory, or --over-capacity to start anyway (caps are limits, not reservations: a typical lab uses about "
        "2.2 GB)"
    )
    desktop = capacity.memory_problem(host(8, docker_desktop=True), [6 * GB] * 2)
    assert desktop.startswith("this host: 2 labs may use 12.0 GB at their caps (labMemory up to 6.0 GB each) and Docker has 8.0 GB: 1 fit.")
    # Docker with less than the host's own share: none fit, never a negative count.
    assert "Docker has 1.5 GB: 0 fit. Fix: a smaller cap for the class (--set labMemory=3g: 0 fit)" in capacity.memory_problem(
        capacity.Host("this host", 1536), [3 * GB])


def test_inotify_and_pid_limits_are_checked_only_when_known_and_named_with_their_fix():
    unknown_instances = host(inotify_watches=8192, inotify_instances=None)
    assert capacity.inotify_problem(unknown_instances, 3) is None
    low = host(inotify_watches=8192, inotify_instances=128, pid_max=4500)
    assert capacity.inotify_problem(low, 0) is None and capacity.pid_problem(low, 0) is None  # no lab on this host
    assert capacity.inotify_problem(low, 3) == (
        "this host: fs.inotify.max_user_watches=8192, max_user_instances=128: pods fail with \"too many open files\" once a few "
        "kind nodes run (kind's known issues). Fix: sudo sysctl fs.inotify.max_user_watches=524288 "
        "fs.inotify.max_user_instances=512 (and the same in /etc/sysctl.d/99-kind.conf), or --over-capacity"
    )
    assert capacity.pid_problem(low, 3) is None  # 3 x 1500 is exactly 4500
    assert capacity.pid_problem(low, 4) == (
        "this host: kernel.pid_max is 4500; 4 labs may run about 6000 processes and threads (an estimate of 1500 a lab): "
        "3 fit. Fix: sudo sysctl kernel.pid_max=4194304 (and the same in /etc/sysctl.d/), fewer labs on this host, or "
        "--over-capacity"
    )


def test_the_class_is_counted_per_docker_host():
    entries = classroom.read_roster(b"student,dockerHost\nkim,\nlee,ssh://t@lab2\npark,ssh://t@lab2\n")[0]
    settings = {"kim": {}, "lee": {"labMemory": "3g"}, "park": {}}
    asked = []

    def read(docker_host):
        asked.append(docker_host)
        return capacity.Host(docker_host or "this host", 8 * GB)

    problems = classroom.capacity_problems(entries, settings, read)
    assert asked == ["", "ssh://t@lab2"]
    assert [p.split(":")[0] for p in problems] == ["ssh"]  # 3 + 6 + 2 > 8; kim's 6 + 2 fits
    assert "2 labs may use 11.0 GB" in problems[0]


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_destroy_asks_on_a_terminal_and_takes_only_yes(capsys):
    assert classroom.confirm_destroy(["kim"], yes=False, stdin=Terminal("yes\n")) is None
    assert "did not answer 'yes'" in classroom.confirm_destroy(["kim"], yes=False, stdin=Terminal("y\n"))
    assert "--yes" in classroom.confirm_destroy(["kim"], yes=False, stdin=io.StringIO("yes\n"))  # a pipe is no terminal
    assert classroom.confirm_destroy(["kim"], yes=True, stdin=None) is None
    assert "Type 'yes'" in capsys.readouterr().err  # a question is no data: stderr


def test_a_students_clock_runs_from_its_start_to_its_end():
    progress = Progress()
    progress.set("kim", "waiting")
    time.sleep(0.05)
    assert progress.snapshot() == [("kim", "waiting", 0.0)]
    progress.set("kim", "starting")
    time.sleep(0.05)
    progress.set("kim", "done")
    (_, _, finished), = progress.snapshot()
    time.sleep(0.05)
    assert progress.snapshot() == [("kim", "done", finished)] and 0.04 < finished < 1


def test_only_a_lab_on_every_interface_of_this_machine_without_a_host_name_gets_this_machines():
    entries = parse_roster("student,dockerHost\nkim,\nlee,\npark,\nchoi,ssh://t@lab2\nyun,\n")
    settings = {"kim": {"bindAddress": "0.0.0.0"}, "lee": {"bindAddress": "0.0.0.0", "hostName": "teacher.lan"},
                "park": {}, "choi": {"bindAddress": "0.0.0.0"}, "yun": {"bindAddress": "127.0.0.1"}}
    assert classroom.default_host_names(entries, settings) == {"kim": socket.gethostname()}


def test_a_fetch_that_fails_is_one_line(tmp_path, monkeypatch, capsys):
    from k8s_lab import tools

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    said = {"docker": "24.0.7", "kind": f"kind {tools.KIND_VERSION} go1.22.2 linux/amd64"}  # the pinned kind: not fetched
    for name, version in said.items():
        (bin_dir / name).write_text(f"#!/bin/sh\necho '{version}'\n")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("K8S_LAB_TOOLS_DIR", str(tmp_path / "tools"))

    def unreachable(layout, **kwargs):
        raise tools.FetchError("cannot reach get.pulumi.com: network is unreachable")

    monkeypatch.setattr(tools, "install_pulumi", unreachable)
    roster = tmp_path / "class.csv"
    roster.write_text("student\nkim\n")
    assert classroom.main(["preview", str(roster)]) == Exit.NOT_READY  # as lab.py: the tools are not ready
    assert capsys.readouterr().err == "k8s-lab: cannot reach get.pulumi.com: network is unreachable\n"


def test_what_a_class_repository_never_holds_is_git_ignored(tmp_path):
    import subprocess

    from conftest import ROOT

    # Our .gitignore alone, in a repository of its own: a copy of the checkout inside an ignored
    # folder (mutmut's mutants/) would have every path ignored by the outer repository.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text((ROOT / ".gitignore").read_text())
    paths = ["handouts/kim.md", "logs/kim-up.log", ".pulumi-state/passphrase", ".tools/kind", "Pulumi.kim.yaml"]
    result = subprocess.run(["git", "check-ignore", *paths], cwd=tmp_path, capture_output=True, text=True)
    assert result.stdout.split() == paths[:-1]  # the stack file is meant to be committed


def test_readme_names_the_reserved_names_and_the_secrets_preview_yml_uses():
    from conftest import ROOT
    from k8s_lab.names import RESERVED_NAMES

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## A classroom"):readme.index("## A shared classroom host")]
    assert all(f"`{name}`" in section for name in RESERVED_NAMES)
    workflow = (ROOT / ".github" / "workflows" / "preview.yml").read_text(encoding="utf-8")
    for secret in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"):
        assert f"secrets.{secret}" in workflow and f"`{secret}`" in section


def test_a_mirror_on_this_host_on_a_students_ports_is_refused():
    entries = classroom.read_roster(b"student,dockerHost\nkim,\nlee,\nfar,ssh://t@lab2\n")[0]
    slots = {"kim": 0, "lee": 1, "far": 0}
    old = {s: {"registryMirror": "http://teacher:5000"} for s in slots}  # the old default: 5000 and 5001
    problems = classroom.mirror_problems(entries, slots, old, local=lambda url: True)
    assert problems == [
        "registryMirror http://teacher:5000: its registry.k8s.io cache's port 5001 is kim's registry port (slot 0) on the same host; "
        f"fix: run the mirror on its own ports ({class_command('mirror', '--port', '5010')}) and set registryMirror to match"
    ]
    assert classroom.mirror_problems(entries, slots, old, local=lambda url: False) == []  # the mirror is elsewhere
    new = {s: {"registryMirror": "http://teacher:5010"} for s in slots}
    assert classroom.mirror_problems(entries, slots, new, local=lambda url: True) == []
    assert classroom.on_this_host("http://127.0.0.1:5010") and not classroom.on_this_host("http://192.0.2.1:5010")


def test_a_shared_backend_is_told_which_passphrase_preview_yml_needs(tmp_path, monkeypatch):
    from k8s_lab import session

    made = tmp_path / "passphrase"
    real = session.passphrase_env
    monkeypatch.setattr(session, "passphrase_env", lambda environ, **options: real(environ, made, **options))
    prepared = session.PreparedTools(path="/tools:/usr/bin")
    env, notices = classroom.class_env({"PATH": "/usr/bin"}, "s3://class-state", prepared)
    assert env["PULUMI_BACKEND_URL"] == "s3://class-state" and env["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(made)
    assert env["PATH"].split(":")[1:3] == ["/tools", "/usr/bin"]  # after this interpreter's folder
    assert any("repository secret PULUMI_CONFIG_PASSPHRASE" in n and "s3://class-state as PULUMI_BACKEND_URL" in n for n in notices)
    _, own = classroom.class_env({"PATH": "/usr/bin", "PULUMI_CONFIG_PASSPHRASE": "x"}, "s3://class-state", prepared)
    assert own == []  # the teacher's own passphrase: nothing to tell


def test_a_problem_under_over_capacity_names_the_other_fixes_but_not_the_flag_given():
    small = capacity.Host("this host", 12 * 1024, inotify_watches=8192, inotify_instances=128, pid_max=32768)
    for overridden in (False, True):
        found = capacity.problems(small, [6 * 1024] * 30, overridden)  # memory, inotify and PIDs: 30 x 1500 > 32768
        assert len(found) == 3 and all((capacity.OVERRIDE in problem) is not overridden for problem in found), found
        assert all("Fix: " in problem for problem in found)


def test_caps_a_docker_host_cannot_apply_are_named_per_student():
    """Issue #31: a Docker without memory/CPU cgroups drops or refuses the caps; the class is
    told before anything starts, with the --set that turns them off."""
    entries = classroom.read_roster(b"student,dockerHost\nkim,\nlee,ssh://t@nas\n")[0]
    settings = {"kim": {}, "lee": {"labMemory": "0", "labCpus": "0"}}
    no_cgroups = {"MemoryLimit": False, "CpuCfsQuota": False, "NCPU": 4}
    asked = []

    def read(docker_host):
        asked.append(docker_host)
        return capacity.Host(docker_host or "this host", 64 * GB, cgroups=no_cgroups)

    problems = classroom.cap_problems(entries, settings, read)
    assert [p.split(":")[0] for p in problems] == ["kim (this host)", "kim (this host)"]  # lee's caps are off
    assert problems[0].startswith("kim (this host): labMemory = '6g': this Docker host has no memory cgroup")
    assert problems[1].endswith("Fix: --set labCpus=0 (no cap)")
    assert classroom.cap_problems(entries, settings, lambda host: capacity.Host("x", 64 * GB)) == []  # Docker said nothing
