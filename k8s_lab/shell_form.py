"""Every command k8s-lab prints for a user to paste, in the form that runs where it is printed.

On Linux and macOS a command is for a POSIX shell: each argument shlex-quoted, so a checkout
at `/tmp/내 프로젝트/k8s lab` is one argument. On Windows it is for PowerShell, 5.1
included: single-quoted arguments, `& ` before a quoted program (PowerShell reads a quoted
first word as a string, not a command), `;` between commands (5.1 has no `&&`), a pipe
instead of `<` (PowerShell has no input redirection), and a value holding `"` piped in too
(5.1 drops the quotes of a native command's argument; about_Parsing, "Passing arguments
that contain quote characters").

The settings' fixes (k8s_lab/config.py, k8s_lab/limits.py) are written once, as fix
templates, and each reader is shown the command of the tool they use: `[[set KEY VALUE]]`,
`[[secret KEY VALUE]]`, `[[file KEY FILE]]` (the value is the file's text) and `[[rm KEY]]`.
`render_fix` turns them into `lab.py config ...` for a student, a roster cell or `--set` for
a teacher, and `pulumi config ...` for plain Pulumi. tests/test_printed_commands.py holds
every template and every `lab_command` call of the code to this.

Standard library only, and syntax Python 3.8 still reads: k8s_lab/exits.py uses it before
the venv's packages are known to be there.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path
from typing import Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = re.compile(r"\[\[(set|secret|file|rm) ([A-Za-z]+)(?: (.+?))?\]\](?!\])")
# The stack settings a roster column (or classroom.py --set) gives; k8s_lab/roster.py's.
ROSTER_SETTINGS = ("bindAddress", "allowRemoteAccess", "registryMirror", "labMemory", "labCpus", "hostName", "kubernetesVersion")
CLASS_KEYS = ("dockerHost", *ROSTER_SETTINGS)  # a roster's columns beyond student and slot
# The settings always stored as secrets (config.py's `secret=True`; a test holds the two equal).
SECRET_KEYS = ("idePassword", "ideTlsKey")
_POWERSHELL_PLAIN = re.compile(r"^[A-Za-z0-9_./\\:=+-]+$")  # no , ; ( ) { } @ $ ` ' " < > | & # or space


def is_windows(windows: Optional[bool] = None) -> bool:
    return os.name == "nt" if windows is None else windows


def quote(arg: str, windows: Optional[bool] = None) -> str:
    """One argument as the shell reads it back unchanged."""
    if not is_windows(windows):
        return shlex.quote(arg)
    if _POWERSHELL_PLAIN.match(arg):
        return arg
    return "'" + arg.replace("'", "''") + "'"


def join(argv: Sequence[str], windows: Optional[bool] = None) -> str:
    """`argv` as one command line."""
    words = [quote(arg, windows) for arg in argv]
    if is_windows(windows) and words and words[0] != argv[0]:
        words[0] = "& " + words[0]  # a quoted first word is a string to PowerShell; & runs it
    return " ".join(words)


def with_stdin(argv: Sequence[str], file: str, windows: Optional[bool] = None) -> str:
    """`argv` reading `file` on its standard input."""
    if is_windows(windows):
        return f"Get-Content {quote(file, True)} | {join(argv, True)}"
    return f"{join(argv, False)} < {quote(file, False)}"


def with_input(argv: Sequence[str], text: str, windows: Optional[bool] = None) -> str:
    """`argv` reading `text` on its standard input (argv ends in `-`)."""
    if is_windows(windows):
        return f"{quote(text, True)} | {join(argv, True)}"
    return f"printf '%s\\n' {quote(text, False)} | {join(argv, False)}"


def sequence(commands: Sequence[str], windows: Optional[bool] = None) -> str:
    """Commands one after the other, each only if the one before succeeded (POSIX)."""
    return ("; " if is_windows(windows) else " && ").join(commands)


def venv_python(windows: Optional[bool] = None) -> str:
    """The venv's interpreter as the user types it from the project folder."""
    return "venv\\Scripts\\python" if is_windows(windows) else "venv/bin/python"


def script_argv(
    script: str, args: Sequence[str], windows: Optional[bool] = None, cwd: Optional[Path] = None, root: Optional[Path] = None
) -> list:
    """`venv/bin/python SCRIPT ARGS`; from outside the project folder, both with its path."""
    root = ROOT if root is None else root
    python = venv_python(windows)
    here = Path.cwd() if cwd is None else cwd
    if here.resolve() != root:
        sep = "\\" if is_windows(windows) else "/"
        python, script = f"{root}{sep}{python}", f"{root}{sep}{script}"
    return [python, script, *args]


def lab_command(*args: str, windows: Optional[bool] = None, cwd: Optional[Path] = None, root: Optional[Path] = None) -> str:
    """`venv/bin/python lab.py ARGS` (venv\\Scripts\\python on Windows), quoted for the shell."""
    return join(script_argv("lab.py", args, windows, cwd, root), windows)


def class_command(*args: str, windows: Optional[bool] = None, cwd: Optional[Path] = None) -> str:
    """`venv/bin/python classroom.py ARGS`, quoted for the shell."""
    return join(script_argv("classroom.py", args, windows, cwd), windows)


# --- output under any locale ---------------------------------------------------------------


def tolerant_output() -> None:
    """stdout and stderr replace what their encoding cannot show instead of raising: under a
    Latin-1 locale (en_US.ISO-8859-1, PYTHONIOENCODING=latin-1) a Hangul path, password or
    rich's `…` ended lab.py in exit 70. stderr already backslash-escapes (Python's default)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)  # a TextIOWrapper's; a test's capture may have none
        if reconfigure is not None and stream.errors == "strict":
            reconfigure(errors="replace")


def unshowable(text: str, stream=None) -> bool:
    """Whether `stream` (stdout) cannot show `text` as it is."""
    encoding = getattr(stream or sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return True
    return False


# --- the settings' fix templates ------------------------------------------------------------

# Who reads the program's own errors: lab.py and classroom.py set it for the Pulumi run they
# start ("lab", "class"); plain `pulumi up` leaves it unset ("pulumi"). A message, never an input.
FIXES_ENV = "K8S_LAB_FIXES"


def audience() -> str:
    chosen = os.environ.get(FIXES_ENV, "pulumi")
    return chosen if chosen in ("lab", "class", "pulumi") else "pulumi"



def templates(text: str) -> list:
    """The (kind, key, value) of each fix template in `text`."""
    return [(m.group(1), m.group(2), m.group(3) or "") for m in TEMPLATE.finditer(text)]


def render_fix(text: str, audience: str = "pulumi", stack: Optional[str] = None, windows: Optional[bool] = None) -> str:
    """`text` with each fix template as a command for `audience`: "lab" (lab.py config, with
    --stack when `stack` is given), "class" (a roster cell or --set) or "pulumi"."""
    render = {"lab": _lab_fix, "class": _class_fix, "pulumi": _pulumi_fix}[audience]
    return TEMPLATE.sub(lambda m: render(m.group(1), m.group(2), m.group(3) or "", stack, windows), text)


def lab_fix_argv(kind: str, key: str, value: str, stack: Optional[str], windows: Optional[bool] = None) -> list:
    """The lab.py arguments of one template; `-` (stdin) for a file, and on Windows for a
    value holding `"`."""
    tail = ["--stack", stack] if stack else []
    if kind == "rm":
        return ["config", key, "--unset", *tail]
    piped = kind == "file" or (is_windows(windows) and '"' in value)
    secret = ["--secret"] if kind == "secret" and key not in SECRET_KEYS else []  # lab.py config keeps those secret anyway
    return ["config", key, "-" if piped else value, *secret, *tail]


def _lab_fix(kind: str, key: str, value: str, stack: Optional[str], windows: Optional[bool]) -> str:
    args = lab_fix_argv(kind, key, value, stack, windows)
    argv = script_argv("lab.py", args, windows)
    if kind == "file":
        return with_stdin(argv, value, windows)
    if kind != "rm" and args[2] == "-":
        return with_input(argv, value, windows)
    return join(argv, windows)


def _class_fix(kind: str, key: str, value: str, stack: Optional[str], windows: Optional[bool]) -> str:
    if key not in CLASS_KEYS:  # not a roster column: the student's own lab.py config
        return _lab_fix(kind, key, value, stack or "<student>", windows)
    if kind == "rm":
        return f"empty the roster's {key} cell and leave {key} out of --set"
    return f"{value} in the roster's {key} cell, or --set {quote(f'{key}={value}', windows)} for the whole class"


def _pulumi_fix(kind: str, key: str, value: str, stack: Optional[str], windows: Optional[bool]) -> str:
    tail = ["--stack", stack] if stack else []
    if kind == "rm":
        return join(["pulumi", "config", "rm", key, *tail], windows)
    secret = ["--secret"] if kind == "secret" or key in SECRET_KEYS else []
    if kind == "file":  # pulumi config set reads a value it is not given from stdin
        return with_stdin(["pulumi", "config", "set", *secret, key, *tail], value, windows)
    return join(["pulumi", "config", "set", *secret, key, value, *tail], windows)
