"""Golden records of the program's resources: for a few reviewed stacks, every resource's
URN, parent, dependencies, options and inputs (secrets shown as such), as the engine would
receive them under Pulumi's mocks.

tests/test_golden.py compares the program with these files, so any change to what a
stack asks of its providers shows in the diff of tests/golden/*.json. Regenerating them is
a deliberate act, reviewed like code:

    venv/bin/python tests/golden_record.py --update
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GOLDEN_DIR = HERE / "golden"

# name -> (stack, config). Preview evaluations: no folder is made, any path will do.
STACKS: dict[str, tuple[str, dict[str, str]]] = {
    # idePlatform: what lab.py up stores from the daemon (an amd64 laptop; an arm64 teacher host).
    "defaults": ("kim", {"workspaceRoot": "/home/kim/k8s-lab", "idePlatform": "linux/amd64"}),
    "classroom-slot-3": (
        "class-7",
        {
            "workspaceRoot": r"C:\Users\lee\k8s-lab",
            "student": "lee",
            "slot": "3",
            "workers": "1",
            "idePassword": "Configured-Pa55word",
            "ideEnv": '["EDITOR=vim"]',
            "namespace": "team-a",
        },
    ),
    "lean-prebuilt": (
        "park",
        {
            "workspaceRoot": "/srv/labs",
            "ingress": "false",
            "registry": "false",
            "workers": "0",
            "ideImage": "registry.example.com/class/ide:2024-09",
            "mountDockerSocket": "false",
            "networkMtu": "1450",
        },
    ),
    "remote-host": (
        "choi",
        {"dockerHost": "ssh://teacher@lab2", "bindAddress": "0.0.0.0", "allowRemoteAccess": "true", "idePlatform": "linux/arm64"},
    ),
}


def _plain(value: Any) -> Any:
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        return {"<secret>": _plain(rpc.unwrap_rpc_secret(value))}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value if isinstance(value, (str, int, float, bool, type(None))) else f"<{type(value).__name__}>"


COMMAND = "command:local:Command"  # pulumi-command's SDK adds replace_on_changes ["triggers[*]"] to each


def record(name: str) -> dict[str, Any]:
    from lab_mocks import evaluate

    stack, config = STACKS[name]
    secret_keys = ("idePassword",) if "idePassword" in config else ()
    lab = evaluate(config, stack=stack, preview=True, secret_keys=secret_keys)
    by_urn = {r.urn: r for r in lab.resources}
    resources = [
        {
            "urn": r.urn,
            "parent": r.parent,
            "custom": r.custom,
            "dependencies": sorted(lab.direct_dependencies(r)),
            "options": {
                "delete_before_replace": r.delete_before_replace,
                "additional_secret_outputs": sorted(r.additional_secret_outputs),
                "retain_on_delete": r.retain_on_delete,
                "deleted_with": r.deleted_with,
                "provider": r.provider.rsplit("::", 1)[0] if r.provider else "",
                # the diff-shaping options, when set (k8s_lab.docker_diff, the IDE's replace_on_changes)
                **({"replace_on_changes": r.replace_on_changes} if r.replace_on_changes and r.type != COMMAND else {}),
                **({"ignore_changes": r.ignore_changes} if r.ignore_changes else {}),
                **({"replacement_trigger": r.replacement_trigger} if r.replacement_trigger is not None else {}),
            },
            "inputs": _plain(r.raw_inputs),
        }
        for r in sorted(lab.resources, key=lambda r: r.urn)
    ]
    assert len(by_urn) == len(resources), "two resources share a URN"
    exports = {key: ("<secret>" if export.secret else export.value) for key, export in sorted(lab.exports.items())}
    return {"stack": stack, "config": config, "resources": resources, "exports": exports}


def as_text(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="rewrite tests/golden/*.json from the program")
    args = parser.parse_args(argv)
    if not args.update:
        parser.error("nothing to do without --update (tests/test_golden.py compares)")
    GOLDEN_DIR.mkdir(exist_ok=True)
    for name in STACKS:
        (GOLDEN_DIR / f"{name}.json").write_text(as_text(record(name)), encoding="utf-8")
        print(f"wrote tests/golden/{name}.json")
    return 0


if __name__ == "__main__":
    sys.path[:0] = [str(HERE.parent), str(HERE)]
    sys.exit(main())
