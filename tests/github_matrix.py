"""A workflow job's matrix as GitHub expands it into jobs: pure functions, no GitHub.

Used by tests/test_workflows.py (the e2e matrix's budgets, rows and names) and
tests/test_e2e_dry_run.py (one dry run per job). GitHub's rules (docs.github.com, "Running
variations of jobs in a workflow"): the product of the axes; `exclude` drops each
combination whose values it names (partly or whole); then each `include` entry is added to
every combination whose original (axis) values it does not overwrite, and becomes a job of
its own when it fits none.
"""

from __future__ import annotations

import itertools
from typing import Any


def expand(matrix: dict[str, Any]) -> list[dict[str, Any]]:
    """The jobs of `matrix` (a workflow's `strategy.matrix`), each a dict of its values, in
    GitHub's order: the axes' combinations, then the include entries that fit none."""
    axes = {key: values for key, values in matrix.items() if key not in ("include", "exclude")}
    combinations = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())] if axes else []
    excluded = matrix.get("exclude") or []
    combinations = [c for c in combinations if not any(all(c.get(k) == v for k, v in entry.items()) for entry in excluded)]
    originals = [dict(c) for c in combinations]
    extra: list[dict[str, Any]] = []
    for entry in matrix.get("include") or []:
        fits = [i for i, original in enumerate(originals) if all(original[k] == v for k, v in entry.items() if k in original)]
        for i in fits:
            combinations[i].update(entry)
        if not fits:
            extra.append(dict(entry))
    return combinations + extra
