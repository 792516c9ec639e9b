"""k8s_lab.status: every rule of `lab.py status` on hand-made facts, and its readers' parsing."""

import json

from k8s_lab import status
from k8s_lab.ports import ports_for_slot
from k8s_lab.status import Container, Facts
from k8s_lab.exits import lab_command

P = ports_for_slot(1)
NODES = ("kim-control-plane", "kim-worker", "kim-worker2")


def healthy(**changes) -> Facts:
    containers = {
        "kim-ide": Container("running", "healthy", (P.ide, P.live_server), 600, 1675, 2.0, 2),
        "kim-registry": Container("running", None, (P.registry,), 20, None, 0.1, None),
        "kim-control-plane": Container("running", None, (P.http, P.https, P.api), 800, 2234, 10.0, 2),
        "kim-worker": Container("running", None, (), 400, 1117, 3.0, 2),
        "kim-worker2": Container("running", None, (), 400, 1117, 3.0, 2),
    }
    facts = dict(student="kim", stack="kim", workers=2, slot=1, containers=containers, ready={n: True for n in NODES},
                 api_reachable=True, last_change="update succeeded 2026-11-25 09:00")
    facts.update(changes)
    return Facts(**facts)


def with_container(name, **changes) -> dict:
    containers = dict(healthy().containers)
    containers[name] = Container(**{**containers[name].__dict__, **changes})
    return containers


def test_a_healthy_lab_reports_everything_and_needs_no_repair():
    report = status.assess(healthy())
    assert report.state == "running" and report.problems == [] and report.repair is None
    assert report.ide == "healthy" and report.nodes_ready == "3 of 3" and report.api_reachable
    assert all(report.ports_bound.values()) and set(report.ports_bound) == set(P.as_dict())
    assert report.memory_mb == 2220 and report.memory_cap_mb is None  # the registry has no cap: no lab total
    assert report.cpus_cap == 2 and report.last_change.startswith("update succeeded")


def test_a_stopped_lab_is_stopped_not_lost_and_start_repairs_it():
    stopped = {name: Container("exited", None, (), None, c.memory_cap_mb) for name, c in healthy().containers.items()}
    report = status.assess(healthy(containers=stopped, ready=None, api_reachable=False))
    assert report.state == "stopped" and report.repair == lab_command("start", "--stack", "kim")
    assert report.memory_mb is None


def test_one_stopped_container_is_named_and_start_repairs_it():
    report = status.assess(healthy(containers=with_container("kim-worker2", state="exited")))
    assert report.state == "broken" and report.problems == ["kim-worker2 is stopped"]
    assert report.repair == lab_command("start", "--stack", "kim")


def test_gone_pieces_are_named_and_up_repairs_them():
    containers = {k: v for k, v in healthy().containers.items() if k not in ("kim-worker", "kim-ide")}
    report = status.assess(healthy(containers=containers))
    assert report.problems == ["kim-ide, kim-worker are gone"] and report.repair == lab_command("up", "--stack", "kim")
    assert report.ide == "missing"


def test_no_lab_at_all_says_up():
    report = status.assess(healthy(containers={}, ready=None, api_reachable=False))
    assert report.state == "absent" and report.repair == lab_command("up", "--stack", "kim")


def test_nodes_not_ready_are_counted():
    report = status.assess(healthy(ready={"kim-control-plane": True, "kim-worker": False, "kim-worker2": True}))
    assert report.nodes_ready == "2 of 3" and "only 2 of 3 nodes are Ready" in report.problems
    assert report.repair == lab_command("start", "--stack", "kim")


def test_unhealthy_ide_is_restarted():
    report = status.assess(healthy(containers=with_container("kim-ide", health="unhealthy")))
    assert report.ide == "unhealthy" and report.repair == "docker restart kim-ide"


def test_an_unbound_port_and_an_unreachable_api_are_problems_up_repairs():
    report = status.assess(healthy(containers=with_container("kim-ide", published=(P.ide,)), api_reachable=False))
    assert report.ports_bound["live_server"] is False
    assert "ports not bound: live_server" in report.problems
    assert "the cluster's API port on the host does not answer" in report.problems
    assert report.repair == lab_command("up", "--stack", "kim")


def test_a_lab_without_registry_does_not_miss_its_port():
    containers = {k: v for k, v in healthy().containers.items() if k != "kim-registry"}
    report = status.assess(healthy(containers=containers))
    assert "registry" not in report.ports_bound and report.state == "running"
    assert report.memory_cap_mb == 1675 + 2234 + 2 * 1117


def test_a_container_near_its_cap_is_a_warning_with_the_setting_to_raise():
    report = status.assess(healthy(containers=with_container("kim-worker", memory_mb=1100)))
    assert report.problems == ["kim-worker uses 1100 of its 1117 MB cap: the next allocation there is OOM-killed"]
    assert "labMemory" in report.repair


def test_docker_readers_parse_what_docker_prints():
    entry = {
        "Name": "/kim-ide",
        "State": {"Status": "running", "Health": {"Status": "healthy"}},
        "HostConfig": {"Memory": 1675 * 1048576, "NanoCpus": 1_500_000_000},
        "NetworkSettings": {"Ports": {"8443/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8544"}], "9000/tcp": None}},
    }
    assert status.parse_inspect(entry) == Container("running", "healthy", (8544,), None, 1675, None, 1.5)
    stopped = {"State": {"Status": "exited"}, "HostConfig": {"Memory": 0}, "NetworkSettings": {"Ports": {}}}
    assert status.parse_inspect(stopped) == Container("exited")
    line = json.dumps({"Name": "kim-ide", "MemUsage": "612.3MiB / 1.636GiB", "CPUPerc": "2.50%"})
    assert status.parse_stats(line) == ("kim-ide", 612.3, 2.5)
    assert status.size_mb("1.5GiB") == 1536 and status.size_mb("512KiB") == 0.5 and status.size_mb("--") is None
    assert status.parse_stats(json.dumps({"Name": "x", "MemUsage": "-- / --", "CPUPerc": "--"})) == ("x", None, None)


def test_the_table_shows_problems_and_the_repair():
    from rich.console import Console

    console = Console(record=True, width=250)
    console.print(status.render_table([status.assess(healthy(containers=with_container("kim-worker2", state="exited")))]))
    report = status.assess(healthy(containers=with_container("kim-worker2", state="exited")))
    assert "kim-worker2 is stopped" in console.export_text()
    assert status.repair_lines([report, status.assess(healthy())]) == [f"Repair kim: {lab_command('start', '--stack', 'kim')}"]


def test_the_idle_time_of_each_ide_is_reported_and_shown():
    from rich.console import Console

    idle_one, unknown = status.assess(healthy(idle_seconds=2 * 3600 + 125.4)), status.assess(healthy())
    assert idle_one.idle_seconds == 7325 and unknown.idle_seconds is None
    assert json.loads(json.dumps(idle_one.as_dict()))["idle_seconds"] == 7325  # classroom's JSON carries it
    console = Console(record=True, width=250)
    console.print(status.render_table([idle_one, unknown]))
    text = console.export_text()
    assert "idle" in text.splitlines()[2] and "2h 02m" in text
