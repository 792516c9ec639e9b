"""bench/run.py: it runs and prints every line it promises with a value that parses, and
its critical-path model is right on small hand-made graphs. Timings are only checked to
be positive numbers: they are measurements, not requirements."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest

from bench.run import ROOT, analyse, build_tasks, first_difference, main, modelled_up, simulate

LINE = re.compile(r"^([a-z0-9_]+)=(.*)$")


def parse(output: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in output.splitlines():
        match = LINE.match(line)
        if match:
            values.setdefault(match.group(1), []).append(match.group(2))
    return values


def one(values: dict[str, list[str]], key: str) -> str:
    assert key in values, f"bench printed no {key}= line"
    assert len(values[key]) == 1, f"bench printed {key}= {len(values[key])} times"
    return values[key][0]


def number(values: dict[str, list[str]], key: str) -> float:
    text = one(values, key)
    try:
        return float(text)
    except ValueError:
        pytest.fail(f"{key}={text!r} is not a number")


def boolean(values: dict[str, list[str]], key: str) -> bool:
    text = one(values, key)
    assert text in ("true", "false"), f"{key}={text!r} is not true/false"
    return text == "true"


@pytest.fixture(scope="module")
def quick_output() -> str:
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"bench failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_quick_bench_prints_every_required_line(quick_output):
    values = parse(quick_output)
    assert number(values, "critical_path_ratio") >= 1.0
    assert values.get("critical_path_extra_edge"), "no critical_path_extra_edge= line (it says none when there is none)"
    for edge in values["critical_path_extra_edge"]:
        assert edge == "none" or " -> " in edge, edge
    assert "seed_edge_missing" not in values, values.get("seed_edge_missing")

    stacks = int(one(values, "eval_batch_stacks"))
    assert stacks >= 2
    assert number(values, "eval_seconds_1") > 0
    assert number(values, f"eval_seconds_{stacks}") > 0
    assert number(values, f"eval_seconds_per_stack_{stacks}") > 0
    assert number(values, "eval_peak_rss_mb") > 0
    assert number(values, "eval_growth_per_stack") > 0
    assert number(values, "eval_parallel_speedup") > 0
    assert number(values, "host_effective_parallelism") > 0
    assert number(values, "pulumi_kubernetes_import_seconds") > 0
    boolean(values, "eval_linear")
    boolean(values, "pulumi_kubernetes_imported")
    assert boolean(values, "deterministic") is True, values.get("deterministic_first_difference")


@pytest.mark.slow
def test_quick_bench_prints_the_footprint_of_every_configuration(quick_output):
    rows = {}
    for line in quick_output.splitlines():
        if line.startswith("footprint "):
            fields = dict(item.split("=", 1) for item in line.split()[1:])
            config = fields.pop("config")
            rows[config] = {key: int(value) for key, value in fields.items()}
    assert set(rows) == {"3-node+registry", "3-node", "1-node+registry", "1-node"}
    for config, row in rows.items():
        assert 0 < row["mb_low"] <= row["mb_typical"] <= row["mb_high"], config
        assert row["students_16gb"] <= row["students_32gb"] <= row["students_64gb"], config
        for gb in (16, 32, 64):
            assert row[f"students_{gb}gb_high"] <= row[f"students_{gb}gb"], config
    assert rows["1-node"]["mb_typical"] < rows["3-node"]["mb_typical"] < rows["3-node+registry"]["mb_typical"]


# --- the simulator ------------------------------------------------------------------------


def test_unbounded_parallelism_starts_each_task_when_its_dependencies_finish():
    #  a(2) ─┐
    #        ├─► c(3)        d(1) alone
    #  b(4) ─┘
    schedule = simulate({"a": 2, "b": 4, "c": 3, "d": 1}, {"c": {"a", "b"}})
    assert schedule.start == {"a": 0, "b": 0, "c": 4, "d": 0}
    assert schedule.makespan == 7
    assert schedule.critical_path == ["b", "c"]
    assert schedule.critical_edges() == [("b", "c")]


def test_bounded_parallelism_queues_ready_tasks_in_order():
    durations = {"a": 2, "b": 4, "c": 3, "d": 1}
    assert simulate(durations, {"c": {"a", "b"}}, parallelism=1).makespan == 10  # one at a time: the sum
    three = {"x": 3, "y": 3, "z": 3}
    assert simulate(three, {}).makespan == 3
    two = simulate(three, {}, parallelism=2)
    assert two.makespan == 6
    assert two.start["z"] == 3
    assert two.slot_waits == ["z"]  # z's chain breaks: it waited for a slot, not for a dependency


def test_a_chain_is_the_sum_of_its_durations():
    schedule = simulate({"a": 1.5, "b": 2.5, "c": 4}, {"b": {"a"}, "c": {"b"}})
    assert schedule.makespan == 8
    assert schedule.critical_path == ["a", "b", "c"]


def test_cycles_and_unknown_dependencies_are_refused():
    with pytest.raises(ValueError, match="cycle"):
        simulate({"a": 1, "b": 1}, {"a": {"b"}, "b": {"a"}})
    with pytest.raises(ValueError, match="unknown"):
        simulate({"a": 1}, {"a": {"ghost"}})


# --- the program's graph as tasks -----------------------------------------------------------


def resource(name, type_, parent="stack", custom=True, deps=(), **inputs):
    return SimpleNamespace(
        urn=f"urn:{name}", name=name, type=type_, parent=parent, custom=custom, inputs=inputs, deps=set(deps)
    )


def seed_graph(ide_deps=("urn:image", "urn:network", "urn:workspace", "urn:kubeconfig")):
    """The seed's steps as the program registers them; `workspace` is a component whose
    volume a dependency on it must reach."""
    lifecycle = "python -m k8s_lab.kind_lifecycle"
    return [
        resource("image", "docker:index/image:Image"),
        resource("workspace", "k8s-lab:index:Workspace", custom=False),
        resource("src", "docker:index/volume:Volume", parent="urn:workspace", driverOpts={"o": "bind"}),
        resource("network", "docker:index/network:Network"),
        resource("cluster", "command:local:Command", deps=["urn:network"],
                 create=f"{lifecycle} create --name s --workers 2"),
        resource("kubeconfig", "command:local:Command", deps=["urn:cluster"], create=f"{lifecycle} kubeconfig --name s"),
        resource("ide", "docker:index/container:Container", deps=ide_deps, wait=True),
    ]


def tasks_of(resources, warm=True):
    return build_tasks(resources, lambda r: r.deps, warm=warm)


def test_a_dependency_on_a_component_reaches_the_resources_under_it():
    tasks, stats = tasks_of(seed_graph())
    assert "urn:workspace" not in tasks  # the program's components take no time
    assert tasks["urn:ide"].deps == {"urn:image", "urn:network", "urn:src", "urn:kubeconfig"}
    assert stats["component_dependencies"] == 1


def test_the_seeds_own_graph_has_ratio_one():
    tasks, _ = tasks_of(seed_graph())
    report = analyse(tasks, "typical")
    # warm host: the cluster chain is the longest: network, cluster, kubeconfig, IDE
    assert report.critical_path == ["network", "cluster", "kubeconfig", "ide"]
    assert report.ratio == 1.0
    assert report.extra_edges == []
    assert report.missing_seed_edges == []
    assert report.chain == pytest.approx(report.formula_chain)


def test_a_wait_the_seed_does_not_have_shows_as_extra_edges():
    graph = seed_graph(ide_deps=("urn:image", "urn:network", "urn:workspace", "urn:registry"))
    graph.append(resource("registry", "docker:index/container:Container", deps=["urn:kubeconfig"]))
    tasks, _ = tasks_of(graph)
    report = analyse(tasks, "typical")
    assert report.ratio > 1.0
    assert report.makespan - report.chain == pytest.approx(1.0)  # the registry's modelled start
    assert report.extra_edges == ["kubeconfig -> registry", "registry -> ide"]
    assert report.missing_seed_edges == []  # the IDE still waits for the kubeconfig, through the registry


def test_a_missing_seed_edge_is_reported_and_the_ratio_drops_below_one():
    tasks, _ = tasks_of(seed_graph(ide_deps=("urn:image", "urn:network", "urn:workspace")))
    report = analyse(tasks, "typical")
    assert report.missing_seed_edges == ["kubeconfig -> ide"]
    assert report.ratio < 1.0


def test_a_cold_host_waits_for_the_image_build():
    tasks, _ = tasks_of(seed_graph(), warm=False)
    report = analyse(tasks, "typical")
    assert report.critical_path == ["image", "ide"]
    assert report.ratio == 1.0


def test_a_resource_without_a_modelled_duration_gets_the_default():
    """Adding a resource to the program never breaks the benchmark."""
    tasks, _ = tasks_of([resource("bucket", "aws:s3/bucket:Bucket")])
    (task,) = tasks.values()
    assert task.key == "unmodelled"


def test_first_difference_names_the_resource_and_key():
    a = {"resources": [{"name": "ide", "inputs": {"envs": ["TZ=UTC", "A=1"]}}]}
    b = {"resources": [{"name": "ide", "inputs": {"envs": ["TZ=UTC", "A=2"]}}]}
    assert first_difference(a, b) == "/resources[ide]/inputs/envs[1]: 'A=1' != 'A=2'"
    assert first_difference(a, a) is None


# --- measured against modelled (--measured) ------------------------------------------------


def write_timings(path, measurements):
    path.write_text(json.dumps({"schema": 1, "runner": "unit test", "measurements": measurements, "memory": None}))
    return path


def test_measured_ups_are_compared_with_the_model_for_their_settings(tmp_path, capsys):
    timings = write_timings(tmp_path / "t.json", {
        "first_up": {"seconds": 400.0, "image_cached": False, "workers": 1},
        "up_cached": {"seconds": 90.0, "image_cached": True, "workers": 0},
        "second_up": {"seconds": 10.0},
    })
    assert main(["--measured", str(timings)]) == 0
    values = parse(capsys.readouterr().out)
    cold = modelled_up({"workers": "1"}, warm=False)["typical"]
    warm = modelled_up({"workers": "0"}, warm=True)["typical"]
    assert warm < cold  # a cached image takes the image build off the critical path
    assert number(values, "modelled_first_up_seconds") == pytest.approx(cold, abs=0.05)
    assert number(values, "measured_over_modelled_first_up") == pytest.approx(400.0 / cold, abs=0.005)
    assert number(values, "measured_over_modelled_up_cached") == pytest.approx(90.0 / warm, abs=0.005)
    assert "measured_over_modelled_second_up" not in values  # not an up the model describes


def test_a_timings_file_without_a_measured_up_or_of_another_shape_is_refused(tmp_path, capsys):
    assert main(["--measured", str(write_timings(tmp_path / "none.json", {"second_up": {"seconds": 3.0}}))]) == 2
    assert main(["--measured", str(tmp_path / "missing.json")]) == 2
    (tmp_path / "old.json").write_text(json.dumps({"schema": 0}))
    assert main(["--measured", str(tmp_path / "old.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
