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
