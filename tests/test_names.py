import pytest

from k8s_lab import names


def test_derived_names():
    n = names.LabNames("kim")
    assert (n.cluster, n.network, n.control_plane) == ("kim", "kind-kim", "kim-control-plane")
    assert (n.src_volume, n.vscode_volume, n.ide_container) == ("kim-src", "kim-vscode", "kim-ide")
    assert n.in_network_server == "https://kim-control-plane:6443"
    assert n.kubeconfig_cluster == "kind-kim"


def test_longest_student_keeps_every_derived_name_a_dns_label():
    longest = "a" * names.MAX_STUDENT_LENGTH
    assert names.student_name_problem(longest) is None
    n = names.LabNames(longest)
    for derived in (n.control_plane, n.network, n.src_volume, n.vscode_volume, n.ide_container):
        assert len(derived) <= 63 and names.DNS_LABEL.match(derived), derived


@pytest.mark.parametrize(
    "bad, why",
    [
        ("", "empty"),
        ("a" * (names.MAX_STUDENT_LENGTH + 1), "characters long"),
        ("Kim", "lowercase"),
        ("kim_lee", "lowercase"),
        ("-kim", "lowercase"),
        ("kim-", "lowercase"),
        ("kim.lee", "lowercase"),
    ],
)
def test_bad_student_names(bad, why):
    assert why in names.student_name_problem(bad)


def test_a_suggestion_is_cut_to_the_longest_name_and_still_a_name():
    longest = names.MAX_STUDENT_LENGTH
    # Cut where a '-' falls: the suggestion ends on the letter before it.
    assert names.suggested_name("a" * (longest - 1) + " b") == "a" * (longest - 1)
    # Leading punctuation costs no letter of the cut.
    assert names.suggested_name("_" + "a" * longest + "b") == "a" * longest
