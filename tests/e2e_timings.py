"""What the e2e run measured, as JSON and as a Markdown table: pure functions, no Docker.

The e2e tests (tests/test_e2e.py) record wall times and the lab's host memory into a
`Timings`; at the end of the module it is written to K8S_LAB_E2E_TIMINGS (default: under
pytest's tmp dir) and, when GITHUB_STEP_SUMMARY is set, appended there as a table.
`bench/run.py --measured <json>` reads the same file.
"""

from __future__ import annotations

import json
import platform
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SCHEMA = 1

# The measurements, in the order the table shows them, with what each one is.
LABELS = {
    "first_up": "first `up` (builds the IDE image unless it was cached)",
    "ide_answers": "first `up` started until ideUrl answers",
    "up_cached": "`up` of a new stack, IDE image cached",
    "second_up": "second `up`, nothing to change",
    "destroy": "`destroy`",
}

_UNITS = {
    "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}
_AMOUNT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]+)\s*$")


def parse_size(text: str) -> int:
    """Bytes in a size as docker prints it: `1.2GiB`, `512MiB`, `3.5MB`, `0B`."""
    match = _AMOUNT.match(text)
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"not a size docker prints: {text!r}")
    return round(float(match.group(1)) * _UNITS[match.group(2).lower()])


def memory_in_use(mem_usage: str) -> int:
    """The used part of `docker stats`' MemUsage column, `1.2GiB / 15.6GiB` -> bytes of 1.2 GiB."""
    used, slash, _limit = mem_usage.partition("/")
    if not slash:
        raise ValueError(f"not a `used / limit` pair: {mem_usage!r}")
    return parse_size(used)


def memory_by_container(stats_lines: Iterable[str], prefix: str) -> dict[str, int]:
    """Bytes in use per container whose name starts with `prefix`, from lines of
    `docker stats --no-stream --format '{{.Name}}\\t{{.MemUsage}}'`."""
    found: dict[str, int] = {}
    for line in stats_lines:
        if not line.strip():
            continue
        name, tab, usage = line.partition("\t")
        if not tab:
            raise ValueError(f"not a `name<TAB>usage` line: {line!r}")
        if name.strip().startswith(prefix):
            found[name.strip()] = memory_in_use(usage)
    return found


def gib(size: int) -> str:
    return f"{size / 1024**3:.2f} GiB"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every known secret value replaced; short values are not secrets we hold."""
    for secret in sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return text


@dataclass
class Timings:
    runner: str
    measurements: dict[str, dict[str, Any]] = field(default_factory=dict)
    memory: dict[str, Any] | None = None
    group: str | None = None  # the e2e group; None: every test
    kubernetes_version: str | None = None  # the kubernetesVersion row its labs ran (K8S_LAB_E2E_KUBERNETES_VERSION)
    wall_seconds: float | None = None  # the group's run, its first fixture to its last test

    def record(self, name: str, seconds: float, **details: Any) -> None:
        if name not in LABELS:
            raise KeyError(f"unknown measurement {name!r}; known: {', '.join(LABELS)}")
        self.measurements[name] = {"seconds": round(seconds, 1), **details}

    def record_memory(self, student: str, by_container: Mapping[str, int]) -> None:
        self.memory = {"student": student, "bytes": sum(by_container.values()), "containers": dict(by_container)}

    def as_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "runner": self.runner,
            "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
            "measurements": self.measurements,
            "memory": self.memory,
            "group": self.group,
            "kubernetes_version": self.kubernetes_version,
            "wall_seconds": self.wall_seconds,
        }

    def markdown(self) -> str:
        rows = ["| measurement | value | details |", "| --- | --- | --- |"]
        for name, label in LABELS.items():
            entry = self.measurements.get(name)
            if entry is None:
                rows.append(f"| {label} | not measured | the run stopped before it, or the test failed |")
                continue
            details = ", ".join(f"{k}={v}" for k, v in sorted(entry.items()) if k != "seconds")
            rows.append(f"| {label} | {entry['seconds']:.1f} s | {details} |")
        if self.memory is None:
            rows.append("| host memory of one lab once up | not measured | |")
        else:
            rows.append(
                f"| host memory of one lab once up | {gib(self.memory['bytes'])} | "
                f"`docker stats --no-stream`, {len(self.memory['containers'])} containers of {self.memory['student']} |"
            )
        if self.wall_seconds is not None:
            rows.append(f"| the whole group | {self.wall_seconds / 60:.1f} min | its fixtures and tests |")
        title = f"group {self.group}, " if self.group else ""
        title += f"kubernetesVersion {self.kubernetes_version}, " if self.kubernetes_version else ""
        return f"### k8s-lab e2e timings ({title}{self.runner})\n\n" + "\n".join(rows) + "\n"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Timings:
        return cls(
            runner=data["runner"], measurements=dict(data.get("measurements") or {}), memory=data.get("memory"),
            group=data.get("group"), kubernetes_version=data.get("kubernetes_version"), wall_seconds=data.get("wall_seconds"),
        )

    @property
    def job(self) -> str:
        """The job of e2e.yml's matrix that wrote it: `GROUP:ROW` (`first-up:1.36`), or the
        group alone when the row is not recorded."""
        return f"{self.group}:{self.kubernetes_version}" if self.kubernetes_version else str(self.group or "")


def summary(texts: Iterable[str], expected_jobs: Iterable[str] = ()) -> str:
    """One job summary for every job of a matrix run (a group on a kubernetesVersion row):
    each job's table, in group then row order, and a line for each expected job (`GROUP:ROW`)
    that left no timings (it failed before writing them, or was cancelled)."""
    records = sorted(
        (Timings.from_json(load(text)) for text in texts), key=lambda record: (record.group or "", record.kubernetes_version or "")
    )
    seen = {record.job for record in records}
    missing = [name for name in expected_jobs if name not in seen]
    parts = ["## k8s-lab e2e: every job's timings\n"] + [record.markdown() for record in records]
    if missing:
        parts.append("No timings from: " + ", ".join(missing) + " (the job failed before writing them, or was cancelled).\n")
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    """`python tests/e2e_timings.py --summary FOLDER [GROUP:ROW...]`: the Markdown of every
    timings JSON under FOLDER (e2e.yml's summary job, after downloading each job's)."""
    from pathlib import Path

    if len(argv) < 2 or argv[0] != "--summary":
        print("usage: e2e_timings.py --summary FOLDER [GROUP:ROW...]", file=sys.stderr)
        return 2
    texts = [path.read_text(encoding="utf-8") for path in sorted(Path(argv[1]).rglob("*.json"))]
    print(summary(texts, argv[2:]))
    return 0


def load(text: str) -> dict[str, Any]:
    """A timings file, checked for the shape `bench/run.py --measured` relies on."""
    data = json.loads(text)
    if data.get("schema") != SCHEMA:
        raise ValueError(f"timings schema {data.get('schema')!r}, expected {SCHEMA}")
    for name, entry in data.get("measurements", {}).items():
        if name not in LABELS or not isinstance(entry.get("seconds"), (int, float)):
            raise ValueError(f"bad measurement {name!r}: {entry!r}")
    return data


def secret_values(outputs: Mapping[str, Any]) -> set[str]:
    """The strings of a stack's outputs that must never reach a log: the password, both
    kubeconfigs whole, and each certificate, key or token inside them."""
    found = {str(outputs["idePassword"])} if outputs.get("idePassword") else set()
    for key in ("kubeconfig", "hostKubeconfig"):
        text = str(outputs.get(key) or "")
        if not text:
            continue
        found.add(text)
        for line in text.splitlines():
            name, colon, value = line.strip().partition(":")
            if colon and (name.endswith("-data") or name == "token") and value.strip():
                found.add(value.strip())
    return found


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
