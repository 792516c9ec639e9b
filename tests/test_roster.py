"""Slot allocation across Docker hosts: unique per host, roster and stacks honoured, clashes
refused before anything runs; and the roster parser's edges."""

from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8s_lab.ports import MAX_SLOT
from k8s_lab.roster import Entry, RosterError, allocate_slots, parse_roster

HOSTS = ["", "ssh://teacher@lab2", "tcp://lab3:2376"]
SLOTS = st.one_of(st.none(), st.sampled_from([0, 1, 2, 3, 5, MAX_SLOT - 1, MAX_SLOT]))


def host_name(host: str) -> str:
    return repr(host) if host else "the local Docker host"


def problem_text(entries, existing) -> str:
    with pytest.raises(RosterError) as caught:
        allocate_slots(entries, existing)
    return "\n".join(caught.value.problems)


def test_a_roster_slot_taken_by_another_students_stack_is_refused():
    # The bug of #15: this returned {'kim': 3, 'lee': 3}.
    problems = problem_text([Entry(2, "kim", 3, ""), Entry(3, "lee", None, "")], {"lee": 3})
    assert "slot 3 on the local Docker host" in problems
    assert "the roster gives it to 'kim' (line 2)" in problems
    assert "the stack of 'lee' already has it" in problems
    assert "roster's slot column" in problems  # the fix


def test_moving_onto_a_host_where_the_slot_is_held_is_refused():
    entries = [Entry(2, "kim", None, "ssh://b"), Entry(3, "lee", None, "ssh://b")]
    problems = problem_text(entries, {"kim": 3, "lee": 3})  # kim's stack was on another host
    assert "slot 3 on 'ssh://b'" in problems
    assert "'kim'" in problems and "'lee'" in problems


def test_a_students_own_old_slot_does_not_block_their_roster_slot():
    entries = [Entry(2, "kim", 4, ""), Entry(3, "lee", None, "")]
    assert allocate_slots(entries, {"kim": 0}) == {"kim": 4, "lee": 0}  # kim's old 0 is free again


def test_stacks_of_students_no_longer_listed_hold_nothing():
    assert allocate_slots([Entry(2, "kim", None, "")], {"gone": 0}) == {"kim": 0}


def test_a_full_host_names_the_student_and_the_host():
    entries = [Entry(i + 2, f"s{i}", None, "ssh://full") for i in range(MAX_SLOT + 2)]
    problems = problem_text(entries, {})
    last = entries[-1]
    assert problems == f"line {last.line}: no free slot for {last.student!r} on 'ssh://full' (all 0..{MAX_SLOT} are taken); give them another dockerHost"
    assert sorted(allocate_slots(entries[:-1], {}).values()) == list(range(MAX_SLOT + 1))


students = st.lists(
    st.tuples(st.sampled_from([f"s{i}" for i in range(30)]), st.sampled_from(HOSTS), SLOTS, SLOTS),
    max_size=30,
    unique_by=lambda row: row[0],
)


def expected(rows):
    """Oracle: fixed slots per (host, slot), and the lowest-free slots newcomers get."""
    fixed: dict[tuple[str, int], list[str]] = defaultdict(list)
    for student, host, roster, stack in rows:
        if roster is not None or stack is not None:
            fixed[(host, roster if roster is not None else stack)].append(student)
    want = {names[0]: slot for (host, slot), names in fixed.items() if len(names) == 1}
    for host in HOSTS:
        free = (s for s in range(MAX_SLOT + 1) if (host, s) not in fixed)
        for student, row_host, roster, stack in rows:
            if row_host == host and roster is None and stack is None:
                want[student] = next(free)
    return fixed, want


@settings(max_examples=400, deadline=None)
@given(students)
def test_allocation_against_an_oracle(rows):
    entries = [Entry(i + 2, s, roster, host) for i, (s, host, roster, _) in enumerate(rows)]
    existing = {s: stack for s, _, _, stack in rows if stack is not None}
    fixed, want = expected(rows)
    clashes = {key: names for key, names in fixed.items() if len(names) > 1}
    if not clashes:
        assert allocate_slots(entries, existing) == want
        return
    with pytest.raises(RosterError) as caught:
        allocate_slots(entries, existing)
    problems = caught.value.problems
    for (host, slot), names in clashes.items():
        about = [p for p in problems if f"slot {slot} on {host_name(host)} " in p]
        assert about, f"no problem names slot {slot} on {host_name(host)}: {problems}"
        for name in names:
            assert any(repr(name) in p for p in about), f"{name} not named: {about}"
        assert all(sum(repr(n) in p for n in names) >= 2 for p in about)  # both students in each
    assert len(problems) == sum(len(names) - 1 for names in clashes.values())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sets(st.sampled_from(range(30)), max_size=8), st.sets(st.sampled_from(range(30)), max_size=4)), min_size=1, max_size=12))
def test_classes_growing_and_shrinking_on_several_hosts_never_move_anyone(rounds):
    roster: list[int] = []
    slots: dict[str, int] = {}  # what the stacks' config holds between runs
    for joining, leaving in rounds:
        roster = [i for i in roster if i not in leaving] + sorted(i for i in joining if i not in roster)
        slots = {s: slot for s, slot in slots.items() if int(s[1:]) in roster}  # left: stack removed
        entries = [Entry(n + 2, f"s{i}", None, HOSTS[i % len(HOSTS)]) for n, i in enumerate(roster)]
        allocated = allocate_slots(entries, slots)
        assert {s: allocated[s] for s in slots} == slots, "a kept student moved"
        per_host = [(e.docker_host, allocated[e.student]) for e in entries]
        assert len(set(per_host)) == len(per_host), "two students share a slot on one host"
        slots = dict(allocated)


def test_a_blank_row_does_not_end_the_roster():
    entries = parse_roster("student,slot\nkim,\n,\n\nlee,\n , \npark,\n")
    assert [e.student for e in entries] == ["kim", "lee", "park"]


def test_roster_slot_edges():
    entries = parse_roster(f"student,slot\nkim,0\nlee,{MAX_SLOT}\n")
    assert [e.slot for e in entries] == [0, MAX_SLOT]
    for bad in (-1, MAX_SLOT + 1):
        with pytest.raises(RosterError, match=f"line 2: slot {bad} is outside 0..{MAX_SLOT}"):
            parse_roster(f"student,slot\nkim,{bad}\n")


def test_the_roster_error_lists_every_problem_on_its_own_line():
    assert str(RosterError(["a", "b"])) == "the roster has problems; nothing was run:\n  - a\n  - b"


def test_header_problems_name_the_columns():
    with pytest.raises(RosterError) as caught:
        parse_roster("Xstudent\nkim\n")
    assert caught.value.problems[0] == "line 1: the header must name the columns student, slot, dockerHost (at least 'student'); found ['Xstudent']"
    assert "line 1: unknown column 'Xstudent'; did you mean 'student'?" in caught.value.problems[1]
    with pytest.raises(RosterError) as caught:
        parse_roster("student,email\nkim,k@x\n")
    assert caught.value.problems == [
        "line 1: unknown column 'email' (known: student, slot, dockerHost, bindAddress, allowRemoteAccess, registryMirror, "
        "labMemory, labCpus, hostName, kubernetesVersion; a column of your own: name it 'comment' or start it with '#')"
    ]


def test_a_row_longer_than_the_header_is_refused_not_a_crash():
    with pytest.raises(RosterError) as caught:
        parse_roster("student,slot\nkim,1,x,y\nlee,2\n")
    assert caught.value.problems == ["line 2: more fields than the header's columns: ['x', 'y']; quote a value that holds a comma"]


def test_each_bad_slot_is_one_problem_and_a_remote_clash_names_its_host():
    with pytest.raises(RosterError) as caught:
        parse_roster(f"student,slot,dockerHost\nkim,-1,\nlee,{MAX_SLOT + 1},\npark,2,ssh://a\nchoi,2,ssh://a\n")
    assert caught.value.problems == [
        f"line 2: slot -1 is outside 0..{MAX_SLOT}",
        f"line 3: slot {MAX_SLOT + 1} is outside 0..{MAX_SLOT}",
        "line 5: slot 2 on ssh://a is already given on line 4",
    ]


def test_every_student_past_a_full_host_is_named():
    entries = [Entry(i + 2, f"s{i}", None, "ssh://full") for i in range(MAX_SLOT + 3)]
    problems = problem_text(entries, {})
    assert "'s571'" in problems and "'s572'" in problems
