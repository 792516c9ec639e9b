"""A class roster (CSV: `student`, optional `slot`, optional `dockerHost`) and the slots
its students get.

Validation reports every bad line at once, each with its line number. Slots are stable:
a student keeps the slot their stack already has (the allocation lives in the stacks' own
config), a roster slot is honoured, and a new student gets the lowest slot free on their
Docker host. Adding or removing a student never moves anyone else.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from k8s_lab.names import student_name_problem
from k8s_lab.ports import MAX_SLOT

COLUMNS = ("student", "slot", "dockerHost")
LOCAL_HOST = ""  # the Docker of the machine running the classroom


@dataclass(frozen=True)
class Entry:
    line: int
    student: str
    slot: int | None
    docker_host: str


class RosterError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("the roster has problems; nothing was run:\n" + "\n".join(f"  - {p}" for p in problems))


def _parse_slot(raw: str) -> tuple[int | None, str | None]:
    """A roster's slot cell: (slot, None), (None, None) when empty, or (None, the problem)."""
    if not raw:
        return None, None
    try:
        slot = int(raw, 10)
    except ValueError:
        return None, f"slot {raw!r} is not a whole number (0..{MAX_SLOT})"
    if not 0 <= slot <= MAX_SLOT:
        return None, f"slot {slot} is outside 0..{MAX_SLOT}"
    return slot, None


def parse_roster(text: str) -> list[Entry]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))  # Excel writes a BOM
    header = [h.strip() for h in reader.fieldnames or []]
    if "student" not in header:
        raise RosterError([f"line 1: the header must name the columns {', '.join(COLUMNS)} (at least 'student'); found {header}"])
    unknown = [h for h in header if h not in COLUMNS]
    problems: list[str] = [f"line 1: unknown column {h!r} (known: {', '.join(COLUMNS)})" for h in unknown]
    entries: list[Entry] = []
    first_line: dict[str, int] = {}
    slot_line: dict[tuple[str, int], int] = {}
    for row in reader:
        line = reader.line_num
        values = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        if not any(values.values()):
            continue  # blank line
        student = values.get("student", "")
        why = student_name_problem(student)
        if why:
            problems.append(f"line {line}: student {student!r} is not usable: {why}")
        elif student in first_line:
            problems.append(f"line {line}: student {student!r} is listed twice (first on line {first_line[student]})")
        else:
            first_line[student] = line
        slot, slot_problem = _parse_slot(values.get("slot", ""))
        if slot_problem:
            problems.append(f"line {line}: {slot_problem}")
        host = values.get("dockerHost", "") or LOCAL_HOST
        if slot is not None:
            if (host, slot) in slot_line:
                where = f" on {host}" if host else ""
                problems.append(f"line {line}: slot {slot}{where} is already given on line {slot_line[(host, slot)]}")
            else:
                slot_line[(host, slot)] = line
        entries.append(Entry(line=line, student=student, slot=slot, docker_host=host))
    if problems:
        raise RosterError(problems)
    return entries


def allocate_slots(entries: Iterable[Entry], existing: Mapping[str, int]) -> dict[str, int]:
    """Slot per student: the roster's, else the one their stack has, else the lowest free on
    their Docker host. `existing` maps students with stacks to their current slot."""
    entries = list(entries)
    taken: dict[str, set[int]] = {}
    result: dict[str, int] = {}
    # Fixed first: slots the roster names, then slots stacks already have.
    for entry in entries:
        if entry.slot is not None:
            result[entry.student] = entry.slot
    for entry in entries:
        if entry.student not in result and entry.student in existing:
            result[entry.student] = existing[entry.student]
    for entry in entries:
        if entry.student in result:
            taken.setdefault(entry.docker_host, set()).add(result[entry.student])
    for entry in entries:
        if entry.student not in result:
            used = taken.setdefault(entry.docker_host, set())
            slot = next(s for s in range(MAX_SLOT + 1) if s not in used)
            used.add(slot)
            result[entry.student] = slot
    return result
