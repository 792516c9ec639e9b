"""k8s_lab.verbs without Docker: lab.py's and classroom.py's stop, start, status and doctor
from a stack's config, through a recording fake runner: the exact calls, the exit codes,
what is printed, and that no secret Docker shows us is ever printed."""

import dataclasses
import datetime
import json
import types

import pytest

from k8s_lab import doctor, status, verbs, versions
from k8s_lab.ports import ports_for_slot
from fakes import Answer, FakeRunner, fails, in_turn, ok
from test_kind_lifecycle_calls import ALL_READY, PS, READY, nodes
from test_power import ALL_EXITED, ALL_UP, HEALTH, PROVE, SEEN_ALL, STATE
from k8s_lab.exits import lab_command

LAB = lab_command()  # `venv/bin/python lab.py` as the messages name it

SECRET = "s3cret-Pa55word"  # what Docker's inspect shows of the IDE's environment
P = ports_for_slot(1)
INSPECT = ("docker", "inspect", "kim-ide", "kim-registry", "kim-control-plane", "kim-worker", "kim-worker2")
STATS = ("docker", "stats", "--no-stream", "--format", "{{json .}}")
IDLE = ("docker", "inspect", "--format", "{{.State.Status}} {{.State.StartedAt}}", "kim-ide")  # k8s_lab.idle_probe


@pytest.fixture(autouse=True)
def docker_on_path(monkeypatch):
    monkeypatch.setattr(verbs.shutil, "which", lambda name, **kwargs: name)  # argv[0] is "docker", not this machine's path


def target(answers, **config) -> verbs.LabTarget:
    lab = verbs.target("kim", {"slot": "1", **config})
    return dataclasses.replace(lab, runner=FakeRunner(in_turn(answers)))


def runner(lab):
    return lab.runner


# ---- target ------------------------------------------------------------------------------


def test_target_reads_the_stacks_settings_with_their_defaults():
    lab = verbs.target("kim", {})
    assert (lab.names.student, lab.workers, lab.slot, lab.bind_address, lab.docker_env) == ("kim", 2, 0, "127.0.0.1", {})
    lab = verbs.target("stack1", {"student": "lee", "workers": "3", "slot": "4", "bindAddress": "0.0.0.0", "dockerHost": "ssh://t@lab2"})
    assert (lab.names.student, lab.workers, lab.slot, lab.bind_address, lab.docker_env) == ("lee", 3, 4, "0.0.0.0", {"DOCKER_HOST": "ssh://t@lab2"})


def test_the_labs_kind_runs_docker_on_the_labs_docker_host():
    lab = target({PS: ok()}, dockerHost="ssh://t@lab2")
    kind = lab.kind()
    assert (kind.kind, kind.docker, kind.env, kind.runner) == ("kind", "docker", {"DOCKER_HOST": "ssh://t@lab2"}, lab.runner)
    kind.node_containers("kim")
    assert runner(lab).calls[0].env == {"DOCKER_HOST": "ssh://t@lab2"}


# ---- stop and start ------------------------------------------------------------------------


def lab_answers(ide="running", registry="running", cluster=ALL_UP, extra=None):
    return {
        (*STATE, "kim-ide"): ok(ide) if ide else fails("No such object"),
        (*STATE, "kim-registry"): ok(registry) if registry else fails("No such object"),
        PS: cluster, ("docker", "stop"): ok(), ("docker", "start"): ok(), READY: ALL_READY, HEALTH: ok("healthy"), PROVE: SEEN_ALL,
        **(extra or {}),
    }


def test_stop_is_zero_and_says_what_it_stopped():
    said, errors = [], []
    lab = target(lab_answers())
    assert verbs.stop(lab, log=said.append, err=errors.append) == 0
    assert runner(lab).argvs[-1][:2] == ("docker", "stop") and errors == []
    assert said == [f"lab 'kim' stopped (5 containers); everything is kept. `{LAB} start --stack kim` brings it back"]


def test_stop_of_nothing_is_one_and_says_how_to_make_the_lab():
    errors = []
    assert verbs.stop(target(lab_answers(ide=None, registry=None, cluster=ok(""))), log=print, err=errors.append) == 1
    assert errors == [f"k8s-lab: there is no lab of 'kim' in this Docker to stop. `{LAB} up --stack kim` makes it"]


def test_start_is_zero_and_ends_saying_the_lab_runs(monkeypatch):
    said, errors = [], []
    lab = target(lab_answers(ide="exited", registry="exited", cluster=ALL_EXITED))
    assert verbs.start(lab, log=said.append, err=errors.append) == 0
    assert said[-1] == "lab 'kim' is running" and errors == []
    assert ("docker", "start", "kim-control-plane", "kim-worker", "kim-worker2") in runner(lab).argvs


def test_start_of_a_lab_with_gone_parts_is_one_and_names_the_repair():
    said, errors = [], []
    assert verbs.start(target(lab_answers(ide=None)), log=said.append, err=errors.append) == 1
    assert errors == [f"k8s-lab: lab 'kim' lacks kim-ide: `{LAB} up --stack kim` makes what is missing again"] and said == []


@pytest.mark.parametrize(
    "answers, starts",
    [
        (lab_answers(ide="exited", registry="exited", cluster=ALL_EXITED), True),  # after a reboot or `lab.py stop`
        (lab_answers(cluster=nodes(kim_control_plane="running", kim_worker="exited", kim_worker2="running")), True),  # partly
        (lab_answers(), False),  # running: nothing to do
        (lab_answers(ide=None, cluster=ALL_EXITED), False),  # gone parts: up's repair makes them
        (lab_answers(ide="exited", cluster=ok("")), False),
    ],
    ids=["stopped", "partly-stopped", "running", "no-ide", "no-nodes"],
)
def test_up_starts_a_stopped_lab_first_and_leaves_the_rest_to_up(answers, starts):
    said = []
    lab = target(answers)
    assert verbs.start_if_stopped(lab, log=said.append, err=said.append) == 0
    started = [argv for argv in runner(lab).argvs if argv[:2] == ("docker", "start")]
    assert bool(started) == starts
    assert (said[:1] == [f"Your lab is stopped: starting it before `up` (the same as `{LAB} start`)"]) == starts


def test_a_failed_start_before_up_is_its_exit_code():
    errors = []
    lab = target(lab_answers(ide="exited", cluster=ALL_EXITED, extra={PROVE: fails("no such host")}))
    assert verbs.start_if_stopped(lab, log=lambda _: None, err=errors.append) == 1
    assert errors[0].startswith("k8s-lab: the IDE's kubeconfig does not reach the cluster after start (no such host)")


def test_a_docker_that_does_not_answer_is_left_to_the_preflight():
    lab = target({("docker",): fails("Cannot connect to the Docker daemon")})
    assert verbs.start_if_stopped(lab, log=print, err=print) == 0


# ---- status --------------------------------------------------------------------------------


def inspected(name, state="running", health=None, ports=(), memory_mb=None):
    entry = {
        "Name": f"/{name}",
        "State": {"Status": state, **({"Health": {"Status": health}} if health else {})},
        "HostConfig": {"Memory": (memory_mb or 0) * 1048576, "NanoCpus": 1_500_000_000},
        "NetworkSettings": {"Ports": {f"{p}/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(p)}] for p in ports}},
        "Config": {"Env": [f"PASSWORD={SECRET}", "HOME=/config"]},  # never to be printed
    }
    return entry


def running_lab(extra=None):
    inspect = [
        inspected("kim-ide", health="healthy", ports=(P.ide, P.live_server), memory_mb=1000),
        inspected("kim-registry", ports=(P.registry,), memory_mb=500),
        inspected("kim-control-plane", ports=(P.http, P.https, P.api), memory_mb=2000),
        inspected("kim-worker", memory_mb=1000),
        inspected("kim-worker2", memory_mb=1000),
    ]
    stats = "".join(json.dumps({"Name": n, "MemUsage": "100MiB / 1GiB", "CPUPerc": "1.50%"}) + "\n" for n in INSPECT[2:])
    return {PS: ALL_UP, INSPECT: ok(json.dumps(inspect)), STATS: ok(stats), READY: ALL_READY, IDLE: fails("no heartbeat here"), **(extra or {})}


class Stack:
    name = "kim"

    def __init__(self, history=None):
        self._history = history or []

    def history(self, page_size):
        assert page_size == 1
        if isinstance(self._history, Exception):
            raise self._history
        return self._history


UPDATED = types.SimpleNamespace(kind="update", result="succeeded", end_time=datetime.datetime(2026, 11, 25, 9, 0))


def test_gather_status_asks_docker_exactly_and_the_api_port_on_the_host(monkeypatch):
    asked = []
    monkeypatch.setattr(status, "api_answers", lambda host, port: asked.append((host, port)) or True)
    lab = target(running_lab(), bindAddress="0.0.0.0")
    facts = verbs.gather_status(lab, "kim", "update succeeded")
    assert runner(lab).argvs == [PS, INSPECT, (*STATS, *INSPECT[2:]), READY, IDLE]
    assert asked == [("127.0.0.1", P.api)]  # published on every interface: reached on loopback
    assert facts.ready == {"kim-control-plane": True, "kim-worker": True, "kim-worker2": True} and facts.api_reachable
    assert facts.containers["kim-worker"].memory_mb == 100 and facts.containers["kim-worker"].cpu_percent == 1.5


def test_gather_status_on_another_docker_host_reaches_that_host(monkeypatch):
    asked = []
    monkeypatch.setattr(status, "api_answers", lambda host, port: asked.append((host, port)) or False)
    facts = verbs.gather_status(target(running_lab(), dockerHost="ssh://teacher@lab2.school"), "kim", None)
    assert asked == [("lab2.school", P.api)] and not facts.api_reachable


def test_a_stopped_control_plane_is_not_asked_and_the_api_not_tried(monkeypatch):
    monkeypatch.setattr(status, "api_answers", lambda host, port: pytest.fail("asked a stopped cluster"))
    inspect = [inspected(n, state="exited") for n in INSPECT[2:]]
    lab = target({PS: ALL_EXITED, INSPECT: ok(json.dumps(inspect))})
    facts = verbs.gather_status(lab, "kim", None)
    assert runner(lab).argvs == [PS, INSPECT] and facts.ready is None and not facts.api_reachable


def test_status_json_is_exactly_the_report_and_holds_no_secret(monkeypatch, capsys):
    monkeypatch.setattr(status, "api_answers", lambda host, port: True)
    assert verbs.status(target(running_lab()), Stack([UPDATED]), as_json=True) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == {
        "student": "kim",
        "state": "running",
        "ide": "healthy",
        "nodes_ready": "3 of 3",
        "api_reachable": True,
        "ports_bound": {"ide": True, "live_server": True, "http": True, "https": True, "api": True, "registry": True},
        "memory_mb": 500.0,
        "memory_cap_mb": 5500.0,
        "cpu_percent": 7.5,
        "cpus_cap": 1.5,
        "last_change": "update succeeded 2026-11-25 09:00",
        "problems": [],
        "repair": None,
        "idle_seconds": None,
        # The seed's Kubernetes 1.29 is past its end of life: said, with how to move; not a problem.
        "notes": [versions.end_of_life_note("1.29", datetime.date.today(), "kim")],
    }
    assert SECRET not in out and "PASSWORD" not in out


def test_status_table_of_a_broken_lab_is_one_with_the_repair_and_no_secret(monkeypatch, capsys):
    monkeypatch.setattr(status, "api_answers", lambda host, port: True)
    monkeypatch.setenv("COLUMNS", "250")
    lab = target(running_lab(extra={READY: ok("kim-control-plane=True\nkim-worker=False\nkim-worker2=True\n")}))
    assert verbs.status(lab, Stack(RuntimeError("no backend")), as_json=False) == 1
    out = capsys.readouterr().out
    assert "only 2 of 3 nodes are Ready" in out and out.rstrip().endswith(f"Repair kim: {LAB} start --stack kim")
    assert SECRET not in out and "PASSWORD" not in out


def test_last_change_says_how_and_when_or_nothing():
    assert verbs.last_change(Stack([UPDATED])) == "update succeeded 2026-11-25 09:00"
    assert verbs.last_change(Stack([types.SimpleNamespace(kind="destroy", result="failed", end_time=None)])) == "destroy failed"
    assert verbs.last_change(Stack([])) is None
    assert verbs.last_change(Stack(RuntimeError("no backend"))) is None


# ---- doctor --------------------------------------------------------------------------------


INFO = ("docker", "info", "--format", "{{json .}}")
PS_NAMES = ("docker", "ps", "-a", "--format", "{{.Names}}", "--filter")


def doctor_answers(memory_gb: float, ide_there=True):
    info = {"MemTotal": int(memory_gb * 1024**3), "OperatingSystem": "Ubuntu 24.04", "DockerRootDir": "/nonexistent",
            "HTTPProxy": f"http://teacher:{SECRET}@proxy:3128"}
    return {INFO: ok(json.dumps(info)), (*PS_NAMES, "label=io.x-k8s.kind.cluster=kim"): ok("kim-control-plane\n"),
            (*PS_NAMES, "name=^/kim-ide$"): ok("kim-ide\n" if ide_there else ""), RUNNING: ok("")}


RUNNING = ("docker", "ps", "--format", "{{.Names}}")  # the doctor's look at what labs publish


def remote(answers):
    return target(answers, dockerHost="ssh://t@lab2")  # the host's files, ports and routes are not this machine's


def test_doctor_facts_on_a_remote_docker_read_only_dockers_answers():
    lab = remote(doctor_answers(16))
    facts = verbs.doctor_facts(lab)
    assert facts.docker_memory_mb == 16 * 1024 and facts.own_lab_present and facts.slot == 1
    assert facts.disk_free_gb is None and facts.inotify_watches is None and facts.taken_ports == [] and facts.routes == []
    assert facts.lab_footprint_mb == 600 + 800 + 400 * 2 + 20
    assert [call.env for call in runner(lab).calls] == [{"DOCKER_HOST": "ssh://t@lab2"}] * 4
    assert runner(lab).argvs[-1] == RUNNING and facts.remote


def test_doctor_on_a_class_host_lists_each_running_labs_ports_beyond_loopback(capsys):
    """Through the runner, on the lab's Docker: an open registry (a lab made before issue 30)
    is a problem (exit 1) with its fix; the IDE beyond loopback is a note."""
    answers = doctor_answers(64)
    answers[RUNNING] = ok("lee-ide\nlee-registry\nlee-worker\n")
    containers = [
        {"Name": "/lee-ide", "NetworkSettings": {"Ports": {"8443/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8544"}]}}},
        {"Name": "/lee-registry", "NetworkSettings": {"Ports": {"5000/tcp": [{"HostIp": "0.0.0.0", "HostPort": "5101"}]}}},
    ]
    answers[("docker", "inspect", "lee-ide", "lee-registry")] = ok(json.dumps(containers))
    assert verbs.doctor(remote(answers)) == 1
    out = capsys.readouterr().out
    assert "[problem] lab lee publishes beyond loopback what k8s_lab/exposure.py keeps on it: 0.0.0.0:5101 (the student's image registry" in out
    assert "[note] lab lee is reachable beyond loopback on 0.0.0.0:8544 (code-server" in out
    # The other note: the seed's Kubernetes 1.29 is past its end of life.
    assert out.rstrip().endswith("doctor: 1 problem(s), 2 note(s).") and "[note] Kubernetes 1.29 is past its end of life" in out


def test_doctor_is_one_when_a_finding_is_a_problem_and_prints_no_secret(capsys):
    assert verbs.doctor(remote(doctor_answers(2))) == 1
    out = capsys.readouterr().out
    assert out.startswith("[problem] Docker has 2.0 GB of memory; 1 lab(s) need about 4.2 GB\n")
    assert out.rstrip().endswith("doctor: 1 problem(s), 1 note(s).") and SECRET not in out
    # The note: the seed's Kubernetes 1.29 is past its end of life, with how to move.
    assert "[note] Kubernetes 1.29 is past its end of life (2025-02-28)" in out and "kubernetesVersion 1.36" in out


def test_doctor_is_zero_on_a_good_host(capsys, monkeypatch):
    # A maintained version row, before its end of life: nothing to say about the version.
    monkeypatch.setattr(verbs, "today", lambda: datetime.date(2026, 12, 4))
    assert verbs.doctor(target(doctor_answers(64), dockerHost="ssh://t@lab2", kubernetesVersion="1.36")) == 0
    assert capsys.readouterr().out == "doctor: nothing found that breaks kind or Docker here.\n"


def test_doctor_notes_alone_are_zero(capsys):
    answers = doctor_answers(64)
    answers[INFO] = ok(json.dumps({"MemTotal": 64 * 1024**3, "OperatingSystem": "Docker Desktop"}))
    assert verbs.doctor(remote(answers)) == 0
    # Docker Desktop's Resource Saver, and the seed's Kubernetes past its end of life.
    assert "doctor: 0 problem(s), 2 note(s)." in capsys.readouterr().out


def test_doctor_and_up_find_a_cgroup_v1_host_for_the_maintained_row(capsys, monkeypatch):
    monkeypatch.setattr(verbs, "today", lambda: datetime.date(2026, 12, 4))
    answers = doctor_answers(64)
    answers[INFO] = ok(json.dumps({"MemTotal": 64 * 1024**3, "OperatingSystem": "CentOS Linux 7", "CgroupVersion": "1"}))
    assert verbs.doctor(target(answers, dockerHost="ssh://t@lab2", kubernetesVersion="1.36")) == 1
    out = capsys.readouterr().out
    assert out.startswith("[problem] kubernetesVersion 1.36 does not run on this host: Docker here uses cgroup v1\n")
    assert f"Fix: 1.29; choose one with `{lab_command('config', 'kubernetesVersion', '1.29', '--stack', 'kim')}`" in out
    # `up`'s own check, before anything is made: the same reason.
    lab = target({INFO: answers[INFO]}, dockerHost="ssh://t@lab2", kubernetesVersion="1.36")
    assert "kubelet 1.35 and newer refuse cgroup v1" in (verbs.host_refuses_version(lab) or "")
    assert verbs.host_refuses_version(target({INFO: answers[INFO]}, dockerHost="ssh://t@lab2")) is None  # the seed's row runs there


def test_before_up_warns_of_problems_but_not_of_ports_or_notes(monkeypatch):
    port = doctor.Finding("problem", "port taken", "fix it")
    found = [doctor.Finding("problem", "low memory", "add memory"), port, doctor.Finding("note", "Resource Saver", "turn it off")]
    monkeypatch.setattr(doctor, "findings", lambda facts: found)
    monkeypatch.setattr(doctor, "port_findings", lambda facts: [port])
    opened = doctor.Finding("problem", "lab lee publishes beyond loopback ...", "lab.py up --stack lee")
    found.append(opened)  # another lab's (or this one's, which this `up` republishes): for `doctor` to say
    monkeypatch.setattr(doctor, "exposure_findings", lambda facts: [opened])
    warned = []
    verbs.doctor_before_up(remote(doctor_answers(64)), warn=warned.append)
    assert warned == ["Warning (lab.py doctor): [problem] low memory\n    Fix: add memory"]


def test_before_up_refuses_caps_a_docker_without_cgroups_cannot_apply():
    """One line per cap, with the setting and its fix, and Exit.USAGE before Pulumi runs."""
    answers = doctor_answers(64)
    info = {"MemTotal": 64 * 1024**3, "OperatingSystem": "Ubuntu 24.04", "MemoryLimit": False, "CpuCfsQuota": False, "NCPU": 8}
    answers[INFO] = ok(json.dumps(info))
    said = []
    assert verbs.doctor_before_up(target(answers, dockerHost="ssh://t@lab2", labCpus="1.5"), warn=said.append) == 2
    assert said == [
        "k8s-lab: labMemory = '6g': this Docker host has no memory cgroup (docker info MemoryLimit false: rootless Docker without "
        "cgroup delegation, some WSL and NAS setups): Docker drops the cap and every `up` would replace the IDE. "
        f"Fix: {lab_command('config', 'labMemory', '0', '--stack', 'kim')} (no cap)",
        "k8s-lab: labCpus = '1.5': this Docker host has no CPU CFS scheduler (docker info CpuCfsQuota false: rootless Docker "
        "without cgroup delegation, some WSL and NAS setups): Docker refuses to create the containers. "
        f"Fix: {lab_command('config', 'labCpus', '0', '--stack', 'kim')} (no cap)",
    ]
    said.clear()
    uncapped = target(answers, dockerHost="ssh://t@lab2", labMemory="0", labCpus="0")
    assert verbs.doctor_before_up(uncapped, warn=said.append) == 0 and said == []


def test_the_doctor_names_caps_this_docker_cannot_apply(capsys):
    answers = doctor_answers(64)
    answers[INFO] = ok(json.dumps({"MemTotal": 64 * 1024**3, "OperatingSystem": "Ubuntu 24.04", "MemoryLimit": True, "CpuCfsQuota": True, "NCPU": 1}))
    assert verbs.doctor(remote(answers)) == 1
    out = capsys.readouterr().out
    assert "[problem] labCpus = '2': is more than the 1 CPUs this Docker host has (docker info NCPU)" in out
    assert f"Fix: {lab_command('config', 'labCpus', '1', '--stack', 'kim')} (or less, or 0 for no cap)" in out


def test_a_doctor_that_cannot_run_never_stops_up(monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("no /proc")

    monkeypatch.setattr(doctor, "gather", broken)
    warned = []
    verbs.doctor_before_up(remote(doctor_answers(64)), warn=warned.append)
    assert warned == ["doctor could not check this host (no /proc)"]


def test_before_up_starts_a_deployed_stopped_lab_then_skips_the_doctor(monkeypatch):
    seen = []
    monkeypatch.setattr(verbs, "start_if_stopped", lambda lab, err: seen.append(("start", lab.names.student)) or 1)
    monkeypatch.setattr(verbs, "doctor_before_up", lambda lab, warn: seen.append(("doctor", lab.names.student)) or 0)
    assert verbs.before_up("kim", {}, deployed=True, err=print) == 1 and seen == [("start", "kim")]
    seen.clear()
    monkeypatch.setattr(verbs, "start_if_stopped", lambda lab, err: seen.append(("start", lab.names.student)) or 0)
    assert verbs.before_up("kim", {}, deployed=True, err=print) == 0 and seen == [("start", "kim"), ("doctor", "kim")]
    seen.clear()
    assert verbs.before_up("kim", {}, deployed=False, err=print) == 0 and seen == [("doctor", "kim")]  # a first up: nothing to start
    seen.clear()
    assert verbs.before_up("kim", {"slot": "many"}, deployed=True, err=print) == 0 and seen == []  # the config check names it


# ---- what mutation testing showed unpinned ------------------------------------------------------


def test_the_labs_docker_is_the_one_on_path_or_plain_docker(monkeypatch):
    monkeypatch.setattr(verbs.shutil, "which", lambda name: "/usr/local/bin/docker" if name == "docker" else None)
    assert verbs.target("kim", {}).kind().docker == "/usr/local/bin/docker"
    monkeypatch.setattr(verbs.shutil, "which", lambda name: None)
    assert verbs.target("kim", {}).kind().docker == "docker"


def test_start_passes_each_step_to_log():
    said = []
    assert verbs.start(target(lab_answers()), log=said.append, err=said.append) == 0
    assert said == [
        "kind cluster 'kim': all 3 nodes Ready",
        "IDE 'kim-ide' is healthy",
        "the IDE's kubeconfig reaches https://kim-control-plane:6443 and sees every node",
        "lab 'kim' is running",
    ]


def test_status_is_lines_unless_json_is_asked_and_json_is_indented(monkeypatch, capsys):
    monkeypatch.setattr(status, "api_answers", lambda host, port: True)
    monkeypatch.setenv("COLUMNS", "250")
    assert verbs.status(target(running_lab()), Stack([UPDATED])) == 0
    assert capsys.readouterr().out.startswith("kim  running  IDE healthy  nodes 3 of 3 Ready")
    verbs.status(target(running_lab()), Stack([UPDATED]), as_json=True)
    out = capsys.readouterr().out
    assert out == json.dumps(json.loads(out), indent=2) + "\n"


def test_doctor_facts_of_a_local_docker_read_this_host(monkeypatch):
    monkeypatch.setattr(doctor, "read_int", lambda path: 7)
    monkeypatch.setattr(doctor, "read_routes", lambda: ["10.9.0.0/16"])
    monkeypatch.setattr(doctor.host_ports, "taken_ports", lambda bind, ports: [("api", ports.api)] if bind == "0.0.0.0" else [])
    facts = verbs.doctor_facts(target(doctor_answers(16, ide_there=False), bindAddress="0.0.0.0"))
    assert (facts.inotify_watches, facts.routes, facts.taken_ports, facts.bind_address) == (7, ["10.9.0.0/16"], [("api", P.api)], "0.0.0.0")
    assert facts.own_lab_present is False  # the ports are someone else's


def test_a_failed_start_before_up_reaches_err(monkeypatch):
    lab = target(lab_answers(ide="exited", cluster=ALL_EXITED, extra={PROVE: fails("no such host")}))
    monkeypatch.setattr(verbs, "target", lambda stack_name, config: lab)
    errors = []
    assert verbs.before_up("kim", {"slot": "1"}, deployed=True, err=errors.append) == 1
    assert len(errors) == 1 and errors[0].startswith("k8s-lab: the IDE's kubeconfig does not reach")


def test_a_missing_registry_is_what_docker_inspect_says_with_exit_one(monkeypatch):
    # docker inspect of several names prints the ones it found and exits 1 naming the rest
    # (the engine test test_status_sees_a_stopped_lab_and_up_starts_it_first reads a real one).
    monkeypatch.setattr(status, "api_answers", lambda host, port: True)
    inspect = [inspected("kim-ide", health="healthy", ports=(P.ide, P.live_server))] + [inspected(n) for n in INSPECT[4:]]
    answers = running_lab(extra={INSPECT: Answer(1, json.dumps(inspect), "Error: No such object: kim-registry")})
    facts = verbs.gather_status(target(answers), "kim", None)
    assert sorted(facts.containers) == ["kim-control-plane", "kim-ide", "kim-worker", "kim-worker2"]
    report = status.assess(facts)
    assert "registry" not in report.ports_bound and report.state == "broken"  # the control plane's ports are not bound here


# ---- stop --idle-for: which messages go where, and the Docker it asks ------------------------------

IDLE_THREE_HOURS = {IDLE: ok("running 2026-12-01T08:00:00Z"), ("docker", "exec", "kim-ide"): ok('1796122800\n{"lastHeartbeat":0}')}


def test_an_idle_stop_tells_the_decision_and_the_stop_through_log_and_nothing_through_err():
    said, errors = [], []
    lab = target(lab_answers(extra=IDLE_THREE_HOURS))
    assert verbs.stop_if_idle(lab, 7200, log=said.append, err=errors.append) == 0
    assert errors == [] and runner(lab).argvs[-1][:2] == ("docker", "stop")
    assert said == [
        "lab 'kim' idle for 3h 00m (no browser activity since the IDE started), at least 2h 00m: stopping it",
        f"lab 'kim' stopped (5 containers); everything is kept. `{LAB} start --stack kim` brings it back",
    ]


def test_an_idle_stop_that_fails_tells_the_decision_through_log_and_the_failure_through_err():
    said, errors = [], []
    lab = target(lab_answers(ide=None, registry=None, cluster=ok(""), extra=IDLE_THREE_HOURS))
    assert verbs.stop_if_idle(lab, 7200, log=said.append, err=errors.append) == 1
    assert said == ["lab 'kim' idle for 3h 00m (no browser activity since the IDE started), at least 2h 00m: stopping it"]
    assert errors == [f"k8s-lab: there is no lab of 'kim' in this Docker to stop. `{LAB} up --stack kim` makes it"]


def test_the_idle_probe_asks_the_labs_docker_host():
    lab = target(IDLE_THREE_HOURS, dockerHost="ssh://t@lab2")
    said = []
    assert verbs.stop_if_idle(lab, 4 * 3600, log=said.append, err=said.append) == 0
    assert runner(lab).argvs[0] == IDLE and runner(lab).argvs[1][:3] == ("docker", "exec", "kim-ide")
    assert [call.env for call in runner(lab).calls] == [{"DOCKER_HOST": "ssh://t@lab2"}] * 2
    assert said == ["lab 'kim' kept running: idle for 3h 00m, less than 4h 00m"]


def test_gather_status_of_a_running_ide_carries_its_idle_time(monkeypatch):
    monkeypatch.setattr(status, "api_answers", lambda host, port: True)
    assert verbs.gather_status(target(running_lab(extra=IDLE_THREE_HOURS)), "kim", None).idle_seconds == 3 * 3600


def test_doctor_facts_count_the_labs_own_workers_in_its_footprint():
    assert verbs.doctor_facts(target(doctor_answers(16), dockerHost="ssh://t@lab2", workers="3")).lab_footprint_mb == 600 + 800 + 400 * 3 + 20


def test_the_idle_probe_runs_plain_docker_when_none_is_on_path(monkeypatch):
    monkeypatch.setattr(verbs.shutil, "which", lambda name, **kwargs: None)
    lab = target(IDLE_THREE_HOURS)
    verbs.idle_reading(lab)
    assert runner(lab).argvs[0] == IDLE
