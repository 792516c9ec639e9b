import dataclasses
import socket

import pytest

from k8s_lab import host_ports
from k8s_lab.ports import ports_for_slot
from k8s_lab.exits import lab_command


def refusing(*busy_ports: int):
    """A can_bind that refuses exactly `busy_ports`, recording what it was asked."""
    asked: list[tuple[str, int]] = []

    def can_bind(address: str, port: int) -> bool:
        asked.append((address, port))
        return port not in busy_ports

    can_bind.asked = asked
    return can_bind


def test_free_slot_reports_nothing_and_checks_every_port_on_the_bind_address():
    ports = ports_for_slot(3)
    can_bind = refusing()
    assert host_ports.taken_ports("0.0.0.0", ports, can_bind) == []
    assert can_bind.asked == [("0.0.0.0", port) for port in ports.as_dict().values()]


def test_taken_ports_are_named_by_purpose():
    ports = ports_for_slot(1)
    taken = host_ports.taken_ports("127.0.0.1", ports, refusing(ports.ide, ports.https))
    assert taken == [("ide", ports.ide), ("https", ports.https)]


def test_message_names_each_port_its_purpose_the_slot_and_the_fix():
    ports = ports_for_slot(2)
    taken = [("ide", ports.ide), ("api", ports.api)]
    message = host_ports.port_conflict_message("127.0.0.1", 2, taken)
    assert "slot 2" in message
    for purpose, port in taken:
        assert f"127.0.0.1:{port} ({purpose})" in message
    assert f"pick a free slot ({lab_command('config', 'slot', '<n>')})" in message
    assert "stop what listens there" in message


@pytest.fixture
def listening_socket():
    """A socket listening on an ephemeral loopback port the kernel just handed out."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_default_checker_reports_a_listening_port(listening_socket):
    assert host_ports.can_bind_tcp("127.0.0.1", listening_socket) is False
    # Every interface includes loopback, so that bind is refused as well.
    assert host_ports.can_bind_tcp("0.0.0.0", listening_socket) is False


def test_default_checker_accepts_a_port_once_it_is_free():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
    assert host_ports.can_bind_tcp("127.0.0.1", port) is True


def test_taken_ports_uses_the_real_check_by_default(listening_socket):
    # A slot's ports with the IDE port moved onto the listening one.
    ports = dataclasses.replace(ports_for_slot(4), ide=listening_socket)
    taken = host_ports.taken_ports("127.0.0.1", ports)
    assert ("ide", listening_socket) in taken


def test_default_checker_counts_only_address_in_use():
    # 192.0.2.1 (TEST-NET-1) is on no host: the bind fails, but not because the port is
    # taken, so it is no port conflict (bindAddress is validated by the config instead).
    assert host_ports.can_bind_tcp("192.0.2.1", 8444) is True
