"""k8s_lab.limits: the caps' and the mirror's settings, parsed and shared out by hand-made values."""

import pytest

from k8s_lab import limits
from k8s_lab.limits import Problem


@pytest.mark.parametrize(
    "raw, megabytes",
    [("6g", 6144), ("6144m", 6144), ("6GiB", 6144), ("1.5g", 1536), ("3072M", 3072), ("2 GB", 2048), ("1t", 1048576)],
)
def test_memory_sizes_in_docker_units(raw, megabytes):
    assert limits.parse_memory(raw) == megabytes


@pytest.mark.parametrize("raw", [None, "", "0", "off", "None", " 0 "])
def test_memory_off_switch(raw):
    assert limits.parse_memory(raw) is None


@pytest.mark.parametrize("raw, reason", [("lots", "not a memory size"), ("6x", "not a memory size"), ("100m", "below 256 MB"), ("-1g", "not a memory size")])
def test_bad_memory_names_key_value_and_fix(raw, reason):
    problem = limits.parse_memory(raw)
    assert isinstance(problem, Problem)
    text = str(problem)
    assert text.startswith(f"labMemory = {raw!r}") and reason in text and "pulumi config set labMemory 6g" in text and "pulumi config set labMemory 0 for no cap" in text


@pytest.mark.parametrize("raw, cpus", [("1.5", "1.5"), (" 2 ", "2"), ("0.25", "0.25")])
def test_cpus(raw, cpus):
    assert limits.parse_cpus(raw) == cpus


@pytest.mark.parametrize("raw", [None, "", "0", "0.0", "off"])
def test_cpus_off_switch(raw):
    assert limits.parse_cpus(raw) is None


@pytest.mark.parametrize("raw", ["two", "1,5", "-1", "1.2345", "1000"])
def test_bad_cpus(raw):
    problem = limits.parse_cpus(raw)
    assert isinstance(problem, Problem) and problem.key == "labCpus" and problem.value == raw
    assert "[[set labCpus 2]]" in problem.fix


@pytest.mark.parametrize(
    "raw, url",
    [
        ("http://10.0.0.5:5000", "http://10.0.0.5:5000"),
        ("http://teacher.local:5000/", "http://teacher.local:5000"),
        ("https://mirror.example.org", "https://mirror.example.org"),
        (None, None),
        ("  ", None),
    ],
)
def test_mirror(raw, url):
    assert limits.parse_mirror(raw) == url


@pytest.mark.parametrize(
    "raw, reason",
    [("10.0.0.5:5000", "http:// or https://"), ("ftp://x", "http:// or https://"), ("http://h:5000/v2", "has a path"), ("http://h:99999", "not a URL")],
)
def test_bad_mirror(raw, reason):
    problem = limits.parse_mirror(raw)
    assert isinstance(problem, Problem) and reason in problem.reason and problem.value == raw
    assert "classroom.py mirror" in problem.fix


def test_mirror_credentials_are_refused_and_never_repeated():
    problem = limits.parse_mirror("http://teacher:s3cret@10.0.0.5:5000")
    assert isinstance(problem, Problem) and "credentials" in problem.reason
    assert "s3cret" not in str(problem)


def test_memory_is_split_by_typical_footprint_and_cpus_given_to_each():
    split = limits.shares(6144, "2", workers=2)
    assert split == limits.Shares(ide_mb=1675, control_plane_mb=2234, worker_mb=1117, cpus="2")
    assert split.ide_mb + split.control_plane_mb + 2 * split.worker_mb <= 6144
    assert split.node_mb("kim-control-plane") == 2234 and split.node_mb("kim-worker2") == 1117


def test_no_memory_cap_is_no_split():
    assert limits.shares(None, "1.5", workers=2) == limits.Shares(cpus="1.5")
    assert limits.shares(None, None, workers=0) == limits.Shares()


def test_a_cap_too_small_for_the_lab_says_how_much_is_needed():
    problem = limits.shares(1024, None, workers=2)
    assert isinstance(problem, Problem) and "4 containers" in problem.reason and "[[set labMemory 3g]] or more" in problem.fix
    assert isinstance(limits.shares(2200, None, workers=2), limits.Shares)


@pytest.mark.parametrize("memory_mb, workers", [(1408, 2), (2199, 2), (1799, 1), (1399, 0)])
def test_no_share_is_below_the_footprint_its_weight_stands_for(memory_mb, workers):
    # 1408m with 2 workers gave the control plane 512 MB against its 800 MB weight.
    problem = limits.shares(memory_mb, None, workers)
    assert isinstance(problem, Problem) and problem.key == "labMemory" and "typical footprint" in problem.reason


@pytest.mark.parametrize("workers", [0, 1, 2, 5])
def test_every_share_covers_its_weight_from_the_smallest_accepted_cap(workers):
    smallest = limits.WEIGHT_MB["ide"] + limits.WEIGHT_MB["control-plane"] + limits.WEIGHT_MB["worker"] * workers
    split = limits.shares(smallest, None, workers)
    assert isinstance(split, limits.Shares)
    assert split.ide_mb >= limits.WEIGHT_MB["ide"] and split.control_plane_mb >= limits.WEIGHT_MB["control-plane"]
    assert split.worker_mb is None if workers == 0 else split.worker_mb >= limits.WEIGHT_MB["worker"]


def test_single_node_lab_has_no_worker_share():
    split = limits.shares(2048, None, workers=0)
    assert isinstance(split, limits.Shares)
    assert split.worker_mb is None and split.ide_mb + split.control_plane_mb <= 2048


def test_docker_update_caps_swap_with_memory():
    assert limits.docker_update_args(1117, "2") == ["--memory", "1117m", "--memory-swap", "1117m", "--cpus", "2"]
    assert limits.docker_update_args(None, None) == []


def test_lab_limits_lists_every_problem():
    problems = limits.lab_limits("lots", "two", 2)
    assert [p.key for p in problems] == ["labMemory", "labCpus"]
    assert limits.lab_limits("6g", "2", 2) == limits.shares(6144, "2", 2)


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("http://h:99999", "is not a URL"),
        ("ftp://x", "is not an http:// or https:// URL with a host"),
        ("http://teacher@10.0.0.5:5000", "carries credentials, which would be stored and shown in plain text"),  # a user alone
        ("http://h:5000?x=1", "has a path; a mirror is named by its host and port only"),
        ("http://h:5000#top", "has a path; a mirror is named by its host and port only"),
    ],
)
def test_every_mirror_problem_names_the_key_and_the_fix(raw, reason):
    problem = limits.parse_mirror(raw)
    assert isinstance(problem, Problem) and problem.key == "registryMirror" and problem.reason == reason
    assert problem.fix == limits.parse_mirror("ftp://x").fix and "[[set registryMirror http://teacher.school.lan:5010]]" in problem.fix
    assert problem.value == ("(hidden: it holds credentials)" if "@" in raw else raw)
    assert str(problem).startswith("registryMirror = ")


def test_an_ipv6_mirror_keeps_its_brackets():
    assert limits.parse_mirror("http://[fd00::5]:5000/") == "http://[fd00::5]:5000"
    assert limits.parse_mirror("https://MIRROR.example/") == "https://mirror.example"
    assert limits.parse_mirror("http://BOX/") == "http://box"  # only the slash is stripped


@pytest.mark.parametrize("text, stored", [("2", "2.0"), ("1.5", "1.5"), ("1.50", "1.5"), ("0.25", "0.25"), ("10", "10."), ("256", "256.0")])
def test_cpus_are_sent_as_pulumi_docker_reads_them_back(text, stored):
    assert limits.provider_cpus(text) == stored


@pytest.mark.parametrize("text", ["0.05", "10.05", "0.001"])
def test_cpus_docker_would_read_back_as_another_number_are_refused(text):
    problem = limits.parse_cpus(text)
    assert isinstance(problem, Problem) and problem.key == "labCpus" and problem.value == text
    assert "reads back from Docker as" in problem.reason and "[[set labCpus" in problem.fix


def test_the_bounds_themselves_are_allowed_and_past_them_is_named():
    assert limits.parse_memory("256m") == limits.MIN_SHARE_MB == 256
    assert limits.parse_cpus("256") == "256"
    assert limits.parse_cpus("257") == limits.Problem(
        "labCpus", "257", "is more than 256 CPUs", "[[set labCpus 2]] (CPUs, e.g. 1.5), or [[set labCpus 0]] for no cap")
    assert limits.parse_cpus("two") == limits.Problem(
        "labCpus", "two", "is not a number of CPUs", "[[set labCpus 2]] (CPUs, e.g. 1.5), or [[set labCpus 0]] for no cap")
    assert limits.parse_memory("lots") == limits.Problem(
        "labMemory", "lots", "is not a memory size", "[[set labMemory 6g]] (a size such as 6g or 6144m), or [[set labMemory 0]] for no cap")


def test_cpus_read_back_as_terraform_provider_docker_writes_them():
    # helpers.go nanoInt64ToDecimalString: nine decimals; exactly nine '0's round to one, half up.
    assert limits.provider_cpus("0") == "0"
    assert limits.provider_cpus("0.05") == "0.1"
    assert limits.provider_cpus("2") == "2.0" and limits.provider_cpus("1.50") == "1.5"


def test_a_lab_too_small_for_its_containers_is_one_problem_in_a_list():
    assert limits.lab_limits("1g", None, 2) == [limits.Problem(
        "labMemory", "1024m",
        "is below the typical footprint of the lab's 4 containers (2200 MB: IDE 600, control plane 800, 2 worker(s) 400 each)",
        "[[set labMemory 3g]] or more, fewer workers, or [[set labMemory 0]] for no cap")]


def test_one_nano_cpu_as_the_provider_stores_it():
    # nanoInt64ToDecimalString: 1 nano CPU is nine decimals holding nine '0's, so one decimal.
    assert limits.provider_cpus("0.000000001") == "0.0"


def test_memory_past_what_a_host_has_is_refused():
    """`config labMemory 999999g` was accepted (issue 28): a cap no host can give caps nothing."""
    assert limits.parse_memory(f"{limits.MAX_MEMORY_MB // 1024}g") == limits.MAX_MEMORY_MB
    problem = limits.parse_memory("999999g")
    assert isinstance(problem, limits.Problem) and problem.reason == f"is more than {limits.MAX_MEMORY_MB // 1024} GB, more than a host has"
    assert isinstance(limits.parse_memory("2t"), limits.Problem) and limits.parse_cpus("256") == "256"
