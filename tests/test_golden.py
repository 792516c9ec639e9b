"""The program against its reviewed golden records (tests/golden_record.py says how they are
made and regenerated): URNs, options and inputs of every resource, exactly."""

import pytest

from golden_record import GOLDEN_DIR, STACKS, as_text, record


@pytest.mark.parametrize("name", sorted(STACKS))
def test_the_program_asks_exactly_what_was_reviewed(name):
    path = GOLDEN_DIR / f"{name}.json"
    assert path.exists(), f"{path} is missing: venv/bin/python tests/golden_record.py --update, then review the diff"
    expected = path.read_text(encoding="utf-8")
    actual = as_text(record(name))
    if actual != expected:
        import difflib

        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "golden", "program", n=2))
        pytest.fail(f"{name}: the program's resources differ from tests/golden/{name}.json:\n{diff[:6000]}")
