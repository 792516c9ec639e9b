"""Config validation: every bad value is refused with its key, the value and the fix."""

import json
import os

import pytest

import tls_pairs
from k8s_lab import config as lab_config
from k8s_lab.config import ConfigError, parse_lab_config


def parse(workspace_root, stack="kim", password_is_secret=True, **raw):
    raw.setdefault("workspaceRoot", workspace_root)
    return parse_lab_config(raw, stack=stack, password_is_secret=password_is_secret)


def test_defaults(workspace_root):
    cfg = parse(workspace_root)
    assert cfg.student == "kim"  # the stack name
    assert (cfg.slot, cfg.bind_address, cfg.workers, cfg.mount_docker_socket) == (0, "127.0.0.1", 2, True)
    assert cfg.node_image == lab_config.DEFAULT_NODE_IMAGE
    assert cfg.timezone == "Asia/Seoul"
    assert cfg.ide_password is None and cfg.ide_image is None and cfg.ide_env == ()
    assert (cfg.ingress, cfg.registry, cfg.namespace) == (True, True, "kim")
    assert cfg.workspace.src == os.path.join(workspace_root, "kim", "src")


def test_every_key_set(workspace_root):
    cfg = parse(
        workspace_root,
        student="lee",
        slot="12",
        bindAddress="0.0.0.0",
        allowRemoteAccess="true",
        idePassword="s3cret-enough",
        ideImage="registry.example.com:5000/class/ide:2024-09",
        workers="0",
        mountDockerSocket="false",
        timezone="Europe/Berlin",
        ideEnv=json.dumps(["GIT_AUTHOR_NAME=Lee", "EMPTY=", "URL=http://x/?a=b"]),
    )
    assert (cfg.student, cfg.slot, cfg.bind_address, cfg.workers) == ("lee", 12, "0.0.0.0", 0)
    assert cfg.ide_password == "s3cret-enough" and cfg.ide_image.endswith(":2024-09")
    assert cfg.mount_docker_socket is False and cfg.timezone == "Europe/Berlin"
    assert cfg.ide_env == (("GIT_AUTHOR_NAME", "Lee"), ("EMPTY", ""), ("URL", "http://x/?a=b"))
    assert cfg.ports.ide == 8444 + 1200


def test_password_never_appears_in_repr(workspace_root):
    assert "s3cret-enough" not in repr(parse(workspace_root, idePassword="s3cret-enough"))


CERT, KEY = tls_pairs.pair("lab2")
OTHER_CERT, OTHER_KEY = tls_pairs.pair("other")
RSA_CERT, RSA_KEY = tls_pairs.pair("rsa", "rsa")
ENCRYPTED_KEY = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIEfakeKEY0\n-----END ENCRYPTED PRIVATE KEY-----\n"

BAD = [
    # (raw settings, key, words the message must carry)
    ({"student": "Kim"}, "student", ["'Kim'", "lowercase", "pulumi config set student"]),
    ({"student": "kim_lee"}, "student", ["'kim_lee'", "lowercase"]),
    ({"student": "x" * 50}, "student", ["at most 49", "pulumi config set student"]),
    ({"student": "-kim"}, "student", ["'-kim'"]),
    ({"slot": "abc"}, "slot", ["'abc'", "not a whole number", "0 to 570"]),
    ({"slot": "1.5"}, "slot", ["'1.5'", "not a whole number"]),
    ({"slot": "-1"}, "slot", ["'-1'", "negative"]),
    ({"slot": "571"}, "slot", ["'571'", "65544", "past 65535", "0 to 570"]),
    ({"slot": "100000"}, "slot", ["past 65535"]),
    ({"bindAddress": "localhost"}, "bindAddress", ["'localhost'", "not an IP address", "127.0.0.1"]),
    ({"bindAddress": "256.1.1.1"}, "bindAddress", ["not an IP address"]),
    ({"bindAddress": "::1"}, "bindAddress", ["IPv6", "IPv4"]),
    ({"bindAddress": "224.0.0.1"}, "bindAddress", ["multicast"]),
    ({"workspaceRoot": "relative/labs"}, "workspaceRoot", ["'relative/labs'", "not an absolute path", "pulumi config set workspaceRoot"]),
    ({"networkMtu": "1000"}, "networkMtu", ["'1000'", "outside 1280..9000", "pulumi config set networkMtu"]),
    ({"networkMtu": "jumbo"}, "networkMtu", ["'jumbo'", "not a whole number"]),
    ({"labMemory": "lots"}, "labMemory", ["'lots'", "not a memory size", "pulumi config set labMemory 6g"]),
    ({"labMemory": "1g"}, "labMemory", ["'1g'", "typical footprint", "3g or more"]),
    ({"labMemory": "2g", "workers": "9"}, "labMemory", ["'2g'", "11 containers", "fewer workers"]),
    ({"labCpus": "two"}, "labCpus", ["'two'", "not a number of CPUs", "pulumi config set labCpus"]),
    ({"registryMirror": "ftp://teacher:5000"}, "registryMirror", ["not an http:// or https:// URL", "classroom.py mirror"]),
    ({"registryMirror": "http://u:pw@teacher:5000"}, "registryMirror", ["(hidden: it holds credentials)", "plain text"]),
    ({"idePassword": "short"}, "idePassword", ["(hidden)", "shorter than 8", "--secret"]),
    ({"ideImage": "Not An Image"}, "ideImage", ["'Not An Image'", "not an image reference"]),
    ({"ideImage": "ide:tag with space"}, "ideImage", ["not an image reference"]),
    ({"nodeImage": "kindest/node:v1.29.4"}, "nodeImage", ["'kindest/node:v1.29.4'", "pinned", "@sha256"]),
    ({"nodeImage": "kindest/node@sha256:123"}, "nodeImage", ["pinned"]),
    ({"workers": "-1"}, "workers", ["'-1'", "outside 0..9"]),
    ({"workers": "10"}, "workers", ["'10'", "outside 0..9"]),
    ({"workers": "two"}, "workers", ["'two'", "not a whole number"]),
    ({"mountDockerSocket": "yes"}, "mountDockerSocket", ["'yes'", "true or false"]),
    ({"timezone": "Mars/Olympus"}, "timezone", ["'Mars/Olympus'", "IANA"]),
    ({"ideEnv": "A=1"}, "ideEnv", ["not a list"]),
    ({"ideEnv": json.dumps({"A": "1"})}, "ideEnv", ["not a list"]),
    ({"ideEnv": json.dumps(["NOEQUALS"])}, "ideEnv", ["'NOEQUALS'", "NAME=value"]),
    ({"ideEnv": json.dumps(["1BAD=x"])}, "ideEnv", ["'1BAD=x'"]),
    ({"ideEnv": json.dumps(["PASSWORD=hunter2"])}, "ideEnv", ["PASSWORD is set by the lab", "idePassword"]),
    ({"ideEnv": json.dumps(["FILE__PASSWORD=/tmp/x"])}, "ideEnv", ["FILE__PASSWORD is set by the lab"]),
    ({"ideEnv": json.dumps(["TZ=UTC"])}, "ideEnv", ["TZ is set by the lab", "timezone"]),
    ({"ideEnv": json.dumps(["A=1", "A=2"])}, "ideEnv", ["set twice"]),
    ({"ingress": "on"}, "ingress", ["'on'", "true or false", "pulumi config set ingress"]),
    ({"registry": "1"}, "registry", ["'1'", "true or false"]),
    ({"namespace": "Team_A"}, "namespace", ["'Team_A'", "lowercase", "pulumi config set namespace"]),
    ({"namespace": "kube-system"}, "namespace", ["'kube-system'", "belongs to Kubernetes"]),
    ({"namespace": "default"}, "namespace", ["'default'", "belongs to Kubernetes"]),
    ({"bindAddress": "0.0.0.0"}, "bindAddress", ["'0.0.0.0'", "beyond this machine", "allowRemoteAccess true"]),
    ({"dockerHost": "http://lab2"}, "dockerHost", ["'http://lab2'", "scheme must be one of", "ssh://user@host"]),
    ({"dockerHost": "tcp://:2376"}, "dockerHost", ["names no host"]),
    ({"dockerHost": "tcp://lab2:port"}, "dockerHost", ["port is not a number"]),
    ({"dockerHost": "ssh://teacher@lab2"}, "bindAddress", ["loopback on the remote Docker host lab2", "bindAddress 0.0.0.0"]),
    ({"allowRemoteAccess": "sure"}, "allowRemoteAccess", ["'sure'", "true or false"]),
    ({"hostName": "teacher_pc.lan"}, "hostName", ["'teacher_pc.lan'", "not a host name or IP address", "pulumi config set hostName"]),
    ({"hostName": "http://teacher.lan"}, "hostName", ["'http://teacher.lan'", "not a host name or IP address"]),
    ({"hostName": "teacher.lan:8444"}, "hostName", ["'teacher.lan:8444'", "not a host name or IP address"]),
    ({"hostName": "-teacher.lan"}, "hostName", ["'-teacher.lan'", "not a host name"]),
    ({"hostName": "a" * 64 + ".lan"}, "hostName", ["not a host name"]),
    ({"hostName": "teacher.school.lan"}, "hostName", ["'teacher.school.lan'", "loopback only", "bindAddress 0.0.0.0", "pulumi config rm hostName"]),
    ({"slots": "3"}, "slots", ["not a k8s-lab setting", "pulumi config rm slots"]),
    ({"ideTlsCert": "/etc/ssl/lab.pem", "ideTlsKey": KEY}, "ideTlsCert",
     ["'/etc/ssl/lab.pem'", "not a PEM certificate", "pulumi config set ideTlsCert < cert.pem"]),
    ({"ideTlsCert": CERT + KEY, "ideTlsKey": KEY}, "ideTlsCert", ["'-----BEGIN CERTIFICATE-----'", "not a PEM certificate"]),
    ({"ideTlsCert": "-----BEGIN CERTIFICATE-----\nnot*base64\n-----END CERTIFICATE-----", "ideTlsKey": KEY}, "ideTlsCert", ["not a PEM certificate"]),
    ({"ideTlsCert": "-----BEGIN CERTIFICATE-----\nMIIBfakeCERT\n-----END CERTIFICATE-----", "ideTlsKey": KEY}, "ideTlsCert",
     ["'-----BEGIN CERTIFICATE-----'", "cannot be read as an X.509 certificate"]),
    ({"ideTlsCert": CERT, "ideTlsKey": OTHER_KEY}, "ideTlsKey",
     ["ideTlsKey = (hidden)", "is not the private key of ideTlsCert", "the key made with it"]),
    ({"ideTlsCert": RSA_CERT, "ideTlsKey": KEY}, "ideTlsKey", ["is not the private key of ideTlsCert"]),
    ({"ideTlsCert": CERT, "ideTlsKey": "-----BEGIN PRIVATE KEY-----\nMIIEfakeKEY0\n-----END PRIVATE KEY-----"}, "ideTlsKey",
     ["cannot be read as a private key"]),
    ({"ideTlsCert": CERT}, "ideTlsKey", ["ideTlsKey = (unset)", "needed with ideTlsCert", "pulumi config set --secret ideTlsKey < key.pem"]),
    ({"ideTlsKey": KEY}, "ideTlsCert", ["ideTlsCert = (unset)", "needed with ideTlsKey", "pulumi config set ideTlsCert < cert.pem"]),
    ({"ideTlsCert": CERT, "ideTlsKey": "hunter2-not-a-key"}, "ideTlsKey", ["(hidden)", "not one PEM private key", "--secret ideTlsKey"]),
    ({"ideTlsCert": CERT, "ideTlsKey": ENCRYPTED_KEY}, "ideTlsKey", ["(hidden)", "encrypted", "openssl pkey"]),
    ({"ideTlsCert": CERT, "ideTlsKey": KEY + KEY}, "ideTlsKey", ["not one PEM private key"]),
    ({"ideEnv": json.dumps(["CODE_SERVER_CONFIG=/tmp/x.yaml"])}, "ideEnv", ["CODE_SERVER_CONFIG is set by the lab"]),
]


@pytest.mark.parametrize("raw, key, words", BAD, ids=[f"{b[1]}:{list(b[0].values())[0]!s:.20}" for b in BAD])
def test_bad_value_is_refused_with_key_value_and_fix(workspace_root, raw, key, words):
    with pytest.raises(ConfigError) as caught:
        parse(workspace_root, **raw)
    problems = caught.value.problems
    assert [p.key for p in problems] == [key]
    message = str(caught.value)
    assert "nothing was created" in message
    assert f"{key} = " in message and "Fix:" in message
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"


def test_bad_stack_name_is_reported_under_student(workspace_root):
    with pytest.raises(ConfigError) as caught:
        parse(workspace_root, stack="Dev_Stack")
    message = str(caught.value)
    assert "student = 'Dev_Stack'" in message and "taken from the stack name" in message


def test_plaintext_password_is_refused_without_showing_it(workspace_root):
    with pytest.raises(ConfigError) as caught:
        parse(workspace_root, password_is_secret=False, idePassword="long-enough-password")
    message = str(caught.value)
    assert "long-enough-password" not in message
    assert "plain text" in message and "pulumi config set --secret idePassword" in message


def test_all_problems_are_reported_at_once(workspace_root):
    with pytest.raises(ConfigError) as caught:
        parse(workspace_root, slot="x", workers="x", timezone="x")
    assert [p.key for p in caught.value.problems] == ["slot", "workers", "timezone"]


def test_writable_problem_names_a_file_in_the_way(tmp_path):
    """lab.py's preflight on the student's machine; the config check reads no disk."""
    from k8s_lab.workspace import writable_problem

    file = tmp_path / "afile"
    file.write_text("not a folder")
    assert writable_problem(str(file)) == "it is a file, not a folder"
    assert writable_problem(str(file / "below")) == f"its parent {file} is a file, not a folder"
    assert parse(str(file / "below")).workspace_root == str(file / "below")


def test_writable_problem_asks_os_access(tmp_path, monkeypatch):
    # CI runs as root, who may write anywhere; the verdict is os.access's, so ask it.
    from k8s_lab import workspace

    monkeypatch.setattr(workspace.os, "access", lambda path, mode: False)
    assert workspace.writable_problem(str(tmp_path / "labs")) == f"its nearest existing parent {tmp_path} is not writable by this user"
    monkeypatch.setattr(workspace.os, "access", lambda path, mode: True)
    assert workspace.writable_problem(str(tmp_path / "labs")) is None


def test_each_workspace_root_problem_says_what_is_wrong_with_it(tmp_path, monkeypatch):
    from k8s_lab import workspace

    assert workspace.root_problem("~/labs") == "it starts with ~, which only the machine that reads it can expand"
    assert workspace.root_problem("labs") == "it is not an absolute path (C:\\..., \\\\server\\share\\... or /...)"
    assert workspace.writable_problem("C:\\labs") == "it is not a path of this machine's kind"
    monkeypatch.setattr(workspace.os.path, "exists", lambda path: False)
    assert workspace.writable_problem(str(tmp_path / "labs")) == "none of its parent folders exists"


def test_writable_problem_asks_for_write_and_search_on_the_folder_itself(tmp_path, monkeypatch):
    from k8s_lab import workspace

    asked = []
    # Root may write anywhere, so the verdict is os.access's: here it refuses writing.
    monkeypatch.setattr(workspace.os, "access", lambda path, mode: asked.append(mode) or not mode & os.W_OK)
    assert workspace.writable_problem(str(tmp_path)) == "it is not writable by this user"
    assert asked == [os.W_OK | os.X_OK]


def test_a_folder_of_another_kind_of_machine_is_named_with_its_kind_and_the_fix(tmp_path, monkeypatch):
    import ntpath
    from types import SimpleNamespace

    from k8s_lab import workspace

    windows = workspace.WorkspacePaths("C:\\labs\\kim\\src", "C:\\labs\\kim\\vscode")
    with pytest.raises(ValueError) as caught:
        workspace.ensure_folders(windows)
    assert str(caught.value) == (
        "workspaceRoot: C:\\labs\\kim\\src is not a path of this machine (it is for Windows); run `up` on the student's machine, "
        "or pulumi config set workspaceRoot '<a folder of this machine>'"
    )
    made = []
    monkeypatch.setattr(workspace, "os", SimpleNamespace(path=ntpath, makedirs=lambda path, exist_ok: made.append(path)))
    with pytest.raises(ValueError, match=r"^workspaceRoot: /home/kim/src is not a path of this machine \(it is for Linux or macOS\)"):
        workspace.ensure_folders(workspace.WorkspacePaths("/home/kim/src", "/home/kim/vscode"))
    workspace.ensure_folders(windows)  # on Windows
    assert made == list(windows.all())


def test_missing_parents_are_fine_and_nothing_is_made(tmp_path):
    cfg = parse(str(tmp_path / "not" / "yet" / "there"))
    assert cfg.workspace_root == str(tmp_path / "not" / "yet" / "there")
    assert not (tmp_path / "not").exists()  # validation only reads the text


def test_a_root_whose_parents_exist_on_no_machine_evaluates():
    cfg = parse_lab_config({"workspaceRoot": "/no/such/machine/has/this"}, stack="kim")
    assert cfg.workspace.src == "/no/such/machine/has/this/kim/src"


@pytest.mark.parametrize("raw", ["", "   ", "~/k8s-lab", "~", "k8s-lab", r"lab\kim", "./labs", "C:lab"])
def test_root_must_be_set_and_absolute_in_its_own_form(raw):
    with pytest.raises(ConfigError) as refused:
        parse_lab_config({"workspaceRoot": raw}, stack="kim")
    (problem,) = refused.value.problems
    assert problem.key == "workspaceRoot"
    assert "lab.py up" in problem.fix and "[[set workspaceRoot" in problem.fix
    assert "~" in problem.reason if raw.startswith("~") else True


def test_unset_root_is_fine_on_another_docker_host():
    """A dockerHost lab binds no folders (its volumes live on that host)."""
    cfg = parse_lab_config(
        {"dockerHost": "ssh://teacher@lab2", "bindAddress": "0.0.0.0", "allowRemoteAccess": "true"}, stack="kim"
    )
    assert cfg.workspace_root == ""


@pytest.mark.parametrize(
    "raw, root, src",
    [
        (r"C:/Users/me/lab", r"C:\Users\me\lab", r"C:\Users\me\lab\kim\src"),
        (r"C:\Users\lee\k8s-lab\\", r"C:\Users\lee\k8s-lab", r"C:\Users\lee\k8s-lab\kim\src"),
        (r"\\server\share\labs", r"\\server\share\labs", r"\\server\share\labs\kim\src"),
        ("/home/kim//k8s-lab/", "/home/kim/k8s-lab", "/home/kim/k8s-lab/kim/src"),
    ],
)
def test_each_root_keeps_its_own_form_on_any_machine(raw, root, src):
    cfg = parse_lab_config({"workspaceRoot": raw}, stack="kim")
    assert cfg.workspace_root == root
    assert cfg.workspace.src == src


def test_a_mirror_with_credentials_is_refused_without_showing_them(workspace_root):
    with pytest.raises(ConfigError) as refused:
        parse(workspace_root, registryMirror="http://teacher:s3cretPW@lab2:5000")
    assert "s3cretPW" not in str(refused.value) and "registryMirror" in str(refused.value)


def test_caps_are_on_by_default_and_0_turns_them_off(workspace_root):
    capped = parse(workspace_root)
    assert (capped.lab_memory_mb, capped.lab_cpus) == (6144, "2")
    assert capped.shares.ide_mb and capped.shares.control_plane_mb and capped.shares.worker_mb
    off = parse(workspace_root, labMemory="0", labCpus="0")
    assert (off.lab_memory_mb, off.lab_cpus) == (None, None)
    assert off.shares == off.shares.__class__()


def problems_of(raw, **kwargs):
    with pytest.raises(ConfigError) as refused:
        parse_lab_config(raw, stack="kim", **kwargs)
    return refused.value.problems


def test_rules_across_keys_report_exactly(workspace_root):
    """Each rule that spans keys, as the user reads it: key, shown value, reason and fix."""
    from k8s_lab.config import BY_KEY, Problem

    assert problems_of({}) == [
        Problem("workspaceRoot", "(unset)", "cannot name the student folders: it is not set", BY_KEY["workspaceRoot"].fix)
    ]
    assert problems_of({"workspaceRoot": workspace_root, "idePassword": "long-enough-pw"}, password_is_secret=False) == [
        Problem("idePassword", "(hidden)", "is stored in plain text", "[[secret idePassword <password>]]")
    ]
    assert problems_of({"workspaceRoot": workspace_root, "bindAddress": "0.0.0.0"}) == [
        Problem(
            "bindAddress",
            "'0.0.0.0'",
            "publishes the IDE (a root shell with the host's docker) beyond this machine",
            "[[set allowRemoteAccess true]] to mean it, or [[set bindAddress 127.0.0.1]]",
        )
    ]
    assert problems_of({"dockerHost": "ssh://teacher@lab2"}) == [
        Problem(
            "bindAddress",
            "'127.0.0.1'",
            "is loopback on the remote Docker host lab2, out of the students' reach",
            "[[set bindAddress 0.0.0.0]] and [[set allowRemoteAccess true]]",
        )
    ]
    assert problems_of({"workspaceRoot": workspace_root, "hostName": "teacher.lan"}) == [
        Problem(
            "hostName",
            "'teacher.lan'",
            "names how other machines reach the lab, but bindAddress 127.0.0.1 publishes it on loopback only",
            "[[set bindAddress 0.0.0.0]] and [[set allowRemoteAccess true]], or [[rm hostName]]",
        )
    ]
    # On a remote Docker host the loopback bindAddress is the one problem, whatever hostName says.
    assert [p.key for p in problems_of({"dockerHost": "ssh://teacher@lab2", "hostName": "lab2.school.lan"})] == ["bindAddress"]
    assert parse_lab_config({"workspaceRoot": workspace_root, "workers": "9"}, stack="kim").shares.worker_mb >= 256
    (given,) = problems_of({"workspaceRoot": workspace_root, "labMemory": "2g", "workers": "9"})
    assert (given.key, given.value) == ("labMemory", "'2g'") and "11 containers" in given.reason
    # A reported key is not reported again by a rule that builds on it.
    assert [p.key for p in problems_of({"dockerHost": "ftp://x", "bindAddress": "nope"})] == ["bindAddress", "dockerHost", "workspaceRoot"]


def test_https_beyond_loopback_and_wherever_a_certificate_is_given(workspace_root):
    from k8s_lab.ide_container import Https

    assert parse(workspace_root).https is None  # the default lab: plain HTTP on loopback, as before
    assert parse(workspace_root, bindAddress="127.0.0.2").https is None  # loopback too
    remote = parse(workspace_root, bindAddress="192.168.1.20", allowRemoteAccess="true")
    assert remote.https == Https(cert_host="192.168.1.20") and remote.https.self_signed
    on_host = parse_lab_config({"dockerHost": "ssh://teacher@lab2", "bindAddress": "0.0.0.0", "allowRemoteAccess": "true"}, stack="kim")
    assert on_host.https == Https(cert_host="lab2")
    named = parse(workspace_root, bindAddress="0.0.0.0", allowRemoteAccess="true", hostName="teacher.school.lan")
    assert named.https == Https(cert_host="teacher.school.lan") and named.host_name == "teacher.school.lan"
    by_address = parse(workspace_root, bindAddress="0.0.0.0", allowRemoteAccess="true", hostName="192.168.1.20")
    assert by_address.https == Https(cert_host="192.168.1.20")
    on_named_host = parse_lab_config(
        {"dockerHost": "ssh://teacher@lab2", "bindAddress": "0.0.0.0", "allowRemoteAccess": "true", "hostName": "lab2.school.lan"}, stack="kim"
    )
    assert on_named_host.https == Https(cert_host="lab2.school.lan")
    assert parse(workspace_root, bindAddress="0.0.0.0", allowRemoteAccess="true").host_name == ""  # empty: as before
    given = parse(workspace_root, ideTlsCert=CERT + OTHER_CERT, ideTlsKey=KEY)  # a chain
    assert given.https == Https(cert_host="127.0.0.1", certificate=CERT + OTHER_CERT, key=KEY) and not given.https.self_signed
    secret_line = KEY.splitlines()[1]
    assert secret_line not in repr(given) and secret_line not in repr(given.https)
    assert parse(workspace_root, ideTlsCert=RSA_CERT, ideTlsKey=RSA_KEY).https.certificate == RSA_CERT


def test_a_plaintext_tls_key_is_refused_without_showing_it(workspace_root):
    from k8s_lab.config import Problem

    assert problems_of({"workspaceRoot": workspace_root, "ideTlsCert": CERT, "ideTlsKey": KEY}, tls_key_is_secret=False) == [
        Problem("ideTlsKey", "(hidden)", "is stored in plain text", "[[file ideTlsKey key.pem]]")
    ]


def test_every_problem_is_one_line_naming_the_key_the_value_and_the_fix(workspace_root):
    with pytest.raises(ConfigError) as caught:
        parse(workspace_root, labMemory="lots", slot="0999")
    assert str(caught.value) == (
        "k8s-lab configuration is invalid; nothing was created:\n"
        "  - slot = '999': puts the ide port at 108344, past 65535. Fix: pulumi config set slot 1 (a whole number from 0 to 570, one no other lab here has)\n"
        "  - labMemory = 'lots': is not a memory size. Fix: pulumi config set labMemory 6g (a size such as 6g or 6144m), or pulumi config set labMemory 0 for no cap"
    )
    with pytest.raises(ConfigError) as caught:
        parse(workspace_root, slot="-1")
    assert str(caught.value.problems[0]) == "slot = '-1': is negative. Fix: pulumi config set slot 1 (a whole number from 0 to 570, one no other lab here has)"
    assert parse(workspace_root, slot="0").slot == 0 and parse(workspace_root, slot="570").slot == 570


# --- the parsers themselves, built afresh (SETTINGS builds its own once, at import) --------


def refusal(parse, text):
    with pytest.raises(lab_config.Invalid) as caught:
        parse(text)
    return caught.value


def test_whole_number_takes_its_bounds_and_names_a_value_outside():
    one_to_three = lab_config.whole_number(1, 3)
    assert [one_to_three(text) for text in ("1", "3", "02")] == [1, 3, 2]
    for text, shown in (("0", "'0'"), ("4", "'4'"), (" 4 ", "'4'")):
        problem = refusal(one_to_three, text)
        assert (problem.reason, problem.fix, problem.shown) == ("is outside 1..3", None, shown)
    assert refusal(one_to_three, "two").reason == "is not a whole number"
    assert refusal(lab_config.whole_number(0, 5, lambda value: f"is {value}, too many"), "9").reason == "is 9, too many"


def test_slot_outside_says_negative_only_below_zero():
    assert lab_config._slot_outside(-1) == "is negative"
    assert lab_config._slot_outside(0) != "is negative"
    assert "past" in lab_config._slot_outside(10_000)


def test_limit_passes_on_reason_fix_and_hides_what_limits_hides():
    mirror = lab_config._limit(lab_config.limits.parse_mirror)
    assert mirror("") is None
    bad = refusal(mirror, "lots")
    assert (bad.reason, bad.shown) == ("is not an http:// or https:// URL with a host", None)
    assert bad.fix.startswith("[[set registryMirror http://teacher.school.lan:5010]]")
    secret = refusal(mirror, "https://u:p@h")
    assert (secret.reason, secret.shown) == ("carries credentials, which would be stored and shown in plain text", "(hidden: it holds credentials)")
    assert secret.fix == bad.fix
    assert lab_config._limit(lab_config.limits.parse_memory)("1g") == 1024


def test_switch_is_a_boolean_setting_with_its_own_fix():
    made = lab_config.switch("fancy", "fancy_field", True, "Turns fancy on.")
    assert made == lab_config.Setting(
        "fancy", "fancy_field", "boolean", True, "Turns fancy on.", "[[set fancy true]] (or false)", lab_config.boolean
    )


def test_config_error_lists_each_problem_on_its_own_line():
    problems = [lab_config.Problem("slot", "'x'", "is not a whole number", "f1"), lab_config.Problem("workers", "'9'", "is outside 0..5", "f2")]
    assert str(ConfigError(problems)) == (
        "k8s-lab configuration is invalid; nothing was created:\n"
        "  - slot = 'x': is not a whole number. Fix: f1\n"
        "  - workers = '9': is outside 0..5. Fix: f2"
    )
    assert str(lab_config.Invalid("is odd")) == "is odd"


def test_host_name_takes_ip_addresses_and_names_what_is_neither():
    assert lab_config.host_name("192.168.1.20") == "192.168.1.20"
    assert lab_config.host_name("::1") == "::1"
    assert refusal(lab_config.host_name, "bad host!").reason == "is not a host name or IP address"


def test_namespace_reserved_and_time_zone_refusals_read_exactly():
    reserved = refusal(lab_config.namespace, "kube-system")
    assert reserved.reason.startswith("belongs to Kubernetes or the lab: it is reserved: ")
    assert reserved.fix == "pick the student's own, e.g. [[set namespace kim-minsu]], or [[rm namespace]] for the student name"
    assert refusal(lab_config.time_zone, "Mars/Olympus").reason == "is not an IANA time zone name"
    assert refusal(lab_config.image_reference, "UPPER CASE").reason == "is not an image reference"
    assert refusal(lab_config.pinned_image, "kindest/node:v1.31.0").reason == "is not a kind node image pinned by tag and digest"


def test_pem_blocks_refuse_anything_beside_the_blocks():
    assert lab_config._pem_blocks(CERT) == ["CERTIFICATE"]
    assert lab_config._pem_blocks(CERT + "trailing words\n") is None
    assert lab_config._pem_blocks("") is None


def test_pem_certificate_shows_the_first_40_characters_of_what_it_refuses():
    long_line = "x" * 60
    assert refusal(lab_config.pem_certificate, long_line + "\nmore").shown == repr("x" * 40)
    assert refusal(lab_config.pem_certificate, "  \n ").shown == "''"
    refused = refusal(lab_config.pem_certificate, KEY)
    assert refused.reason == "is not a PEM certificate (-----BEGIN CERTIFICATE-----, the server's first, then its chain)"
    unreadable = refusal(lab_config.pem_certificate, "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n")
    assert unreadable.reason.startswith("cannot be read as an X.509 certificate (no start line")
    assert unreadable.shown == "'-----BEGIN CERTIFICATE-----'"


def test_pem_private_key_refusals_read_exactly():
    encrypted = refusal(lab_config.pem_private_key, ENCRYPTED_KEY)
    assert encrypted.reason == "is encrypted; code-server cannot ask for its passphrase"
    assert encrypted.fix == (
        "decrypt it (openssl pkey -in key.pem -out plain-key.pem), then [[file ideTlsKey plain-key.pem]]"
    )
    assert refusal(lab_config.pem_private_key, CERT).reason == "is not one PEM private key (-----BEGIN PRIVATE KEY-----)"


def test_certificate_pair_check_names_openssls_reason_and_leaves_no_file_behind(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    other_key = tls_pairs.pair("other")[1]
    assert lab_config.certificate_pair_problem(CERT, KEY) is None
    assert lab_config.certificate_pair_problem(CERT, other_key) == "is not the private key of ideTlsCert (KEY_VALUES_MISMATCH)"
    unreadable = lab_config.certificate_pair_problem(CERT, "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n")
    assert unreadable is not None and unreadable.startswith("cannot be read as a private key ([SSL] PEM lib")
    assert list(tmp_path.iterdir()) == []  # the key, a secret, was never written where the user runs


@pytest.mark.parametrize("odd_space", ["\u2003", "\u00a0"])
def test_a_pem_value_with_pasted_unicode_space_is_refused_not_a_traceback(workspace_root, odd_space):
    lines = CERT.splitlines()
    cert = "\n".join([lines[0], lines[1][:10] + odd_space + lines[1][10:], *lines[2:]]) + "\n" + odd_space
    key_lines = KEY.splitlines()
    key = "\n".join([key_lines[0], odd_space + key_lines[1], *key_lines[2:]]) + "\n"
    with pytest.raises(ConfigError) as caught:
        parse(workspace_root, ideTlsCert=cert, ideTlsKey=key, ideHost="lab.example.com")
    text = str(caught.value)
    assert "ideTlsCert = '-----BEGIN CERTIFICATE-----': is not a PEM certificate" in text
    assert "ideTlsKey = (hidden): is not one PEM private key" in text


STUDENT_FIX = "[[set student kim-minsu]] (a name of lowercase letters, digits and '-', at most 49 characters)"
NAME_RULE = "it must be lowercase letters, digits and '-', starting and ending with a letter or digit"
ENV_FIX = '[[set ideEnv ["NAME=value"]]] (a JSON list of NAME=value strings, like lines of a .env file)'
KNOWN_KEYS = (
    "student, slot, bindAddress, workspaceRoot, idePassword, ideImage, idePlatform, kubernetesVersion, nodeImage, workers, mountDockerSocket, timezone, "
    "ideEnv, ingress, registry, namespace, dockerHost, allowRemoteAccess, hostName, ideTlsCert, ideTlsKey, networkMtu, "
    "labMemory, labCpus, registryMirror"
)
PLATFORM_FIX = "[[set idePlatform linux/amd64]] (or linux/arm64): what `docker version --format {{.Server.Os}}/{{.Server.Arch}}` prints for the lab's Docker host"


EXACT = [
    # (raw settings besides workspaceRoot, every problem as (key, shown value, reason, fix))
    ({"bindAddress": "::1"}, [("bindAddress", "'::1'", "is an IPv6 address; the lab network is IPv4-only", "use an IPv4 address such as 127.0.0.1")]),
    ({"bindAddress": "224.0.0.1"}, [("bindAddress", "'224.0.0.1'", "is a multicast address", "use 127.0.0.1 or an address of this machine")]),
    ({"ingress": "yes"}, [("ingress", "'yes'", "is not true or false", "[[set ingress true]] (or false)")]),
    ({"student": "Kim"}, [("student", "'Kim'", f"not a usable student name: {NAME_RULE}", STUDENT_FIX)]),
    ({"slots": "3"}, [("slots", "'3'", "is not a k8s-lab setting", f"remove it ([[rm slots]]); known keys: {KNOWN_KEYS}")]),
    ({"ideEnv": "A=1"}, [("ideEnv", "'A=1'", "is not a list of NAME=value strings", ENV_FIX)]),
    # A client's platform name (Apple Silicon says arm64, uname says aarch64) or an unsupported one.
    ({"idePlatform": "linux/aarch64"}, [("idePlatform", "'linux/aarch64'", "is not a platform the IDE image can be built for (linux/amd64 or linux/arm64)", PLATFORM_FIX)]),
    ({"idePlatform": "windows/amd64"}, [("idePlatform", "'windows/amd64'", "is not a platform the IDE image can be built for (linux/amd64 or linux/arm64)", PLATFORM_FIX)]),
    # Every bad entry of the list at once, each shown by itself.
    ({"ideEnv": json.dumps(["1A=x", "HOME", "PASSWORD=x", "B=1", "B=2"])}, [
        ("ideEnv", "'1A=x'", "is not NAME=value with a valid variable name", ENV_FIX),
        ("ideEnv", "'HOME'", "is not NAME=value with a valid variable name", ENV_FIX),
        ("ideEnv", "'PASSWORD=x'", "PASSWORD is set by the lab itself", "remove it; use the timezone and idePassword settings instead"),
        ("ideEnv", "'B=2'", "B is set twice", "keep one entry per variable"),
    ]),
    ({"ideTlsCert": CERT}, [(
        "ideTlsKey", "(unset)", "is needed with ideTlsCert: code-server serves a certificate only with its private key",
        "[[file ideTlsKey key.pem]] (the key of that certificate), or [[rm ideTlsCert]] for a self-signed one",
    )]),
    ({"ideTlsKey": KEY}, [(
        "ideTlsCert", "(unset)", "is needed with ideTlsKey: a private key alone serves nothing",
        "[[file ideTlsCert cert.pem]] (the certificate of that key), or [[rm ideTlsKey]]",
    )]),
    ({"ideTlsCert": CERT, "ideTlsKey": OTHER_KEY}, [(
        "ideTlsKey", "(hidden)", "is not the private key of ideTlsCert (KEY_VALUES_MISMATCH)",
        "give the certificate and the key made with it: [[file ideTlsCert cert.pem]] and [[file ideTlsKey key.pem]]",
    )]),
]


@pytest.mark.parametrize("raw, expected", EXACT, ids=[next(iter(raw)) + f":{i}" for i, (raw, _) in enumerate(EXACT)])
def test_each_refusal_reads_exactly(workspace_root, raw, expected):
    """The whole line the user reads: the value as given, the reason and the fix, for every problem."""
    from k8s_lab.config import Problem

    assert problems_of({"workspaceRoot": workspace_root, **raw}) == [Problem(*each) for each in expected]


def test_a_bad_stack_name_and_a_blank_root_are_shown_as_given():
    from k8s_lab.config import BY_KEY, Problem

    with pytest.raises(ConfigError) as refused:
        parse_lab_config({"workspaceRoot": "  "}, stack="Dev_Stack")
    assert refused.value.problems == [
        Problem("student", "'Dev_Stack'", f"not a usable student name (taken from the stack name 'Dev_Stack'): {NAME_RULE}", STUDENT_FIX),
        Problem("workspaceRoot", "'  '", "cannot name the student folders: it is not set", BY_KEY["workspaceRoot"].fix),
    ]


def test_a_blank_setting_is_its_default(workspace_root):
    cfg = parse(workspace_root, slot="  ", ingress=" ", workers="\t", student=" ")
    assert (cfg.slot, cfg.ingress, cfg.workers, cfg.student) == (0, True, 2, "kim")


def test_a_bad_plaintext_tls_key_is_one_problem_not_two(workspace_root):
    problems = problems_of({"workspaceRoot": workspace_root, "ideTlsCert": CERT, "ideTlsKey": "nope"}, tls_key_is_secret=False)
    assert [(p.key, p.reason) for p in problems] == [("ideTlsKey", "is not one PEM private key (-----BEGIN PRIVATE KEY-----)")]


def test_ide_env_is_a_secret_only_when_pulumi_says_so(workspace_root):
    raw = {"workspaceRoot": workspace_root, "ideEnv": json.dumps(["A=1"])}
    assert parse_lab_config(raw, stack="kim").ide_env_secret is False
    assert parse_lab_config(raw, stack="kim", ide_env_secret=True).ide_env_secret is True
    assert parse_lab_config({"workspaceRoot": workspace_root}, stack="kim", ide_env_secret=True).ide_env_secret is False


def test_pem_bodies_are_strict_base64():
    # Data after '=' padding: base64 without validate would read it, OpenSSL would not.
    key = "-----BEGIN PRIVATE KEY-----\nAAA=AAAA\n-----END PRIVATE KEY-----\n"
    assert refusal(lab_config.pem_private_key, key).reason == "is not one PEM private key (-----BEGIN PRIVATE KEY-----)"


def test_a_certificate_pasted_on_one_line_shows_its_first_40_characters():
    one_line = "".join(CERT.splitlines())
    refused = refusal(lab_config.pem_certificate, one_line)
    assert refused.reason.startswith("cannot be read as an X.509 certificate (no start line")
    assert refused.shown == repr(one_line[:40])


def test_the_programs_error_names_the_command_of_whoever_runs_it(monkeypatch):
    """Inside `lab.py up` the program's own error said `pulumi config set workers ...`, which
    a student cannot run without the lab's backend and passphrase (issue 28): lab.py and
    classroom.py say who reads it (K8S_LAB_FIXES), and the stack's name is in the command."""
    from k8s_lab import shell_form

    for audience, expected in (
        ("lab", shell_form.lab_command("config", "workers", "2", "--stack", "kim")),
        ("class", shell_form.lab_command("config", "workers", "2", "--stack", "kim")),
        (None, "pulumi config set workers 2"),
    ):
        if audience:
            monkeypatch.setenv(shell_form.FIXES_ENV, audience)
        else:
            monkeypatch.delenv(shell_form.FIXES_ENV, raising=False)
        with pytest.raises(ConfigError) as caught:
            lab_config.parse_lab_config({"workers": "12", "workspaceRoot": "/home/kim/k8s-lab"}, stack="kim")
        assert f"Fix: {expected} (a whole number" in str(caught.value), audience
