"""k8s_lab/runner.py against real child processes, and tests/fakes.py against the runner's
contract (the fake must fail where the real one fails, or tests that use it would lie)."""

from __future__ import annotations

import sys

import pytest

from fakes import FakeRunner, fails, ok
from k8s_lab.runner import NOT_FOUND, TIMED_OUT, ProcessRunner, Result, RunError, as_text

PY = sys.executable


def test_output_stdin_and_extra_env_reach_the_child():
    code = "import os,sys; print(sys.stdin.read().upper()); print(os.environ['K8S_LAB_X'], os.environ.get('PATH') is not None)"
    result = ProcessRunner().run([PY, "-c", code], stdin="kim", env={"K8S_LAB_X": "tcp://host:2376"})
    assert result.ok and result.stdout.split() == ["KIM", "tcp://host:2376", "True"]


def test_a_child_that_fills_stderr_does_not_hang_and_its_failure_keeps_argv_and_last_lines():
    # More than a pipe holds (64 KiB on Linux) on stderr while stdout is also written.
    code = "import sys; sys.stdout.write('o'*100000); [sys.stderr.write(f'line {i}\\n') for i in range(200000)]; sys.exit(3)"
    with pytest.raises(RunError) as raised:
        ProcessRunner().run([PY, "-c", code], timeout=60)
    error = raised.value
    assert error.result.returncode == 3 and len(error.result.stdout) == 100000
    assert error.last_lines() == ["line 199997", "line 199998", "line 199999"]
    assert str(error).startswith(f"`{PY} -c ") and "exited with 3: line 199997" in str(error)


def test_check_false_returns_the_failure():
    result = ProcessRunner().run([PY, "-c", "import sys; sys.exit(5)"], check=False)
    assert result.returncode == 5 and not result.ok


def test_a_missing_program_is_a_run_error_not_a_traceback_of_file_not_found():
    with pytest.raises(RunError) as raised:
        ProcessRunner().run(["k8s-lab-no-such-program", "version"])
    assert raised.value.result.returncode == NOT_FOUND
    assert "k8s-lab-no-such-program is not installed or not on PATH" in str(raised.value)


def test_a_timeout_is_a_run_error_with_what_was_said():
    code = "import sys,time; print('started', flush=True); time.sleep(30)"
    with pytest.raises(RunError) as raised:
        ProcessRunner().run([PY, "-c", code], timeout=1)
    assert raised.value.result.returncode == TIMED_OUT and "did not finish in 1 s" in str(raised.value)


def test_the_fake_answers_by_longest_prefix_records_calls_and_fails_like_the_real_one():
    fake = FakeRunner({("docker",): ok("any"), ("docker", "inspect"): ok("running\n"), ("kind",): fails("boom", 2)})
    assert fake.run(["docker", "inspect", "x"]).stdout == "running\n"
    assert fake.run(["docker", "ps"], env={"DOCKER_HOST": "h"}).stdout == "any"
    with pytest.raises(RunError) as raised:
        fake.run(["kind", "get", "nodes"], stdin="cfg")
    assert raised.value.result.returncode == 2 and "boom" in str(raised.value)
    assert fake.run(["kind", "x"], check=False).returncode == 2
    assert fake.argvs == [("docker", "inspect", "x"), ("docker", "ps"), ("kind", "get", "nodes"), ("kind", "x")]
    assert fake.calls[1].env == {"DOCKER_HOST": "h"} and fake.calls[2].stdin == "cfg"
    with pytest.raises(AssertionError, match="nothing answers"):
        fake.run(["kubectl", "get", "nodes"])


def test_a_timeout_keeps_what_the_child_said_on_both_streams():
    # sh, not a Python child: on a loaded 2-core host Python's start alone can outlast a short timeout.
    script = "echo out; echo err >&2; exec sleep 30"
    with pytest.raises(RunError) as raised:
        ProcessRunner().run(["sh", "-c", script], timeout=3)
    result = raised.value.result
    assert (result.argv, result.stdout, result.stderr) == (("sh", "-c", script), "out\n", "err\n")
    assert str(raised.value).endswith("did not finish in 3 s: err")


def test_a_program_that_cannot_be_executed_is_a_run_error_with_the_reason(tmp_path):
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(RunError) as raised:
        ProcessRunner().run([str(script), "x"], check=False)
    assert raised.value.result == Result((str(script), "x"), NOT_FOUND)
    assert str(raised.value) == f"`{script} x` could not start (Permission denied)"


def test_a_base_environment_replaces_this_processs():
    code = "import os; print(sorted(k for k in os.environ if k.startswith('K8S_LAB_')))"
    runner = ProcessRunner(base_env={"K8S_LAB_BASE": "1"})
    assert runner.run([PY, "-c", code], env={"K8S_LAB_EXTRA": "2"}).stdout.strip() == "['K8S_LAB_BASE', 'K8S_LAB_EXTRA']"


def test_output_as_text():
    assert as_text(None) == "" and as_text(b"ok\xff") == "ok\ufffd" and as_text("x") == "x"


def test_a_failure_without_output_is_just_the_command_and_code():
    assert str(RunError(Result(("docker", "ps"), 1))) == "`docker ps` exited with 1"
    assert str(RunError(Result(("docker", "ps"), 1, "", "a\nb\n\nc\nd\n"))) == "`docker ps` exited with 1: b | c | d"


def test_success_keeps_argv_and_both_streams():
    result = ProcessRunner().run(["sh", "-c", "echo out; echo err >&2"])
    assert result == Result(("sh", "-c", "echo out; echo err >&2"), 0, "out\n", "err\n") and result.ok
    assert ProcessRunner().run(["true"]).ok and ProcessRunner().run(["false"], check=False) == Result(("false",), 1)


def test_check_true_raises_with_argv_and_output_kept():
    with pytest.raises(RunError) as raised:
        ProcessRunner().run(["sh", "-c", "echo partial; echo why >&2; exit 4"], stdin="ignored")
    assert raised.value.result == Result(("sh", "-c", "echo partial; echo why >&2; exit 4"), 4, "partial\n", "why\n")
    assert raised.value.reason == "exited with 4" and raised.value.command == "sh -c 'echo partial; echo why >&2; exit 4'"


def test_an_empty_base_environment_gives_the_child_only_what_is_added(monkeypatch):
    monkeypatch.setenv("K8S_LAB_PARENT", "1")
    alone = ProcessRunner(base_env={}).run(["/usr/bin/env"], env={"K8S_LAB_EXTRA": "2"})
    assert alone.stdout.split() == ["K8S_LAB_EXTRA=2"]
    assert ProcessRunner(base_env={}).run(["/usr/bin/env"]).stdout == ""


def test_without_a_base_the_child_gets_this_processs_environment_at_each_call(monkeypatch):
    runner = ProcessRunner()
    monkeypatch.setenv("K8S_LAB_PARENT", "first")
    assert "K8S_LAB_PARENT=first" in runner.run(["/usr/bin/env"]).stdout.split()
    monkeypatch.setenv("K8S_LAB_PARENT", "then")
    said = runner.run(["/usr/bin/env"], env={"K8S_LAB_ADDED": "x"}).stdout.split()
    assert "K8S_LAB_PARENT=then" in said and "K8S_LAB_ADDED=x" in said


def test_added_environment_wins_over_the_base():
    said = ProcessRunner(base_env={"K8S_LAB_X": "base", "K8S_LAB_Y": "kept"}).run(["/usr/bin/env"], env={"K8S_LAB_X": "added"}).stdout
    assert sorted(said.split()) == ["K8S_LAB_X=added", "K8S_LAB_Y=kept"]


def test_a_base_environment_is_copied_not_shared():
    base = {"K8S_LAB_X": "1"}
    runner = ProcessRunner(base_env=base)
    base["K8S_LAB_X"] = "2"
    assert runner.run(["/usr/bin/env"]).stdout.split() == ["K8S_LAB_X=1"]


def test_a_fractional_timeout_is_said_as_given():
    with pytest.raises(RunError) as raised:
        ProcessRunner().run(["sleep", "5"], timeout=0.5)
    assert raised.value.result == Result(("sleep", "5"), TIMED_OUT) and raised.value.reason == "did not finish in 0.5 s"


def test_last_lines_prefer_stderr_and_skip_blank_lines():
    error = RunError(Result(("x",), 1, "o1\no2\n", "  \n"))
    assert error.last_lines() == ["o1", "o2"] and error.last_lines(1) == ["o2"]
    assert RunError(Result(("x",), 1, "o", "e1\n\ne2")).last_lines() == ["e1", "e2"]
    assert RunError(Result(("x",), 2)).args == ("`x` exited with 2",)  # what repr() and pickling see
    assert RunError(Result(("x",), 2), "gave up").reason == "gave up" and str(RunError(Result(("x",), 2), "gave up")) == "`x` gave up"
