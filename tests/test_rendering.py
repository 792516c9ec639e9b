"""The small renderers: network options, volume options, command lines, IDE settings."""

import shlex

from k8s_lab import commands, ide_container, network, workspace
from k8s_lab.ports import ports_for_slot


def test_network_options_copy_the_default_bridge_mtu_like_kind():
    assert network.network_options({"com.docker.network.driver.mtu": "1450", "other": "x"}) == {
        "com.docker.network.bridge.enable_ip_masquerade": "true",
        "com.docker.network.driver.mtu": "1450",
    }


def test_network_options_without_an_mtu_leave_it_to_docker():
    expected = {"com.docker.network.bridge.enable_ip_masquerade": "true"}
    assert network.network_options(None) == expected
    assert network.network_options({}) == expected
    assert network.network_options({"com.docker.network.driver.mtu": "0"}) == expected
    assert network.network_options({"com.docker.network.driver.mtu": "garbage"}) == expected


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


def test_posix_command_lines_quote_for_sh():
    line = commands.command_line(["kind", "create", "cluster", "--name", "a b;rm -rf /"], windows=False)
    assert shlex.split(line) == ["kind", "create", "cluster", "--name", "a b;rm -rf /"]


def test_windows_command_lines_quote_for_cmd():
    assert commands.command_line(["kind", "get", "kubeconfig", "--name", "kim"], windows=True) == (
        "kind get kubeconfig --name kim"
    )
    assert commands.command_line(["tool", r"C:\Program Files\x"], windows=True) == r'tool "C:\Program Files\x"'


def test_lifecycle_commands_use_no_shell_syntax():
    for windows, python in ((False, "/home/kim/lab/venv/bin/python"), (True, r"C:\Users\Kim Lee\lab\venv\Scripts\python.exe")):
        for line in (
            commands.kind_create("kim", 2, python=python, windows=windows),
            commands.kind_delete("kim", python=python, windows=windows),
            commands.kind_kubeconfig("kim", python=python, windows=windows),
        ):
            assert not set(line) & set("|&;<>$`%^"), line
    assert commands.kind_create("kim", 2, python="/v/bin/python", windows=False) == (
        "/v/bin/python -m k8s_lab.kind_lifecycle create --name kim --workers 2"
    )
    # A Windows interpreter path with a space is quoted for cmd.
    assert commands.kind_delete("kim", python=r"C:\Users\Kim Lee\python.exe", windows=True) == (
        '"C:\\Users\\Kim Lee\\python.exe" -m k8s_lab.kind_lifecycle delete --name kim'
    )


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
