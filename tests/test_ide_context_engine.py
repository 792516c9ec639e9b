"""A Windows checkout builds: with core.autocrlf=true (Git for Windows' default) a script
checked out with CRLF stops a real `docker build` at `set -eu\\r`, and the repository's
.gitattributes gives that same clone LF, so the build passes.

The build runs ide/refuse-open-auth.sh as the IDE's Dockerfile does (`sh <script> <run>`),
on the busybox image conftest imports (no registry is reachable), against a stand-in for
linuxserver's service script."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import clone_this_repository

pytestmark = pytest.mark.engine

DOCKERFILE = """FROM {base}
COPY refuse-open-auth.sh run /ctx/
RUN ["/bin/busybox", "sh", "-c", "mkdir -p /usr/bin && /bin/busybox --install -s /usr/bin && sh /ctx/refuse-open-auth.sh /ctx/run"]
"""
SERVICE_SCRIPT = 'if [ -z "$PASSWORD" ]; then\n    AUTH="none"\nfi\n'


def without_the_rules(clone: Path) -> None:
    """The same clone as it was before .gitattributes: its ide/ checked out again by
    core.autocrlf=true alone."""
    # From the index too: a checkout reads the index's .gitattributes when the file is gone.
    subprocess.run(["git", "rm", "-q", ".gitattributes"], cwd=clone, check=True, capture_output=True)
    for path in (clone / "ide").iterdir():
        path.unlink()
    subprocess.run(["git", "-c", "core.autocrlf=true", "checkout", "--", "ide"], cwd=clone, check=True, capture_output=True)


def build(client, base: str, script: bytes, context: Path) -> tuple[bool, str]:
    """(built, the build's log); removes the image and every layer the build made."""
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE.format(base=base))
    (context / "refuse-open-auth.sh").write_bytes(script)
    (context / "run").write_text(SERVICE_SCRIPT)
    tag = f"k8slabtest-crlf-{uuid.uuid4().hex[:8]}:1"
    log: list[str] = []
    try:
        for chunk in client.api.build(path=str(context), tag=tag, rm=True, forcerm=True, decode=True):
            log.append(chunk.get("stream", "") + chunk.get("error", ""))
    finally:
        layers = set(re.findall(r"---> ([0-9a-f]{12})\b", "".join(log))) - {client.images.get(base).short_id.split(":")[1][:12]}
        for image in [tag, *sorted(layers)]:
            try:
                client.images.remove(image, noprune=False)
            except Exception:  # noqa: BLE001 - not made (a failed build), or already gone with the tag
                pass
    text = re.sub(r"\x1b\[[0-9;]*m", "", "".join(log))  # the daemon colours the RUN step's stderr
    return "Successfully built" in text, text


def test_a_crlf_checkout_fails_the_build_without_the_rules_and_builds_with_them(docker_client, base_image, tmp_path):
    clone = clone_this_repository(tmp_path / "k8s-lab", "-c", "core.autocrlf=true")
    with_rules = (clone / "ide" / "refuse-open-auth.sh").read_bytes()
    assert b"\r\n" not in with_rules
    built, log = build(docker_client, base_image, with_rules, tmp_path / "with-rules")
    assert built, log

    without_the_rules(clone)
    crlf = (clone / "ide" / "refuse-open-auth.sh").read_bytes()
    assert crlf == with_rules.replace(b"\n", b"\r\n")  # what Git for Windows gave before .gitattributes
    built, log = build(docker_client, base_image, crlf, tmp_path / "without-rules")
    assert not built and "returned a non-zero code: 2" in log, log
    assert re.search(r"set: line \d+: illegal option -", log), log  # `set -eu\r`: busybox sh reads the option `\r`
