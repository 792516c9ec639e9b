"""Bring a k8s-lab up or down on this machine: `lab.py VERB`, with the verbs below.

Each verb needs only what it uses (k8s_lab.session.NEEDS): `doctor` needs Docker; `info`,
`password`, `kubeconfig`, `list` and `config` the Pulumi CLI; `stop`, `start` and `status`
Docker and the lab's settings file; `up`, `preview` and `destroy` all of docker, kind and
pulumi, fetching what is missing of kind and the Pulumi CLI into `.tools/` at pinned
versions (k8s_lab/tools.py) unless --no-fetch. Every failure is one message with the
command that fixes it and an exit code of k8s_lab.exits. The session it shares with
classroom.py (tools, state backend, passphrase, stack, repairs) is k8s_lab/session.py;
this file parses the verbs and prints.
"""

# This file stays readable by Python 3.8, so an older Python is told what it needs
# instead of failing on syntax or on a package that wants a newer one.
from __future__ import annotations

import sys

from k8s_lab import cli, exits

cli.require_python()

with cli.venv_imports("lab.py"):
    import argparse
    import difflib
    import json
    import os
    from collections.abc import Callable
    from typing import Any

    from k8s_lab import idle, session, shell_form
    from k8s_lab.cli import verb_names as verb_names  # the verbs, as tests/test_readme.py reads them
    from k8s_lab.config import BY_KEY, SETTINGS, ConfigError, Invalid, Problem
    from k8s_lab.exits import Exit, lab_command

SHELL = cli.Shell("k8s-lab", "lab.py")  # the voice it shares with classroom.py (k8s_lab/cli.py)


def err(message: str) -> None:
    print(message, file=sys.stderr)


# --- the parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack", default=None, help="the lab (stack) name; default: your login name")
    common.add_argument(
        "--no-fetch", action="store_true", help="fetch nothing: use only the docker, kind and pulumi on PATH (or in .tools/)"
    )
    parser = argparse.ArgumentParser(
        prog="lab.py",
        description=(__doc__ or "").split("\n\n")[0],
        epilog="Exit codes: " + "; ".join(f"{int(code)} {meaning}" for code, meaning in exits.MEANING.items()),
    )
    parser.add_argument("--version", action="store_true", help="print k8s-lab's version and the tool versions it pins")
    verbs = parser.add_subparsers(dest="action", metavar="VERB")
    up = verbs.add_parser("up", parents=[common], help="make the lab, or bring it back to what its config says")
    up.add_argument("--workspace-root", help="folder for <student>/src and <student>/vscode (stored in the stack)")
    verbs.add_parser("preview", parents=[common], help="show what `up` would change, changing nothing")
    destroy = verbs.add_parser("destroy", parents=[common], help="remove the lab; your files stay")
    destroy.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    info = verbs.add_parser("info", parents=[common], help="the IDE's address and the cluster's name")
    info.add_argument("--json", action="store_true", help="the stack's outputs as JSON (secrets left out)")
    verbs.add_parser("password", parents=[common], help="print the IDE's password")
    kubeconfig = verbs.add_parser("kubeconfig", parents=[common], help="print the cluster's kubeconfig for this machine, or --merge it")
    kubeconfig.add_argument(
        "--merge", action="store_true", help="merge it into your kubeconfig ($KUBECONFIG or ~/.kube/config) as context k8s-lab-<lab>"
    )
    verbs.add_parser("list", parents=[common], help="the labs on this machine")
    check = verbs.add_parser("check", parents=[common], help="say whether docker, kind and pulumi are ready")
    check.add_argument("--fetch", action="store_true", help="fetch what is missing of kind and pulumi into .tools/ now")
    config = verbs.add_parser("config", parents=[common], help="list the settings, or show or set one: config [KEY [VALUE]] (VALUE - reads stdin)")
    config.add_argument("setting", nargs="*", metavar="KEY [VALUE]")
    config.add_argument("--secret", action="store_true", help="store the value as a secret (idePassword always is)")
    config.add_argument("--unset", action="store_true", help="remove KEY's value: the setting's default applies again")
    stop = verbs.add_parser("stop", parents=[common], help="stop every container of the lab; everything is kept")
    stop.add_argument("--idle-for", type=idle.duration_argument, metavar="DURATION",
                      help="only if the IDE has had no browser activity this long, e.g. 2h (for cron; a lab in use is kept)")
    verbs.add_parser("start", parents=[common], help="start a stopped lab (after `stop` or a reboot) and wait until it works")
    status = verbs.add_parser("status", parents=[common], help="what runs, what is broken and the command that repairs it")
    status.add_argument("--json", action="store_true", help="one JSON object, for tools")
    verbs.add_parser("doctor", parents=[common], help="check this host for what breaks kind and Docker, each finding with its fix")
    return parser


# --- the verbs ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run one verb; every failure a user can meet ends in one message and an exit code."""
    argv = sys.argv[1:] if argv is None else argv
    shell_form.tolerant_output()
    try:
        return run(argv)
    except KeyboardInterrupt:
        err("k8s-lab: interrupted.")
        return Exit.INTERRUPTED
    except session.NoSuchLab as missing:
        err(f"k8s-lab: {missing}")
        return Exit.NO_SUCH_LAB
    except ConfigError as invalid:
        problems = "; ".join(f"{p.key} = {p.value}: {p.reason}. Fix: {as_lab_config(p.fix, stack_of(argv))}" for p in invalid.problems)
        err(f"k8s-lab: this lab's settings are invalid: {problems}")
        return Exit.USAGE
    except ModuleNotFoundError as missing:
        err(exits.missing_package_problem(missing.name or "a package"))
        return Exit.WRONG_PYTHON
    except Exception as error:  # noqa: BLE001 - every failure a message and a code; the details in a log
        return report_failure(error, argv)


def report_failure(error: Exception, argv: list[str]) -> int:
    """A failed Pulumi operation: its summary and the log with its whole output; a program
    or a file that failed: what it said. Anything else is a bug of ours: its traceback goes
    to the log, not the screen."""
    import traceback

    from k8s_lab.runner import RunError

    verb = next((arg for arg in argv if not arg.startswith("-")), "lab")
    if is_pulumi_failure(error):
        # A value being set (a password, say) never reaches the log.
        path = log_or_why(stack_of(argv), verb, str(error), redact=config_values(argv) if verb == "config" else ())
        for line in session.failure_summary(str(error)):
            err(f"k8s-lab: {line}")
        err(f"k8s-lab: `{verb}` failed; Pulumi's whole output is in {path}")
        return Exit.FAILED
    if isinstance(error, (RunError, OSError)):
        err(f"k8s-lab: `{verb}` failed: {error}")
        return Exit.FAILED
    path = log_or_why(stack_of(argv), verb, "".join(traceback.format_exception(error)))
    err(f"k8s-lab: `{verb}` stopped on an error k8s-lab does not expect ({type(error).__name__}: {error}); details in {path}")
    return Exit.INTERNAL


def is_pulumi_failure(error: Exception) -> bool:
    try:
        from pulumi.automation import errors
    except ImportError:  # outside the venv: nothing Pulumi raised
        return False
    return isinstance(error, errors.CommandError)


def log_or_why(stack: str, verb: str, text: str, redact: tuple[str, ...] = ()) -> str:
    try:
        return str(session.write_log(stack, verb, text, redact=redact))
    except OSError as error:
        return f"no file: writing the log failed too ({error})"


def config_values(argv: list[str]) -> tuple[str, ...]:
    """The VALUE of `config KEY VALUE` in `argv`."""
    words = [arg for index, arg in enumerate(argv) if not arg.startswith("-") and (index == 0 or argv[index - 1] != "--stack")]
    return tuple(words[2:3])


def stack_of(argv: list[str]) -> str:
    for index, arg in enumerate(argv):
        if arg == "--stack" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--stack="):
            return arg.split("=", 1)[1]
    return session.default_stack_name()


def run(argv: list[str]) -> int:
    parser = build_parser()
    answered = SHELL.before_verb(parser, argv)  # a bare command, a mistyped verb
    if answered is not None:
        return answered
    args = parse_args(parser, argv)
    if args.version:
        print(session.version_text())
        return Exit.OK
    if args.action is None:
        parser.print_help()
        return Exit.OK
    if args.action == "destroy" and not confirmed(args):
        return Exit.USAGE
    return run_verb(args)


def parse_args(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """argparse's reading, but `config KEY VALUE` with a VALUE that starts with '-' (`-1g`, a
    PEM) takes it as the value, so the setting's own check answers, not "unrecognized arguments"."""
    args, extra = parser.parse_known_args(argv)
    if extra and args.action == "config" and len(args.setting) == 1 and len(extra) == 1 and extra[0] in argv[argv.index(args.setting[0]):]:
        args.setting.append(extra[0])
        return args
    return parser.parse_args(argv) if extra else args  # argparse's own error for a mistyped option


def make_hint(args: argparse.Namespace) -> str:
    """The `up` that makes the lab a verb did not find: with the name `up` can use (`Root` is
    not a student name; `root` is)."""
    from k8s_lab.names import student_name_problem, suggested_name

    name = args.stack
    if name and student_name_problem(name):
        name = suggested_name(name) or name
    return lab_command("up", *(["--stack", name] if name else []))


def run_verb(args: argparse.Namespace) -> int:
    needs = session.NEEDS[args.action]
    name = args.stack or session.default_stack_name()
    environ = dict(os.environ)
    refused = refused_before_tools(args, name, environ)
    if refused is not None:
        return refused
    if needs.stack == "settings":
        settings = session.settings_of(name, make=make_hint(args))  # before the tools: a typo is said first
    # The lab's kubernetesVersion row picks its kind release (k8s_lab/versions.py).
    row = session.version_row(session.file_settings(name) if "kind" in needs.tools else None)
    prepared = session.prepare_tools(
        args.action,
        fetch=needs.fetch and not args.no_fetch,
        fetch_now=getattr(args, "fetch", False),
        environ=environ,
        layout=session.tools_layout(environ),
        kind_versions=(row.kind_version,),
        about=session.row_line(name, row) if args.action == "check" else None,
    )
    if isinstance(prepared, int):
        return Exit.NOT_READY if prepared else Exit.OK
    if needs.stack == "settings":
        return run_class_host_verb(session.SettingsOnlyStack(name, environ), settings, args)
    if needs.stack == "optional":
        return run_class_host_verb(session.SettingsOnlyStack(name), session.file_settings(name) or {}, args)
    prepared.path = session.path_with_interpreter(prepared.path)
    problem = session.interpreter_problem(prepared.path)
    if problem:
        err(f"k8s-lab: {problem}")
        return Exit.NOT_READY
    if needs.stack == "list":
        return verb_list(session.open_workspace(prepared, environ))
    if needs.stack == "create":
        stack = session.select_stack(name, prepared, environ)
    elif stores_a_setting(args):
        return config_of_any_lab(name, prepared, environ, args)
    else:
        stack = session.existing_stack(name, session.open_workspace(prepared, environ), make=make_hint(args))
    return VERBS[args.action](stack, args)


def refused_before_tools(args: argparse.Namespace, name: str, environ: dict[str, str]) -> int | None:
    """What can be refused without any tool, before tools are looked for or fetched: a bad
    `config` request, and a lab this checkout knows is not there (NoSuchLab is raised)."""
    if args.action == "config":
        refused = config_request_problem(args, name)
        if refused is not None:
            return refused
    needs = session.NEEDS[args.action]
    if needs.stack == "list" and session.labs_known_here(environ) == set():
        return no_labs_yet()
    if needs.stack == "select" and not stores_a_setting(args):
        session.refuse_unknown_lab(name, environ, make=make_hint(args))
    return None


def stores_a_setting(args: argparse.Namespace) -> bool:
    """`config KEY VALUE`: the one verb besides up and preview that may name a lab not made
    yet, so a student can choose its slot (port 80 taken) or memory before the first `up`."""
    return args.action == "config" and len(args.setting) == 2 and not args.unset


def config_of_any_lab(name: str, prepared, environ: dict[str, str], args: argparse.Namespace) -> int:
    """Store a setting; a lab not made yet gets its stack (and settings file) now, and
    `up` makes the lab with what is stored. Only the setting is stored: what the first
    `up` writes itself (workspaceRoot, idePlatform) it still writes then."""
    stack = session.select_stack(name, prepared, environ)
    code = verb_config(stack, args)
    if code == Exit.OK and not stack.outputs():
        print(
            f"Lab {name!r} is not made yet: its settings are stored ({session.settings_file(name).name}), "
            f"and `{lab_command('up', '--stack', name)}` makes it with them."
        )
    return code


def no_labs_yet() -> int:
    print(f"No labs on this machine yet. Make one: {lab_command('up')}")
    return Exit.NO_SUCH_LAB


def config_request_problem(args: argparse.Namespace, name: str) -> int | None:
    """`config KEY [VALUE]` checked before any tool is needed: a key that is no setting, too
    many words, or a value the setting's parser refuses; the exit code after saying so. A
    VALUE of `-` is read from stdin here, once."""
    if not args.setting:
        return None
    key = args.setting[0]
    if key not in BY_KEY:
        near = difflib.get_close_matches(key, list(BY_KEY), n=1)
        hint = f"did you mean {near[0]}?" if near else f"the settings: {', '.join(BY_KEY)}"
        err(f"k8s-lab: {key!r} is not a k8s-lab setting; {hint}")
        return Exit.USAGE
    if len(args.setting) > 2:
        quoted = lab_command("config", key, "<a value with spaces>")
        err(f"k8s-lab: config takes one KEY and one VALUE; quote a value with spaces: {quoted}")
        return Exit.USAGE
    if len(args.setting) < 2 or args.unset:
        return None
    if args.setting[1] == "-":  # a PEM file: config ideTlsCert - < cert.pem
        args.setting[1] = sys.stdin.read().strip()
    refused = value_problem(key, args.setting[1], name)  # its fix names this lab
    if refused:
        err(refused)
        return Exit.USAGE
    return None


def stack_arg(args: argparse.Namespace) -> list[str]:
    return ["--stack", args.stack] if args.stack else []


def confirmed(args: argparse.Namespace) -> bool:
    """destroy asks first, unless --yes; without a terminal to ask on, it refuses."""
    if args.yes:
        return True
    name = args.stack or session.default_stack_name()
    again = lab_command("destroy", "--stack", name, "--yes")
    # Asked on stderr, as classroom.py asks (k8s_lab/cli.py): stdout is the output a pipe reads.
    answer = SHELL.ask(f"Remove lab {name!r}: its cluster, IDE and registry (your files under the workspace folder stay)? [y/N] ")
    if answer is None:
        err(f"k8s-lab: destroy removes lab {name!r} (your files stay); with no terminal to confirm on, run: {again}")
        return False
    if answer.lower() in ("y", "yes"):
        return True
    err("k8s-lab: nothing was removed.")
    return False


def run_class_host_verb(stack, settings: dict[str, str], args: argparse.Namespace) -> int:
    from k8s_lab import verbs

    lab = verbs.target(stack.name, settings)
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
    from k8s_lab import verbs

    # First, before anything is stored or made: does this host run the lab's Kubernetes version?
    refused = verbs.version_refusal(stack.name, session.stack_settings(stack))
    if refused:
        err(f"k8s-lab: {refused}")
        return Exit.USAGE
    problem = session.store_workspace_root(stack, workspace_root) or session.store_ide_platform(stack)
    if problem:
        err(f"k8s-lab: {problem}")
        return Exit.USAGE
    config = session.stack_settings(stack)
    started = verbs.before_up(stack.name, config, deployed=bool(stack.outputs()), err=err)
    if started:
        return Exit.USAGE if started == Exit.USAGE else Exit.FAILED
    try:
        conflict = session.port_problem(stack.name, config, session.ide_container_exists)
    except ValueError:  # config.Invalid: the program's config check names it with its fix
        conflict = None
    if conflict:
        err(conflict)
        return Exit.USAGE
    repair = session.look_for_repairs(stack.name, config, deployed=bool(stack.outputs()))
    for reason in repair.reasons:
        print(f"Repairing: {reason}")
    stack.up(on_output=print, replace=repair.replace or None, refresh=repair.refresh or None)
    return Exit.OK


def verb_up(stack, args) -> int:
    return run_up(stack, args.workspace_root) or verb_info(stack, args)


def verb_preview(stack, args) -> int:
    stack.preview(on_output=print, diff=True)
    return Exit.OK


def verb_destroy(stack, args) -> int:
    stack.destroy(on_output=print)
    print("The lab is gone; your files under the workspace folder were kept.")
    return Exit.OK


def outputs_or_none(stack, args) -> dict | None:
    """The stack's outputs, or None after saying that the lab has not been made yet."""
    outputs = stack.outputs()
    if outputs.get("ideUrl") is None:
        err(f"k8s-lab: lab {stack.name!r} has not been brought up yet (or was destroyed). Bring it up: {lab_command('up', *stack_arg(args))}")
        return None
    return outputs


def verb_password(stack, args) -> int:
    outputs = outputs_or_none(stack, args)
    if outputs is None:
        return Exit.FAILED
    password = outputs["idePassword"].value
    print(password)
    if shell_form.unshowable(password):
        encoding = sys.stdout.encoding
        err(f"k8s-lab: this terminal's encoding ({encoding}) cannot show every character of the password ('?' above). "
            f"Run it again with PYTHONIOENCODING=utf-8 (and a UTF-8 terminal), or set an ASCII one: "
            f"{lab_command('config', 'idePassword', '<new password>', '--stack', stack.name)}")
    return Exit.OK


def verb_info(stack, args) -> int:
    outputs = outputs_or_none(stack, args)
    if outputs is None:
        return Exit.FAILED
    if getattr(args, "json", False):
        print(json.dumps({name: output.value for name, output in sorted(outputs.items()) if not output.secret}, indent=1))
        return Exit.OK
    print(f"IDE:        {outputs['ideUrl'].value}")
    print(f"Password:   {lab_command('password', '--stack', stack.name)}")
    print(f"Cluster:    {outputs['clusterName'].value} (kubectl works inside the IDE)")
    print(f"Kubeconfig: {lab_command('kubeconfig', '--merge', '--stack', stack.name)} (for kubectl on this machine)")
    return Exit.OK


def verb_kubeconfig(stack, args) -> int:
    outputs = outputs_or_none(stack, args)
    if outputs is None:
        return Exit.FAILED
    text = outputs["hostKubeconfig"].value
    if not args.merge:
        print(text, end="" if text.endswith("\n") else "\n")
        return Exit.OK
    context = f"k8s-lab-{stack.name}"
    target = session.merge_kubeconfig(text, context, dict(os.environ))
    print(f"Context {context} is in {target} and is the current one: kubectl get nodes")
    return Exit.OK


def verb_list(workspace) -> int:
    summaries = sorted(workspace.list_stacks(), key=lambda summary: summary.name)
    if not summaries:
        return no_labs_yet()
    print(f"{'LAB':<24} {'RESOURCES':>9}  LAST CHANGE")
    for summary in summaries:
        when = f"{summary.last_update:%Y-%m-%d %H:%M}" if summary.last_update else "never brought up"
        count = "" if summary.resource_count is None else str(summary.resource_count)
        print(f"{summary.name.rsplit('/', 1)[-1]:<24} {count:>9}  {when}")
    return Exit.OK


def verb_config(stack, args) -> int:
    """List, show, unset or store a setting (run_verb checked the request before the tools;
    a second check costs nothing and keeps this verb whole for in-process callers)."""
    refused = config_request_problem(args, stack.name)
    if refused is not None:
        return refused
    if not args.setting:
        return list_settings(stack)
    key = args.setting[0]
    if args.unset:
        stack.remove_config(key)
        print(f"{key} unset for lab {stack.name}: its default applies at the next `up`.")
        return Exit.OK
    if len(args.setting) == 1:
        value = stack.get_all_config().get(f"{session.PROJECT}:{key}")
        print("(unset)" if value is None else ("[secret]" if value.secret else value.value))
        return Exit.OK
    return set_setting(stack, key, args.setting[1], args.secret)


def set_setting(stack, key: str, value: str, secret: bool) -> int:
    """Store `value`, which the settings table's parser accepted (config_request_problem)."""
    from pulumi import automation as auto

    secret = secret or BY_KEY[key].secret
    stack.set_config(key, auto.ConfigValue(value, secret=secret))
    print(f"{key} set for lab {stack.name}{' (as a secret)' if secret else ''}; `{lab_command('up', '--stack', stack.name)}` applies it.")
    return Exit.OK


def value_problem(key: str, value: str, stack: str) -> str | None:
    """The settings table's refusal of `value` for `key`, with its fix as lab.py commands."""
    setting = BY_KEY[key]
    try:
        setting.parse(value.strip())
    except Invalid as invalid:
        shown = "(hidden)" if setting.secret else (invalid.shown or repr(value))
        return f"k8s-lab: {Problem(key, shown, invalid.reason, as_lab_config(invalid.fix or setting.fix, stack))}; nothing was stored"
    return None


def as_lab_config(fix: str, stack: str) -> str:
    """The settings table's fix templates (k8s_lab/shell_form.py) as the lab.py commands that
    do them, for this lab and this system's shell."""
    from k8s_lab import shell_form

    return shell_form.render_fix(fix, "lab", stack)


def list_settings(stack) -> int:
    """Every setting of the table with this lab's value, or its default; secrets masked."""
    stored = stack.get_all_config()
    width = max(len(setting.key) for setting in SETTINGS)
    for setting in SETTINGS:
        value = stored.get(f"{session.PROJECT}:{setting.key}")
        if value is None:
            shown = f"(default: {setting.readme_default().replace('`', '')})"  # README's markup, not the terminal's
        elif value.secret or setting.secret:
            shown = "[secret]"
        else:
            shown = value.value
        print(f"{setting.key:<{width}}  {shown}")
    return Exit.OK


VERBS: dict[str, Callable[[Any, argparse.Namespace], int]] = {
    "up": verb_up,
    "preview": verb_preview,
    "destroy": verb_destroy,
    "info": verb_info,
    "password": verb_password,
    "kubeconfig": verb_kubeconfig,
    "config": verb_config,
}


if __name__ == "__main__":
    sys.exit(main())
