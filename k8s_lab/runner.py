"""One way to run a program, so every process call of the lab can be faked in one place.

Like ctlptl's `CmdRunner` and kind's `exec.Cmd`: a `Runner` takes an argv (plus stdin, extra
environment, a timeout) and gives back a `Result`; a failed or unstartable call is a
`RunError` that keeps the argv and the captured output and prints as a command a user can
paste. Output is read by `communicate()`, never by reading one pipe to its end before the
other, so a child that writes a lot to stderr can never fill a pipe and hang us.

tests/fakes.py has `FakeRunner`, which answers by argv and records every call.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

NOT_FOUND = 127  # the shell's code for "command not found"; also used when a program cannot start
TIMED_OUT = 124  # timeout(1)'s code


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class RunError(Exception):
    """A program that failed, timed out or could not start: its command line and what it said."""

    def __init__(self, result: Result, reason: str = "") -> None:
        self.result = result
        self.reason = reason or f"exited with {result.returncode}"
        super().__init__(str(self))

    @property
    def command(self) -> str:
        return shlex.join(self.result.argv)

    def last_lines(self, count: int = 3) -> list[str]:
        text = self.result.stderr.strip() or self.result.stdout.strip()
        return [line for line in text.splitlines() if line.strip()][-count:]

    def __str__(self) -> str:
        said = " | ".join(self.last_lines())
        return f"`{self.command}` {self.reason}" + (f": {said}" if said else "")


class Runner(Protocol):
    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> Result: ...


class ProcessRunner:
    """Runs real programs. `env` adds to (never replaces) this process's environment, so a
    lab on another Docker host gets its DOCKER_HOST and keeps PATH."""

    def __init__(self, base_env: Mapping[str, str] | None = None) -> None:
        self.base_env = dict(base_env) if base_env is not None else None

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> Result:
        words = tuple(argv)
        environ = {**(self.base_env if self.base_env is not None else os.environ), **(env or {})}
        try:
            done = subprocess.run(
                words, input=stdin, capture_output=True, text=True, env=environ, timeout=timeout, check=False
            )
        except FileNotFoundError:
            raise RunError(Result(words, NOT_FOUND), f"could not start: {words[0]} is not installed or not on PATH") from None
        except OSError as error:
            raise RunError(Result(words, NOT_FOUND), f"could not start ({error.strerror or error})") from None
        except subprocess.TimeoutExpired as expired:
            raise RunError(Result(words, TIMED_OUT, as_text(expired.stdout), as_text(expired.stderr)), f"did not finish in {timeout:g} s") from None
        result = Result(words, done.returncode, done.stdout or "", done.stderr or "")
        if check and not result.ok:
            raise RunError(result)
        return result


def as_text(output: str | bytes | None) -> str:
    if output is None:
        return ""
    return output.decode(errors="replace") if isinstance(output, bytes) else output


# The real programs, with this process's environment at each call: the default of functions
# that take a `runner` (a module-level value, so no call is made in an argument default).
DEFAULT_RUNNER: Runner = ProcessRunner()
