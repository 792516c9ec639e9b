"""The handout a student gets: where their IDE is, the password, and how to use kubectl; in
Korean or English (a Korean course's students read Korean), and saying so when its address
opens only on the lab's own machine."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

LANGUAGES = ("ko", "en")

SELF_SIGNED_WARNING = [
    "",
    "## The browser's warning (once)",
    "",
    "Your IDE is served over HTTPS, so your password does not cross the network in clear text. Its certificate",
    "was made by the lab itself (self-signed), so the first time you open the address above the browser warns:",
    "\"Your connection is not private\" (Chrome, Edge: NET::ERR_CERT_AUTHORITY_INVALID), \"Warning: Potential",
    "Security Risk Ahead\" (Firefox) or \"This Connection Is Not Private\" (Safari). Check that the address in",
    "the bar is exactly the one above, then: Chrome/Edge: Advanced, then Proceed to ... (unsafe); Firefox:",
    "Advanced..., then Accept the Risk and Continue; Safari: Show Details, then visit this website. The browser",
    "remembers it. A warning on any other address is not your lab: close it and ask your teacher.",
]

SELF_SIGNED_WARNING_KO = [
    "",
    "## 브라우저 경고 (처음 한 번)",
    "",
    "IDE는 HTTPS로 열리므로 비밀번호가 네트워크에 평문으로 지나가지 않습니다. 인증서는 실습환경이 직접 만든 것",
    "(자체 서명)이라 위 주소를 처음 열면 브라우저가 경고합니다: \"연결이 비공개로 설정되어 있지 않습니다\"",
    "(Chrome, Edge: NET::ERR_CERT_AUTHORITY_INVALID), \"경고: 잠재적인 보안 위험 요소 발견\" (Firefox),",
    "\"이 연결은 비공개 연결이 아닙니다\" (Safari). 주소창의 주소가 위 주소와 똑같은지 확인한 뒤: Chrome/Edge:",
    "고급 → ...(으)로 이동(안전하지 않음); Firefox: 고급... → 위험을 감수하고 계속; Safari: 세부사항 보기 →",
    "이 웹 사이트 방문. 브라우저가 기억합니다. 다른 주소에서 나온 경고는 내 실습환경이 아닙니다: 창을 닫고",
    "선생님께 알려 주세요.",
]

TEXT = {
    "en": {
        "title": "# {student}'s practice lab",
        "password": "Password",
        "registry": "Image registry",
        "loopback": "These addresses open only on the computer the lab runs on ({host} is always the computer you type it "
                    "on): open them there, or ask your teacher for an address your laptop can reach.",
        "kubernetes": "## Kubernetes from the IDE",
        "terminal": "Open a terminal in the IDE (Terminal > New Terminal). kubectl is already set up:",
        "nodes": "every node Ready",
        "contexts": "your cluster and namespace",
        "kubens": "switch namespaces; kubectx switches clusters",
        "files": "Your files live in `/code/cloud-cicd-src`; they stay when the lab is removed.",
        "images": "## Your own images",
    },
    "ko": {
        "title": "# {student}의 실습환경",
        "password": "비밀번호",
        "registry": "이미지 레지스트리",
        "loopback": "이 주소는 실습환경이 실행 중인 컴퓨터에서만 열립니다 (주소의 {host}: 언제나 주소를 입력한 그 "
                    "컴퓨터 자신): 그 컴퓨터에서 열거나, 내 노트북에서 열 주소를 선생님께 물어보세요.",
        "kubernetes": "## IDE에서 Kubernetes 쓰기",
        "terminal": "IDE에서 터미널을 엽니다 (Terminal > New Terminal). kubectl은 이미 설정되어 있습니다:",
        "nodes": "모든 노드가 Ready",
        "contexts": "내 클러스터와 네임스페이스",
        "kubens": "네임스페이스 전환; kubectx는 클러스터 전환",
        "files": "내 파일은 `/code/cloud-cicd-src`에 있습니다. 실습환경을 지워도 남습니다.",
        "images": "## 내 이미지",
    },
}


def roster_language(text: str) -> str:
    """The handouts' language for a roster: Korean when it has any Hangul (a name column, a
    note), else English."""
    return "ko" if any("\uac00" <= char <= "\ud7a3" for char in text) else "en"


def loopback_host(url: str) -> str | None:
    """The host of `url` when it is a loopback address (127.0.0.1, ::1, localhost), else None."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return host
    try:
        return host if ipaddress.ip_address(host).is_loopback else None
    except ValueError:
        return None


def render_handout(
    student: str, ide_url: str, password: str, registry: str | None, ingress_url: str | None, certificate: str | None = None,
    lang: str = "en",
) -> str:
    """`certificate`: the stack's ideCertificate output ("self-signed", "given"; None: plain
    HTTP); `lang`: one of LANGUAGES."""
    say = TEXT[lang]
    lines = [say["title"].format(student=student), "", f"- IDE (code-server): {ide_url}", f"- {say['password']}: `{password}`"]
    if ingress_url:
        lines.append(f"- Ingress: {ingress_url}")
    if registry:
        lines.append(f"- {say['registry']}: `{registry}`")
    loopback = loopback_host(ide_url)
    if loopback:
        lines += ["", say["loopback"].format(host=loopback)]
    lines += [
        "",
        say["kubernetes"],
        "",
        say["terminal"],
        "",
        "```sh",
        f"kubectl get nodes               # {say['nodes']}",
        f"kubectl config get-contexts     # {say['contexts']}",
        f"kubens                          # {say['kubens']}",
        "```",
        "",
        say["files"],
    ]
    if certificate == "self-signed":
        at = lines.index(say["kubernetes"]) - 1  # right after the addresses
        lines[at:at] = SELF_SIGNED_WARNING_KO if lang == "ko" else SELF_SIGNED_WARNING
    if registry:
        lines += [
            "",
            say["images"],
            "",
            "```sh",
            f"docker build -t {registry}/app:1 . && docker push {registry}/app:1",
            f"kubectl run app --image={registry}/app:1",
            "```",
        ]
    return "\n".join(lines) + "\n"


def write_handout(folder: Path, student: str, text: str) -> Path:
    """Write `<folder>/<student>.md` readable by its owner only (it holds a password)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{student}.md"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # also when the file existed with wider permissions
    return path


def void_handout(folder: Path, student: str) -> bool:
    """Remove `<folder>/<student>.md` after the student's lab is destroyed: its password and
    address are void. Whether there was one."""
    path = folder / f"{student}.md"
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
