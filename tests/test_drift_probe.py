"""drift.probe against a strict fake docker: the exact question, on the student's Docker
host, bounded in time; any failure to ask means "don't know", never an exception."""

import subprocess

import pytest

from k8s_lab import drift
from k8s_lab.drift import Presence
from k8s_lab.names import LabNames

NODES = "label=io.x-k8s.kind.cluster=kim"
IDE = "name=^/kim-ide$"
REMOTE = {"DOCKER_HOST": "ssh://teacher@lab2"}


class StrictDocker:
    """Answers only `docker ps -a --format {{.Names}} --filter F` aimed at the expected host."""

    def __init__(self, answers, docker_host=None):
        self.answers, self.docker_host, self.calls = answers, docker_host, []

    def __call__(self, argv, **kwargs):
        self.calls.append((argv, kwargs))
        assert argv[:5] == ["docker", "ps", "-a", "--format", "{{.Names}}"], argv  # -a: stopped nodes count
        assert len(argv) == 7 and argv[5] == "--filter", argv
        env = kwargs["env"]
        assert env.get("DOCKER_HOST") == self.docker_host, env.get("DOCKER_HOST")
        assert env.get("PATH"), "the caller's environment was dropped"
        assert 0 < kwargs["timeout"] <= 60 and kwargs["capture_output"] and kwargs["text"]
        return subprocess.CompletedProcess(argv, 0, self.answers.get(argv[6], ""), "")


@pytest.fixture(autouse=True)
def docker_on_path(monkeypatch):
    monkeypatch.setattr(drift.shutil, "which", lambda name: "/usr/bin/docker")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin")


def test_probe_asks_the_local_docker_about_stopped_and_running_containers():
    docker = StrictDocker({NODES: "kim-control-plane\n", IDE: "kim-ide\n"})
    assert drift.probe(LabNames("kim"), run=docker) == Presence(cluster=True, ide=True)
    assert sorted(argv[6] for argv, _ in docker.calls) == sorted([NODES, IDE])


def test_probe_asks_the_students_docker_host():
    docker = StrictDocker({IDE: "kim-ide\n"}, docker_host=REMOTE["DOCKER_HOST"])
    assert drift.probe(LabNames("kim"), docker_env=REMOTE, run=docker) == Presence(cluster=False, ide=True)


def test_only_the_students_own_ide_counts():
    docker = StrictDocker({IDE: "kim-ide-old\n"})
    assert drift.probe(LabNames("kim"), run=docker) == Presence(cluster=False, ide=False)


@pytest.mark.parametrize("error", [subprocess.TimeoutExpired(["docker"], 30), FileNotFoundError("docker")])
def test_a_docker_that_hangs_or_vanishes_means_unknown(error):
    def run(argv, **kwargs):
        raise error

    assert drift.probe(LabNames("kim"), run=run) is None


@pytest.mark.parametrize("failing", [NODES, IDE])
def test_one_failed_question_means_unknown(failing):
    # Not "cluster lost": a Docker that did not answer about the nodes must not trigger a recovery.
    def run(argv, **kwargs):
        code = 1 if argv[6] == failing else 0
        return subprocess.CompletedProcess(argv, code, "kim-control-plane\nkim-ide\n", "")

    assert drift.probe(LabNames("kim"), run=run) is None
