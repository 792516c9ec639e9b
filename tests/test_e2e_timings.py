"""tests/e2e_timings.py without Docker: the JSON shape, the Markdown table, the parsing of
`docker stats` memory columns and the redaction of the step logs the e2e run uploads."""

from __future__ import annotations

import json

import pytest

from e2e_timings import (
    LABELS,
    Timings,
    load,
    memory_by_container,
    memory_in_use,
    parse_size,
    redact,
    secret_values,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0B", 0),
        ("512MiB", 512 * 1024**2),
        ("1.2GiB", round(1.2 * 1024**3)),
        ("3.5MB", 3_500_000),
        ("12kB", 12_000),
        ("7.25KiB", round(7.25 * 1024)),
        (" 1GiB ", 1024**3),
    ],
)
def test_sizes_as_docker_prints_them(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "GiB", "1.2", "1.2 parsecs", "-1MiB", "1,2GiB"])
def test_what_is_not_a_size_is_refused(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_the_used_part_of_mem_usage_is_read_not_the_limit():
    assert memory_in_use("1.2GiB / 15.6GiB") == round(1.2 * 1024**3)
    assert memory_in_use("300MiB / 1GiB") == 300 * 1024**2
    with pytest.raises(ValueError):
        memory_in_use("1.2GiB")


def test_memory_is_summed_over_the_students_containers_only():
    lines = [
        "e2e-a-control-plane\t700MiB / 15.6GiB",
        "e2e-a-worker\t400MiB / 15.6GiB",
        "e2e-a-ide\t1.5GiB / 15.6GiB",
        "e2e-ab-ide\t9GiB / 15.6GiB",  # another student whose name starts alike: not ours
        "someone-else\t2GiB / 15.6GiB",
        "",
    ]
    found = memory_by_container(lines, "e2e-a-")
    assert set(found) == {"e2e-a-control-plane", "e2e-a-worker", "e2e-a-ide"}
    assert sum(found.values()) == 1100 * 1024**2 + round(1.5 * 1024**3)
    with pytest.raises(ValueError):
        memory_by_container(["no tab here 1GiB / 2GiB"], "no")


def filled() -> Timings:
    timings = Timings(runner="ubuntu-latest")
    timings.record("first_up", 401.23, image_cached=False, workers=1)
    timings.record("second_up", 12.04)
    timings.record_memory("e2e-a", {"e2e-a-ide": 1024**3, "e2e-a-control-plane": 1024**3 // 2})
    return timings


def test_json_has_the_shape_bench_reads_and_round_trips():
    data = filled().as_json()
    assert data["schema"] == 1 and data["runner"] == "ubuntu-latest"
    assert data["measurements"]["first_up"] == {"seconds": 401.2, "image_cached": False, "workers": 1}
    assert data["memory"]["bytes"] == 1024**3 + 1024**3 // 2
    assert load(json.dumps(data)) == data


def test_a_file_of_another_shape_is_refused():
    with pytest.raises(ValueError, match="schema"):
        load(json.dumps({"schema": 99}))
    with pytest.raises(ValueError, match="bad measurement"):
        load(json.dumps({"schema": 1, "measurements": {"first_up": {"seconds": "soon"}}}))
    with pytest.raises(ValueError, match="bad measurement"):
        load(json.dumps({"schema": 1, "measurements": {"coffee": {"seconds": 1}}}))


def test_unknown_measurements_are_refused_when_recorded():
    with pytest.raises(KeyError):
        Timings(runner="x").record("lunch", 1.0)


def test_markdown_table_has_a_row_per_measurement_and_says_what_is_missing():
    text = filled().markdown()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0].startswith("| measurement |")
    assert len(rows) == 1 + len(LABELS) + 1  # header, each measurement, memory
    assert f"| {LABELS['first_up']} | 401.2 s | image_cached=False, workers=1 |" in rows
    assert f"| {LABELS['second_up']} | 12.0 s |  |" in rows
    assert any(row.startswith(f"| {LABELS['destroy']} | not measured |") for row in rows)
    assert "| host memory of one lab once up | 1.50 GiB |" in text
    assert "2 containers of e2e-a" in text
    assert "ubuntu-latest" in text.splitlines()[0]


def test_markdown_without_memory_says_not_measured():
    assert "| host memory of one lab once up | not measured |" in Timings(runner="x").markdown()


def test_redaction_replaces_every_known_secret_longest_first():
    log = "password: hunter2hunter2 and hunter2hunter2x, token abc"
    assert redact(log, ["hunter2hunter2", "hunter2hunter2x", "abc", ""]) == (
        "password: [redacted] and [redacted], token abc"
    )


def test_secret_values_are_the_password_and_the_kubeconfigs_keys():
    kubeconfig = "users:\n- user:\n    client-key-data: S0VZS0VZ\n    token: tok-123456\nclusters:\n- cluster:\n    server: https://x:6443\n"
    found = secret_values({"idePassword": "pw-123456", "kubeconfig": kubeconfig, "ideUrl": "http://127.0.0.1:12144"})
    assert found == {"pw-123456", kubeconfig, "S0VZS0VZ", "tok-123456"}
    assert "[redacted]" in redact("key S0VZS0VZ", found)
    assert secret_values({}) == set()
