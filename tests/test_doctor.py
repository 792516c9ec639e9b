"""k8s_lab.doctor: every rule on hand-made facts, and the routing-table reader."""

import json
import subprocess

from k8s_lab import doctor
from k8s_lab.doctor import Facts

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
    assert "127.0.0.1:8444 (ide)" in finding.what and "lab.py config slot <n>" in finding.fix
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
    def run(argv, **kwargs):
        return subprocess.CompletedProcess(argv, 0, json.dumps({"MemTotal": 8 * 1024**3, "OperatingSystem": "Docker Desktop"}), "")

    assert doctor.read_docker_info(run)["MemTotal"] == 8 * 1024**3
    assert doctor.read_docker_info(lambda argv, **kw: subprocess.CompletedProcess(argv, 1, "", "down")) == {}
