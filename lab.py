"""Bring a k8s-lab up or down on this machine: `python lab.py up|preview|destroy|info|password|check|config|stop|start|status|doctor`.

It checks for docker, kind and pulumi first. Docker must be installed and running; kind
and the Pulumi CLI, when not found, are fetched into the project's `.tools/` folder at
pinned versions and verified (k8s_lab/tools.py), saying what comes from where; with
--no-fetch only what is on PATH is used and what is missing is named with how to get it.
The session it shares with classroom.py (tools, state backend, passphrase, stack, repairs)
is k8s_lab/session.py; this file parses the verbs and prints.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from k8s_lab import idle, session


def set_or_show_config(stack, setting: list[str], secret: bool) -> int:
    """`pulumi config` for the lab's own state folder and passphrase, which a bare
    `pulumi config` would not find."""
    from pulumi import automation as auto

    if len(setting) == 2:
        stack.set_config(setting[0], auto.ConfigValue(setting[1], secret=secret))
        print(f"{setting[0]} set for stack {stack.name}; `lab.py up` applies it.")
        return 0
    if len(setting) == 1:
        value = stack.get_all_config().get(f"k8s-lab:{setting[0]}")
        print("(unset)" if value is None else ("[secret]" if value.secret else value.value))
        return 0
    print("usage: lab.py config KEY [VALUE] [--secret]", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack", default=None, help="stack (and default student) name; default: your login name")
    common.add_argument(
        "--no-fetch", action="store_true", help="fetch nothing: use only the docker, kind and pulumi on PATH (or in .tools/)"
    )
    parser = argparse.ArgumentParser(prog="lab.py", description=__doc__.split("\n\n")[0])
    verbs = parser.add_subparsers(dest="action", required=True, metavar="VERB")
    up = verbs.add_parser("up", parents=[common], help="make the lab, or bring it back to what its config says")
    up.add_argument("--workspace-root", help="folder for <student>/src and <student>/vscode (stored in the stack)")
    verbs.add_parser("preview", parents=[common], help="show what `up` would change, changing nothing")
    verbs.add_parser("destroy", parents=[common], help="remove the lab; your files stay")
    info = verbs.add_parser("info", parents=[common], help="the IDE's address and the cluster's name")
    info.add_argument("--json", action="store_true", help="the stack's outputs as JSON (secrets left out)")
    verbs.add_parser("password", parents=[common], help="print the IDE's password")
    check = verbs.add_parser("check", parents=[common], help="say whether docker, kind and pulumi are ready")
    check.add_argument("--fetch", action="store_true", help="fetch what is missing of kind and pulumi into .tools/ now")
    config = verbs.add_parser("config", parents=[common], help="show or set a setting: config KEY [VALUE] [--secret]")
    config.add_argument("setting", nargs="+", metavar="KEY [VALUE]")
    config.add_argument("--secret", action="store_true", help="store the value as a secret (idePassword, ideEnv)")
    add_class_host_verbs(verbs, common)
    return parser


def add_class_host_verbs(verbs, common: argparse.ArgumentParser) -> None:
    """stop, start, status and doctor (k8s_lab.verbs)."""
    stop = verbs.add_parser("stop", parents=[common], help="stop every container of the lab; everything is kept")
    stop.add_argument("--idle-for", type=idle.duration_argument, metavar="DURATION",
                      help="only if the IDE has had no browser activity this long, e.g. 2h (for cron; a lab in use is kept)")
    verbs.add_parser("start", parents=[common], help="start a stopped lab (after `stop` or a reboot) and wait until it works")
    status = verbs.add_parser("status", parents=[common], help="what runs, what is broken and the command that repairs it")
    status.add_argument("--json", action="store_true", help="one JSON object, for tools")
    verbs.add_parser("doctor", parents=[common], help="check this host for what breaks kind and Docker, each finding with its fix")



def run_class_host_verb(stack, args: argparse.Namespace) -> int:
    from k8s_lab import verbs

    lab = verbs.target(stack.name, session.stack_settings(stack))
    err = lambda message: print(message, file=sys.stderr)  # noqa: E731
    if args.action == "stop" and args.idle_for is not None:
        return verbs.stop_if_idle(lab, args.idle_for, err=err)
    if args.action == "stop":
        return verbs.stop(lab, err=err)
    if args.action == "start":
        return verbs.start(lab, err=err)
    if args.action == "status":
        return verbs.status(lab, stack, as_json=args.json)
    return verbs.doctor(lab)


def run_up(stack, workspace_root: str | None) -> int:
    problem = session.store_workspace_root(stack, workspace_root)
    if problem:
        print(f"k8s-lab: {problem}", file=sys.stderr)
        return 2
    config = session.stack_settings(stack)
    from k8s_lab import verbs

    started = verbs.before_up(stack.name, config, deployed=bool(stack.outputs()), err=lambda message: print(message, file=sys.stderr))
    if started:
        return started
    try:
        conflict = session.port_problem(stack.name, config, session.ide_container_exists)
    except ValueError:  # config.Invalid: the program's config check names it with its fix
        conflict = None
    if conflict:
        print(conflict, file=sys.stderr)
        return 2
    repair = session.look_for_repairs(stack.name, config, deployed=bool(stack.outputs()))
    for reason in repair.reasons:
        print(f"Repairing: {reason}")
    stack.up(on_output=print, replace=repair.replace or None, refresh=repair.refresh or None)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    environ = dict(os.environ)
    prepared = session.prepare_tools(
        args.action,
        fetch=not args.no_fetch,
        fetch_now=getattr(args, "fetch", False),
        environ=environ,
        layout=session.tools_layout(environ),
    )
    if isinstance(prepared, int):
        return prepared
    prepared.path = session.path_with_interpreter(prepared.path)
    problem = session.interpreter_problem(prepared.path)
    if problem:
        print(f"k8s-lab: {problem}", file=sys.stderr)
        return 2

    stack = session.select_stack(args.stack or session.default_stack_name(), prepared, environ)
    if args.action in ("stop", "start", "status", "doctor"):
        return run_class_host_verb(stack, args)
    return VERBS[args.action](stack, args)


def verb_up(stack, args) -> int:
    return run_up(stack, args.workspace_root) or verb_info(stack, args)


def verb_preview(stack, args) -> int:
    stack.preview(on_output=print, diff=True)
    return 0


def verb_destroy(stack, args) -> int:
    stack.destroy(on_output=print)
    print("The lab is gone; your files under the workspace folder were kept.")
    return 0


def verb_password(stack, args) -> int:
    print(stack.outputs()["idePassword"].value)
    return 0


def verb_info(stack, args) -> int:
    outputs = stack.outputs()
    if getattr(args, "json", False):
        print(json.dumps({name: output.value for name, output in sorted(outputs.items()) if not output.secret}, indent=1))
        return 0
    print(f"IDE:      {outputs['ideUrl'].value}")
    print(f"Password: python lab.py password --stack {stack.name}")
    print(f"Cluster:  {outputs['clusterName'].value} (kubectl works inside the IDE)")
    return 0


VERBS: dict[str, Callable[[Any, argparse.Namespace], int]] = {
    "up": verb_up,
    "preview": verb_preview,
    "destroy": verb_destroy,
    "info": verb_info,
    "password": verb_password,
    "config": lambda stack, args: set_or_show_config(stack, args.setting, args.secret),
}


if __name__ == "__main__":
    sys.exit(main())
