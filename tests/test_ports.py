import itertools

import pytest

from k8s_lab import ports


def test_slot_zero_publishes_the_seed_ports():
    slot0 = ports.ports_for_slot(0)
    assert (slot0.ide, slot0.live_server, slot0.http, slot0.https) == (8444, 5500, 80, 443)


def test_formula_is_seed_port_plus_stride_times_slot():
    assert ports.ports_for_slot(7).as_dict() == {k: v + 700 for k, v in ports.SEED_PORTS.items()}


def test_slots_0_to_99_never_share_a_host_port():
    owner: dict[int, tuple[int, str]] = {}
    for slot in range(100):
        for purpose, port in ports.ports_for_slot(slot).as_dict().items():
            assert port not in owner, f"slot {slot} {purpose} reuses {port} of {owner[port]}"
            owner[port] = (slot, purpose)
    assert len(owner) == 100 * len(ports.SEED_PORTS)


def test_every_allowed_slot_is_disjoint_and_in_range():
    all_ports = [p for s in range(ports.MAX_SLOT + 1) for p in ports.ports_for_slot(s).as_dict().values()]
    assert len(all_ports) == len(set(all_ports))
    assert max(all_ports) <= 65535
    assert ports.MAX_SLOT >= 99


def test_pairs_of_slots_are_disjoint_sample():
    for a, b in itertools.combinations(range(0, ports.MAX_SLOT + 1, 37), 2):
        assert not set(ports.ports_for_slot(a).as_dict().values()) & set(ports.ports_for_slot(b).as_dict().values())


@pytest.mark.parametrize("slot", [-1, ports.MAX_SLOT + 1])
def test_out_of_range_slot_is_refused(slot):
    with pytest.raises(ValueError, match="outside"):
        ports.ports_for_slot(slot)


def test_max_slot_is_the_last_that_fits():
    assert max(ports.ports_for_slot(ports.MAX_SLOT).as_dict().values()) <= 65535
    assert max(ports.SEED_PORTS.values()) + ports.STRIDE * (ports.MAX_SLOT + 1) > 65535


def test_a_class_port_may_be_any_unprivileged_port_off_the_plan():
    assert ports.class_port_problem(1024) is None and ports.class_port_problem(ports.MAX_PORT) is None
    assert ports.class_port_problem(1023) == f"port 1023 is outside 1024..{ports.MAX_PORT}"
    assert ports.class_port_problem(ports.MAX_PORT + 1) == f"port {ports.MAX_PORT + 1} is outside 1024..{ports.MAX_PORT}"
