"""README.md says what lab.py does (its verbs, what each needs, its exit codes), and
README.ko.md says everything README.md says at the level of commands and settings: every
lab.py and classroom.py verb, every option of theirs, every setting and every exit code."""

from __future__ import annotations

import re

import pytest

import lab
from conftest import ROOT
from k8s_lab import exits, session
from k8s_lab.config import KEYS

README = (ROOT / "README.md").read_text(encoding="utf-8")
KOREAN = (ROOT / "README.ko.md").read_text(encoding="utf-8")


def test_every_verb_of_lab_py_has_its_needs_in_the_table_in_code():
    assert sorted(lab.verb_names(lab.build_parser())) == sorted(session.NEEDS)
    # What the issue asks, held here: reading verbs fetch nothing, only up and preview make a lab.
    assert [verb for verb, needs in session.NEEDS.items() if needs.fetch] == ["up", "preview", "destroy", "check"]
    assert [verb for verb, needs in session.NEEDS.items() if needs.stack == "create"] == ["up", "preview"]
    assert session.NEEDS["doctor"].tools == ("docker",)
    assert {verb for verb, needs in session.NEEDS.items() if needs.tools == ("pulumi",)} == {"info", "password", "config", "list", "kubeconfig"}
    assert {verb for verb, needs in session.NEEDS.items() if needs.stack == "settings"} == {"status", "stop", "start"}


@pytest.mark.parametrize("verb", session.NEEDS)
def test_readme_says_what_each_verb_needs(verb):
    row = re.search(rf"^\| `lab\.py {verb}` \|.*$", README, re.M)
    assert row and f"| {session.NEEDS[verb].describe()} |" in row.group(0), verb


def test_readme_lists_the_exit_codes():
    assert exits.readme_table() in README, "regenerate: python -c 'from k8s_lab import exits; print(exits.readme_table())'"


def classroom_verbs_and_options() -> tuple[set[str], set[str]]:
    source = (ROOT / "classroom.py").read_text(encoding="utf-8")
    verbs = set(re.findall(r'add_parser\(\s*"([a-z-]+)"', source))
    verbs |= {word for word in re.findall(r"classroom\.py ([a-z]+)", README)} & {"up", "preview", "destroy", "status", "stop", "start", "mirror"}
    options = set(re.findall(r'add_argument\(\s*"(--[a-z-]+)"', source))
    return verbs, options


def lab_options() -> set[str]:
    source = (ROOT / "lab.py").read_text(encoding="utf-8")
    return set(re.findall(r'add_argument\(\s*"(--[a-z-]+)"', source))


def mentioned(text: str) -> dict[str, set[str]]:
    classroom_verbs, classroom_options = classroom_verbs_and_options()
    return {
        "lab.py verbs": {verb for verb in session.NEEDS if re.search(rf"lab\.py {verb}\b", text)},
        "classroom.py verbs": {verb for verb in classroom_verbs if re.search(rf"classroom\.py {verb}\b", text)},
        "options": {option for option in lab_options() | classroom_options if re.search(rf"{option}\b", text)},
        "settings": {key for key in KEYS if f"`{key}`" in text or re.search(rf"\b{key}\b", text)},
        "exit codes": {str(int(code)) for code in exits.Exit if re.search(rf"^\| {int(code)} \|", text, re.M)},
    }


def test_the_korean_readme_names_every_command_and_setting_the_english_one_does():
    english, korean = mentioned(README), mentioned(KOREAN)
    assert english["lab.py verbs"] == set(session.NEEDS)  # README itself names every verb
    assert english["settings"] == set(KEYS)
    for kind, names in english.items():
        assert names <= korean[kind], f"README.ko.md lacks {kind}: {sorted(names - korean[kind])}"


def test_the_parity_check_can_fail():
    english = mentioned(README)
    stripped = mentioned(KOREAN.replace("lab.py kubeconfig", "lab.py").replace("`registryMirror`", "").replace("registryMirror", ""))
    assert "kubeconfig" not in stripped["lab.py verbs"] and "registryMirror" not in stripped["settings"]
    assert "kubeconfig" in english["lab.py verbs"] and "registryMirror" in english["settings"]


def test_both_quick_starts_install_the_runtime_only_and_end_in_the_same_verbs():
    for text in (README, KOREAN):
        quick = text.split("\n## ")[1]
        assert "-m pip install -r requirements.txt" in quick and "requirements-dev" not in quick
        for verb in ("up", "password", "stop", "start", "destroy", "doctor"):
            assert f"lab.py {verb}" in quick, verb


def verb_exit_codes(text: str) -> dict[str, str]:
    return dict(re.findall(r"^\| `lab\.py ([a-z]+)` \|.*\| ([0-9, ]+) \|$", text, re.M))


def test_both_readmes_give_each_verb_the_same_exit_codes():
    assert set(verb_exit_codes(README)) == set(session.NEEDS)
    assert verb_exit_codes(KOREAN) == verb_exit_codes(README)


VERSION = re.compile(r"(?<![\d.])v?(\d+\.\d+\.\d+|3\.\d{3})(?![.\d])")  # x.y.z, and Pulumi's 3.nnn


def test_the_korean_readme_states_no_version_the_english_one_does_not():
    """README.ko's 준비물 said "kind v0.23.0 이상과 Pulumi CLI 3.150 이상" against "exactly v0.23.0"
    and "3.260.0 or newer" (issue 28): every version number of README.ko is README's, the pins
    of k8s_lab/tools.py are in both, and neither says kind's may be newer."""
    from k8s_lab import tools

    english, korean = set(VERSION.findall(README)), set(VERSION.findall(KOREAN))
    assert korean <= english, f"README.ko.md states versions README.md does not: {sorted(korean - english)}"
    kind = tools.KIND_VERSION.removeprefix("v")
    for text in (README, KOREAN):
        assert {kind, tools.PULUMI_MINIMUM, tools.PULUMI_VERSION} <= set(VERSION.findall(text))
        assert not re.search(rf"kind\**\s+v?{re.escape(kind)}\**\s*(이상|or newer)", text)
        assert re.search(r"Python\**\s+3\.10", text)


def test_the_version_parity_check_can_fail():
    wrong = KOREAN + "\n- **kind** v0.23.0 이상과 **Pulumi CLI** 3.150 이상\n"
    assert "3.150" in set(VERSION.findall(wrong)) - set(VERSION.findall(README))


def test_the_verbs_table_says_check_fetches_only_with_fetch():
    """The table's needs column said check fetches "when missing"; it never does unless asked."""
    for text in (README, KOREAN):
        row = re.search(r"^\| `lab\.py check` \|.*$", text, re.M)
        assert row and "fetched when missing" not in row.group(0) and "없으면 받음" not in row.group(0)
        assert "--fetch" in row.group(0).split("|")[3]


REFERENCE = re.compile(
    r"(?:README(?:\.md)?,\s+|TROUBLESHOOTING(?:\.md)?,\s+|see\s+)\"?([A-Z][\w/ ,-]{2,50}?)\"?(?=[);.:]|,\s+says|\s+(?:above|below))"
)


def test_every_cross_reference_names_a_section_there_is():
    """`(README, Classroom)` and `see "Quick start"` for why the Pulumi CLI must be 3.260.0
    pointed at sections that are not, or do not say it (issue 28)."""
    texts = [(ROOT / name).read_text(encoding="utf-8") for name in ("README.md", "TROUBLESHOOTING.md")]
    headings = {re.sub(r"^#+\s*", "", line).strip() for text in texts for line in text.splitlines() if line.startswith("#")}
    headings |= {title for text in texts for title in re.findall(r"^\*\*([^*]+?)\.\*\*", text, re.M)}  # a titled paragraph
    sources = [ROOT / "README.md", ROOT / "TROUBLESHOOTING.md", *(ROOT / "k8s_lab").glob("*.py"), ROOT / "lab.py", ROOT / "classroom.py"]
    bad = []
    for path in sources:
        text = " ".join(path.read_text(encoding="utf-8").split())
        for match in REFERENCE.finditer(text):
            name = match.group(1).strip().rstrip(",")
            if name not in ("TROUBLESHOOTING", "README") and not any(h.lower().startswith(name.lower()) for h in headings):
                bad.append(f"{path.name}: {match.group(0)}")
    assert not bad, bad


def section(name: str) -> str:
    for text in (README, (ROOT / "TROUBLESHOOTING.md").read_text(encoding="utf-8")):
        parts = re.split(r"^#+ ", text, flags=re.M)
        for part in parts:
            if part.lower().startswith(name.lower()):
                return part
    return ""


def test_a_reference_for_why_the_pulumi_cli_must_be_new_names_the_section_that_says_why():
    for name in ("README.md", "TROUBLESHOOTING.md"):
        text = " ".join((ROOT / name).read_text(encoding="utf-8").split())
        for match in REFERENCE.finditer(text):
            if "3.260.0" in text[max(0, match.start() - 120):match.start()]:
                assert "v3.260.0 or newer" in section(match.group(1).strip().rstrip(",")), f"{name}: {match.group(0)}"


def before_you_start(text: str) -> str:
    quick = text.split("\n## ")[1]
    box = re.search(r"^> \*\*(Before you start|시작하기 전에)\*\*.*?(?=\n\n(?!>))", quick, re.M | re.S)
    assert box, "the quick start has no 'before you start' box"
    return box.group(0)


def test_both_quick_starts_say_which_python_each_system_needs_and_what_the_first_up_costs():
    """macOS's own python3 is 3.9 (pip fails before lab.py can speak); Windows on ARM needs an
    x64 Python (grpcio has no win_arm64 wheel); the first up's size and time, as an estimate."""
    english, korean = before_you_start(README), before_you_start(KOREAN)
    for box in (english, korean):
        for word in ("3.10", "3.9", "python.org", "Homebrew", "x64", "win_arm64", "grpcio", "ResolutionImpossible"):
            assert word in box, word
    assert "estimate" in english and "추정" in korean
    figures = re.compile(r"(\d+(?:[.-]\d+)*)\s*(GB|minutes|분)")
    assert [n for n, _ in figures.findall(english)] == [n for n, _ in figures.findall(korean)] != []


def test_troubleshooting_does_not_say_windows_on_arm_works_natively():
    text = (ROOT / "TROUBLESHOOTING.md").read_text(encoding="utf-8")
    arm = re.search(r"^- \*\*Windows on ARM\*\*.*?(?=\n- |\n\n)", text, re.M | re.S)
    assert arm and "x64" in arm.group(0) and "win_arm64" in arm.group(0) and re.search(r"\bnot\b[^.]*natively", arm.group(0))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped (letters of any script,
    digits, '-' and '_' kept), each space a '-'."""
    return "".join(c for c in heading.lower() if c.isalnum() or c in "-_ ").replace(" ", "-")


def contents(text: str) -> str:
    headings = re.findall(r"^## (.+)$", text, re.M)
    return "\n".join(f"- [{h}](#{slug(h)})" for h in headings) + "\n"


@pytest.mark.parametrize("name", ["TROUBLESHOOTING.md", "TROUBLESHOOTING.ko.md"])
def test_troubleshootings_contents_are_its_headings(name):
    """The contents list covered about half the sections (issue 28); it is generated now."""
    import os

    path = ROOT / name
    text = path.read_text(encoding="utf-8")
    listed = re.search(r"\n\n((?:- \[.*\]\(#.*\)\n)+)", text)
    assert listed, f"{name} has no contents list"
    if os.environ.get("K8S_LAB_WRITE_DOCS"):
        path.write_text(text.replace(listed.group(1), contents(text)), encoding="utf-8")
        text = path.read_text(encoding="utf-8")
        listed = re.search(r"\n\n((?:- \[.*\]\(#.*\)\n)+)", text)
    assert listed and listed.group(1) == contents(text), (
        f"regenerate: K8S_LAB_WRITE_DOCS=1 venv/bin/python -m pytest tests/test_readme.py -k contents ({name})"
    )


def test_the_korean_troubleshooting_has_every_section_and_command_of_the_english_one():
    english = (ROOT / "TROUBLESHOOTING.md").read_text(encoding="utf-8")
    korean = (ROOT / "TROUBLESHOOTING.ko.md").read_text(encoding="utf-8")
    assert len(re.findall(r"^## ", korean, re.M)) == len(re.findall(r"^## ", english, re.M))
    blocks = re.compile(r"^```\w*\n(.*?)^```", re.M | re.S)
    assert blocks.findall(korean) == blocks.findall(english)  # the same commands, in the same order
    assert "TROUBLESHOOTING.ko.md" in KOREAN and "TROUBLESHOOTING.ko.md" in english


def test_slugs_are_githubs():
    assert slug("First: `lab.py check`") == "first-labpy-check"
    assert slug("docker.sock permission denied / Docker does not answer") == "dockersock-permission-denied--docker-does-not-answer"
    assert slug("준비물 자세히") == "준비물-자세히"
