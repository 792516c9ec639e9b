"""A recording stand-in for k8s_lab.runner.Runner, like ctlptl's FakeCmdRunner: it answers
each call by argv and keeps every call (argv, stdin, env) in order, so a test can assert the
exact commands, their order, and what each outcome leads to, without Docker, kind or kubectl.

    fake = FakeRunner({("docker", "stop"): ok(), ("kind", "get", "nodes"): ok("kim-control-plane\\n")})
    fake = FakeRunner(lambda argv: ok("running") if argv[:2] == ("docker", "inspect") else ok())

A dict is matched by the longest key that is a prefix of the argv; a call nothing answers
fails the test with the argv, so an unexpected command never passes silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from k8s_lab.runner import Result, RunError


@dataclass(frozen=True)
class Answer:
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""


def ok(stdout: str = "") -> Answer:
    return Answer(0, stdout)


def fails(stderr: str = "failed", returncode: int = 1) -> Answer:
    return Answer(returncode, "", stderr)


@dataclass(frozen=True)
class Call:
    argv: tuple[str, ...]
    stdin: str | None
    env: dict[str, str]
    timeout: float | None


Handler = Callable[[tuple[str, ...]], "Answer | None"]


@dataclass
class FakeRunner:
    answers: Mapping[tuple[str, ...], Answer] | Handler = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def answer(self, argv: tuple[str, ...]) -> Answer | None:
        if callable(self.answers):
            return self.answers(argv)
        keys = [key for key in self.answers if argv[: len(key)] == key]
        return self.answers[max(keys, key=len)] if keys else None

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
        self.calls.append(Call(words, stdin, dict(env or {}), timeout))
        answer = self.answer(words)
        if answer is None:
            raise AssertionError(f"FakeRunner: nothing answers {words}")
        result = Result(words, answer.returncode, answer.stdout, answer.stderr)
        if check and not result.ok:
            raise RunError(result)
        return result

    @property
    def argvs(self) -> list[tuple[str, ...]]:
        return [call.argv for call in self.calls]


def in_turn(answers: Mapping[tuple[str, ...], "Answer | list[Answer]"]) -> Handler:
    """A handler for FakeRunner answering by the longest matching argv prefix, like a dict,
    where a list is said one item per call and its last item from then on: a cluster with
    no nodes before `kind create` and three after, an IDE "starting" and then "healthy"."""
    said: dict[tuple[str, ...], int] = {}

    def answer(argv: tuple[str, ...]) -> Answer | None:
        keys = [key for key in answers if argv[: len(key)] == key]
        if not keys:
            return None
        key = max(keys, key=len)
        given = answers[key]
        if isinstance(given, Answer):
            return given
        turn = said.get(key, 0)
        said[key] = turn + 1
        return given[min(turn, len(given) - 1)]

    return answer


# --- Pulumi's automation API, as far as lab.py, the session and the classroom use it -------------


@dataclass
class FakeConfigValue:
    """pulumi.automation.ConfigValue: a value and whether it is a secret."""

    value: str
    secret: bool = False


@dataclass
class FakeStack:
    """A recording stand-in for pulumi.automation.Stack. Settings are given without the
    project prefix (`{"slot": "3"}`) and stored with it, as Pulumi does; `up`, `preview` and
    `destroy` record their keyword arguments and return `result` (or raise `error`)."""

    name: str = "kim"
    settings: dict[str, str] = field(default_factory=dict)
    stack_outputs: dict[str, object] = field(default_factory=dict)
    result: object = None
    error: Exception | None = None
    project: str = "k8s-lab"
    operations: list[tuple[str, dict]] = field(default_factory=list)
    config: dict[str, FakeConfigValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, value in self.settings.items():
            self.config.setdefault(f"{self.project}:{key}", FakeConfigValue(value))

    def get_all_config(self) -> dict[str, FakeConfigValue]:
        return dict(self.config)

    def set_config(self, key: str, value) -> None:
        self.config[f"{self.project}:{key}"] = FakeConfigValue(value.value, bool(value.secret))

    def remove_config(self, key: str) -> None:
        self.config.pop(f"{self.project}:{key}", None)

    def outputs(self) -> dict[str, object]:
        return {name: out if hasattr(out, "value") else FakeOutput(out) for name, out in self.stack_outputs.items()}

    def _operate(self, verb: str, kwargs: dict):
        self.operations.append((verb, kwargs))
        if self.error is not None:
            raise self.error
        return self.result

    def up(self, **kwargs):
        return self._operate("up", kwargs)

    def preview(self, **kwargs):
        return self._operate("preview", kwargs)

    def destroy(self, **kwargs):
        return self._operate("destroy", kwargs)


@dataclass
class FakeOutput:
    """pulumi.automation.OutputValue."""

    value: object
    secret: bool = False


@dataclass
class FakeWorkspace:
    """pulumi.automation.LocalWorkspace: the stacks there are, by name."""

    stacks: dict[str, FakeStack] = field(default_factory=dict)

    def list_stacks(self) -> list:
        from types import SimpleNamespace

        return [SimpleNamespace(name=name) for name in self.stacks]


# --- a child process read while it runs (classroom.py's students) ------------------------------


@dataclass
class FakeProcess:
    """subprocess.Popen as a reader of one pipe sees it: stdout line by line, then wait()."""

    stdout: object
    returncode: int
    pid: int = 424242

    def wait(self, timeout: float | None = None) -> int:
        return self.returncode

    def kill(self) -> None:
        pass


@dataclass
class FakePopen:
    """A recording stand-in for subprocess.Popen, answered by a FakeRunner: the call is kept
    in runner.calls (argv, env), the answer's stdout is read as the child's stdout, its stderr
    is written to the file given as stderr (as a real child writes to it), and its returncode
    is what wait() says. Popen's other keyword arguments are kept in `options`."""

    runner: FakeRunner
    options: list[dict] = field(default_factory=list)

    def __call__(self, argv: Sequence[str], *, stdout=None, stderr=None, env=None, **options) -> FakeProcess:
        import io

        self.options.append(dict(options))
        result = self.runner.run(argv, env=env, check=False)
        if result.stderr and hasattr(stderr, "write"):
            stderr.write(result.stderr)
            stderr.flush()
        return FakeProcess(io.StringIO(result.stdout), result.returncode)
