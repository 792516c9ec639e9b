"""drift.probe against a recording fake runner: the exact question, on the student's Docker
host, bounded in time; any failure to ask means "don't know", never an exception."""

import pytest

from k8s_lab import drift
from k8s_lab.drift import Presence
from k8s_lab.names import LabNames
from k8s_lab.runner import Result, RunError
from fakes import FakeRunner, fails, ok

PS = ("docker", "ps", "-a", "--format", "{{.Names}}", "--filter")  # -a: stopped nodes count
NODES = "label=io.x-k8s.kind.cluster=kim"
IDE = "name=^/kim-ide$"
REMOTE = {"DOCKER_HOST": "ssh://teacher@lab2"}


def docker(answers):
    return FakeRunner({(*PS, NODES): ok(answers.get(NODES, "")), (*PS, IDE): ok(answers.get(IDE, ""))})


@pytest.fixture(autouse=True)
def docker_on_path(monkeypatch):
    monkeypatch.setattr(drift.shutil, "which", lambda name: "/usr/bin/docker" if name == "docker" else None)


def test_probe_asks_the_local_docker_about_stopped_and_running_containers():
    runner = docker({NODES: "kim-control-plane\n", IDE: "kim-ide\n"})
    assert drift.probe(LabNames("kim"), runner=runner) == Presence(cluster=True, ide=True)
    assert runner.argvs == [(*PS, NODES), (*PS, IDE)]
    assert all(call.env == {} and call.timeout == 30 for call in runner.calls)


def test_probe_asks_the_students_docker_host():
    runner = docker({IDE: "kim-ide\n"})
    assert drift.probe(LabNames("kim"), docker_env=REMOTE, runner=runner) == Presence(cluster=False, ide=True)
    assert [call.env for call in runner.calls] == [REMOTE, REMOTE]


def test_only_the_students_own_ide_counts():
    assert drift.probe(LabNames("kim"), runner=docker({IDE: "kim-ide-old\n"})) == Presence(cluster=False, ide=False)


@pytest.mark.parametrize("reason", ["did not finish in 30 s", "could not start: docker is not installed or not on PATH"])
def test_a_docker_that_hangs_or_vanishes_means_unknown(reason):
    def hangs_or_vanishes(argv):
        raise RunError(Result(argv, 124), reason)

    assert drift.probe(LabNames("kim"), runner=FakeRunner(hangs_or_vanishes)) is None


@pytest.mark.parametrize("failing", [NODES, IDE])
def test_one_failed_question_means_unknown(failing):
    # Not "cluster lost": a Docker that did not answer about the nodes must not trigger a recovery.
    runner = FakeRunner(lambda argv: ok("kim-control-plane\nkim-ide\n") if argv[-1] != failing else fails("x"))
    assert drift.probe(LabNames("kim"), runner=runner) is None
