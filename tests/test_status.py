"""k8s_lab.status: every rule of `lab.py status` on hand-made facts, and its readers' parsing."""

import json

from k8s_lab import config, status
from k8s_lab.ports import ports_for_slot
from k8s_lab.status import Container, Facts
from k8s_lab.exits import lab_command

LAB = lab_command()  # `venv/bin/python lab.py` as the messages name it

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


def test_the_lines_show_problems_and_the_repair():
    report = status.assess(healthy(containers=with_container("kim-worker2", state="exited")))
    assert "  - kim-worker2 is stopped" in status.render_lines([report], width=250)
    assert status.repair_lines([report, status.assess(healthy())]) == [f"Repair kim: {lab_command('start', '--stack', 'kim')}"]


def test_the_idle_time_of_each_ide_is_reported_and_shown():
    idle_one, unknown = status.assess(healthy(idle_seconds=2 * 3600 + 125.4)), status.assess(healthy())
    assert idle_one.idle_seconds == 7325 and unknown.idle_seconds is None
    assert json.loads(json.dumps(idle_one.as_dict()))["idle_seconds"] == 7325  # classroom's JSON carries it
    shown, not_known = status.render_lines([idle_one, unknown], width=250)
    assert "  CPU 18% (cap 2)  idle 2h 02m  last change: " in shown and "idle" not in not_known


# ---- the lines exactly (lab.py status and classroom.py status), the JSON exactly, the rules at their edges


RAN = "last change: update succeeded 2026-11-25 09:00"


def test_the_lines_exactly():
    broken = status.assess(healthy(containers=with_container("kim-ide", published=(P.ide,)), ready=None, api_reachable=False, last_change=None))
    stopped = {name: Container("exited") for name in healthy().containers}
    lines = status.render_lines([status.assess(healthy()), broken, status.assess(healthy(student="lee", stack="lee", containers={}))], width=250)
    assert lines == [
        f"kim  running  IDE healthy  nodes 3 of 3 Ready  API yes  ports all  memory 2220 MB  CPU 18% (cap 2)  {RAN}",
        "kim  broken  IDE healthy  nodes 0 of 3 Ready  API no  ports missing live_server  memory 2220 MB  CPU 18% (cap 2)",
        "  - the API server does not answer inside the cluster",
        "  - ports not bound: live_server",
        f"lee  absent  IDE missing  nodes 0 of 3 Ready  API yes  ports missing ide, live_server, http, https, api  memory -  CPU -  {RAN}",
        "  - the lab has not been made (or was destroyed)",
    ]
    assert status.render_lines([status.assess(healthy(containers=stopped, ready=None))], width=250) == [
        "kim  stopped  IDE exited  nodes 0 of 3 Ready  API yes  ports missing ide, live_server, http, https, api, registry  memory -  "
        f"CPU -  {RAN}",
        "  - kim-control-plane, kim-ide, kim-registry, kim-worker, kim-worker2 are stopped",
    ]


def test_the_lines_of_a_capped_lab_show_the_caps():
    containers = {name: Container(**{**c.__dict__, "memory_cap_mb": 1000, "cpus_cap": 1.5}) for name, c in healthy().containers.items()}
    (line,) = status.render_lines([status.assess(healthy(containers=containers))], width=250)
    assert "  memory 2220 MB (cap 5000)  CPU 18% (cap 1.5)  " in line


def test_the_json_report_exactly():
    report = status.assess(healthy(containers=with_container("kim-worker", state="exited")))
    assert report.as_dict() == {
        "student": "kim",
        "state": "broken",
        "ide": "healthy",
        "nodes_ready": "3 of 3",
        "api_reachable": True,
        "ports_bound": {"ide": True, "live_server": True, "http": True, "https": True, "api": True, "registry": True},
        "memory_mb": 1820.0,
        "memory_cap_mb": None,
        "cpu_percent": 15.1,
        "cpus_cap": 2,
        "last_change": "update succeeded 2026-11-25 09:00",
        "problems": ["kim-worker is stopped"],
        "repair": f"{LAB} start --stack kim",
        "idle_seconds": None,
        "notes": [],
    }
    json.dumps(report.as_dict())  # printable as JSON


def test_two_stopped_and_one_gone_are_named_in_order():
    containers = dict(with_container("kim-worker", state="exited"))
    containers["kim-control-plane"] = Container("exited")
    assert status.assess(healthy(containers=containers)).problems == ["kim-control-plane, kim-worker are stopped"]
    del containers["kim-worker2"]
    assert status.assess(healthy(containers=containers)).problems == ["kim-worker2 is gone"]


def test_the_api_not_answering_inside_is_a_problem_start_repairs():
    report = status.assess(healthy(ready=None))
    assert report.problems == ["the API server does not answer inside the cluster"] and report.nodes_ready == "0 of 3"
    assert report.repair == f"{LAB} start --stack kim" and report.state == "broken"


def test_an_unreachable_api_port_alone_is_up_to_repair():
    report = status.assess(healthy(api_reachable=False))
    assert report.problems == ["the cluster's API port on the host does not answer"] and report.repair == f"{LAB} up --stack kim"


def test_the_worst_repair_wins_and_every_problem_is_listed():
    containers = with_container("kim-ide", health="unhealthy", memory_mb=1675)
    report = status.assess(healthy(containers=containers, ready={"kim-control-plane": True, "kim-worker": True, "kim-worker2": False}))
    assert report.problems == [
        "only 2 of 3 nodes are Ready",
        "the IDE's health check fails (code-server does not answer)",
        "kim-ide uses 1675 of its 1675 MB cap: the next allocation there is OOM-killed",
    ]
    assert report.repair == f"{LAB} start --stack kim"
    alone = status.assess(healthy(containers=with_container("kim-ide", health="unhealthy")))
    assert alone.repair == "docker restart kim-ide"


def test_near_the_cap_is_ninety_percent():
    assert status.assess(healthy(containers=with_container("kim-worker", memory_mb=900, memory_cap_mb=1000))).problems
    assert not status.assess(healthy(containers=with_container("kim-worker", memory_mb=899.9, memory_cap_mb=1000))).problems
    assert not status.assess(healthy(containers=with_container("kim-worker", memory_mb=5000, memory_cap_mb=None))).problems


def test_an_ide_that_is_not_running_shows_its_state():
    report = status.assess(healthy(containers=with_container("kim-ide", state="exited", health="unhealthy")))
    assert report.ide == "exited"
    assert status.assess(healthy(containers=with_container("kim-ide", health=None))).ide == "running"


def test_totals_need_every_value():
    assert status.total([1.04, 2.0]) == 3.0 and status.total([1.0, None]) is None and status.total([]) is None


def test_sizes_in_every_unit():
    assert [status.size_mb(t) for t in ("1048576B", "1024KiB", "1KB", "2MB", "1GB", "1TiB", "1TB", "3 MiB")] == [1.0, 1.0, 0.0, 2, 1024, 1048576, 1048576, 3]
    assert status.size_mb("12XB") is None


def test_read_containers_asks_for_stats_of_running_ones_only():
    from k8s_lab.kind_lifecycle import Kind
    from fakes import FakeRunner, ok

    inspect = [
        {"Name": "/kim-ide", "State": {"Status": "running"}, "HostConfig": {}, "NetworkSettings": {}},
        {"Name": "/kim-control-plane", "State": {"Status": "exited"}},
    ]
    stats = json.dumps({"Name": "kim-ide", "MemUsage": "10MiB / 1GiB", "CPUPerc": "0.50%"}) + "\n" + json.dumps({"Name": "other", "MemUsage": "1MiB"})
    runner = FakeRunner({
        ("docker", "ps"): ok('{"Names": "kim-control-plane", "State": "exited"}\n'),
        ("docker", "inspect"): ok(json.dumps(inspect)),
        ("docker", "stats"): ok(stats + "\n\n"),
    })
    found = status.read_containers(Kind("kind", "docker", runner=runner), status.LabNames("kim"))
    assert runner.argvs[1:] == [("docker", "inspect", "kim-ide", "kim-registry", "kim-control-plane"),
                                ("docker", "stats", "--no-stream", "--format", "{{json .}}", "kim-ide")]
    assert found == {"kim-ide": Container("running", memory_mb=10, cpu_percent=0.5), "kim-control-plane": Container("exited")}


def test_api_answers_is_a_tcp_connect():
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert status.api_answers("127.0.0.1", port, timeout=2)
    assert not status.api_answers("127.0.0.1", port, timeout=2)


def test_two_unbound_ports_and_the_exact_memory_repair():
    report = status.assess(healthy(containers=with_container("kim-ide", published=())))
    assert report.problems == ["ports not bound: ide, live_server"]
    near = status.assess(healthy(containers=with_container("kim-worker", memory_mb=1100)))
    stack = healthy().stack
    # A value to paste (half again the lab's 6 GiB of caps), not a placeholder labMemory refuses.
    assert near.repair == f"{LAB} config labMemory 9g --stack {stack}, then {LAB} up --stack {stack}"
    assert config.BY_KEY["labMemory"].parse("9g")


def test_odd_entries_from_docker_parse_without_failing():
    assert status.size_mb("1.234MiB") == 1.2
    assert status.parse_inspect({}) == Container("unknown")
    assert status.parse_stats("{}") == ("", None, None)


def test_stats_that_fail_leave_the_containers_without_usage():
    from k8s_lab.kind_lifecycle import Kind
    from fakes import FakeRunner, fails, ok

    inspect = [{"Name": "/kim-ide", "State": {"Status": "running"}}]
    runner = FakeRunner({("docker", "ps"): ok(""), ("docker", "inspect"): ok(json.dumps(inspect)), ("docker", "stats"): fails("container stopped")})
    assert status.read_containers(Kind("kind", "docker", runner=runner), status.LabNames("kim")) == {"kim-ide": Container("running")}


def test_the_api_port_is_tried_for_three_seconds(monkeypatch):
    tried = []

    class Connection:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(status.socket, "create_connection", lambda address, timeout: tried.append((address, timeout)) or Connection())
    assert status.api_answers("10.0.0.5", 6443) is True
    assert tried == [(("10.0.0.5", 6443), 3)]


def test_a_version_past_its_end_of_life_is_a_note_with_how_to_move_not_a_problem():
    import dataclasses
    import datetime

    facts = dataclasses.replace(healthy(), kubernetes_version="1.29", today=datetime.date(2026, 12, 4))
    report = status.assess(facts)
    assert report.state == "running" and report.problems == []
    assert report.notes == ["Kubernetes 1.29 is past its end of life (2025-02-28): no security fixes; to move: "
                            f"`{lab_command('config', 'kubernetesVersion', '1.36', '--stack', 'kim')}` then `{lab_command('up', '--stack', 'kim')}` "
                            "(a new cluster; your files stay)"]
    assert status.repair_lines([report]) == [f"Note kim: {report.notes[0]}"]
    maintained = status.assess(dataclasses.replace(facts, kubernetes_version="1.36"))
    assert maintained.notes == [] and status.repair_lines([maintained]) == []


# ---- lab.py status at 80 columns (issue 28): one line per lab, its problems below it ---------------


def test_status_lines_fit_80_columns_with_every_value_whole():
    """The table cut every value at 80 columns (`stud…`, `abse…`) and wrapped a problem one
    word per line: a lab is one line of whole values, each problem a line below it."""
    broken = status.assess(healthy(containers=with_container("kim-worker2", state="exited"), idle_seconds=125.0))
    absent = status.assess(healthy(containers={}))
    lines = status.render_lines([broken, absent])
    assert lines[0].startswith("kim  stopped") or lines[0].startswith("kim  broken")
    text = "\n".join(lines)
    assert "nodes 3 of 3 Ready" in lines[0] and "idle 2m" in text and "…" not in text
    assert lines.index("  - kim-worker2 is stopped") < lines.index(next(line for line in lines if line.startswith("kim  absent")))
    assert any(line.startswith("kim  absent") for line in lines)
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    assert status.render_lines([broken], width=250)[0].endswith("last change: update succeeded 2026-11-25 09:00")  # wide: one line


def test_status_prints_lines_not_a_table(monkeypatch, capsys):
    """verbs.status: the lines, then the repair (one whole line to copy)."""
    from k8s_lab import verbs

    report = status.assess(healthy(containers=with_container("kim-worker2", state="exited")))
    monkeypatch.setattr(status, "assess", lambda facts: report)
    monkeypatch.setattr(verbs, "gather_status", lambda lab, name, change: None)
    monkeypatch.setattr(verbs, "last_change", lambda stack: None)
    monkeypatch.setenv("COLUMNS", "80")
    assert verbs.status(None, type("S", (), {"name": "kim"})(), as_json=False) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:-1] == status.render_lines([report], width=80) and out[-1] == f"Repair kim: {lab_command('start', '--stack', 'kim')}"
