"""Run one job per student, at most N at a time; one student's failure stops nobody else."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field


@dataclass
class Outcome:
    student: str
    ok: bool
    seconds: float
    detail: str = ""  # the reason when not ok
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""  # where the student's whole output is, when the job kept one


@dataclass
class Progress:
    """Phase, start and end time per student, shared with the display: a student's clock
    runs from leaving "waiting" to "done" or "failed"."""

    phases: dict[str, str] = field(default_factory=dict)
    started: dict[str, float] = field(default_factory=dict)
    ended: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, student: str, phase: str) -> None:
        now = time.monotonic()
        with self.lock:
            self.phases[student] = phase
            if phase != WAITING:
                self.started.setdefault(student, now)
            if phase in FINISHED:
                self.ended.setdefault(student, now)

    def snapshot(self) -> list[tuple[str, str, float]]:
        now = time.monotonic()
        with self.lock:
            return [
                (s, p, self.ended.get(s, now) - self.started.get(s, self.ended.get(s, now))) for s, p in self.phases.items()
            ]


WAITING = "waiting"
FINISHED = ("done", "failed")


# How a student's run that found no lab begins its reason (classroom_student's FileStack):
# the class then names the classroom command that makes it, and a class with none is exit 3.
NO_LAB = "no lab here"

# A job: (student, report(phase)) -> outputs; raises to fail.
Job = Callable[[str, Callable[[str], None]], dict[str, str]]


def run_all(students: Iterable[str], job: Job, parallel: int, progress: Progress | None = None) -> list[Outcome]:
    if parallel < 1:
        raise ValueError("parallel must be at least 1")
    progress = progress or Progress()
    students = list(students)
    for student in students:
        progress.set(student, WAITING)

    def one(student: str) -> Outcome:
        start = time.monotonic()
        progress.set(student, "starting")
        try:
            outputs = job(student, lambda phase: progress.set(student, phase))
        except Exception as error:  # noqa: BLE001 - a student's failure is reported, not raised
            progress.set(student, "failed")
            detail = str(error) or type(error).__name__
            return Outcome(student, False, time.monotonic() - start, detail=detail, log=getattr(error, "log", ""))
        progress.set(student, "done")
        return Outcome(student, True, time.monotonic() - start, outputs=outputs)

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(one, students))


def exit_code(outcomes: list[Outcome]) -> int:
    return 0 if all(o.ok for o in outcomes) else 1
