"""A class roster (CSV: `student`, optional `slot`, optional `dockerHost` and the few
settings a teacher sets per student) and the slots its students get.

Rosters come from Excel as often as from a text editor, so the file is read as Excel
writes it: UTF-8 with or without a BOM, UTF-16 with its BOM ("Unicode Text"), or CP949
(Korean Excel's "CSV (Comma delimited)"); `,`, `;` (Excel where the decimal separator is a
comma) or tab separated; headers in any case (`Student`, `DockerHost`). A column of the
teacher's own (`name`, `comment`, `note`, or a header starting with `#`) is ignored.

Validation reports every bad line at once, each with its line number and the fix; a name
that is almost valid gets the valid one suggested. Each setting column is read by the
settings table's own parser (k8s_lab/config.py), so the roster refuses exactly what the
program would, before anything runs.

Slots are stable: a student keeps the slot their stack already has (the allocation lives
in the stacks' own config), a roster slot is honoured, and a new student gets the lowest
slot free on their Docker host. Adding or removing a student never moves anyone else.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from k8s_lab import config, shell_form
from k8s_lab.docker_host import DockerHost
from k8s_lab.names import student_name_problem, suggested_name
from k8s_lab.ports import MAX_SLOT

COLUMNS = ("student", "slot", "dockerHost")
# Stack settings a roster line (or `classroom.py --set`) may give a student; each is written
# into that student's stack config.
SETTING_COLUMNS = shell_form.ROSTER_SETTINGS
KNOWN = (*COLUMNS, *SETTING_COLUMNS)
NOTE_COLUMNS = ("name", "comment", "note", "이름", "비고")  # the teacher's own; ignored
LOCAL_HOST = ""  # the Docker of the machine running the classroom
SAVE_AS = "in Excel: File > Save As > 'CSV UTF-8 (Comma delimited) (*.csv)'"


@dataclass(frozen=True)
class Entry:
    line: int
    student: str
    slot: int | None
    docker_host: str
    settings: Mapping[str, str] = field(default_factory=dict)  # SETTING_COLUMNS given for this student


class RosterError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("the roster has problems; nothing was run:\n" + "\n".join(f"  - {p}" for p in problems))


# --- the file's bytes -----------------------------------------------------------------------


def decode_roster(data: bytes) -> tuple[str, str]:
    """(text, the encoding it was read as). UTF-8 comes first (with or without a BOM), UTF-16
    only with its BOM (Excel's "Unicode Text" writes one), then CP949, which Korean Excel
    writes for "CSV (Comma delimited)": UTF-8 text never reads as CP949 here because UTF-8
    is tried first. Anything else is refused with the line of the first byte that is not
    text, and how to save the file as UTF-8."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode(data, "utf-16", "UTF-16")
    if data.startswith(codecs.BOM_UTF8):
        return _decode(data, "utf-8-sig", "UTF-8 with BOM")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as error:
        not_utf8 = error
    try:
        return data.decode("cp949"), "CP949"
    except UnicodeDecodeError:
        pass
    line = data[: not_utf8.start].count(b"\n") + 1
    raise RosterError([f"line {line}: byte 0x{data[not_utf8.start]:02x} is not UTF-8, UTF-16 or CP949 text; {SAVE_AS}"])


def _decode(data: bytes, codec: str, label: str) -> tuple[str, str]:
    try:
        return data.decode(codec), label
    except UnicodeDecodeError as error:
        line = data[: error.start].decode(codec, errors="ignore").count("\n") + 1
        raise RosterError([f"line {line}: the file starts as {label} but is not {label} text from here on; {SAVE_AS}"]) from None


def read_roster(data: bytes, defaults: Mapping[str, str] | None = None) -> tuple[list[Entry], str]:
    """The entries of a roster file's bytes, and the encoding it was read as."""
    text, encoding = decode_roster(data)
    try:
        return parse_roster(text, defaults), encoding
    except RosterError as error:
        if encoding != "CP949" or text.isascii():
            raise
        # Bytes of another 8-bit code page (Western Excel's cp1252, say) often read as
        # CP949 too, as Hangul that was never there.
        raise RosterError([*error.problems, f"the file was read as CP949 (Korean Excel); if it was saved in another encoding, {SAVE_AS}"]) from None


# --- the header --------------------------------------------------------------------------------


def _delimiter(text: str) -> str:
    """`,`, or the `;` or tab the header line uses instead (Excel writes `;` where the
    decimal separator is a comma, and tabs for "Unicode Text")."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {mark: header.count(mark) for mark in (",", ";", "\t")}
    best = max(counts, key=lambda mark: (counts[mark], mark == ","))
    return best if counts[best] else ","


def _squeezed(header: str) -> str:
    return re.sub(r"[\s_-]", "", header).lower()


CANONICAL = {_squeezed(name): name for name in KNOWN}


def _note(header: str) -> bool:
    return header.startswith("#") or header.lower() in NOTE_COLUMNS


def read_header(raw: list[str], line: int = 1) -> tuple[list[str | None], list[str]]:
    """Each raw header's column (None for a note column), and the header's problems.
    Case, spaces, '_' and '-' do not matter: `Student`, `Docker Host` and `docker_host` are
    read as `student` and `dockerHost`."""
    columns: list[str | None] = []
    problems: list[str] = []
    for text in (h.strip() for h in raw):
        column = CANONICAL.get(_squeezed(text))
        if column is None and not _note(text) and text:
            near = difflib.get_close_matches(_squeezed(text), CANONICAL, n=1, cutoff=0.75)
            hint = f"; did you mean {CANONICAL[near[0]]!r}?" if near else ""
            problems.append(f"line {line}: unknown column {text!r}{hint} (known: {', '.join(KNOWN)}; a column of your own: name it 'comment' or start it with '#')")
        if column is not None and column in columns:
            problems.append(f"line {line}: column {column!r} appears twice")
        columns.append(column)
    if "student" not in columns:
        found = [h.strip() for h in raw]
        problems.insert(0, f"line {line}: the header must name the columns {', '.join(COLUMNS)} (at least 'student'); found {found}")
    return columns, problems


# --- each cell ---------------------------------------------------------------------------------


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


def setting_problem(key: str, text: str) -> str | None:
    """What the settings table's parser says of `text` for `key`."""
    setting = config.BY_KEY[key]
    try:
        setting.parse(text)
    except config.Invalid as invalid:
        return f"{key} {invalid.shown or repr(text)} {invalid.reason}; fix: {shell_form.render_fix(invalid.fix or setting.fix, 'class')}"
    return None


def _student_problems(student: str, line: int, first_line: dict[str, int]) -> list[str]:
    """What is wrong with a row's student name; records the first line of each name."""
    why = student_name_problem(student)
    if why:
        near = suggested_name(student)
        return [f"line {line}: student {student!r} is not usable: {why}" + (f"; did you mean {near!r}?" if near else "")]
    if student in first_line:
        return [f"line {line}: student {student!r} is listed twice (first on line {first_line[student]})"]
    first_line[student] = line
    return []


def class_defaults(pairs: Iterable[str]) -> dict[str, str]:
    """`classroom.py --set KEY=VALUE` for every student whose roster cell is empty; every
    bad pair is refused at once."""
    defaults: dict[str, str] = {}
    problems: list[str] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        column = CANONICAL.get(_squeezed(key))
        if not sep or column in (None, "student", "slot"):
            settable = ", ".join(k for k in KNOWN if k not in ("student", "slot"))
            problems.append(f"--set {pair!r}: give KEY=VALUE with KEY one of {settable}")
            continue
        why = setting_problem(column, value.strip())
        if why:
            problems.append(f"--set {pair!r}: {why}")
        defaults[column] = value.strip()
    if problems:
        raise RosterError(problems)
    return defaults


# --- the roster -------------------------------------------------------------------------------


def parse_roster(text: str, defaults: Mapping[str, str] | None = None) -> list[Entry]:
    """The roster's entries, each with `defaults` (class-wide settings) where its own cell is empty."""
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=_delimiter(text))
    header = next((row for row in rows if any(cell.strip() for cell in row)), [])  # blank lines above it are fine
    columns, problems = read_header(header, rows.line_num or 1)
    if "student" not in columns:
        raise RosterError(problems)
    entries: list[Entry] = []
    first_line: dict[str, int] = {}
    slot_line: dict[tuple[str, int], int] = {}
    for fields in rows:
        line = rows.line_num
        if len(fields) > len(columns):
            extra = fields[len(columns):]
            problems.append(f"line {line}: more fields than the header's columns: {extra}; quote a value that holds a comma")
        values = {column: cell.strip() for column, cell in zip(columns, fields, strict=False) if column is not None}
        if not any(values.values()):
            continue  # blank line, or notes only
        for key, value in (defaults or {}).items():
            values[key] = values.get(key) or value
        entry, entry_problems = _entry(line, values, first_line)
        problems += entry_problems
        if entry.slot is not None:
            place = (entry.docker_host, entry.slot)
            if place in slot_line:
                where = f" on {entry.docker_host}" if entry.docker_host else ""
                problems.append(f"line {line}: slot {entry.slot}{where} is already given on line {slot_line[place]}")
            else:
                slot_line[place] = line
        entries.append(entry)
    if problems:
        raise RosterError(problems)
    return entries


def _entry(line: int, values: Mapping[str, str], first_line: dict[str, int]) -> tuple[Entry, list[str]]:
    student = values.get("student", "")
    problems = _student_problems(student, line, first_line)
    slot, slot_problem = _parse_slot(values.get("slot", ""))
    if slot_problem:
        problems.append(f"line {line}: {slot_problem}")
    given = {key: values[key] for key in ("dockerHost", *SETTING_COLUMNS) if values.get(key)}
    problems += [f"line {line}: {why}" for key, text in given.items() if (why := setting_problem(key, text))]
    settings = {key: given[key] for key in SETTING_COLUMNS if key in given}
    host = given.get("dockerHost", LOCAL_HOST)
    return Entry(line, student, slot, host, settings), problems


def access_problem(docker_host: str, bind_address: str, allow_remote_access: str, host_name: str = "") -> str | None:
    """The program's rules on remote access (k8s_lab/config.py), for one student's
    effective settings (roster, --set, then their stack's own), before anything runs."""
    try:
        loopback = ipaddress.ip_address(bind_address).is_loopback
    except ValueError:
        return None  # the bindAddress parser has said why
    allowed = allow_remote_access.strip().lower() == "true"
    if not loopback and not allowed:
        return (
            f"bindAddress {bind_address} publishes the IDE (a root shell with the host's docker) beyond this machine; "
            "fix: add allowRemoteAccess true (a roster column, or --set allowRemoteAccess=true) to mean it"
        )
    remote = DockerHost(docker_host)
    if remote.remote and loopback:
        return (
            f"dockerHost {docker_host} is another machine, where bindAddress {bind_address} is out of the students' reach; "
            "fix: bindAddress 0.0.0.0 and allowRemoteAccess true (roster columns, or --set bindAddress=0.0.0.0 --set allowRemoteAccess=true)"
        )
    if host_name and loopback:
        return (
            f"hostName {host_name} names how laptops reach the lab, but bindAddress {bind_address} publishes it on loopback only; "
            "fix: bindAddress 0.0.0.0 and allowRemoteAccess true (roster columns, or --set), or no hostName "
            f"(empty its cell; a stack's own: {shell_form.lab_command('config', 'hostName', '--unset', '--stack', '<student>')})"
        )
    return None


# --- slots -------------------------------------------------------------------------------------


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
