"""Run the lab for a whole class: `python classroom.py up|preview|destroy|status|stop|start roster.csv`.

One stack per student (named after the student), each run in its own process through
Pulumi's Automation API, at most --parallel at a time. The roster is validated before
anything runs; slots are allocated stably and kept in each stack's own config; a
generated password is stored as a secret config value. One student's failure never stops
the others; the summary says who failed and why, and the exit code whether anyone did.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from classroom_student import ACTIONS, backend_env
from k8s_lab import idle
from k8s_lab.handout import render_handout, write_handout
from k8s_lab.orchestrate import Outcome, Progress, exit_code, run_all
from k8s_lab.roster import RosterError, allocate_slots, parse_roster

ROOT = Path(__file__).resolve().parent


def existing_slots(env: dict[str, str], students: list[str], workspace=None) -> dict[str, int]:
    """The slots the students' stacks already have (their own config). A stack without a
    slot gets one; a slot that cannot be read stops the class, naming the stack: handing
    that student a new slot would move their lab onto another student's ports."""
    from pulumi import automation as auto

    workspace = workspace or auto.LocalWorkspace(work_dir=str(ROOT), env_vars=env)
    names = {summary.name.split("/")[-1] for summary in workspace.list_stacks()}
    slots = {}
    for student in (s for s in students if s in names):
        value = workspace.get_all_config(student).get("k8s-lab:slot")
        if value is None or not value.value.strip():
            continue
        try:
            slots[student] = int(value.value, 10)
        except ValueError:
            raise RosterError([f"stack {student!r} has slot {value.value!r}, not a whole number; fix it with "
                               f"pulumi config set slot <n> --stack {student}"]) from None
    return slots


def child_argv(
    action: str, student: str, slot: int, host: str, backend: str | None, workspace_root: str | None, idle_for: int | None = None
) -> list[str]:
    """The command line of one student's child process."""
    argv = [sys.executable, "-m", "classroom_student", action, student, "--slot", str(slot)]
    if idle_for is not None:
        argv += ["--idle-for", f"{idle_for}s"]
    if host:
        argv += ["--docker-host", host]
    if backend:
        argv += ["--backend", backend]
    if workspace_root:
        argv += ["--workspace-root", workspace_root]
    return argv


def child_job(
    action: str, slots: dict[str, int], hosts: dict[str, str], backend: str | None, workspace_root: str | None = None,
    idle_for: int | None = None,
):
    """A job that runs one student in a child process (the Automation API's programs share
    global state, so students never share one)."""

    def job(student: str, report) -> dict[str, str]:
        argv = child_argv(action, student, slots[student], hosts.get(student, ""), backend, workspace_root, idle_for)
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        result: dict[str, str] = {}
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("PHASE "):
                report(line[6:].strip())
            elif line.startswith("RESULT "):
                result = json.loads(line[7:])
        stderr = process.stderr.read() if process.stderr else ""
        if process.wait() != 0:
            last = [l for l in stderr.strip().splitlines() if l.strip()][-3:]
            raise RuntimeError(" | ".join(last) or f"exited with {process.returncode}")
        return result

    return job


def show_status(outcomes: list[Outcome], as_json: bool) -> None:
    """Every student's lab status as one table (or JSON); students whose stack failed are listed after it."""
    from rich.console import Console

    from k8s_lab import status

    reports = [status.Report(**json.loads(o.outputs["status"])) for o in outcomes if o.ok and "status" in o.outputs]
    if as_json:
        print(json.dumps([r.as_dict() for r in reports], indent=2))
    else:
        Console().print(status.render_table(reports))
        print("\n".join(status.repair_lines(reports)))
    for outcome in outcomes:
        if not outcome.ok:
            print(f"{outcome.student}: status unknown: {outcome.detail}", file=sys.stderr)


def show(outcomes: list[Outcome], action: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"classroom {action}")
    for column in ("student", "URL", "status", "duration"):
        table.add_column(column)
    for outcome in outcomes:
        status = "ok" if outcome.ok else f"FAILED: {outcome.detail}"
        url = outcome.outputs.get("ideUrl", outcome.outputs.get("changes", outcome.outputs.get("idle", "")))
        table.add_row(outcome.student, url, status, f"{outcome.seconds:.0f}s")
    Console().print(table)
    failed = [o.student for o in outcomes if not o.ok]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} succeeded" + (f"; failed: {', '.join(failed)}" if failed else ""))


def run_with_progress(students: list[str], job, parallel: int) -> list[Outcome]:
    from concurrent.futures import ThreadPoolExecutor

    from rich.live import Live
    from rich.table import Table

    progress = Progress()

    def render() -> Table:
        table = Table(show_header=True)
        table.add_column("student")
        table.add_column("phase")
        table.add_column("elapsed")
        for student, phase, elapsed in progress.snapshot():
            table.add_row(student, phase, f"{elapsed:.0f}s")
        return table

    with ThreadPoolExecutor(max_workers=1) as pool, Live(render(), refresh_per_second=2) as live:
        future = pool.submit(run_all, students, job, parallel, progress)
        while not future.done():
            live.update(render())
            time.sleep(0.5)
        live.update(render())
        return future.result()


def add_mirror_parser(sub) -> None:
    mirror = sub.add_parser("mirror", help="run the class's pull-through image cache on this host (k8s_lab.mirror)")
    mirror.add_argument("--port", type=int, default=5000, help="Docker Hub's cache port; registry.k8s.io's is the next (default 5000)")
    mirror.add_argument("--host", default=None, help="this host's name or address as the students' Docker reaches it (default: its hostname)")
    mirror.add_argument("--bind", default="0.0.0.0", help="address the caches listen on (default: every interface)")
    mirror.add_argument("--image", default=None, help="registry image (default: the pinned registry:2)")


def run_mirror(args: argparse.Namespace) -> int:
    import socket

    from k8s_lab import mirror, registry
    from k8s_lab.runner import ProcessRunner, RunError

    try:
        for line in mirror.ensure_caches(mirror.docker_cli(ProcessRunner()), args.port, args.image or registry.IMAGE, args.bind):
            print(line)
    except (RuntimeError, RunError) as error:
        print(f"classroom: {error}", file=sys.stderr)
        return 1
    print(mirror.instructions(f"http://{args.host or socket.gethostname()}:{args.port}"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="classroom.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    for action in ACTIONS:
        each = sub.add_parser(action, help=f"{action} every student's lab in the roster")
        each.add_argument("roster", type=Path, help="CSV with a header: student, optional slot, optional dockerHost")
        each.add_argument("--parallel", type=int, default=4, help="stacks run at once (default 4)")
        each.add_argument("--backend", help="state backend URL (default: PULUMI_BACKEND_URL, else .pulumi-state/ here)")
        each.add_argument("--handouts", type=Path, default=ROOT / "handouts", help="folder for the students' handouts (up, status)")
        each.add_argument("--workspace-root", help="folder holding every student's <student>/src and /vscode (default: ~/k8s-lab)")
        if action == "status":
            each.add_argument("--json", action="store_true", help="the students' lab status as JSON, for tools")
        if action == "stop":
            each.add_argument("--idle-for", type=idle.duration_argument, metavar="DURATION",
                              help="stop only the labs whose IDE has had no browser activity this long, e.g. 2h")
    add_mirror_parser(sub)
    args = parser.parse_args(argv)

    if args.action == "mirror":
        return run_mirror(args)
    if args.parallel < 1:
        parser.error("--parallel must be at least 1")
    try:
        entries = parse_roster(args.roster.read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"classroom: no roster at {args.roster}", file=sys.stderr)
        return 2
    except RosterError as error:
        print(f"classroom: {error}", file=sys.stderr)
        return 2
    if not entries:
        print(f"classroom: {args.roster} lists no students", file=sys.stderr)
        return 2
    students = [e.student for e in entries]
    env = backend_env(args.backend)
    try:
        slots = allocate_slots(entries, existing_slots(env, students))
    except RosterError as error:  # a clash, or a stack whose slot cannot be read
        print(f"classroom: {error}", file=sys.stderr)
        return 2
    hosts = {e.student: e.docker_host for e in entries}
    job = child_job(args.action, slots, hosts, args.backend, args.workspace_root, getattr(args, "idle_for", None))
    outcomes = run_with_progress(students, job, args.parallel)
    finish(args, outcomes)
    return exit_code(outcomes)


def finish(args: argparse.Namespace, outcomes: list[Outcome]) -> None:
    """Handouts for who is up, then the summary table (a status table for status)."""
    if args.action in ("up", "status"):
        write_handouts(outcomes, args.handouts)
    if args.action == "status":
        show_status(outcomes, args.json)
    else:
        show(outcomes, args.action)


def write_handouts(outcomes: list[Outcome], folder: Path) -> None:
    for outcome in outcomes:
        if outcome.ok and "idePassword" in outcome.outputs:
            text = render_handout(
                outcome.student,
                outcome.outputs["ideUrl"],
                outcome.outputs["idePassword"],
                outcome.outputs.get("registry"),
                outcome.outputs.get("ingressUrl"),
                outcome.outputs.get("ideCertificate"),
            )
            write_handout(folder, outcome.student, text)


if __name__ == "__main__":
    sys.exit(main())
