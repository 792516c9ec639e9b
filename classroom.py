"""Run the lab for a whole class: `classroom.py up|preview|destroy|status|stop|start|mirror roster.csv`.

One stack per student (named after the student), each run in its own process through
Pulumi's Automation API, at most --parallel at a time. Before anything runs: the roster is
read and checked (k8s_lab/roster.py), docker, kind and pulumi are found or fetched exactly
as lab.py does it (k8s_lab/session.py), and for `up` every student's host ports are tried
and the class is held against the host's memory, inotify and PID limits. Slots are
allocated stably and kept in each stack's own config; a generated password is stored as a
secret config value. Each student's whole output goes to logs/<student>-<verb>.log; one
student's failure never stops the others; the summary names who failed, why and their log,
and the exit code says whether anyone did.
"""

from __future__ import annotations

# This file stays readable by Python 3.8, as lab.py: an older Python, or one without the
# venv's packages, is told what it needs (k8s_lab/cli.py) instead of a traceback.
import sys

from k8s_lab import cli

cli.require_python()

with cli.venv_imports("classroom.py"):
    import argparse
    import functools
    import json
    import os
    import re
    import shlex
    import socket
    import subprocess
    from pathlib import Path
    from urllib.parse import urlsplit

    from classroom_student import ACTIONS
    from k8s_lab import capacity, exits, idle, session, shell_form, versions
    from k8s_lab.exits import lab_command
    from k8s_lab.exits import Exit
    from k8s_lab.handout import LANGUAGES, render_handout, roster_language, void_handout, write_handout
    from k8s_lab.orchestrate import NO_LAB, Outcome, Progress, exit_code, run_all
    from k8s_lab.roster import Entry, RosterError, access_problem, allocate_slots, class_defaults, decode_roster, read_roster
    from k8s_lab.runner import ProcessRunner, Runner, RunError

SHELL = cli.Shell("classroom", "classroom.py")  # the voice it shares with lab.py (k8s_lab/cli.py)
ROOT = Path(__file__).resolve().parent
TAIL_BYTES = 16384  # of a failed student's log, for the one line the summary shows
PROTOCOL = ("PHASE ", "RESULT ", "FAILED ")  # the child's lines to us on stdout
DETAIL_CHARS = 240
SECRET_OUTPUTS = ("idePassword",)  # the child's RESULT keys never copied into its log as they are
# A student's run that takes longer is stuck: a first `up` pulls about 2 GB of images and
# builds the IDE (README, Benchmark: minutes, not hours, on a school's network).
DEFAULT_TIMEOUT_MINUTES = 90


# --- the class's stacks -----------------------------------------------------------------------


def quiet_stack_settings(student: str) -> dict[str, str]:
    """The student's stack settings, or none when its file cannot be read (run_class says
    why after the tools: stack_file_settings)."""
    try:
        return stack_file_settings(student)
    except RosterError:
        return {}


def stack_file_settings(student: str, root: Path | None = None) -> dict[str, str]:
    """The student's stack settings as Pulumi keeps them, in Pulumi.<student>.yaml next to
    Pulumi.yaml (session.file_settings: for every backend, without the Pulumi CLI, secrets
    left out), so the class is checked before any tool runs."""
    import yaml

    try:
        return session.file_settings(student, root or ROOT) or {}
    except (yaml.YAMLError, UnicodeDecodeError, AttributeError) as error:
        name = session.settings_file(student, root or ROOT).name
        raise RosterError([f"{name} cannot be read ({type(error).__name__}: {error}); fix or remove that file"]) from None


def existing_slots(stacks: dict[str, dict[str, str]]) -> dict[str, int]:
    """The slots the students' stacks already have. A slot that cannot be read stops the
    class, naming the stack: handing that student a new slot would move their lab onto
    another student's ports."""
    slots = {}
    for student, settings in stacks.items():
        value = settings.get("slot", "").strip()
        if not value:
            continue
        try:
            slots[student] = int(value, 10)
        except ValueError:
            raise RosterError([f"stack {student!r} has slot {value!r}, not a whole number; fix it with "
                               f"{lab_command('config', 'slot', '<n>', '--stack', student)}"]) from None
    return slots


def effective(entry: Entry, stack: dict[str, str]) -> dict[str, str]:
    """What the student's stack will hold: its own config, overridden by the roster (and --set)."""
    merged = dict(stack)
    if entry.docker_host:
        merged["dockerHost"] = entry.docker_host
    merged.update(entry.settings)
    return merged


# --- one student's child process --------------------------------------------------------------


def child_argv(
    action: str,
    student: str,
    slot: int,
    host: str,
    backend: str | None,
    workspace_root: str | None,
    idle_for: int | None = None,
    settings: dict[str, str] | None = None,
) -> list[str]:
    """The command line of one student's child process."""
    argv = [sys.executable, "-m", "classroom_student", action, student, "--slot", str(slot)]
    if host:
        argv += ["--docker-host", host]
    if backend:
        argv += ["--backend", backend]
    if workspace_root:
        argv += ["--workspace-root", workspace_root]
    for key, value in (settings or {}).items():
        argv += ["--set", f"{key}={value}"]
    if idle_for is not None:
        argv += ["--idle-for", f"{idle_for}s"]
    return argv


class StudentFailed(RuntimeError):
    """A child that exited non-zero: the one line that says why, and where the rest is."""

    def __init__(self, detail: str, log: Path):
        self.log = str(log)
        super().__init__(detail)


def run_child(
    argv: list[str], log: Path, report, env: dict[str, str] | None = None, timeout: float | None = None, popen=subprocess.Popen
) -> dict[str, str]:
    """Run one student's child with its whole output in `log`. The child's stderr goes to
    the file itself; its stdout is read line by line (PHASE, RESULT, FAILED) and copied to the
    file. Only one pipe is read, and to its end, so no amount of output can block the child
    or us. A child still running after `timeout` seconds is stopped (Watchdog). Not
    k8s_lab/runner.py: it hands back a finished program's whole output, and a student's
    run is read while it runs, into a file (tests pass a recording `popen`)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    # Owner-only, as the handouts: a failed run's output is the student's business.
    with os.fdopen(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as header:
        header.write(f"$ {shlex.join(argv)}\n")
    os.chmod(log, 0o600)  # also when the file existed with wider permissions
    result: dict[str, str] = {}
    failure = ""
    with open(log, "a", encoding="utf-8") as sink:  # O_APPEND: the child's writes and ours never overlap
        process = popen(
            argv, stdout=subprocess.PIPE, stderr=sink, stdin=subprocess.DEVNULL, text=True,
            encoding="utf-8", errors="replace", cwd=ROOT, env=env, start_new_session=os.name != "nt",
        )
        assert process.stdout is not None
        with Watchdog(process, timeout) as watchdog:
            for line in process.stdout:
                if line.startswith("RESULT "):
                    result = json.loads(line[7:])
                    line = f"RESULT {json.dumps(redacted(result))}\n"  # the handouts hold the password, not the log
                sink.write(line)
                sink.flush()
                if line.startswith("PHASE "):
                    report(line[6:].strip())
                elif line.startswith("FAILED "):
                    failure = line[7:].strip()
            code = process.wait()
    if watchdog.fired:
        raise StudentFailed(f"did not finish in {(timeout or 0) / 60:g} min and was stopped; its log shows where it was", log)
    if code != 0:
        raise StudentFailed(failure or last_line(log) or f"exited with {code}", log)
    return result


def redacted(outputs: dict[str, str]) -> dict[str, str]:
    return {key: "[secret]" if key in SECRET_OUTPUTS else value for key, value in outputs.items()}


class Watchdog:
    """Stops a child (and the Pulumi CLI it runs, in its process group) that runs past its
    time: SIGINT first, which Pulumi takes as "cancel, keep the state consistent", then
    SIGKILL after GRACE seconds. On Windows the child alone is killed."""

    GRACE = 60.0

    def __init__(self, process: subprocess.Popen, timeout: float | None):
        import threading

        self.process, self.fired = process, False
        self.timers = [threading.Timer(timeout, self.stop)] if timeout else []

    def __enter__(self) -> Watchdog:
        for timer in self.timers:
            timer.daemon = True
            timer.start()
        return self

    def __exit__(self, *exc) -> None:
        for timer in self.timers:
            timer.cancel()

    def stop(self) -> None:
        import signal
        import threading

        self.fired = True
        if os.name == "nt":
            self.process.kill()
            return
        # The kill is scheduled (and kept for __exit__ to cancel) before the interrupt, which
        # may end the child at once: a kill left running could reach a reused process group.
        later = threading.Timer(self.GRACE, self.signal, (signal.SIGKILL,))
        later.daemon = True
        self.timers.append(later)
        later.start()
        self.signal(signal.SIGINT)

    def signal(self, number: int) -> None:
        try:
            os.killpg(self.process.pid, number)
        except (ProcessLookupError, PermissionError):
            pass  # already gone


def last_line(log: Path) -> str:
    """The last line the child said on stderr, however large the log, cut to one screen
    line; "" when it said nothing. The protocol lines copied from stdout are left out: they may land after stderr's
    last words (two streams, copied as each arrives)."""
    start = max(0, log.stat().st_size - TAIL_BYTES)
    with open(log, "rb") as handle:
        handle.seek(start)
        tail = handle.read().decode("utf-8", errors="replace").splitlines()
    said = tail[1:] if start == 0 else tail  # not our own first line, the command (run_child)
    lines = [line.strip() for line in said if line.strip() and not line.startswith(PROTOCOL)]
    text = lines[-1] if lines else ""
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"


def child_job(
    action: str,
    slots: dict[str, int],
    hosts: dict[str, str],
    backend: str | None,
    workspace_root: str | None = None,
    *,
    logs: Path,
    settings: dict[str, dict[str, str]] | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    idle_for: int | None = None,
    popen=subprocess.Popen,
):
    """A job that runs one student in a child process (the Automation API's programs share
    global state, so students never share one)."""

    def job(student: str, report) -> dict[str, str]:
        argv = child_argv(
            action, student, slots[student], hosts.get(student, ""), backend, workspace_root, idle_for, (settings or {}).get(student)
        )
        return run_child(argv, logs / f"{student}-{action}.log", report, env, timeout, popen)

    return job


# --- before anything starts --------------------------------------------------------------------


def class_env(
    environ: dict[str, str], backend: str | None, prepared: session.PreparedTools, make: bool = True
) -> tuple[dict[str, str], list[str]]:
    """The children's environment: the tools first on PATH, the backend, and the passphrase,
    made here once (children running in parallel must not each make one). The same two names
    preview.yml takes from the repository secrets: PULUMI_BACKEND_URL and
    PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE)."""
    env = dict(environ)
    if backend:
        env["PULUMI_BACKEND_URL"] = backend
    made, notice = session.workspace_env(env, make=make)  # as lab.py: only a verb that makes a lab makes a passphrase
    env.update(made)
    env["PATH"] = session.path_with_interpreter(prepared.path)
    env[session.K8S_DELETE_UNREACHABLE_ENV] = "true"
    env[shell_form.FIXES_ENV] = "class"  # a student's program names a roster cell or --set in its fixes
    notices = [notice] if notice else []
    if not env["PULUMI_BACKEND_URL"].startswith("file://") and made.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        notices.append(
            f"The class's stack secrets use the passphrase in {made['PULUMI_CONFIG_PASSPHRASE_FILE']}. For pull-request previews "
            "(.github/workflows/preview.yml) store it as the repository secret PULUMI_CONFIG_PASSPHRASE, and "
            f"{env['PULUMI_BACKEND_URL']} as PULUMI_BACKEND_URL."
        )
    return env, notices


def access_problems(entries: list[Entry], settings: dict[str, dict[str, str]]) -> list[str]:
    found = []
    for entry in entries:
        mine = settings[entry.student]
        why = access_problem(
            mine.get("dockerHost", ""), mine.get("bindAddress") or "127.0.0.1", mine.get("allowRemoteAccess", ""), mine.get("hostName", "")
        )
        if why:
            found.append(f"line {entry.line}: {entry.student}: {why}")
    return found


def port_problems(entries: list[Entry], slots: dict[str, int], settings: dict[str, dict[str, str]], lab_running) -> list[str]:
    """Every local student's host ports that something else holds (as lab.py up checks one
    student's: k8s_lab/host_ports.py). A student whose lab is up holds their own."""
    from k8s_lab import host_ports
    from k8s_lab.ports import ports_for_slot

    found = []
    for entry in entries:
        bind = settings[entry.student].get("bindAddress") or "127.0.0.1"
        if entry.docker_host or lab_running(entry.student):
            continue
        taken = host_ports.taken_ports(bind, ports_for_slot(slots[entry.student]))
        if taken:
            ports = ", ".join(f"{host_ports.published_on(purpose, bind)}:{port} ({purpose})" for purpose, port in taken)
            found.append(
                f"line {entry.line}: {entry.student} (slot {slots[entry.student]}) needs {ports}, already in use; "
                "fix: give them a free slot in the roster's slot column, or stop what listens there"
            )
    return found


def on_this_host(url: str) -> bool:
    """Whether the host of `url` is this machine (loopback, or an address of its name)."""
    import ipaddress

    name = urlsplit(url).hostname or ""
    try:
        address = socket.gethostbyname(name)
        own = {socket.gethostbyname(socket.gethostname())}
    except OSError:
        return False
    return ipaddress.ip_address(address).is_loopback or address in own


def mirror_problems(entries: list[Entry], slots: dict[str, int], settings: dict[str, dict[str, str]], local=on_this_host) -> list[str]:
    """A class mirror on this host whose ports a local student's slot publishes (the mirror's
    old 5000/5001 took slot 0's registry port)."""
    from k8s_lab import mirror

    local_slots = {e.student: slots[e.student] for e in entries if not e.docker_host}
    urls = {settings[e.student].get("registryMirror", "") for e in entries} - {""}
    return [problem for url in sorted(urls) if local(url) for problem in mirror.slot_clashes(url, local_slots)]


def read_host(docker_host: str, runner: Runner | None = None) -> capacity.Host:
    """Docker's memory on `docker_host` ("" for this machine's); on this machine also its
    inotify and PID limits (k8s_lab/doctor.py's readers)."""
    from k8s_lab import doctor

    env = dict(os.environ, DOCKER_HOST=docker_host) if docker_host else None
    info = doctor.read_docker_info(runner or ProcessRunner(), env=env)
    memory = info["MemTotal"] / 1048576 if info.get("MemTotal") else None
    desktop = "docker desktop" in str(info.get("OperatingSystem", "")).lower()
    cgroup = str(info.get("CgroupVersion", ""))
    cgroups = {key: info[key] for key in doctor.CGROUP_KEYS if key in info}
    if docker_host:
        return capacity.Host(docker_host, memory, desktop, cgroups=cgroups, cgroup_version=cgroup)
    local_linux = sys.platform.startswith("linux") and not desktop
    proc = doctor.read_int if local_linux else (lambda path: None)
    return capacity.Host(
        "this host", memory, desktop,
        proc("/proc/sys/fs/inotify/max_user_watches"), proc("/proc/sys/fs/inotify/max_user_instances"), proc("/proc/sys/kernel/pid_max"),
        cgroups,
        cgroup_version=cgroup,
    )


def version_problems(entries: list[Entry], settings: dict[str, dict[str, str]], read=read_host) -> list[str]:
    """Students whose kubernetesVersion row does not run on their Docker host (cgroup v1 for a
    kubelet that refuses it): said before anyone starts. Hosts are asked only for such rows."""
    rows = {e.student: session.version_row(settings[e.student]) for e in entries}
    hosts = {e.docker_host for e in entries if not rows[e.student].runs_on_cgroup_v1}
    cgroups = {host: read(host).cgroup_version for host in hosts}
    found = []
    for entry in entries:
        problem = versions.cgroup_v1_problem(rows[entry.student].minor, cgroups.get(entry.docker_host, ""), entry.student)
        if problem:
            seed = versions.cgroup_v1_rows()[0]
            found.append(f"{entry.student}: {problem}; for the class: the roster's kubernetesVersion column, or --set kubernetesVersion={seed}")
    return found


def capacity_problems(entries: list[Entry], settings: dict[str, dict[str, str]], read=read_host, overridden: bool = False) -> list[str]:
    by_host: dict[str, list[int]] = {}
    for entry in entries:
        by_host.setdefault(entry.docker_host, []).append(capacity.lab_mb(settings[entry.student].get("labMemory")))
    return [problem for host, each in by_host.items() for problem in capacity.problems(read(host), each, overridden)]


def cap_problems(entries: list[Entry], settings: dict[str, dict[str, str]], read=read_host) -> list[str]:
    """Caps a student's Docker host cannot apply (k8s_lab.limits.host_problems): refused even
    under --over-capacity, since Docker drops or refuses them whatever the class's size."""
    from k8s_lab import limits

    def set_for_class(key: str, value: str) -> str:
        return f"--set {key}={value}"

    return [
        f"{entry.student} ({read(entry.docker_host).name}): {problem}"
        for entry in entries
        for problem in limits.host_problems(
            settings[entry.student].get("labMemory"), settings[entry.student].get("labCpus"), read(entry.docker_host).cgroups, set_for_class
        )
    ]


def confirm_destroy(students: list[str], yes: bool, stdin=None) -> str | None:
    """None when destroying is confirmed; else why not. Never waits on a stdin that is no terminal."""
    if yes:
        return None
    what = f"destroy removes the labs of {len(students)} student(s) ({', '.join(students[:5])}{', …' if len(students) > 5 else ''}); their files stay"
    answer = SHELL.ask(f"{what}. Type 'yes' to go on: ", stdin)  # on stderr, as every message (k8s_lab/cli.py)
    if answer is None:
        return f"{what}. Nothing was removed: run again with --yes to confirm (there is no terminal to ask on)"
    return None if answer.lower() == "yes" else f"{what}. Nothing was removed: you did not answer 'yes'"


# --- display ----------------------------------------------------------------------------------


def class_reports(outcomes: list[Outcome], make: str) -> list:
    """One status report per roster student, in roster order: their lab's; "absent" for a
    student with no lab here (its repair `make`, the classroom command that makes it);
    "unknown" for one whose run failed, with why."""
    from k8s_lab import status

    reports = []
    for outcome in outcomes:
        if outcome.ok and "status" in outcome.outputs:
            reports.append(status.Report(**json.loads(outcome.outputs["status"])))
            continue
        absent = no_lab(outcome)
        reports.append(status.Report(
            outcome.student, "absent" if absent else "unknown", ide="-", nodes_ready="-", api_reachable=False,
            ports_bound=dict.fromkeys(status.PUBLISHER, False), memory_mb=None, memory_cap_mb=None, cpu_percent=None, cpus_cap=None,
            last_change=None, problems=[outcome.detail or "its run gave no status"], repair=make if absent else None,
        ))
    return reports


def no_lab(outcome: Outcome) -> bool:
    return not outcome.ok and outcome.detail.startswith(NO_LAB)


def show_status(outcomes: list[Outcome], as_json: bool, make: str = "") -> list:
    """Every roster student's lab status as lab.py status shows one (a line of whole values
    wrapped to the terminal, its problems below; a table cut every value at 80 columns), or
    JSON alone on stdout; why a student's status is unknown also on stderr. The reports shown."""
    from k8s_lab import status

    reports = class_reports(outcomes, make)
    if as_json:
        print(json.dumps([r.as_dict() for r in reports], indent=2))
    else:
        print("\n".join([*status.render_lines(reports), *status.repair_lines(reports)]))
    for outcome in outcomes:
        if not outcome.ok and not no_lab(outcome):
            print(f"{outcome.student}: status unknown: {outcome.detail}" + (f" (log: {outcome.log})" if outcome.log else ""), file=sys.stderr)
    return reports


def show(outcomes: list[Outcome], action: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"classroom {action}")
    for column in ("student", "URL", "status", "duration"):
        table.add_column(column)
    for outcome in outcomes:
        status = "ok" if outcome.ok else f"FAILED: {outcome.detail}"
        url = outcome.outputs.get("ideUrl") or outcome.outputs.get("changes", outcome.outputs.get("idle", ""))
        table.add_row(outcome.student, url, status, f"{outcome.seconds:.0f}s")
    Console().print(table)
    failed = [o for o in outcomes if not o.ok]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} succeeded" + (f"; failed: {', '.join(o.student for o in failed)}" if failed else ""))
    for outcome in failed:
        print(f"{outcome.student}: {outcome.detail}" + (f"\n  whole output: {outcome.log}" if outcome.log else ""))


def run_with_progress(students: list[str], job, parallel: int, console=None) -> list[Outcome]:
    """The class's runs, with a live table of each student's phase and elapsed time, on
    `console` (tests pass one; by default stderr: stdout is the summary's, and `status
    --json`'s, which tools read)."""
    from concurrent.futures import ThreadPoolExecutor, wait

    from rich.console import Console
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

    with ThreadPoolExecutor(max_workers=1) as pool, Live(render(), refresh_per_second=2, console=console or Console(stderr=True)) as live:
        future = pool.submit(run_all, students, job, parallel, progress)
        while wait([future], timeout=0.5).not_done:  # a class that ends is reported at once, not up to 0.5 s later
            live.update(render())
        live.update(render())
        return future.result()


def write_handouts(outcomes: list[Outcome], folder: Path, lang: str = "en") -> None:
    """Each student's handout, in `lang`, with the program's URLs as they are: the stack's
    hostName (k8s_lab/config.py) already names the host the students' laptops reach."""
    for outcome in outcomes:
        if outcome.ok and "idePassword" in outcome.outputs:
            text = render_handout(
                outcome.student,
                outcome.outputs["ideUrl"],
                outcome.outputs["idePassword"],
                outcome.outputs.get("registry"),
                outcome.outputs.get("ingressUrl"),
                outcome.outputs.get("ideCertificate"),
                lang,
            )
            write_handout(folder, outcome.student, text)


def default_host_names(entries: list[Entry], settings: dict[str, dict[str, str]]) -> dict[str, str]:
    """The hostName of each lab published on every interface of this machine that has none
    (roster, --set, or its stack's own): this machine's name. Without one its URLs and its
    self-signed certificate would say 127.0.0.1, which a laptop cannot open."""
    names = {}
    for entry in entries:
        mine = settings[entry.student]
        if not mine.get("hostName") and not entry.docker_host and mine.get("bindAddress") == "0.0.0.0":
            names[entry.student] = socket.gethostname()
    return names


# --- the mirror ---------------------------------------------------------------------------------


def add_mirror_parser(sub) -> None:
    from k8s_lab import mirror

    each = sub.add_parser("mirror", help="run the class's pull-through image cache on this host (k8s_lab.mirror)")
    each.add_argument("--port", type=int, default=mirror.DEFAULT_PORT,
                      help=f"Docker Hub's cache port; registry.k8s.io's is the next (default {mirror.DEFAULT_PORT}, off every slot's ports)")
    each.add_argument("--host", default=None, help="this host's name or address as the students' Docker reaches it (default: its hostname)")
    each.add_argument("--bind", default="0.0.0.0", help="address the caches listen on (default: every interface)")
    each.add_argument("--image", default=None, help="registry image (default: the pinned registry:2)")


def run_mirror(args: argparse.Namespace, runner: Runner | None = None) -> int:
    from k8s_lab import host_ports, mirror, registry

    problems = mirror.port_problems(args.port)
    if problems:
        for problem in problems:
            SHELL.err(problem)
        return Exit.USAGE

    docker = mirror.docker_cli(runner or ProcessRunner())
    try:
        for line in mirror.ensure_caches(docker, args.port, args.image or registry.IMAGE, args.bind, can_bind=host_ports.can_bind_tcp):
            print(line)
    except (RuntimeError, RunError) as error:
        SHELL.err(str(error))
        return Exit.FAILED
    print(mirror.instructions(f"http://{args.host or socket.gethostname()}:{args.port}"))
    return Exit.OK


# --- the command line ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="classroom.py",
        description=(__doc__ or "").split("\n\n")[0],
        epilog="Exit codes: " + "; ".join(f"{int(code)} {meaning}" for code, meaning in exits.MEANING.items()),
    )
    sub = parser.add_subparsers(dest="action", metavar="VERB", required=True)
    for action in ACTIONS:
        each = sub.add_parser(action, help=f"{action} every student's lab in the roster")
        each.add_argument("roster", type=Path, help="CSV with a header: student, optional slot, dockerHost and settings columns")
        each.add_argument("--parallel", type=int, default=4, help="stacks run at once (default 4)")
        each.add_argument("--backend", help="state backend URL (default: PULUMI_BACKEND_URL, else .pulumi-state/ here)")
        each.add_argument("--handouts", type=Path, default=ROOT / "handouts", help="folder for the students' handouts (up, status)")
        each.add_argument("--logs", type=Path, default=ROOT / "logs", help="folder for each student's whole output (<student>-<verb>.log)")
        each.add_argument("--workspace-root", help="folder holding every student's <student>/src and /vscode (default: ~/k8s-lab)")
        each.add_argument("--student-timeout", type=float, default=DEFAULT_TIMEOUT_MINUTES, metavar="MINUTES",
                          help=f"stop a student's run after this long (default {DEFAULT_TIMEOUT_MINUTES}; 0: never)")
        each.add_argument("--no-fetch", action="store_true", help="fetch nothing: use only the docker, kind and pulumi on PATH (or in .tools/)")
        each.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                          help="a setting for every student whose roster cell is empty: bindAddress, allowRemoteAccess, hostName "
                               "(the host the handouts name), registryMirror, labMemory, labCpus, kubernetesVersion, dockerHost")
        if action in ("up", "start"):
            each.add_argument("--over-capacity", action="store_true", help="start even when the capacity check says the host is too small")
        if action == "stop":
            each.add_argument("--idle-for", type=idle.duration_argument, metavar="DURATION",
                              help="stop only the labs whose IDE has had no browser activity this long, e.g. 2h")
        if action == "destroy":
            each.add_argument("--yes", action="store_true", help="destroy without asking")
        if action == "status":
            each.add_argument("--json", action="store_true", help="the students' lab status as JSON, for tools")
        if action in ("up", "status"):
            each.add_argument("--lang", choices=LANGUAGES, default=None,
                              help="the handouts' language (default: ko for a roster with Hangul in it, else en)")
    add_mirror_parser(sub)
    return parser


def load_roster(args: argparse.Namespace) -> list[Entry]:
    """The roster's entries; RosterError or OSError say why not."""
    defaults = class_defaults(args.set)
    data = args.roster.read_bytes()
    entries, encoding = read_roster(data, defaults)
    if encoding not in ("UTF-8", "UTF-8 with BOM"):
        SHELL.err(f"read {args.roster} as {encoding}")  # not on stdout: `status --json` is JSON alone there
    if getattr(args, "lang", "") is None:  # a Korean roster's students get Korean handouts
        args.lang = roster_language(decode_roster(data)[0])
    return entries


def fail(message: str, code: int = Exit.USAGE) -> int:
    SHELL.err(message)
    return code


def main(argv: list[str] | None = None, *, runner: Runner | None = None, popen=subprocess.Popen) -> int:
    """The command line; `runner` runs docker (the mirror, the capacity check), `popen` the
    students' children (tests pass recording fakes of both). Every way it ends is an exit
    code of k8s_lab/exits.py and a message, never a traceback (k8s_lab/cli.py)."""
    shell_form.tolerant_output()  # a Hangul roster or path under a Latin-1 locale
    words = sys.argv[1:] if argv is None else argv
    verb = next((word for word in words if not word.startswith("-")), "classroom")
    return SHELL.guarded(lambda: run_command(words, runner, popen), lambda text: bug_log(verb, text))


def bug_log(verb: str, text: str) -> str:
    try:
        return str(session.write_log("classroom", verb, text))
    except OSError as error:
        return f"no file: writing the log failed too ({error})"


def run_command(words: list[str], runner: Runner | None, popen) -> int:
    parser = build_parser()
    answered = SHELL.before_verb(parser, words)  # a bare command, a mistyped verb: as lab.py answers them
    if answered is not None:
        return answered
    args = parser.parse_args(words)
    if args.action == "mirror":
        return run_mirror(args, runner)
    if args.parallel < 1:
        parser.error("--parallel must be at least 1")
    try:
        entries = load_roster(args)
    except FileNotFoundError:
        return fail(f"no roster at {args.roster}")
    except OSError as error:
        return fail(f"cannot read {args.roster}: {error.strerror or error}")
    except RosterError as error:
        return fail(str(error))
    if not entries:
        return fail(f"{args.roster} lists no students")
    if args.action == "destroy":
        refused = confirm_destroy([e.student for e in entries], args.yes)
        if refused:
            return fail(refused)
    return run_class(args, entries, runner, popen)


def run_class(args: argparse.Namespace, entries: list[Entry], runner: Runner | None = None, popen=subprocess.Popen) -> int:
    environ = dict(os.environ)
    # Each student's kubernetesVersion row (roster, --set, else their stack) picks a kind release.
    kinds = [session.version_row({**quiet_stack_settings(e.student), **e.settings}).kind_version for e in entries]
    prepared = session.prepare_tools(
        args.action, fetch=not args.no_fetch, environ=environ, layout=session.tools_layout(environ), err=tools_message(args),
        kind_versions=kinds,
    )
    if isinstance(prepared, int):  # what is missing was said
        return Exit.NOT_READY if prepared else Exit.OK
    students = [e.student for e in entries]
    try:
        stacks = {student: stack_file_settings(student) for student in students}
        slots = allocate_slots(entries, existing_slots(stacks))
    except RosterError as error:  # a clash, or a stack whose slot cannot be read
        return fail(str(error))
    settings = {e.student: effective(e, stacks[e.student]) for e in entries}
    given = {e.student: dict(e.settings) for e in entries}  # what the children write into the stacks
    if args.action in ("up", "preview"):
        for student, name in default_host_names(entries, settings).items():
            given[student]["hostName"] = settings[student]["hostName"] = name
    problems = checks_before_start(args, entries, slots, settings, runner)
    if problems:
        return fail("nothing was started:\n" + "\n".join(f"  - {p}" for p in problems))
    env, notices = class_env(environ, args.backend, prepared, make=session.NEEDS[args.action].stack == "create")
    for notice in notices:
        print(notice, file=sys.stderr)
    job = child_job(
        args.action, slots, {e.student: e.docker_host for e in entries}, args.backend, args.workspace_root,
        logs=args.logs.resolve(), settings=given, env=env,
        timeout=args.student_timeout * 60 if args.student_timeout > 0 else None, idle_for=getattr(args, "idle_for", None), popen=popen,
    )
    outcomes = run_with_progress(students, job, args.parallel)
    return finish(args, outcomes)


def make_command(args: argparse.Namespace) -> str:
    """What makes a student's missing lab: the class's up, not `lab.py up`, which would make a
    lab named after the teacher's login, outside the class's slots."""
    return SHELL.command("up", shlex.quote(str(args.roster)))


def tools_message(args: argparse.Namespace):
    """How the tools' report reaches the teacher: on stderr, with the teacher's own command
    (which fetches kind and the Pulumi CLI when run without --no-fetch) where the shared report
    names lab.py's (k8s_lab/session.py TOOLS): a teacher running lab.py up would make a lab of
    their own."""
    fetching = SHELL.command(args.action, shlex.quote(str(args.roster)))

    def say(message: str) -> None:
        print(re.sub(r"`[^`]*lab\.py up`", lambda _: f"`{fetching}`", message), file=sys.stderr)

    return say


def checks_before_start(
    args: argparse.Namespace, entries: list[Entry], slots: dict[str, int], settings: dict[str, dict[str, str]], runner: Runner | None = None
) -> list[str]:
    """Remote-access rules for every verb that configures; ports and capacity for the verbs
    that start labs. Capacity problems are warnings under --over-capacity."""
    problems = access_problems(entries, settings) if args.action in ("up", "preview") else []
    read = functools.cache(lambda host: read_host(host, runner))  # one docker info per Docker host
    if args.action == "up":
        problems += port_problems(entries, slots, settings, session.ide_container_exists)
        problems += mirror_problems(entries, slots, settings)
        problems += version_problems(entries, settings, read)
    if args.action in ("up", "start"):
        problems += cap_problems(entries, settings, read)
        over = capacity_problems(entries, settings, read, overridden=args.over_capacity)
        if args.over_capacity:
            for warning in over:
                SHELL.err(f"warning (--over-capacity): {warning}")
        else:
            problems += over
    return problems


def finish(args: argparse.Namespace, outcomes: list[Outcome]) -> int:
    """Handouts for who is up, then the summary table (status: lab.py status's lines); the exit
    code as lab.py's for one lab: 3 when no student has a lab here, and status is 0 only
    when every lab runs without a problem (README, Exit codes), so cron sees a dead class."""
    if args.action in ("up", "status"):
        write_handouts(outcomes, args.handouts, getattr(args, "lang", None) or "en")
    if args.action == "destroy":  # a destroyed lab's address and password are void
        for outcome in outcomes:
            if outcome.ok and void_handout(args.handouts, outcome.student):
                SHELL.err(f"removed {args.handouts / outcome.student}.md: that lab is gone")
    if args.action == "status":
        reports = show_status(outcomes, args.json, make_command(args))
    else:
        for outcome in filter(no_lab, outcomes):
            outcome.detail += f": `{make_command(args)}` makes it"
        show(outcomes, args.action)
    if outcomes and all(no_lab(outcome) for outcome in outcomes):
        return Exit.NO_SUCH_LAB
    if args.action == "status":
        return Exit.OK if all(report.state == "running" for report in reports) else Exit.FAILED
    return exit_code(outcomes)


def interruptible() -> None:
    """Shells start a background job (`classroom.py up ... &`, some cron and CI shells) with
    SIGINT ignored, and children inherit that: the Watchdog's interrupt, which Pulumi takes as
    "cancel", would do nothing, and only the kill after GRACE would end a stuck student."""
    import signal

    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


if __name__ == "__main__":
    interruptible()
    sys.exit(main())
