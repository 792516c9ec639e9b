"""Rosters as Excel and editors write them: encodings, separators, header spellings, notes
columns, reserved and near-miss names, settings columns checked by the settings table's
parsers, and class-wide --set values."""

import codecs

import pytest

from k8s_lab import names
from k8s_lab.exits import lab_command
from k8s_lab.roster import RosterError, access_problem, class_defaults, decode_roster, parse_roster, read_roster

KOREAN = "student,이름\nkim-minsu,김민수\nlee-jiwoo,이지우\n"


@pytest.mark.parametrize(
    "data, encoding",
    [
        (KOREAN.encode("utf-8"), "UTF-8"),
        (codecs.BOM_UTF8 + KOREAN.encode("utf-8"), "UTF-8 with BOM"),
        (KOREAN.encode("utf-16"), "UTF-16"),  # Python writes the BOM, as Excel's "Unicode Text" does
        (codecs.BOM_UTF16_BE + KOREAN.encode("utf-16-be"), "UTF-16"),
        (KOREAN.encode("cp949"), "CP949"),  # Korean Excel's "CSV (Comma delimited)"
    ],
)
def test_every_encoding_excel_writes_is_read_and_named(data, encoding):
    entries, read_as = read_roster(data)
    assert read_as == encoding
    assert [e.student for e in entries] == ["kim-minsu", "lee-jiwoo"]


def test_bytes_that_are_no_known_text_are_refused_with_the_line_and_the_fix():
    data = b"student\nkim\nlee \xff\xfe\xff\n"  # not UTF-8, and 0xff starts no CP949 character
    with pytest.raises(RosterError) as caught:
        decode_roster(data)
    assert caught.value.problems == [
        "line 3: byte 0xff is not UTF-8, UTF-16 or CP949 text; in Excel: File > Save As > 'CSV UTF-8 (Comma delimited) (*.csv)'"
    ]


def test_a_broken_utf16_file_names_its_line():
    data = "student\nkim\n".encode("utf-16") + b"\x00"  # an odd byte at the end
    with pytest.raises(RosterError, match=r"line 3: the file starts as UTF-16 but is not UTF-16 text from here on; in Excel"):
        decode_roster(data)


@pytest.mark.parametrize("text", ["Student;Slot;DockerHost\nkim;3;\nlee;;\n", "STUDENT\tSLOT\nkim\t3\nlee\t\n", "student, slot\nkim, 3\nlee,\n"])
def test_semicolons_tabs_and_capitalised_headers_are_read(text):
    entries = parse_roster(text)
    assert [(e.student, e.slot) for e in entries] == [("kim", 3), ("lee", None)]


def test_header_spellings_and_the_teachers_own_columns():
    entries = parse_roster("Student,Docker Host,# seat,comment,Name\nkim,ssh://t@lab2,A3,late,Kim Minsu\n")
    assert (entries[0].student, entries[0].docker_host) == ("kim", "ssh://t@lab2")
    with pytest.raises(RosterError) as caught:
        parse_roster("student,slots\nkim,1\n")
    assert "unknown column 'slots'; did you mean 'slot'?" in caught.value.problems[0]
    with pytest.raises(RosterError, match="column 'student' appears twice"):
        parse_roster("student,Student\nkim,kim\n")


@pytest.mark.parametrize("name", names.RESERVED_NAMES)
def test_reserved_names_are_refused_as_students(name):
    with pytest.raises(RosterError) as caught:
        parse_roster(f"student\n{name}\n")
    assert caught.value.problems == [f"line 2: student {name!r} is not usable: it is reserved: {', '.join(names.RESERVED_NAMES)} belong to Kubernetes or the lab's add-ons"]


@pytest.mark.parametrize(("raw", "meant"), [("Bob", "bob"), ("kim lee", "kim-lee"), ("Kim_Min.Su", "kim-min-su"), (" -park- ", "park")])
def test_a_near_miss_suggests_the_valid_name(raw, meant):
    assert names.suggested_name(raw) == meant
    with pytest.raises(RosterError) as caught:
        parse_roster(f'student\n"{raw}"\n')
    assert caught.value.problems[0].endswith(f"; did you mean {meant!r}?")


def test_no_suggestion_when_nothing_valid_is_near():
    assert names.suggested_name("김민수") is None and names.suggested_name("kim") is None
    assert names.suggested_name("Default") is None  # 'default' is reserved


def test_settings_columns_are_checked_by_the_settings_tables_parsers():
    text = (
        "student,dockerHost,bindAddress,allowRemoteAccess,labMemory,registryMirror,hostName\n"
        "kim,ftp://x,,,,,\n"
        "lee,,10.0.0.300,,,,\n"
        "park,,,yes,12q,http://m:5010/v2,bad_host!\n"
        "choi,ssh://t@lab2,0.0.0.0,true,3g,http://teacher:5010,teacher.school.lan\n"
    )
    with pytest.raises(RosterError) as caught:
        parse_roster(text)
    problems = caught.value.problems
    assert problems[0].startswith("line 2: dockerHost 'ftp://x' is not a Docker host URL: its scheme must be one of")
    assert problems[0].endswith(
        "fix: use ssh://user@host or tcp://host:2376, or empty the roster's dockerHost cell and leave dockerHost out of --set for this machine"
    )
    assert problems[1].startswith("line 3: bindAddress '10.0.0.300' is not an IP address; fix:")
    assert [p.split(":")[0] + " " + p.split()[2] for p in problems[2:]] == [
        "line 4 allowRemoteAccess", "line 4 registryMirror", "line 4 labMemory", "line 4 hostName",
    ]
    assert len(problems) == 6  # choi's line is fine
    entries = parse_roster("student,bindAddress,allowRemoteAccess,labMemory,hostName\nchoi,0.0.0.0,true,3g,teacher.school.lan\n")
    assert entries[0].settings == {"bindAddress": "0.0.0.0", "allowRemoteAccess": "true", "labMemory": "3g", "hostName": "teacher.school.lan"}


def test_class_wide_values_fill_empty_cells_only():
    defaults = class_defaults(["bindAddress=0.0.0.0", "allowRemoteAccess=true", "hostName=teacher.lan", "dockerHost=ssh://t@lab2"])
    entries = parse_roster("student,bindAddress,dockerHost\nkim,,\nlee,127.0.0.1,\n", defaults)
    assert entries[0].settings == {"bindAddress": "0.0.0.0", "allowRemoteAccess": "true", "hostName": "teacher.lan"}
    assert entries[0].docker_host == "ssh://t@lab2"
    assert entries[1].settings["bindAddress"] == "127.0.0.1"
    with pytest.raises(RosterError) as caught:
        class_defaults(["student=kim", "labMemory=lots", "nothing"])
    assert [p.split(":")[0] for p in caught.value.problems] == ["--set 'student=kim'", "--set 'labMemory=lots'", "--set 'nothing'"]


def test_remote_access_rules_match_the_programs():
    assert access_problem("", "127.0.0.1", "") is None
    assert access_problem("", "0.0.0.0", "true") is None
    assert "allowRemoteAccess true" in access_problem("", "0.0.0.0", "false")
    assert "bindAddress 0.0.0.0 and allowRemoteAccess true" in access_problem("ssh://t@lab2", "127.0.0.1", "")
    assert access_problem("", "0.0.0.0", "true", "teacher.lan") is None
    assert "hostName teacher.lan names how laptops reach the lab" in access_problem("", "127.0.0.1", "", "teacher.lan")


def test_a_western_code_page_misread_as_cp949_says_how_to_save_it():
    data = "student\nÅsa\n".encode("cp1252")  # 0xc5 0x73 ("Ås") is a valid CP949 character
    with pytest.raises(RosterError) as caught:
        read_roster(data)
    assert caught.value.problems[-1].startswith("the file was read as CP949 (Korean Excel); if it was saved in another encoding, in Excel")
    assert "did you mean" not in caught.value.problems[0]
    assert names.suggested_name("Müller") is None and names.suggested_name("Åsa") is None


def test_blank_lines_above_the_header_are_skipped_and_lines_still_counted():
    entries = parse_roster("\n,,\nstudent,slot\nkim,1\n")
    assert [(e.line, e.student) for e in entries] == [(4, "kim")]
    with pytest.raises(RosterError, match="line 2: unknown column 'slots'"):
        parse_roster("\nstudent,slots\nkim,1\n")


def test_a_tie_between_separators_goes_to_the_comma():
    assert [e.student for e in parse_roster("student,# seat;row\nkim,a;1\n")] == ["kim"]


def test_a_remote_lab_published_and_allowed_is_fine():
    assert access_problem("ssh://t@lab2", "0.0.0.0", "true") is None
    assert access_problem("ssh://t@lab2", "0.0.0.0", "TRUE") is None


def test_a_roster_file_gets_the_class_wide_values_and_only_a_cp949_read_gets_the_cp949_hint():
    entries, read_as = read_roster(b"student,labMemory\nkim,\n", {"labMemory": "3g"})
    assert read_as == "UTF-8" and entries[0].settings == {"labMemory": "3g"}
    with pytest.raises(RosterError) as caught:
        read_roster("student\nkim\nkim\nMüller\n".encode("utf-8"))  # UTF-8, not all ASCII, and wrong
    assert caught.value.problems == [
        "line 3: student 'kim' is listed twice (first on line 2)",
        "line 4: student 'Müller' is not usable: it must be lowercase letters, digits and '-', starting and ending with a letter or digit",
    ]


def test_set_refuses_the_slot_and_keeps_an_equals_sign_in_the_value():
    with pytest.raises(RosterError) as caught:
        class_defaults(["slot=3"])
    assert caught.value.problems == [
        "--set 'slot=3': give KEY=VALUE with KEY one of dockerHost, bindAddress, allowRemoteAccess, registryMirror, labMemory, "
        "labCpus, hostName, kubernetesVersion"
    ]
    with pytest.raises(RosterError) as caught:
        class_defaults(["hostName=a=b"])
    assert caught.value.problems[0].startswith("--set 'hostName=a=b': hostName 'a=b' is not a host name or IP address")


def test_a_column_only_loosely_like_a_known_one_gets_no_guess():
    with pytest.raises(RosterError) as caught:
        parse_roster("student,dockr\nkim,x\n")
    assert "did you mean" not in caught.value.problems[0]
    with pytest.raises(RosterError, match="did you mean 'dockerHost'"):
        parse_roster("student,dockerhst\nkim,x\n")


def test_each_access_problem_names_its_fix():
    assert access_problem("", "0.0.0.0", "false").endswith(
        "; fix: add allowRemoteAccess true (a roster column, or --set allowRemoteAccess=true) to mean it")
    assert access_problem("ssh://t@lab2", "127.0.0.1", "").endswith(
        "; fix: bindAddress 0.0.0.0 and allowRemoteAccess true (roster columns, or --set bindAddress=0.0.0.0 --set allowRemoteAccess=true)")
    assert access_problem("", "127.0.0.1", "", "teacher.lan").endswith(
        "; fix: bindAddress 0.0.0.0 and allowRemoteAccess true (roster columns, or --set), or no hostName "
        f"(empty its cell; a stack's own: {lab_command('config', 'hostName', '--unset', '--stack', '<student>')})")


def test_an_empty_roster_and_short_rows_are_named_not_crashed_on():
    with pytest.raises(RosterError) as caught:
        parse_roster("")
    assert caught.value.problems == ["line 1: the header must name the columns student, slot, dockerHost (at least 'student'); found []"]
    with pytest.raises(RosterError) as caught:
        parse_roster("slot,student\n3\n")  # the row stops before its student
    assert caught.value.problems == ["line 2: student '' is not usable: it is empty"]
    assert [(e.student, e.slot) for e in parse_roster("student,slot\nkim\n")] == [("kim", None)]


def test_a_header_with_as_many_commas_as_semicolons_is_read_as_commas():
    # "student,note;x": one of each. A tie goes to the comma, the CSV default (it comes first).
    from k8s_lab.roster import _delimiter

    assert _delimiter("student,note;x\nkim,a;b\n") == ","
    assert _delimiter("student;slot,x;y\n") == ";"
    assert _delimiter("\n\n") == ","


def test_a_header_read_on_its_own_is_line_one():
    from k8s_lab.roster import read_header

    columns, problems = read_header(["name"])
    assert columns == [None] and problems[0].startswith("line 1: the header must name the columns")
