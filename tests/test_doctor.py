"""k8s_lab.doctor: every rule on hand-made facts, and the routing-table reader."""

import json
from dataclasses import replace

import pytest

from k8s_lab import doctor
from k8s_lab.doctor import Facts
from fakes import FakeRunner, fails, ok
from k8s_lab.exits import lab_command

LAB = lab_command()  # `venv/bin/python lab.py` as the messages name it

GOOD = dict(system="Linux", docker_memory_mb=32000, disk_free_gb=200, inotify_watches=524288, inotify_instances=512, routes=["172.17.0.0/16", "0.0.0.0/0"])


def found(**changes):
    return doctor.findings(Facts(**{**GOOD, **changes}))


def test_a_good_host_has_nothing_to_say():
    assert found() == []
    assert doctor.report([]).startswith("doctor: nothing found")


def test_memory_for_the_planned_labs():
    assert found(docker_memory_mb=4000)[0].what == "Docker has 3.9 GB of memory; 1 lab(s) need about 4.2 GB"
    assert found(docker_memory_mb=4000)[0].fix.startswith("run fewer labs")
    assert found(docker_memory_mb=16000, labs=7)  # 7 x 2220 + 2048 > 16000
    assert not found(docker_memory_mb=16000, labs=6)
    desktop = found(docker_memory_mb=2000, docker_desktop=True, system="Darwin")
    assert "Settings > Resources > Memory" in desktop[0].fix


def test_disk_space():
    (finding,) = found(disk_free_gb=8.5)
    assert "only 8.5 GB free" in finding.what and "docker system df" in finding.fix
    assert not found(disk_free_gb=None)  # Docker's disk not visible from here: no guess


def test_inotify_limits_on_linux_only():
    (finding,) = found(inotify_watches=8192, inotify_instances=128)
    assert "max_user_watches=8192" in finding.what and "fs.inotify.max_user_instances=512" in finding.fix
    assert "/etc/sysctl.d" in finding.fix
    assert not found(system="Darwin", inotify_watches=8192, inotify_instances=128)


def test_taken_ports_unless_the_lab_itself_holds_them():
    (finding,) = found(taken_ports=[("ide", 8444)], slot=0)
    assert "127.0.0.1:8444 (ide)" in finding.what and "lab.py config slot '<n>'" in finding.fix
    assert not found(taken_ports=[("ide", 8444)], own_lab_present=True)


def test_routes_into_the_seed_subnets():
    findings = found(routes=["10.110.4.0/24", "10.0.0.0/8", "0.0.0.0/0"])
    assert [f.what.split(" subnet ")[1].split(":")[0] for f in findings] == ["10.110.0.0/16", "10.120.0.0/16"]
    assert "10.110.4.0/24, 10.0.0.0/8" in findings[0].what and "VPN" in findings[0].fix
    assert not found(routes=["10.111.0.0/16", "0.0.0.0/0"])


def test_wsl_and_docker_desktop_notes():
    assert [f.severity for f in found(wsl=True)] == ["note"] and ".wslconfig" in found(wsl=True)[0].fix
    notes = found(system="Windows", docker_desktop=True, inotify_watches=None)
    assert len(notes) == 2 and "Resource Saver" in notes[1].what


def test_proc_net_route_is_read():
    text = (
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        "tun0\t00046E0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    )
    assert doctor.parse_proc_route(text) == ["0.0.0.0/0", "10.110.4.0/24"]


def test_docker_info_reader():
    info = {"MemTotal": 8 * 1024**3, "OperatingSystem": "Docker Desktop"}
    runner = FakeRunner({("docker", "info", "--format", "{{json .}}"): ok(json.dumps(info))})
    assert doctor.read_docker_info(runner, env={"DOCKER_HOST": "ssh://h"}) == info
    (call,) = runner.calls
    assert call.env == {"DOCKER_HOST": "ssh://h"} and call.timeout == 30
    assert doctor.read_docker_info(FakeRunner({("docker",): fails("down")})) == {}
    assert doctor.read_docker_info(FakeRunner({("docker",): ok("  \n")})) == {}


# ---- each finding exactly: severity, what, fix; the thresholds at their edge ------------------------


def test_memory_at_the_edge_and_its_exact_finding():
    need = 2220 + doctor.HOST_RESERVED_MB
    assert not found(docker_memory_mb=need) and found(docker_memory_mb=need - 1)
    desktop_facts = Facts(system="Darwin", docker_desktop=True)
    assert not doctor.memory_findings(replace(desktop_facts, docker_memory_mb=2220))
    assert doctor.memory_findings(replace(desktop_facts, docker_memory_mb=2219))
    assert found(docker_memory_mb=None) == []
    assert found(docker_memory_mb=4096, labs=2) == [
        doctor.Finding(
            "problem",
            "Docker has 4.0 GB of memory; 2 lab(s) need about 6.3 GB",
            "run fewer labs on this host (spread the roster over hosts with classroom.py's dockerHost column), or add memory",
        )
    ]
    assert doctor.memory_findings(replace(desktop_facts, docker_memory_mb=2000)) == [
        doctor.Finding(
            "problem",
            "Docker has 2.0 GB of memory; 1 lab(s) need about 2.2 GB",
            "give Docker Desktop at least 2 GB (Settings > Resources > Memory; on WSL 2, memory= in %UserProfile%\\.wslconfig)",
        )
    ]


def test_disk_at_the_edge_and_its_exact_finding():
    assert not found(disk_free_gb=20) and found(disk_free_gb=19.99)
    (finding,) = found(disk_free_gb=3.25)
    assert finding.severity == "problem"
    assert finding.what == "only 3.2 GB free where Docker keeps images and containers; kind nodes stop scheduling pods under disk pressure"
    assert finding.fix.startswith("docker system prune (removes stopped containers")


@pytest.mark.parametrize("watches, instances, flagged", [(524288, 512, False), (524287, 512, True), (524288, 511, True), (10**6, 10**4, False)])
def test_inotify_each_limit_at_its_edge(watches, instances, flagged):
    result = found(inotify_watches=watches, inotify_instances=instances)
    assert [f.severity for f in result] == (["problem"] if flagged else [])


def test_inotify_unknown_says_nothing():
    assert not found(inotify_watches=None, inotify_instances=8)
    assert not found(inotify_watches=8, inotify_instances=None)


def test_inotify_finding_exactly():
    (finding,) = found(inotify_watches=8192, inotify_instances=128)
    assert finding.what == (
        'fs.inotify.max_user_watches=8192, max_user_instances=128: pods fail with "too many open files" once a few kind nodes run (kind known issues)'
    )
    assert finding.fix == (
        "sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512, "
        "and the same two lines in /etc/sysctl.d/99-kind.conf to keep them after a reboot"
    )


def test_taken_ports_finding_exactly():
    # The API server is published on 127.0.0.1 whatever bindAddress says (k8s_lab/exposure.py).
    (finding,) = found(taken_ports=[("ide", 8544), ("api", 6544)], slot=1, bind_address="0.0.0.0", stack="lee")
    assert finding == doctor.Finding(
        "problem",
        "slot 1 needs host ports that are already in use: 0.0.0.0:8544 (ide) 127.0.0.1:6544 (api)",
        f"pick a free slot ({LAB} config slot '<n>' --stack lee), or stop what listens there.",
    )
    assert doctor.port_findings(Facts(system="Linux")) == []


def test_a_route_is_flagged_only_when_it_overlaps_and_is_not_the_default():
    assert not found(routes=["0.0.0.0/0", "10.109.255.0/24", "10.121.0.0/16"])
    (finding,) = found(routes=["10.120.5.7/32"])
    assert finding.severity == "problem" and finding.what.startswith("the host routes 10.120.5.7/32, which overlaps the cluster's service subnet 10.120.0.0/16")
    assert finding.fix == "disconnect the VPN or remove that route while the class runs; the seed's subnets are fixed in k8s_lab/kind_config.py"
    assert [f.what.split(",")[0] for f in found(routes=["10.110.0.1/16"])] == ["the host routes 10.110.0.1/16"]  # host bits allowed


@pytest.mark.parametrize(
    "changes, notes",
    [
        (dict(wsl=True), ["WSL 2"]),
        (dict(system="Windows", docker_desktop=True), ["WSL 2", "Resource Saver"]),
        (dict(system="Windows", docker_desktop=False), []),
        (dict(system="Darwin", docker_desktop=True), ["Resource Saver"]),
        (dict(system="Linux"), []),
    ],
)
def test_platform_notes_are_notes_never_problems(changes, notes):
    result = found(**changes)
    assert [f.severity for f in result] == ["note"] * len(notes)
    assert [("WSL 2" if "WSL 2" in f.what else "Resource Saver") for f in result] == notes


def test_findings_come_in_rule_order_and_the_report_counts_them():
    result = found(docker_memory_mb=1000, disk_free_gb=1, inotify_watches=1, routes=["10.110.0.0/16"], wsl=True,
                   taken_ports=[("ide", 8444)])
    assert [f.what.split(" ")[0] for f in result] == ["Docker", "only", "fs.inotify.max_user_watches=1,", "slot", "the", "WSL"]
    assert doctor.report(result) == "\n".join(str(f) for f in result) + "\ndoctor: 5 problem(s), 1 note(s)."
    assert doctor.report(result).count("\n[") == 5  # one finding per paragraph
    assert str(result[-1]) == f"[note] {result[-1].what}\n    Fix: {result[-1].fix}"


def test_readers_of_the_host(tmp_path, monkeypatch):
    number = tmp_path / "n"
    number.write_text("524288\n")
    assert doctor.read_int(str(number)) == 524288
    number.write_text("many")
    assert doctor.read_int(str(number)) is None and doctor.read_int(str(tmp_path / "absent")) is None
    assert doctor.disk_free_gb(None) is None and doctor.disk_free_gb(str(tmp_path / "absent")) is None
    assert doctor.disk_free_gb(str(tmp_path)) > 0
    assert doctor.parse_proc_route("Iface\tDestination\n" + "eth0\t00000000\t0\t0\n") == []  # a short line is not a route


def test_gather_reads_docker_through_the_runner_and_the_host_only_when_local(monkeypatch, tmp_path):
    info = {"MemTotal": 8 * 1024**3, "OperatingSystem": "Docker Desktop", "DockerRootDir": str(tmp_path)}
    runner = FakeRunner({("docker", "info"): ok(json.dumps(info)), ("docker", "ps"): ok("kim-registry\n"),
                         ("docker", "inspect"): ok(json.dumps(CLASS_HOST[1:2]))})
    monkeypatch.setattr(doctor, "read_int", lambda path: {"/proc/sys/fs/inotify/max_user_watches": 1, "/proc/sys/fs/inotify/max_user_instances": 2}[path])
    monkeypatch.setattr(doctor, "read_routes", lambda: ["10.0.0.0/8"])
    monkeypatch.setattr(doctor.host_ports, "taken_ports", lambda bind, ports: [("ide", ports.ide)])
    monkeypatch.setattr(doctor.platform, "system", lambda: "Linux")
    local = doctor.gather(2, "127.0.0.1", own_lab_present=True, labs=3, runner=runner)
    assert (local.system, local.docker_desktop, local.docker_memory_mb, local.labs, local.slot) == ("Linux", True, 8192, 3, 2)
    assert (local.inotify_watches, local.inotify_instances, local.routes, local.own_lab_present) == (1, 2, ["10.0.0.0/8"], True)
    assert local.taken_ports == [("ide", 8644)] and local.disk_free_gb > 0
    assert local.published == [doctor.Binding("kim", "kim-registry", "5000/tcp", "0.0.0.0", 5001)] and not local.remote
    far = doctor.gather(2, "127.0.0.1", own_lab_present=False, local=False, env={"DOCKER_HOST": "ssh://h"}, runner=runner)
    assert (far.disk_free_gb, far.inotify_watches, far.inotify_instances, far.taken_ports, far.routes) == (None, None, None, [], [])
    assert far.remote and far.published == local.published  # what lab2's Docker publishes, asked there
    assert [call.env for call in runner.calls[-3:]] == [{"DOCKER_HOST": "ssh://h"}] * 3
    silent = doctor.gather(0, "127.0.0.1", own_lab_present=False, local=False, runner=FakeRunner({("docker",): fails("down")}))
    assert (silent.docker_memory_mb, silent.docker_desktop) == (None, False)


def test_gigabytes_are_binary_in_every_memory_figure():
    (finding,) = doctor.memory_findings(Facts(system="Linux", docker_memory_mb=2100, lab_footprint_mb=2100 - doctor.HOST_RESERVED_MB + 1))
    assert finding.what == "Docker has 2.1 GB of memory; 1 lab(s) need about 2.1 GB"  # 2100 / 1024 = 2.05
    (desktop,) = doctor.memory_findings(Facts(system="Darwin", docker_desktop=True, docker_memory_mb=1000, lab_footprint_mb=2561))
    assert desktop.fix.startswith("give Docker Desktop at least 3 GB ")  # 2561 / 1024 = 2.5009


def test_the_pod_subnet_finding_and_the_platform_notes_exactly():
    (pod,) = found(routes=["10.110.4.0/24"])
    assert pod.what == (
        "the host routes 10.110.4.0/24, which overlaps the cluster's pod subnet 10.110.0.0/16: "
        "traffic to those pod addresses can leave through the host's network instead (a VPN often does this)"
    )
    assert found(system="Windows", docker_desktop=True, inotify_watches=None) == [
        doctor.Finding(
            "note",
            "WSL 2 gives its VM half the host's memory by default; Docker Desktop's labs live inside it",
            "set memory= (e.g. memory=12GB) under [wsl2] in %UserProfile%\\.wslconfig, then wsl --shutdown",
        ),
        doctor.Finding(
            "note",
            "Docker Desktop's Resource Saver pauses its VM after idle minutes: the first request to a lab then hangs or times out",
            "turn off Resource Saver (Settings > Resources > Advanced) on a host that serves a class",
        ),
    ]
    (disk,) = found(disk_free_gb=1)
    assert disk.fix == (
        "docker system prune (removes stopped containers of other projects and unused images; check first with docker system df), "
        "or free space on that disk"
    )


def test_route_lines_of_eight_fields_count_and_host_bits_are_dropped():
    header = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
    assert doctor.parse_proc_route(header + "tun0\t01046E0A\t0\t1\t0\t0\t0\t00FFFFFF\n") == ["10.110.4.0/24"]
    assert doctor.parse_proc_route(header + "tun0\t01046E0A\t0\t1\t0\t0\t0\n") == []  # seven fields: no mask


def test_this_hosts_routes_and_disk_are_read(tmp_path):
    from pathlib import Path
    import shutil

    if Path("/proc/net/route").exists():
        assert doctor.read_routes() == doctor.parse_proc_route(Path("/proc/net/route").read_text())
    assert abs(doctor.disk_free_gb(str(tmp_path)) - shutil.disk_usage(tmp_path).free / doctor.GB) < 1


@pytest.mark.parametrize("version, wsl", [("Linux version 5.15.153.1-microsoft-standard-WSL2", True), ("Linux version 6.8.0-generic", False), (None, False)])
def test_wsl_is_seen_in_the_kernels_version(version, wsl, monkeypatch):
    import builtins
    import io

    def fake_open(path, *args, **kwargs):
        if path == "/proc/version":
            if version is None:
                raise OSError("no /proc")
            return io.StringIO(version)
        return builtins.open(path, *args, **kwargs)

    monkeypatch.setattr(doctor, "open", fake_open, raising=False)
    facts = doctor.gather(0, "127.0.0.1", own_lab_present=False, local=False, runner=FakeRunner({("docker",): fails("down")}))
    assert facts.wsl is wsl


# ---- what running labs publish beyond loopback (issue 30) ------------------------------


def inspected(name, ports, labels=None):
    """One container as `docker inspect` prints it (only the fields the doctor reads)."""
    published = {key: [{"HostIp": ip, "HostPort": str(port)} for ip, port in binds] if binds is not None else None
                 for key, binds in ports.items()}
    return {"Name": f"/{name}", "Config": {"Labels": labels or {}}, "NetworkSettings": {"Ports": published}}


# kim: made before issue 30 (registry on 0.0.0.0); lee: as the table says; park: loopback only.
CLASS_HOST = [
    inspected("kim-ide", {"8443/tcp": [("0.0.0.0", 8444), ("::", 8444)], "5500/tcp": [("0.0.0.0", 5500)]}),
    inspected("kim-registry", {"5000/tcp": [("0.0.0.0", 5001)]}),
    inspected("kim-control-plane", {"80/tcp": [("0.0.0.0", 80)], "443/tcp": [("0.0.0.0", 443)], "6443/tcp": [("127.0.0.1", 6550)]},
              {"io.x-k8s.kind.cluster": "kim"}),
    inspected("lee-ide", {"8443/tcp": [("0.0.0.0", 8544)], "5500/tcp": [("0.0.0.0", 5600)]}),
    inspected("lee-registry", {"5000/tcp": [("127.0.0.1", 5101)]}),
    inspected("park-ide", {"8443/tcp": [("127.0.0.1", 8644)], "5500/tcp": None}),  # None: exposed, not published
    inspected("someone-elses-db", {"5432/tcp": [("0.0.0.0", 5432)]}),  # not a lab's container
]


def class_host_facts(remote=False):
    return Facts(**GOOD, published=doctor.parse_bindings(CLASS_HOST), remote=remote)


def test_the_doctor_lists_what_each_running_lab_publishes_beyond_loopback():
    found = doctor.exposure_findings(class_host_facts())
    assert [(f.severity, f.what.split(" ")[1]) for f in found] == [("problem", "kim"), ("note", "kim"), ("note", "lee")]
    problem, kim, lee = found
    assert problem.what == (
        "lab kim publishes beyond loopback what k8s_lab/exposure.py keeps on it: "
        "0.0.0.0:5001 (the student's image registry (push and pull), protection: none)"
    )
    assert problem.fix.startswith(f"{lab_command('up', '--stack', 'kim')} (publishes it on 127.0.0.1")
    assert kim.what == (
        "lab kim is reachable beyond loopback on 0.0.0.0:80 (ingress (HTTP), protection: none (meant to be shown)); "
        "0.0.0.0:443 (ingress (HTTPS), protection: none (meant to be shown)); "
        "0.0.0.0:5500 (the IDE's live-server port, protection: none (meant to be shown)); "
        "0.0.0.0:8444 (code-server, the IDE (a root shell with the host's docker), protection: password); "
        ":::8444 (code-server, the IDE (a root shell with the host's docker), protection: password)"
    )
    assert "6550" not in kim.what and "park" not in " ".join(f.what for f in found) and "5432" not in lee.what
    assert lab_command("config", "bindAddress", "127.0.0.1", "--stack", "lee") in lee.fix
    assert doctor.findings(class_host_facts()) == found  # one of the doctor's rules


def test_an_api_server_beyond_loopback_is_a_problem_here_and_expected_on_a_docker_host():
    api = [inspected("kim-control-plane", {"6443/tcp": [("0.0.0.0", 6550)]}, {"io.x-k8s.kind.cluster": "kim"})]
    here = doctor.exposure_findings(Facts(**GOOD, published=doctor.parse_bindings(api)))
    assert [f.severity for f in here] == ["problem"] and "6550 (kind's API server (cluster-admin), protection: client certificate)" in here[0].what
    there = doctor.exposure_findings(Facts(**GOOD, published=doctor.parse_bindings(api), remote=True))
    assert [f.severity for f in there] == ["note"]
    # On a dockerHost the registry still belongs on loopback.
    assert "5001" in doctor.exposure_findings(replace(class_host_facts(), remote=True))[0].what


def test_a_lab_port_outside_the_table_is_a_problem():
    odd = [inspected("kim-ide", {"22/tcp": [("0.0.0.0", 2222)]})]
    (finding,) = doctor.exposure_findings(Facts(**GOOD, published=doctor.parse_bindings(odd)))
    assert finding.severity == "problem" and "0.0.0.0:2222 (kim-ide 22/tcp, not a port of the table)" in finding.what


def test_the_kind_label_names_the_lab_and_unpublished_ports_are_skipped():
    bindings = doctor.parse_bindings(CLASS_HOST)
    assert {b.lab for b in bindings} == {"kim", "lee", "park"}
    assert doctor.Binding("park", "park-ide", "8443/tcp", "127.0.0.1", 8644) in bindings
    assert not [b for b in bindings if b.container_port == "5500/tcp" and b.lab == "park"]
    node = [inspected("x-control-plane", {"80/tcp": [("", 80)]}, {"io.x-k8s.kind.cluster": "class-7"})]
    assert doctor.parse_bindings(node) == [doctor.Binding("class-7", "x-control-plane", "80/tcp", "0.0.0.0", 80)]


def test_read_published_asks_docker_through_the_runner():
    names = "kim-ide\nkim-registry\nsomeone-elses-db\nkim-worker\n"
    runner = FakeRunner({("docker", "ps"): ok(names), ("docker", "inspect"): ok(json.dumps(CLASS_HOST[:2]))})
    bindings = doctor.read_published(runner, env={"DOCKER_HOST": "ssh://t@lab2"})
    assert runner.argvs == [("docker", "ps", "--format", "{{.Names}}"), ("docker", "inspect", "kim-ide", "kim-registry")]
    assert {call.env["DOCKER_HOST"] for call in runner.calls} == {"ssh://t@lab2"}
    assert [b.host_port for b in bindings] == [5500, 8444, 8444, 5001]
    assert doctor.read_published(FakeRunner({("docker", "ps"): ok("db\n")})) == []  # no lab: nothing inspected
    assert doctor.read_published(FakeRunner({("docker",): fails("down")})) == []
