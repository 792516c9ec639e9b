from k8s_lab.docker_host import DockerHost, docker_host_problem


def test_local_and_remote_hosts():
    assert DockerHost("").remote is False and DockerHost("").environment() == {}
    assert DockerHost("unix:///var/run/docker.sock").hostname is None
    assert DockerHost("npipe:////./pipe/docker_engine").remote is False
    ssh = DockerHost("ssh://teacher@lab2.school.example")
    assert ssh.remote and ssh.hostname == "lab2.school.example"
    assert ssh.environment() == {"DOCKER_HOST": "ssh://teacher@lab2.school.example"}
    assert DockerHost("tcp://10.1.2.3:2376").hostname == "10.1.2.3"


def test_problems():
    assert docker_host_problem("") is None
    assert docker_host_problem("ssh://teacher@lab2") is None
    assert "scheme" in docker_host_problem("lab2:2376")
    assert "no host" in docker_host_problem("ssh://")
    assert "not a number" in docker_host_problem("tcp://lab2:x")
    assert "no socket" in docker_host_problem("unix://")


def test_each_problem_says_what_to_fix():
    assert docker_host_problem("lab2:2376") == "its scheme must be one of unix://, npipe://, tcp://, ssh://"
    assert docker_host_problem("ssh://") == "it names no host"
    assert docker_host_problem("tcp://lab2:x") == "its port is not a number"
    assert docker_host_problem("unix://") == "it names no socket or pipe path"
