"""The command-line shell lab.py and classroom.py share, so the two answer alike: the
Python and venv check before any third-party import (exit 5 with the fix), help on a bare
command (exit 0), the nearest verb for a mistyped one (exit 2), a confirmation asked on
the terminal, and the output rule (data on stdout; messages, prompts and progress on
stderr). The exit codes are k8s_lab/exits.py's.

It runs before the venv is known to be there, so it uses the standard library only, and
only syntax Python 3.8 still reads (tests/test_user_path.py parses it so).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import sys
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional, TextIO

from k8s_lab import exits


def require_python() -> None:
    """On a Python older than exits.MIN_PYTHON: the fix on stderr, exit 5. Called before a
    program imports anything of the lab's: a newer module would fail first on its syntax or
    on `zip(strict=...)`, with a traceback instead of the fix."""
    problem = exits.python_problem()
    if problem:
        print(problem, file=sys.stderr)
        sys.exit(exits.Exit.WRONG_PYTHON)


# requirements.txt's packages that most verbs reach, imported late (in a function): asked for
# up front, so a Python without them is told so before a verb has done anything, whatever
# the verb and whatever the order of its checks (a missing roster, say).
VENV_PACKAGES = ("yaml", "rich", "pulumi")


@contextlib.contextmanager
def venv_imports(script: str) -> Iterator[None]:
    """Around a program's imports: a Python without the venv's packages (`python3
    classroom.py`) is told how to run `script` with the venv's Python, exit 5."""
    import importlib.util

    try:
        yield
        missing = next((name for name in VENV_PACKAGES if importlib.util.find_spec(name) is None), None)
        if missing:
            raise ModuleNotFoundError(f"No module named {missing!r}", name=missing)
    except ModuleNotFoundError as missing:
        print(exits.missing_package_problem(missing.name or "a package", script=script), file=sys.stderr)
        sys.exit(exits.Exit.WRONG_PYTHON)


def verb_names(parser: argparse.ArgumentParser) -> List[str]:
    for action in parser._actions:  # argparse keeps its subparsers there, with no public accessor
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


@dataclass(frozen=True)
class Shell:
    """One program's voice: `name` starts each of its messages, `script` is what its
    printed commands run."""

    name: str  # "k8s-lab", "classroom"
    script: str  # "lab.py", "classroom.py"

    def command(self, *args: str) -> str:
        return exits.script_command(self.script, *args)

    def err(self, message: str) -> None:
        print(f"{self.name}: {message}", file=sys.stderr)

    def mistyped_verb(self, parser: argparse.ArgumentParser, argv: List[str]) -> Optional[str]:
        """`stauts`: the message that names the nearest verb, or None when argv[0] is a verb
        (or an option)."""
        verbs = verb_names(parser)
        if not argv or argv[0].startswith("-") or argv[0] in verbs:
            return None
        near = difflib.get_close_matches(argv[0], verbs, n=1, cutoff=0.5)
        hint = f"did you mean `{self.command(near[0], *argv[1:])}`?" if near else f"the verbs are: {', '.join(verbs)}"
        return f"{self.name}: there is no verb {argv[0]!r}; {hint} ({self.command('--help')} explains each)"

    def before_verb(self, parser: argparse.ArgumentParser, argv: List[str]) -> Optional[int]:
        """What a bare command and a mistyped verb get, alike in both programs: the help on
        stdout (exit 0), or the nearest verb on stderr (exit 2); None: go on parsing."""
        if not argv:
            parser.print_help()
            return exits.Exit.OK
        mistyped = self.mistyped_verb(parser, argv)
        if mistyped:
            print(mistyped, file=sys.stderr)
            return exits.Exit.USAGE
        return None

    def guarded(self, run: Callable[[], int], log_bug: Callable[[str], str]) -> int:
        """Run the program: Ctrl-C is exit 130; a package missing from this Python (a module
        imported late) exit 5 with how to run it; anything else unexpected is a bug of ours,
        exit 70, its traceback in the file `log_bug` writes and names, never on screen."""
        try:
            return run()
        except KeyboardInterrupt:
            self.err("interrupted.")
            return exits.Exit.INTERRUPTED
        except ModuleNotFoundError as missing:
            print(exits.missing_package_problem(missing.name or "a package", script=self.script), file=sys.stderr)
            return exits.Exit.WRONG_PYTHON
        except Exception as error:  # noqa: BLE001 - a bug is a message and a code; the details in a log
            import traceback

            where = log_bug("".join(traceback.format_exception(type(error), error, error.__traceback__)))
            self.err(f"stopped on an error k8s-lab does not expect ({type(error).__name__}: {error}); details in {where}")
            return exits.Exit.INTERNAL

    def ask(self, question: str, stdin: Optional[TextIO] = None) -> Optional[str]:
        """The user's answer to `question`, asked on stderr (stdout is data a pipe may
        read); None when stdin is no terminal, so nothing waits on a pipe or cron."""
        stdin = stdin or sys.stdin
        if stdin is None or not stdin.isatty():
            return None
        print(question, end="", file=sys.stderr, flush=True)
        return stdin.readline().strip()
