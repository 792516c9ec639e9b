from k8s_lab import drift
from k8s_lab.drift import Presence
from k8s_lab.names import LabNames
from fakes import FakeRunner, fails, ok

NODES = ("docker", "ps", "-a", "--format", "{{.Names}}", "--filter", "label=io.x-k8s.kind.cluster=kim")
IDE = ("docker", "ps", "-a", "--format", "{{.Names}}", "--filter", "name=^/kim-ide$")


def test_probe_reads_cluster_nodes_and_ide(monkeypatch):
    monkeypatch.setattr(drift.shutil, "which", lambda name: "/usr/bin/docker")
    runner = FakeRunner({NODES: ok("kim-control-plane\nkim-worker\n"), IDE: ok("kim-ide\n")})
    assert drift.probe(LabNames("kim"), runner=runner) == Presence(cluster=True, ide=True)
    assert drift.probe(LabNames("kim"), runner=FakeRunner({NODES: ok(), IDE: ok("kim-ide\n")})) == Presence(cluster=False, ide=True)


def test_probe_without_docker_knows_nothing(monkeypatch):
    monkeypatch.setattr(drift.shutil, "which", lambda name: None)
    runner = FakeRunner()
    assert drift.probe(LabNames("kim"), runner=runner) is None and runner.calls == []  # not asked
    monkeypatch.setattr(drift.shutil, "which", lambda name: "/usr/bin/docker")
    assert drift.probe(LabNames("kim"), runner=FakeRunner({("docker",): fails("Cannot connect")})) is None


def test_lost_means_ide_there_and_cluster_gone():
    assert drift.cluster_lost(Presence(cluster=False, ide=True))
    assert not drift.cluster_lost(Presence(cluster=True, ide=True))
    assert not drift.cluster_lost(Presence(cluster=False, ide=False))  # a first up
    assert not drift.cluster_lost(None)


def test_the_lost_cluster_warning_names_the_labs_stack():
    """Seen by a teacher's classroom.py up as well: a bare `lab.py up` would make their own lab."""
    from k8s_lab.exits import lab_command

    text = drift.lost_cluster_message(LabNames("lee"), "urn:pulumi:lee::k8s-lab::x")
    assert f"`{lab_command('up', '--stack', 'lee')}` makes it again" in text
