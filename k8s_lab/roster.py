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


def _student_problems(student: str, line: int, first_line: dict[str, int]) -> list[str]:
    """What is wrong with a row's student name; records the first line of each name."""
    why = student_name_problem(student)
    if why:
        return [f"line {line}: student {student!r} is not usable: {why}"]
    if student in first_line:
        return [f"line {line}: student {student!r} is listed twice (first on line {first_line[student]})"]
    first_line[student] = line
    return []


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
        extra = row.pop(None, None)  # DictReader's list of fields past the header's columns
        if extra:
            problems.append(f"line {line}: more fields than the header's columns: {extra}; quote a value that holds a comma")
        values = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        if not any(values.values()):
            continue  # blank line
        student = values.get("student", "")
        problems += _student_problems(student, line, first_line)
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
    their Docker host. `existing` maps students with stacks to their current slot.

    A slot is unique per Docker host. Two fixed slots (roster or stack) that meet on one host
    raise RosterError naming both students, the slot and the host, before anything runs."""
    entries = list(entries)
    holder: dict[tuple[str, int], Entry] = {}  # (host, slot) -> the student holding it
    result: dict[str, int] = {}
    problems: list[str] = []
    fixed = [e for e in entries if e.slot is not None] + [e for e in entries if e.slot is None and e.student in existing]
    for entry in fixed:
        slot = _fixed_slot(entry, existing)
        other = holder.get((entry.docker_host, slot))
        if other is not None:
            problems.append(_clash(other, entry, slot))
            continue
        holder[(entry.docker_host, slot)] = entry
        result[entry.student] = slot
    for entry in entries:
        if entry.student not in result:
            free = _lowest_free(entry, holder)
            if free is None:
                problems.append(f"line {entry.line}: no free slot for {entry.student!r} on {_host_name(entry.docker_host)} (all 0..{MAX_SLOT} are taken); give them another dockerHost")
                continue
            holder[(entry.docker_host, free)] = entry
            result[entry.student] = free
    if problems:
        raise RosterError(problems)
    return result


def _fixed_slot(entry: Entry, existing: Mapping[str, int]) -> int:
    return entry.slot if entry.slot is not None else existing[entry.student]


def _lowest_free(entry: Entry, holder: Mapping[tuple[str, int], Entry]) -> int | None:
    return next((s for s in range(MAX_SLOT + 1) if (entry.docker_host, s) not in holder), None)


def _host_name(host: str) -> str:
    return repr(host) if host else "the local Docker host"


def _source(entry: Entry) -> str:
    if entry.slot is not None:
        return f"the roster gives it to {entry.student!r} (line {entry.line})"
    return f"the stack of {entry.student!r} already has it"


def _clash(first: Entry, second: Entry, slot: int) -> str:
    return (
        f"line {second.line}: slot {slot} on {_host_name(second.docker_host)} is given twice: "
        f"{_source(first)}, and {_source(second)}; "
        f"put a free slot for one of {first.student!r} and {second.student!r} in the roster's slot column"
    )
