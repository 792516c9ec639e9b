import subprocess

from k8s_lab import drift
from k8s_lab.drift import Presence
from k8s_lab.names import LabNames


def fake_docker(answers):
    def run(argv, **kwargs):
        filters = [argv[i + 1] for i, a in enumerate(argv) if a == "--filter"]
        return subprocess.CompletedProcess(argv, 0, answers.get(filters[0], ""), "")

    return run


def test_probe_reads_cluster_nodes_and_ide(monkeypatch):
    monkeypatch.setattr(drift.shutil, "which", lambda name: "/usr/bin/docker")
    run = fake_docker({"label=io.x-k8s.kind.cluster=kim": "kim-control-plane\nkim-worker\n", "name=^/kim-ide$": "kim-ide\n"})
    assert drift.probe(LabNames("kim"), run=run) == Presence(cluster=True, ide=True)
    assert drift.probe(LabNames("kim"), run=fake_docker({"name=^/kim-ide$": "kim-ide\n"})) == Presence(cluster=False, ide=True)


def test_probe_without_docker_knows_nothing(monkeypatch):
    monkeypatch.setattr(drift.shutil, "which", lambda name: None)
    assert drift.probe(LabNames("kim")) is None
    monkeypatch.setattr(drift.shutil, "which", lambda name: "/usr/bin/docker")
    failing = lambda argv, **kw: subprocess.CompletedProcess(argv, 1, "", "Cannot connect")
    assert drift.probe(LabNames("kim"), run=failing) is None


def test_lost_means_ide_there_and_cluster_gone():
    assert drift.cluster_lost(Presence(cluster=False, ide=True))
    assert not drift.cluster_lost(Presence(cluster=True, ide=True))
    assert not drift.cluster_lost(Presence(cluster=False, ide=False))  # a first up
    assert not drift.cluster_lost(None)
