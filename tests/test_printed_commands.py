"""Every command k8s-lab prints for a user to paste runs as printed (issue 28).

Not a sample: the commands are collected from the code itself. Every settings fix template
(`[[set KEY VALUE]]`, k8s_lab/shell_form.py) in the source, and every `lab_command(...)` /
`class_command(...)` call, is rendered for a checkout at a path with spaces and Hangul, and

- on POSIX, `shlex.split` gives back the intended argv, which the CLI's own argparse parser
  takes (and a setting's example value passes that setting's parser);
- for Windows PowerShell (5.1 included), it is PowerShell's form: no `<`, no `&&`, a quoted
  program run with `&`, and the words PowerShell reads are the intended argv;
- for a teacher, a roster setting's fix is a `--set KEY=VALUE` that classroom.py takes.

A new template with `{...}` in it, or a call with an argument this file has no sample for,
fails until it is added here; tests/printed_commands.md (generated, held equal below) is
the list of commands covered with what a PowerShell user is shown for each.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
from pathlib import Path

import pytest

import classroom
import lab
from conftest import ROOT
from k8s_lab import config, exits, roster, shell_form

SOURCES = sorted(
    [ROOT / "lab.py", ROOT / "classroom.py", ROOT / "classroom_student.py", ROOT / "__main__.py",
     *(ROOT / "k8s_lab").glob("*.py"), *(ROOT / "components").glob("*.py")]
)
SPACED = Path("/tmp/내 프로젝트/k8s lab")  # a checkout path with spaces and Hangul
LISTING = ROOT / "tests" / "printed_commands.md"
SOURCE_TEMPLATE = re.compile(r"\[\[(set|secret|file|rm) ([A-Za-z{}_]+)(?: (.+?))?\]\](?!\])")

# The templates written with f-string fields, as they are filled in where they are used.
FILLED = {
    "[[set {key} true]]": ["[[set ingress true]]", "[[set registry true]]", "[[set allowRemoteAccess true]]"],
    "[[set {key} 6g]]": ["[[set labMemory 6g]]"],
    "[[set {key} 0]]": ["[[set labMemory 0]]", "[[set labCpus 0]]"],
    "[[set {key} 2]]": ["[[set labCpus 2]]"],
    "[[set {key} http://teacher.school.lan:5010]]": ["[[set registryMirror http://teacher.school.lan:5010]]"],
    "[[rm {key}]]": ["[[rm registryMirror]]", "[[rm slots]]"],
    "[[set {MEMORY_KEY} {need}g]]": ["[[set labMemory 3g]]"],
    "[[set {MEMORY_KEY} 0]]": ["[[set labMemory 0]]"],
    "[[set {key} {value}]]": ["[[set labMemory 0]]", "[[set labCpus 0]]", "[[set labCpus 8]]"],
}
# Samples for the arguments of lab_command/class_command calls that are not constants.
SAMPLES = {
    "stack": "lee", "name": "lee", "stack.name": "lee", "student": "lee", "facts.stack": "lee", "verb": "up",
    "near[0]": "status", "key": "slot", "str(DEFAULT_PORT)": "5010", "mirror": "http://teacher.school.lan:5010",
    "f'registryMirror={mirror}'": "registryMirror=http://teacher.school.lan:5010",
    "lab": "lee", "names.student": "lee", "script": "lab.py", "self.script": "lab.py",
    "cgroup_v1_rows()[0]": "1.29", "maintained[-1]": "1.36", "cluster": "lee", "more_memory(present)": "9g",
}
STARRED = {"*argv[1:]": [], "*sys.argv[1:]": ["up", "--stack", "lee"], "*stack_arg(args)": ["--stack", "lee"],
           "*args": ["password", "--stack", "lee"], "*(['--stack', stack] if stack else [])": ["--stack", "lee"],
           "*(['--stack', name] if name else [])": ["--stack", "root"]}
PLACEHOLDER = re.compile(r"^<.*>$")


def source_templates() -> list[str]:
    found = []
    for path in SOURCES:
        for match in SOURCE_TEMPLATE.finditer(path.read_text(encoding="utf-8")):
            if path.name != "shell_form.py":  # its docstring names the grammar
                found.append(match.group(0))
    return found


def templates() -> list[str]:
    out: list[str] = []
    for text in source_templates():
        if "{" in text:
            assert text in FILLED, f"{text}: add how it is filled in to FILLED"
            out += FILLED[text]
        else:
            out.append(text)
    return sorted(set(out))


def powershell_words(line: str) -> list[tuple[str, bool]]:
    """PowerShell's reading of `line`, the subset k8s-lab prints: single-quoted strings ('' is
    one '), bare words, and the operators | & ; < > && as (operator, False) tokens."""
    words: list[tuple[str, bool]] = []
    i = 0
    while i < len(line):
        char = line[i]
        if char == " ":
            i += 1
        elif char == "'":
            end, text = i + 1, ""
            while True:
                assert end < len(line), f"unterminated quote in {line!r}"
                if line[end] == "'" and line[end + 1:end + 2] == "'":
                    text, end = text + "'", end + 2
                elif line[end] == "'":
                    break
                else:
                    text, end = text + line[end], end + 1
            words.append((text, True))
            i = end + 1
        elif line.startswith("&&", i) or line.startswith("||", i):
            words.append((line[i:i + 2], False))
            i += 2
        elif char in "|&;<>":
            words.append((char, False))
            i += 1
        else:
            end = i
            while end < len(line) and line[end] not in " '|&;<>":
                end += 1
            word = line[i:end]
            assert not set(word) & set('$@{}(),`"#'), f"{word!r} is not a bare word to PowerShell in {line!r}"
            words.append((word, False))
            i = end
    return words


def powershell_pipeline(line: str) -> list[list[str]]:
    """The commands of a PowerShell pipeline, each as the argv it runs; refuses what
    PowerShell 5.1 rejects (`<`, `>`, `&&`, `||`) and a quoted program without `&`."""
    words = powershell_words(line)
    for operator in ("<", ">", "&&", "||"):
        assert (operator, False) not in words, f"{operator} in PowerShell form: {line!r}"
    commands: list[list[str]] = [[]]
    for word in words:
        if word == ("|", False):
            commands.append([])
        else:
            commands[-1].append(word)  # type: ignore[arg-type]
    argvs = []
    for command in commands:
        assert command, f"empty command in {line!r}"
        call = command[0] == ("&", False)
        if call:
            command = command[1:]
        first_text, first_quoted = command[0]  # type: ignore[misc]
        expression = first_quoted and len(command) == 1 and command is not commands[-1]  # a string piped in
        assert call or expression or not first_quoted, f"a quoted program needs & in PowerShell: {line!r}"
        argvs.append([text for text, _ in command])  # type: ignore[misc]
    return argvs


@pytest.fixture
def spaced_checkout(monkeypatch, tmp_path):
    """The checkout at SPACED, run from another folder: every command names both paths."""
    monkeypatch.setattr(shell_form, "ROOT", SPACED)
    monkeypatch.setattr(exits, "ROOT", SPACED)
    monkeypatch.chdir(tmp_path)
    return SPACED


def lab_argv(root: Path, windows: bool, args: list[str]) -> list[str]:
    sep = "\\" if windows else "/"
    return [f"{root}{sep}{shell_form.venv_python(windows)}", f"{root}{sep}lab.py", *args]


def parse_lab(args: list[str]):
    try:
        return lab.build_parser().parse_args(args)
    except SystemExit as leaving:  # --help
        assert leaving.code == 0, args
        return None


def test_the_source_has_fix_templates_and_no_bare_pulumi_config_fix():
    assert len(templates()) >= 30
    raw = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.search(r"pulumi config (set|rm) \w", node.value):
                raw.append(node.value)
    # Only the settings' descriptions (Pulumi.yaml's, for plain Pulumi) name pulumi config.
    assert all(text in {s.description for s in config.SETTINGS} or "The IDE's HTTPS certificate" in text
               or "The private key of ideTlsCert" in text for text in raw), raw


def test_no_fix_names_a_bare_lab_py_or_classroom_py_command():
    """`Fix: lab.py up --workspace-root ...` ran nothing when pasted (no venv python, no
    quoting): a fix names its command through lab_command/class_command or a template."""
    bare = re.compile(r"(?i)\b(fix|run|then):\s*`?(python\s+)?(lab|classroom)\.py\s+[a-z]")
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and bare.search(node.value):
                found.append(f"{path.name}: {node.value[:80]}")
    assert not found, found
    assert bare.search("Fix: lab.py up --workspace-root x")  # the check can fail


def test_the_always_secret_keys_are_the_tables():
    assert set(shell_form.SECRET_KEYS) == {s.key for s in config.SETTINGS if s.secret}
    assert set(shell_form.ROSTER_SETTINGS) == set(roster.SETTING_COLUMNS)


@pytest.mark.parametrize("template", templates())
def test_each_fix_template_names_a_setting_with_a_value_it_takes(template):
    [(kind, key, value)] = shell_form.templates(template)
    if key == "slots":  # the unknown key of the "not a k8s-lab setting" fix
        return
    assert key in config.KEYS, template
    if kind in ("set", "secret") and not PLACEHOLDER.match(value):
        config.BY_KEY[key].parse(value)  # the example itself is a value the setting takes


@pytest.mark.parametrize("template", templates())
def test_each_fix_template_as_lab_py_runs_in_a_posix_shell(template, spaced_checkout):
    [(kind, key, value)] = shell_form.templates(template)
    line = shell_form.render_fix(template, "lab", "lee", windows=False)
    words = shlex.split(line)
    if kind == "file":
        assert words[-2:] == ["<", value]  # the PEM on stdin: `config KEY - < file`
        words = words[:-2]
    intended = shell_form.lab_fix_argv(kind, key, value, "lee", False)
    assert words == lab_argv(spaced_checkout, False, intended), line
    args = parse_lab(intended)
    assert args.action == "config" and args.stack == "lee" and args.setting[0] == key
    assert args.unset == (kind == "rm") and (args.setting[1:] == [] if kind == "rm" else args.setting[1] in (value, "-"))


@pytest.mark.parametrize("template", templates())
def test_each_fix_template_as_lab_py_is_powershell_form(template, spaced_checkout):
    [(kind, key, value)] = shell_form.templates(template)
    line = shell_form.render_fix(template, "lab", "lee", windows=True)
    *feeding, command = powershell_pipeline(line)
    intended = shell_form.lab_fix_argv(kind, key, value, "lee", True)
    assert command == lab_argv(spaced_checkout, True, intended), line
    if kind == "file":
        assert feeding == [["Get-Content", value]] and intended[2] == "-"
    elif intended[2:3] == ["-"]:  # a value with " is piped: 5.1 drops the quotes of an argument
        assert feeding == [[value]]
    else:
        assert feeding == []
    parse_lab(intended)


@pytest.mark.parametrize("template", templates())
def test_each_fix_template_for_a_teacher_is_a_roster_cell_or_set(template, spaced_checkout):
    [(kind, key, value)] = shell_form.templates(template)
    line = shell_form.render_fix(template, "class", windows=False)
    if key not in shell_form.CLASS_KEYS:
        assert line == shell_form.render_fix(template, "lab", "<student>", windows=False)
        return
    assert "pulumi" not in line
    if kind == "rm":
        assert line == f"empty the roster's {key} cell and leave {key} out of --set"
        return
    pair = shlex.split(line.split("--set ", 1)[1])[0]
    assert pair == f"{key}={value}"
    args = classroom.build_parser().parse_args(["up", "class.csv", "--set", pair])
    assert roster.class_defaults(args.set) == {key: value}


@pytest.mark.parametrize("template", templates())
def test_each_fix_template_for_plain_pulumi_is_a_pulumi_config_command(template):
    [(kind, key, value)] = shell_form.templates(template)
    words = shlex.split(shell_form.render_fix(template, "pulumi", windows=False))
    assert words[:3] == ["pulumi", "config", "rm" if kind == "rm" else "set"] and key in words
    powershell_pipeline(shell_form.render_fix(template, "pulumi", windows=True))


def command_calls() -> list[tuple[str, str, list[str]]]:
    """(file, script, argv) of every lab_command/class_command/script_command call in the code."""
    calls = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in ("lab_command", "class_command", "script_command") or path.name == "shell_form.py":
                continue
            if path.name == "exits.py" and name == "script_command" and node.args and isinstance(node.args[0], ast.Constant):
                continue  # lab_command itself
            argv: list[str] = []
            for arg in node.args:
                text = ast.unparse(arg)
                if isinstance(arg, ast.Constant):
                    argv.append(arg.value)
                elif isinstance(arg, ast.Starred):
                    assert text in STARRED, f"{path.name}: add a sample for {text} to STARRED"
                    argv += STARRED[text]
                else:
                    assert text in SAMPLES, f"{path.name}: add a sample for {text} to SAMPLES"
                    argv.append(SAMPLES[text])
            if name == "script_command":
                script, argv = argv[0], argv[1:]
            else:
                script = "lab.py" if name == "lab_command" else "classroom.py"
            calls.append((path.name, script, argv))
    return calls


# lab.py commands printed without --stack, each about no lab yet or the user's own `up` run
# (a student's session, where the default stack is theirs): never a message a teacher sees.
NO_STACK_NEEDED = {
    ("commands.py", ("up",)),  # running the program with plain pulumi: use lab.py instead
    ("session.py", ("up",)),  # the tools' fetch and the venv's python, before any lab is named
    ("session.py", ("up", "--workspace-root", "<folder you can write>")),  # lab.py up's own refusal, to its user
    ("session.py", ("check", "--fetch")),  # the host's tools, not a lab
    ("verbs.py", ("start",)),  # said in `lab.py up`'s own run, of the lab it was given
    ("lab.py", ("up",)),  # "No labs on this machine yet"
    ("lab.py", ("config", "slot", "<a value with spaces>")),  # a usage example of lab.py config's own
}


def test_every_printed_lab_py_command_names_its_lab():
    """A fix without --stack, pasted by a teacher (classroom.py stop/start/status, or a lab's
    log), acts on a lab named after the teacher's login: every one names --stack."""
    bare = sorted({(file, tuple(argv)) for file, script, argv in command_calls()
                   if script == "lab.py" and "--stack" not in argv} - NO_STACK_NEEDED)
    assert not bare, bare


def test_every_command_call_of_the_code_is_collected():
    calls = command_calls()
    assert len(calls) >= 30
    assert {file for file, _, _ in calls} >= {"lab.py", "classroom.py", "session.py", "status.py", "mirror.py", "host_ports.py",
                                              "power.py", "drift.py", "kind_lifecycle.py", "versions.py"}


@pytest.mark.parametrize("call", command_calls(), ids=lambda call: f"{call[0]}:{' '.join(call[2])}")
def test_each_printed_command_runs_in_a_posix_shell_and_in_powershell(call, spaced_checkout):
    file, script, argv = call
    for windows in (False, True):
        sep = "\\" if windows else "/"
        intended = [f"{spaced_checkout}{sep}{shell_form.venv_python(windows)}", f"{spaced_checkout}{sep}{script}", *argv]
        line = exits.script_command(script, *argv, windows=windows)
        assert (shlex.split(line) if not windows else powershell_pipeline(line)[-1]) == intended, line
    if script == "lab.py":
        parse_lab(argv)
    else:
        classroom.build_parser().parse_args(argv)


@pytest.mark.parametrize("windows", [False, True])
def test_the_install_command_runs_in_each_shell(windows, spaced_checkout):
    line = exits.install_command(windows=windows)
    if windows:
        steps = [powershell_pipeline(step)[0] for step in line.split("; ")]
        assert steps[0] == ["cd", str(spaced_checkout)] and steps[1] == ["py", "-3", "-m", "venv", "venv"]
    else:
        steps = [shlex.split(step) for step in line.split(" && ")]
        assert steps[0] == ["cd", str(spaced_checkout)] and steps[1] == ["python3", "-m", "venv", "venv"]
    assert steps[2] == [shell_form.venv_python(windows), "-m", "pip", "install", "-r", "requirements.txt"]


HOMES = {False: Path("/home/kim/k8s lab"), True: Path("C:\\Users\\kim\\k8s lab")}


def shown(render, windows: bool) -> str:
    """`render(windows)` for a checkout at HOMES[windows], run from another folder."""
    saved = shell_form.ROOT, exits.ROOT
    shell_form.ROOT = exits.ROOT = HOMES[windows]
    try:
        return render(windows)
    finally:
        shell_form.ROOT, exits.ROOT = saved


def cell(text: str) -> str:
    return "`" + text.replace("|", "\\|") + "`"


def listing() -> str:
    """tests/printed_commands.md: each command covered, as a POSIX shell and a PowerShell
    user see it."""
    rows = ["# Printed commands", "",
            "Generated by tests/test_printed_commands.py (K8S_LAB_WRITE_LISTING=1 rewrites it). Every command below is",
            "checked there: POSIX by shlex and lab.py's/classroom.py's parsers, PowerShell by its form. The checkout is at",
            f"`{HOMES[False]}` (POSIX) or `{HOMES[True]}` (Windows), run from another folder; lab `lee`.", "",
            "## Settings fixes", "",
            "| template | POSIX shell | Windows PowerShell | a teacher is told |", "| --- | --- | --- | --- |"]
    for template in templates():
        posix, windows = (shown(lambda w, t=template: shell_form.render_fix(t, "lab", "lee", windows=w), w) for w in (False, True))
        teacher = shown(lambda w, t=template: shell_form.render_fix(t, "class", windows=w), False)
        rows.append(f"| {cell(template)} | {cell(posix)} | {cell(windows)} | {teacher.replace('|', '/')} |")
    rows += ["", "## Commands named in messages", "", "| where | POSIX shell | Windows PowerShell |", "| --- | --- | --- |"]
    for file, script, argv in sorted({(f, s, tuple(a)) for f, s, a in command_calls()}):
        posix, windows = (shown(lambda w, s=script, a=argv: exits.script_command(s, *a, windows=w), w) for w in (False, True))
        rows.append(f"| {file} | {cell(posix)} | {cell(windows)} |")
    rows += ["", "## Making the venv", "", f"- POSIX: {cell(shown(lambda w: exits.install_command(windows=w), False))}",
             f"- Windows PowerShell: {cell(shown(lambda w: exits.install_command(windows=w), True))}", ""]
    return "\n".join(rows)


def test_the_listing_of_printed_commands_is_current(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    text = listing()
    if os.environ.get("K8S_LAB_WRITE_LISTING"):
        LISTING.write_text(text, encoding="utf-8")
    assert LISTING.read_text(encoding="utf-8") == text, "regenerate: K8S_LAB_WRITE_LISTING=1 venv/bin/python -m pytest tests/test_printed_commands.py -k listing"
