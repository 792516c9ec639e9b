"""tests/provider_check.py computes contextDigest as pulumi-docker's own code does.

The expected digests were printed once by pulumi-docker's own code: provider/provider.go's
contextHashAccumulator, hashPath and hexSumContext (pulumi-docker 237b7899, lines 544-604),
built with go1.19.8 linux/amd64 from a fetched copy of that source, walking the same files
with filepath.WalkDir (fsutil fs.go:49). That program is third-party code and is not kept in
this repository; to check again after moving the pin, build those lines around a WalkDir over
the fixture below and compare. The fixture is rebuilt here byte for byte and mode for mode."""

from __future__ import annotations

import stat

import pytest

from conftest import ROOT
from k8s_lab import ide_image
from provider_check import Client, check_image, context_digest, go_mode, ignore_patterns, mode_string, walked_files

ALL_FILES_DIGEST = "443635935c912919320f680c5619d621102a63ad9b80bf95563af5d64e0d0bff"
ALLOW_LIST_DIGEST = "3c34f0ec9458cf7221ec017a4b6d9525fdfe0f2499443ffd144c1680781dad32"  # Dockerfile, sub/c


@pytest.fixture
def context(tmp_path):
    """Upper case before lower case, a folder before the file named like it, CRLF, setuid."""
    files = {
        "Dockerfile": (b"FROM scratch\nCOPY . /\n", 0o644),
        "a.sh": (b"set -eu\r\necho hi\r\n", 0o775),
        "B": (b"B", 0o600),
        "sub/b.txt": (b"b\n", 0o640),
        "sub/c": (b"c", 0o4755),
        "sub.txt": (b"x", 0o444),
    }
    (tmp_path / "sub").mkdir()
    for name, (data, mode) in files.items():
        (tmp_path / name).write_bytes(data)
        (tmp_path / name).chmod(mode)
    return tmp_path


def test_the_digest_is_the_providers(context):
    assert walked_files(context, []) == ["B", "Dockerfile", "a.sh", "sub/b.txt", "sub/c", "sub.txt"]
    assert context_digest(context, context / "Dockerfile") == ALL_FILES_DIGEST


def test_ignored_files_are_not_hashed_and_neither_is_the_dockerignore(context):
    (context / ".dockerignore").write_bytes(b"*\n!Dockerfile\n!sub/c\n")
    assert walked_files(context, ["*", "!Dockerfile", "!sub/c"]) == ["Dockerfile", "sub/c"]
    assert context_digest(context, context / "Dockerfile") == ALLOW_LIST_DIGEST
    (context / ".DS_Store").write_bytes(b"Finder")
    assert context_digest(context, context / "Dockerfile") == ALLOW_LIST_DIGEST


def test_a_dockerfile_specific_ignore_file_comes_first(context):
    (context / ".dockerignore").write_bytes(b"*\n!Dockerfile\n!sub/c\n")
    (context / "Dockerfile.dockerignore").write_bytes(b"# only these\n*\n!Dockerfile\n!B\n")
    assert walked_files(context, ["*", "!Dockerfile", "!B"]) == ["B", "Dockerfile"]
    assert context_digest(context, context / "Dockerfile") != ALLOW_LIST_DIGEST


@pytest.mark.parametrize("change", ["bytes", "mode", "name"])
def test_the_digest_sees_bytes_modes_and_names(context, change):
    if change == "bytes":
        (context / "a.sh").write_bytes(b"set -eu\necho hi\n")
    elif change == "mode":
        (context / "a.sh").chmod(0o755)
    else:
        (context / "a.sh").rename(context / "b.sh")
    assert context_digest(context, context / "Dockerfile") != ALL_FILES_DIGEST


@pytest.mark.parametrize(
    ("st_mode", "shown"),
    [(0o100644, "-rw-r--r--"), (0o100775, "-rwxrwxr-x"), (0o104755, "urwxr-xr-x"), (0o102755, "grwxr-xr-x"), (0o101777, "trwxrwxrwx")],
)
def test_modes_read_as_go_shows_them(st_mode, shown):
    assert mode_string(go_mode(st_mode, Client())) == shown


@pytest.mark.parametrize(("st_mode", "shown"), [(0o100644, "-rwxr-xr-x"), (0o100600, "-rwxr-xr-x"), (0o100444, "-r-xr-xr-x")])
def test_on_windows_fsutil_makes_every_file_executable(st_mode, shown):
    # Go reports 0666 (0444 when read-only) on Windows; fsutil stat.go:43-50 adds x and masks to 0755.
    assert mode_string(go_mode(st_mode, Client("windows", "amd64"))) == shown


def test_a_symlink_is_refused_not_guessed(context):
    with pytest.raises(ValueError, match="regular files only"):
        go_mode(stat.S_IFLNK | 0o777, Client())


def test_check_fills_dockerfile_digest_and_platform_only_where_unset(context):
    inputs = {"imageName": "x:1", "build": {"context": "ctx", "args": {"A": "1"}}}
    (context.parent / "ctx").symlink_to(context)
    checked = check_image(inputs, context.parent, Client("darwin", "arm64"))
    assert checked["build"] == {"context": "ctx", "args": {"A": "1"}, "dockerfile": "ctx/Dockerfile", "contextDigest": ALL_FILES_DIGEST, "platform": "linux/arm64"}
    assert checked["buildOnPreview"] is False and inputs["build"] == {"context": "ctx", "args": {"A": "1"}}
    inputs["build"]["platform"] = "linux/amd64"
    assert check_image(inputs, context.parent, Client("darwin", "arm64"))["build"]["platform"] == "linux/amd64"


def test_the_program_and_the_provider_agree_on_the_ide_context():
    ide = ROOT / "ide"
    hashed = walked_files(ide, ignore_patterns(ide, ide / "Dockerfile"))  # ide/.dockerignore, read as moby reads it
    assert hashed == [p.name for p in ide_image.context_files(ide)] == ["Dockerfile", "refuse-open-auth.sh"]
