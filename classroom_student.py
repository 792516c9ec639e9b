"""One student's stack, as classroom.py runs it: `python -m classroom_student ACTION STUDENT
--slot N [...]`, in a process of its own (the Automation API's programs share global state,
so two students never share a process). It configures the student's stack, runs ACTION and
speaks to the parent in lines: `PHASE <what it does now>` while it works, then `RESULT
<json>` with the outputs the teacher's table and the handouts need, or `FAILED <one line>`.
The whole error goes to stderr (the parent keeps both in the student's log): a refusal
("no lab here", a Pulumi error, Docker's answer) as its text, exit 1; only a bug of ours
with its traceback, exit 70."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import traceback
from pathlib import Path

from k8s_lab import idle, session
from k8s_lab.exits import Exit
from k8s_lab.orchestrate import NO_LAB

ROOT = Path(__file__).resolve().parent
ACTIONS = ("up", "preview", "destroy", "status", "stop", "start")


class Refusal(RuntimeError):
    """What the child says no to, with the reason: not a bug, so no traceback."""


def refusals() -> tuple[type[BaseException], ...]:
    """The errors that are answers, not bugs: ours, a bad setting, a program (Docker, kind)
    or a file that failed, and a failed Pulumi operation (its whole output is the detail)."""
    from pulumi.automation import errors

    from k8s_lab.config import ConfigError
    from k8s_lab.kind_lifecycle import LifecycleError
    from k8s_lab.runner import RunError

    return (Refusal, ConfigError, LifecycleError, RunError, OSError, session.NoSuchLab, errors.CommandError)


def backend_env(backend: str | None) -> dict[str, str]:
    from k8s_lab import tools

    environ = dict(os.environ)
    env, notice = session.workspace_env(environ)
    if backend:
        env["PULUMI_BACKEND_URL"] = backend
    # As lab.py: the commands find this venv's `python`, kind and pulumi in .tools/, and a
    # cluster that is gone never blocks refresh or destroy.
    env["PATH"] = session.path_with_interpreter(tools.path_with_tools(session.tools_layout(environ), environ.get("PATH", "")))
    env[session.K8S_DELETE_UNREACHABLE_ENV] = "true"
    if notice:
        print(notice, file=sys.stderr)
    return env


def configure_stack(
    stack, student: str, slot: int, docker_host: str, workspace_root: str | None, settings: dict[str, str] | None = None
) -> None:
    """The student's settings in their stack's own config, written once where they belong
    to the student's machine (workspaceRoot) and each time where the roster decides."""
    from pulumi import automation as auto

    config = stack.get_all_config()
    stack.set_config("student", auto.ConfigValue(student))
    stack.set_config("slot", auto.ConfigValue(str(slot)))
    if docker_host:
        stack.set_config("dockerHost", auto.ConfigValue(docker_host))
    for key, value in (settings or {}).items():  # the roster's columns and classroom.py --set
        stack.set_config(key, auto.ConfigValue(value))
    if not any(key.endswith(":idePassword") for key in config):
        stack.set_config("idePassword", auto.ConfigValue(secrets.token_urlsafe(15), secret=True))
    problem = session.store_workspace_root(stack, workspace_root) or session.store_ide_platform(stack)
    if problem:
        raise Refusal(problem)


def pulumi_command(environ: dict[str, str]):
    """The Pulumi CLI in the tools folder when that is the one PATH finds (classroom.py put
    the folder first and fetched it there if needed), else None: the Automation API then
    runs `pulumi` from PATH."""
    from k8s_lab import tools

    layout = session.tools_layout(environ)
    found = tools.find_tool("pulumi", layout, environ.get("PATH", ""))
    return session.open_tools_pulumi(layout) if tools.in_tools(found, layout) else None


def run_one(
    action: str,
    student: str,
    slot: int,
    docker_host: str,
    env: dict[str, str],
    workspace_root: str | None = None,
    settings: dict[str, str] | None = None,
    idle_for: int | None = None,
) -> dict[str, str]:
    """In the child process: configure the student's stack and run `action` on it."""

    def phase(text: str) -> None:
        print(f"PHASE {text}", flush=True)

    phase("selecting stack")
    stack = open_stack(action, student, env)
    if action in ("up", "preview"):
        configure_stack(stack, student, slot, docker_host, workspace_root, settings)

    def on_event(event) -> None:
        pre = getattr(event, "resource_pre_event", None)
        if pre is not None and pre.metadata is not None:
            phase(f"{pre.metadata.op.value.lower()} {pre.metadata.urn.rsplit('::', 1)[-1]}")

    if action == "up":
        settings = session.stack_settings(stack)
        repair = session.look_for_repairs(student, settings, deployed=bool(stack.outputs()))
        if repair.reasons:
            phase("repairing: " + "; ".join(repair.reasons))
        stack.up(on_event=on_event, replace=repair.replace or None, refresh=repair.refresh or None)
    elif action == "preview":
        result = stack.preview(diff=True, on_event=on_event)
        changes = {k: v for k, v in result.change_summary.items() if k != "same"}
        return {"changes": json.dumps(changes)}
    elif action == "destroy":
        stack.destroy(on_event=on_event)
        return {}
    elif action in ("stop", "start"):
        return power_one(action, stack, phase, idle_for)
    return outputs_of(stack, with_status=action == "status")


def open_stack(action: str, student: str, env: dict[str, str]):
    """The student's stack: through the Pulumi CLI (made when new), or its settings file alone."""
    from pulumi import automation as auto

    if action in SETTINGS_ONLY:
        return FileStack(student, env)
    options = auto.LocalWorkspaceOptions(env_vars=env, pulumi_command=pulumi_command(env))
    return auto.create_or_select_stack(stack_name=student, work_dir=str(ROOT), opts=options)


# As lab.py (session.NEEDS' "settings"): stop, start and status read the stack's settings
# file and need no Pulumi CLI; status asks one for the handouts' outputs only when one is at hand.
SETTINGS_ONLY = ("stop", "start", "status")


class FileStack(session.SettingsOnlyStack):
    """A student's stack as its Pulumi.<student>.yaml shows it (session.file_settings)."""

    def get_all_config(self) -> dict:
        from types import SimpleNamespace

        settings = session.file_settings(self.name, ROOT)
        if settings is None:
            raise Refusal(f"{NO_LAB} (no Pulumi.{self.name}.yaml)")  # the parent adds the command that makes it
        return {f"{session.PROJECT}:{key}": SimpleNamespace(value=value, secret=False) for key, value in settings.items()}

    def outputs(self) -> dict:
        """The stack's outputs from a Pulumi CLI already at hand (never fetched), else none."""
        from pulumi import automation as auto

        try:
            command = pulumi_command(self.environ)
            if command is None and not shutil.which("pulumi", path=self.environ.get("PATH")):
                return {}
            options = auto.LocalWorkspaceOptions(env_vars=self.environ, pulumi_command=command)
            return dict(auto.select_stack(stack_name=self.name, work_dir=str(ROOT), opts=options).outputs())
        except Exception as error:  # noqa: BLE001 - status needs no Pulumi: a broken one costs the handout, not the status
            print(f"classroom_student: no outputs for the handout, the Pulumi CLI at hand failed: {error}", file=sys.stderr)
            return {}


def outputs_of(stack, with_status: bool) -> dict[str, str]:
    outputs = stack.outputs()
    result = {name: str(value.value) for name, value in outputs.items() if name in ("ideUrl", "idePassword", "registry", "ingressUrl", "ideCertificate")}
    if with_status:
        result["status"] = status_one(stack)
    return result


def power_one(action: str, stack, phase, idle_for: int | None = None) -> dict[str, str]:
    """Stop or start one student's lab (k8s_lab.verbs); a failure names the repair. With
    `idle_for`, stop only an idle lab; the result says what was decided and why."""
    from k8s_lab import verbs

    target = verbs.target(stack.name, session.stack_settings(stack))
    errors: list[str] = []
    if action == "stop" and idle_for is not None:
        said: list[str] = []

        def tell(line: str) -> None:
            said.append(line)
            phase(line)

        code = verbs.stop_if_idle(target, idle_for, log=tell, err=errors.append)
        if code:
            raise Refusal(" ".join(errors))
        return {"idle": said[0] if said else ""}
    code = (verbs.stop if action == "stop" else verbs.start)(target, log=phase, err=errors.append)
    if code:
        raise Refusal(" ".join(errors))
    return {}


def status_one(stack) -> str:
    """The student's lab status (k8s_session.status) as JSON, for the teacher's table."""
    from k8s_lab import status, verbs

    facts = verbs.gather_status(verbs.target(stack.name, session.stack_settings(stack)), stack.name, verbs.last_change(stack))
    return json.dumps(status.assess(facts).as_dict())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classroom_student", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("student")
    parser.add_argument("--slot", type=int, required=True)
    parser.add_argument("--docker-host", default="")
    parser.add_argument("--backend")
    parser.add_argument("--workspace-root")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting from the roster (checked there)")
    parser.add_argument("--idle-for", type=idle.duration_argument)
    args = parser.parse_args(argv)
    settings = dict(pair.partition("=")[::2] for pair in args.set)
    try:
        env = backend_env(args.backend)
        outputs = run_one(args.action, args.student, args.slot, args.docker_host, env, args.workspace_root, settings, args.idle_for)
    except Exception as error:  # noqa: BLE001 - one line for the teacher's table, the whole of it in the log
        return failed(error)
    print("RESULT " + json.dumps(outputs), flush=True)
    return 0


def failed(error: Exception) -> int:
    """A refusal is its text in the log and exit 1; anything else is a bug of ours: its
    traceback in the log, exit 70 (as lab.py's), so a teacher can tell the two apart."""
    bug = not isinstance(error, refusals())
    if bug:
        traceback.print_exc()
    else:
        print(f"classroom_student: {error}", file=sys.stderr)
    print(f"FAILED {one_line(error)}", flush=True)
    return Exit.INTERNAL if bug else Exit.FAILED


def one_line(error: Exception) -> str:
    """The line of an error a teacher needs: Pulumi's last `error:` line when it has one
    (a failed run's CommandError carries its whole output), else the error's last line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    said = [line for line in lines if line.lower().startswith("error:")]
    text = (said or lines or [type(error).__name__])[-1]
    return text if len(text) <= 240 else text[:239] + "…"


if __name__ == "__main__":
    sys.exit(main())
