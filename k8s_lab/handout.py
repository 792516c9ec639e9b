"""The handout a student gets: where their IDE is, the password, and how to use kubectl."""

from __future__ import annotations

import os
from pathlib import Path


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


def render_handout(
    student: str, ide_url: str, password: str, registry: str | None, ingress_url: str | None, certificate: str | None = None
) -> str:
    """`certificate`: the stack's ideCertificate output ("self-signed", "given"; None: plain HTTP)."""
    lines = [
        f"# {student}'s practice lab",
        "",
        f"- IDE (code-server): {ide_url}",
        f"- Password: `{password}`",
    ]
    if ingress_url:
        lines.append(f"- Ingress: {ingress_url}")
    if registry:
        lines.append(f"- Image registry: `{registry}`")
    lines += [
        "",
        "## Kubernetes from the IDE",
        "",
        "Open a terminal in the IDE (Terminal > New Terminal). kubectl is already set up:",
        "",
        "```sh",
        "kubectl get nodes               # every node Ready",
        "kubectl config get-contexts     # your cluster and namespace",
        "kubens                          # switch namespaces; kubectx switches clusters",
        "```",
        "",
        "Your files live in `/code/cloud-cicd-src`; they stay when the lab is removed.",
    ]
    if certificate == "self-signed":
        at = lines.index("## Kubernetes from the IDE") - 1  # right after the addresses
        lines[at:at] = SELF_SIGNED_WARNING
    if registry:
        lines += [
            "",
            "## Your own images",
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
