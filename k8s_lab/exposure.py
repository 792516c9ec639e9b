"""What an open lab publishes: every host port, the address it is published on for each
bindAddress and Docker host, and what protects it. One table, read by the components that
publish (components/ide.py, components/registry.py, components/cluster.py), generated into
README's security section (`python -m k8s_lab.exposure --readme`, `--readme-ko`) and held to
every stack the program makes (tests/test_exposure.py).

The rule: a port goes beyond loopback only when a browser or the machine running Pulumi must
reach it. The registry never does. The IDE's `docker push localhost:<port>/...` is an API
call to the lab host's daemon (the mounted socket), and the daemon itself dials the registry
from the host's network namespace (moby v20.10.24 api/server/router/image/image_routes.go
postImagesPush -> daemon/images/image_push.go PushImage -> distribution.Push), where
127.0.0.0/8 is an insecure registry by default (registry/config.go
LoadInsecureRegistries). The nodes pull from it by its name on the lab network. So loopback
on the lab's host serves both, on this machine's Docker and on a dockerHost alike; published
wider, anyone on the school network could push an image the student's cluster then runs.
"""

from __future__ import annotations

import ipaddress
import sys
from dataclasses import dataclass

from k8s_lab.ports import SEED_PORTS

LOOPBACK = "127.0.0.1"
BIND = "bindAddress"  # published on the stack's bindAddress

# What protects a port (the `protection` column).
PASSWORD = "password"  # code-server's login; HTTPS beyond loopback (k8s_lab.ide_container)
CLIENT_CERT = "client certificate"  # kind's kubeadm: the host kubeconfig's cluster-admin certificate
NONE = "none"  # never beyond loopback (tests/test_exposure.py holds the table to it)
SHOWN = "none (meant to be shown)"  # the student's own pages and Ingresses


@dataclass(frozen=True)
class Published:
    purpose: str  # a key of k8s_lab.ports.SEED_PORTS
    what: str
    publisher: str  # the container and its port, and where the program publishes it
    local: str  # BIND or LOOPBACK, on this machine's Docker
    remote: str  # BIND or LOOPBACK, on another Docker host (dockerHost)
    protection: str
    why: str
    what_ko: str
    why_ko: str


TABLE: tuple[Published, ...] = (
    Published(
        "ide", "code-server, the IDE (a root shell with the host's docker)", "`<s>-ide` 8443",
        BIND, BIND, PASSWORD, "students open it in a browser; HTTPS beyond loopback",
        "code-server IDE (호스트 docker를 쓰는 root 셸)", "학생이 브라우저로 엶; 루프백 밖은 HTTPS",
    ),
    Published(
        "live_server", "the IDE's live-server port", "`<s>-ide` 5500",
        BIND, BIND, SHOWN, "the student's pages, meant to be shown",
        "IDE의 live server 포트", "학생이 보여 주려고 만든 페이지",
    ),
    Published(
        "http", "ingress (HTTP)", "`<s>-control-plane` 80 (kind `extraPortMappings`)",
        BIND, BIND, SHOWN, "the student's Ingresses, meant to be shown",
        "ingress (HTTP)", "학생의 Ingress, 보여 주려고 만든 것",
    ),
    Published(
        "https", "ingress (HTTPS)", "`<s>-control-plane` 443 (kind `extraPortMappings`)",
        BIND, BIND, SHOWN, "the student's Ingresses, meant to be shown",
        "ingress (HTTPS)", "학생의 Ingress, 보여 주려고 만든 것",
    ),
    Published(
        "registry", "the student's image registry (push and pull)", "`<s>-registry` 5000",
        LOOPBACK, LOOPBACK, NONE,
        "pushed by the lab host's own daemon (the IDE's docker CLI uses its socket), pulled by the nodes "
        "by name on the lab network: nothing needs it beyond loopback, and whoever can push to it runs code in the cluster",
        "학생의 이미지 레지스트리 (push, pull)",
        "push는 랩 호스트의 Docker 데몬이(IDE의 docker CLI는 그 소켓을 씀), pull은 노드가 실습 네트워크에서 이름으로: "
        "루프백 밖에 필요 없고, push할 수 있는 사람은 클러스터에서 코드를 실행할 수 있음",
    ),
    Published(
        "api", "kind's API server (cluster-admin)", "`<s>-control-plane` 6443 (kind `apiServerAddress`)",
        LOOPBACK, BIND, CLIENT_CERT,
        "the IDE reaches it by name on the lab network; on a dockerHost, Pulumi's kubernetes provider and "
        "`hostKubeconfig` on the machine running Pulumi must reach it",
        "kind API 서버 (cluster-admin)",
        "IDE는 실습 네트워크에서 이름으로 닿음; dockerHost에서는 Pulumi를 실행하는 PC의 kubernetes provider와 "
        "`hostKubeconfig`가 닿아야 함",
    ),
)
BY_PURPOSE = {row.purpose: row for row in TABLE}
assert set(BY_PURPOSE) == set(SEED_PORTS)  # every slot port is in the table, once


def is_loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


def address(purpose: str, bind_address: str, remote: bool) -> str:
    """The host address `purpose`'s port is published on, for a stack's bindAddress and
    whether its Docker is another host's."""
    row = BY_PURPOSE[purpose]
    placement = row.remote if remote else row.local
    return bind_address if placement == BIND else LOOPBACK


def protection(purpose: str, bind_address: str, remote: bool) -> str:
    """What protects the port as published; the IDE adds HTTPS beyond loopback."""
    row = BY_PURPOSE[purpose]
    if row.protection == PASSWORD and not is_loopback(address(purpose, bind_address, remote)):
        return f"{PASSWORD}, HTTPS"
    return row.protection


def unprotected_beyond_loopback() -> list[str]:
    """Purposes the table would publish beyond loopback with nothing protecting them and
    nothing meant to be shown: none, or the table breaks its own rule."""
    return [row.purpose for row in TABLE if row.protection == NONE and BIND in (row.local, row.remote)]


# ---- README ---------------------------------------------------------------------------

EXAMPLE_ADDRESS = "192.168.0.10"
# (bindAddress, remote) in README's column order; a dockerHost on loopback is refused by
# k8s_lab.config (out of the students' reach), so it has no column.
COMBINATIONS = ((LOOPBACK, False), (EXAMPLE_ADDRESS, False), ("0.0.0.0", False), (EXAMPLE_ADDRESS, True), ("0.0.0.0", True))
HEADERS = {
    "en": ("port (slot 0)", "what", "published by", "this machine's Docker, bindAddress", "dockerHost, bindAddress", "protection", "why"),
    "ko": ("포트 (슬롯 0)", "무엇", "여는 곳", "이 PC의 Docker, bindAddress", "dockerHost, bindAddress", "보호", "이유"),
}
PROTECTION_KO = {PASSWORD: "비밀번호", f"{PASSWORD}, HTTPS": "비밀번호, HTTPS", CLIENT_CERT: "클라이언트 인증서", NONE: "없음", SHOWN: "없음 (보여 주려는 것)"}


def _row(row: Published, lang: str) -> str:
    port, what, why = SEED_PORTS[row.purpose], (row.what_ko if lang == "ko" else row.what), (row.why_ko if lang == "ko" else row.why)
    cells = [f"{port}", what, row.publisher]
    cells += [" / ".join(f"`{address(row.purpose, bind, remote)}`" for bind, remote in COMBINATIONS if remote is side) for side in (False, True)]
    protections = dict.fromkeys(protection(row.purpose, bind, remote) for bind, remote in COMBINATIONS)
    cells += [" / ".join(PROTECTION_KO[p] if lang == "ko" else p for p in protections), why]
    return "| " + " | ".join(cells) + " |"


def readme_table(lang: str = "en") -> str:
    """README's (lang "en") or README.ko's ("ko") table; tests/test_exposure.py holds both to it."""
    headers = list(HEADERS[lang])
    local = " / ".join(f"`{bind}`" for bind, remote in COMBINATIONS if not remote)
    remote = " / ".join(f"`{bind}`" for bind, remote in COMBINATIONS if remote)
    headers[3] += f" {local}"
    headers[4] += f" {remote}"
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    return "\n".join(lines + [_row(row, lang) for row in TABLE]) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--readme"], ["--readme-ko"]):
        sys.stdout.write(readme_table("ko" if args == ["--readme-ko"] else "en"))
        return 0
    print("usage: python -m k8s_lab.exposure --readme | --readme-ko", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
