"""One student's stack, as classroom.py runs it: `python -m classroom_student ACTION STUDENT
--slot N [...]`, in a process of its own (the Automation API's programs share global state,
so two students never share a process). It configures the student's stack, runs ACTION and
speaks to the parent in lines: `PHASE <what it does now>` while it works, then `RESULT
<json>` with the outputs the teacher's table and the handouts need."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

from k8s_lab import idle, session

ROOT = Path(__file__).resolve().parent
ACTIONS = ("up", "preview", "destroy", "status", "stop", "start")


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


def configure_stack(stack, student: str, slot: int, docker_host: str, workspace_root: str | None) -> None:
    """The student's settings in their stack's own config, written once where they belong
    to the student's machine (workspaceRoot) and each time where the roster decides."""
    from pulumi import automation as auto

    config = stack.get_all_config()
    stack.set_config("student", auto.ConfigValue(student))
    stack.set_config("slot", auto.ConfigValue(str(slot)))
    if docker_host:
        stack.set_config("dockerHost", auto.ConfigValue(docker_host))
    if not any(key.endswith(":idePassword") for key in config):
        stack.set_config("idePassword", auto.ConfigValue(secrets.token_urlsafe(15), secret=True))
    problem = session.store_workspace_root(stack, workspace_root)
    if problem:
        raise RuntimeError(problem)


def run_one(
    action: str, student: str, slot: int, docker_host: str, env: dict[str, str], workspace_root: str | None = None,
    idle_for: int | None = None,
) -> dict[str, str]:
    """In the child process: configure the student's stack and run `action` on it."""
    from pulumi import automation as auto

    def phase(text: str) -> None:
        print(f"PHASE {text}", flush=True)

    phase("selecting stack")
    stack = auto.create_or_select_stack(stack_name=student, work_dir=str(ROOT), opts=auto.LocalWorkspaceOptions(env_vars=env))
    if action in ("up", "preview"):
        configure_stack(stack, student, slot, docker_host, workspace_root)

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
            raise RuntimeError(" ".join(errors))
        return {"idle": said[0] if said else ""}
    code = (verbs.stop if action == "stop" else verbs.start)(target, log=phase, err=errors.append)
    if code:
        raise RuntimeError(" ".join(errors))
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
    parser.add_argument("--idle-for", type=idle.duration_argument)
    args = parser.parse_args(argv)
    env = backend_env(args.backend)
    outputs = run_one(args.action, args.student, args.slot, args.docker_host, env, args.workspace_root, args.idle_for)
    print("RESULT " + json.dumps(outputs), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
