"""The small renderers: network options, volume options, command lines, IDE settings."""

import shlex
import subprocess

import pytest

from k8s_lab import commands, ide_container, network, workspace
from k8s_lab.ports import ports_for_slot


def test_network_options_are_kinds_with_ipv6_off_explicitly():
    assert network.network_options(None) == {
        "com.docker.network.bridge.enable_ip_masquerade": "true",
        "com.docker.network.enable_ipv6": "false",
    }
    assert network.network_options(1450)["com.docker.network.driver.mtu"] == "1450"
    assert "com.docker.network.driver.mtu" not in network.network_options(0)


def test_bind_volume_options_are_the_seeds():
    assert workspace.bind_volume_driver_opts(r"C:\Users\me\lab\kim\src") == {
        "type": "none",
        "o": "bind",
        "device": r"C:\Users\me\lab\kim\src",
    }


def test_ensure_folders_creates_and_never_empties(tmp_path):
    paths = workspace.workspace_paths(str(tmp_path), "kim")
    workspace.ensure_folders(paths)
    work = tmp_path / "kim" / "src" / "homework.py"
    work.write_text("print('mine')")
    workspace.ensure_folders(paths)  # a second `up`
    assert work.read_text() == "print('mine')"
    assert (tmp_path / "kim" / "vscode").is_dir()


ALL_COMMANDS = [
    commands.kind_create("kim-lee", 9),
    commands.kind_delete("kim-lee"),
    commands.kind_kubeconfig("kim-lee"),
    commands.registry_hosts("kim-lee", "/etc/containerd/certs.d/localhost:57001", "http://kim-lee-registry:5000"),
    commands.manifest("kim-lee", "https://raw.githubusercontent.com/a/b/controller-v1.11.3/x.yaml", "0f" * 32),
    commands.manifest("kim-lee", "https://example.com/m.yaml", "0f" * 32, remove=True),
]


@pytest.mark.parametrize("line", ALL_COMMANDS)
def test_every_command_reads_the_same_under_sh_and_cmd(line):
    """pulumi-command runs `/bin/sh -c` or `cmd /C`: each command is plain words that both
    split the same way, so one stack's command text is the same on every machine."""
    argv = line.split(" ")
    assert shlex.split(line) == argv
    assert subprocess.list2cmdline(argv) == line == shlex.join(argv)
    assert not set(line) & set("|&;<>$`%^\"'*?()[]{}~"), line
    assert argv[:3] == ["python", "-m", "k8s_lab.kind_lifecycle"]


@pytest.mark.parametrize("word", ["a b", "x;rm -rf /", "$(id)", "%PATH%", "a&b", r"C:\Program Files\x", "", "it's"])
def test_a_word_that_needs_quoting_is_refused(word):
    with pytest.raises(ValueError, match="quoting"):
        commands.command_line(["kind", "--name", word])


def test_ide_environment_has_the_lab_settings_then_the_students():
    env = ide_container.environment("Asia/Seoul", (("GIT_AUTHOR_NAME", "Kim"),))
    assert env == [
        "TZ=Asia/Seoul",
        "PUID=0",
        "PGID=0",
        "FILE__PASSWORD=/run/secrets/code-server-password",
        "DEFAULT_WORKSPACE=/code",
        "GIT_AUTHOR_NAME=Kim",
    ]


def test_ide_ports_and_url():
    p = ports_for_slot(2)
    assert ide_container.published_ports(p) == [(8443, 8644), (5500, 5700)]
    assert ide_container.ide_url("127.0.0.1", p) == "http://127.0.0.1:8644"
    assert ide_container.ide_url("0.0.0.0", p) == "http://127.0.0.1:8644"
    assert ide_container.ide_url("192.168.1.20", p) == "http://192.168.1.20:8644"
    assert ide_container.ide_url("192.168.1.20", p, https=True) == "https://192.168.1.20:8644"


def test_ide_mounts_the_docker_socket_only_when_asked():
    assert ide_container.host_mounts(True) == [ide_container.Mount("/var/run/docker.sock", "/var/run/docker.sock")]
    assert ide_container.host_mounts(False) == []


def test_ide_over_https_names_its_config_and_checks_health_over_https():
    assert ide_container.healthcheck(False) == ide_container.HEALTHCHECK
    assert ide_container.healthcheck(True).tests == ["CMD", "curl", "-fsSk", "https://localhost:8443/healthz"]
    assert ide_container.environment("UTC", (("A", "1"),), https=True)[-2:] == ["CODE_SERVER_CONFIG=/run/secrets/code-server-https.yaml", "A=1"]
    secret_env = ide_container.environment("UTC", (("A", "1"),), extra_secret=True, https=True)
    assert "CODE_SERVER_CONFIG=/run/secrets/code-server-https.yaml" in secret_env
    assert not any("CODE_SERVER_CONFIG" in e for e in ide_container.environment("UTC", (), extra_secret=True))


def test_code_servers_https_config_reads_back_as_code_server_reads_it():
    import yaml

    # A host name YAML would read as something else stays a string.
    assert yaml.safe_load(ide_container.https_config(ide_container.Https(cert_host="no"))) == {"cert": True, "cert-host": "no"}
    given = ide_container.Https(cert_host="lab2", certificate="PEM", key="KEY")
    assert yaml.safe_load(ide_container.https_config(given)) == {
        "cert": "/run/secrets/code-server-https.crt", "cert-key": "/run/secrets/code-server-https.key"}
    assert "KEY" not in repr(given)


def test_a_handout_for_a_self_signed_ide_says_what_the_browser_shows(tmp_path):
    import classroom
    from k8s_lab.handout import render_handout
    from k8s_lab.orchestrate import Outcome

    plain = render_handout("kim", "http://127.0.0.1:8444", "pw-123456", None, None)
    given = render_handout("kim", "https://lab.school.example:8444", "pw-123456", None, None, "given")
    assert "warning" not in plain.lower() and "warning" not in given.lower()
    outputs = {"ideUrl": "https://lab2:8444", "idePassword": "pw-123456", "ideCertificate": "self-signed"}
    classroom.write_handouts([Outcome("kim", True, 1.0, outputs=outputs)], tmp_path)
    text = (tmp_path / "kim.md").read_text(encoding="utf-8")
    assert "self-signed" in text and "Your connection is not private" in text and "Accept the Risk and Continue" in text
    assert text.index("https://lab2:8444") < text.index("## The browser's warning") < text.index("## Kubernetes from the IDE")


def test_secret_student_variables_keep_the_labs_own_timezone_and_settings():
    """With ideEnv secret, the student's variables become files: the lab's own entries stay as they are."""
    env = ide_container.environment("Asia/Seoul", (("GIT_TOKEN", "s3cret"),), extra_secret=True)
    assert env[:5] == ide_container.environment("Asia/Seoul", ())
    assert env[0] == "TZ=Asia/Seoul" and env[-1] == "FILE__GIT_TOKEN=/run/secrets/ide-env-GIT_TOKEN"
    assert not any("s3cret" in entry for entry in env)


def test_plain_http_is_the_default_for_the_health_check_and_the_ingress_url():
    from k8s_lab.ingress import ingress_url

    assert ide_container.healthcheck() == ide_container.HEALTHCHECK
    assert ingress_url("127.0.0.1", 8080) == "http://127.0.0.1:8080/"
    assert ingress_url("192.168.1.20", 80, host_name="lab.example.edu") == "http://lab.example.edu:80/"


def test_a_handout_says_when_its_address_opens_only_on_the_labs_machine():
    from k8s_lab.handout import render_handout

    for url, host in [("http://127.0.0.1:8444", "127.0.0.1"), ("https://localhost:8444", "localhost"), ("http://[::1]:8444", "::1")]:
        text = render_handout("kim", url, "pw", None, None)
        assert f"These addresses open only on the computer the lab runs on ({host} is always" in text, url
    assert "open only on" not in render_handout("kim", "https://teacher.school.lan:8444", "pw", None, None)
    assert "open only on" not in render_handout("kim", "http://10.0.0.5:8444", "pw", None, None)


def test_a_handout_in_korean_has_every_part_of_the_english_one():
    from k8s_lab.handout import TEXT, render_handout, roster_language

    assert set(TEXT["ko"]) == set(TEXT["en"])
    args = ("kim", "http://127.0.0.1:8444", "pw-123", "localhost:5001", "http://127.0.0.1:80/", "self-signed")
    english, korean = render_handout(*args, lang="en"), render_handout(*args, lang="ko")
    assert len(korean.splitlines()) == len(english.splitlines())  # the same sections, code blocks and commands
    assert [line for line in korean.splitlines() if line.startswith(("docker ", "kubectl run", "- IDE", "```"))] == [
        line for line in english.splitlines() if line.startswith(("docker ", "kubectl run", "- IDE", "```"))]
    assert "비밀번호: `pw-123`" in korean and "브라우저 경고" in korean and "Password" not in korean
    assert roster_language("student,이름\nkim,김민수\n") == "ko" and roster_language("student\nkim\n") == "en"
