import dataclasses
import socket

import pytest

from k8s_lab import exposure, host_ports
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


def test_free_slot_reports_nothing_and_checks_each_port_where_the_table_publishes_it():
    """The registry and the API server are published on 127.0.0.1 whatever bindAddress says
    (k8s_lab/exposure.py): that is where they are tried, the rest on the bind address."""
    ports = ports_for_slot(3)
    for bind in ("0.0.0.0", "192.168.0.10", "127.0.0.1"):
        can_bind = refusing()
        assert host_ports.taken_ports(bind, ports, can_bind) == []
        assert can_bind.asked == [(exposure.address(purpose, bind, remote=False), port) for purpose, port in ports.as_dict().items()]
    can_bind = refusing()
    host_ports.taken_ports("0.0.0.0", ports, can_bind)
    assert dict(zip(ports.as_dict(), (address for address, _ in can_bind.asked), strict=True)) == {
        "ide": "0.0.0.0", "live_server": "0.0.0.0", "http": "0.0.0.0", "https": "0.0.0.0", "api": "127.0.0.1", "registry": "127.0.0.1",
    }


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


class RecordingSocket:
    """socket.socket as far as can_bind_tcp uses it: records each call; `refusal` is what bind raises."""

    def __init__(self, calls: list, refusal: OSError | None = None):
        self.calls, self.refusal = calls, refusal

    def __call__(self, *args):
        self.calls.append(("socket", args))
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def setsockopt(self, *args):
        self.calls.append(("setsockopt", args))

    def bind(self, address):
        self.calls.append(("bind", address))
        if self.refusal:
            raise self.refusal


def sockets(monkeypatch, platform: str, refusal: OSError | None = None) -> list:
    from types import SimpleNamespace

    calls: list = []
    fake = SimpleNamespace(socket=RecordingSocket(calls, refusal), AF_INET=socket.AF_INET, SOCK_STREAM=socket.SOCK_STREAM,
                           SOL_SOCKET=socket.SOL_SOCKET, SO_REUSEADDR=socket.SO_REUSEADDR, SO_EXCLUSIVEADDRUSE=-5)
    monkeypatch.setattr(host_ports, "socket", fake)
    monkeypatch.setattr(host_ports, "sys", SimpleNamespace(platform=platform))
    return calls


def test_on_windows_the_probe_asks_for_exclusive_use(monkeypatch):
    # Windows lets a second socket bind over a listening one unless asked for exclusive use
    # (SO_EXCLUSIVEADDRUSE is -5 there, ~SO_REUSEADDR); elsewhere SO_REUSEADDR as Docker's Go listener.
    calls = sockets(monkeypatch, "win32")
    assert host_ports.can_bind_tcp("127.0.0.1", 8444) is True
    assert calls == [("socket", (socket.AF_INET, socket.SOCK_STREAM)), ("setsockopt", (socket.SOL_SOCKET, -5, 1)),
                     ("bind", ("127.0.0.1", 8444))]
    calls = sockets(monkeypatch, "linux")
    assert host_ports.can_bind_tcp("127.0.0.1", 8444) is True
    assert calls[1] == ("setsockopt", (socket.SOL_SOCKET, socket.SO_REUSEADDR, 1))


def test_on_windows_winsocks_in_use_code_counts_as_taken(monkeypatch):
    import errno

    refusal = OSError(errno.EACCES, "An attempt was made to access a socket in a way forbidden by its access permissions")
    sockets(monkeypatch, "win32", refusal)
    assert host_ports.can_bind_tcp("127.0.0.1", 8444) is True  # refused, but not in use
    refusal.winerror = getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)  # what Windows sets beside its errno
    assert host_ports.can_bind_tcp("127.0.0.1", 8444) is False


OTHER = "127.0.0.2"  # an address of this host that is not 127.0.0.1 (Linux answers all of 127/8)


def hold(address: str):
    """A listening socket on `address`, on a port the kernel hands out; None where the
    system has no such address (macOS and Windows have only 127.0.0.1 on loopback)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind((address, 0))
    except OSError:
        listener.close()
        return None
    listener.listen()
    return listener


def test_a_port_held_on_loopback_is_the_registrys_and_the_apis_whatever_bindaddress_says():
    """Docker publishes both on 127.0.0.1: a process there makes `up` fail late, though the bind
    address (an address this host does not have, here) is free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        ports = dataclasses.replace(ports_for_slot(4), registry=port, api=port)
        taken = host_ports.taken_ports("192.0.2.1", ports)
    assert ("registry", port) in taken and ("api", port) in taken
    message = host_ports.port_conflict_message("192.0.2.1", 4, taken, "lee")
    assert f"127.0.0.1:{port} (registry)" in message and f"192.0.2.1:{port}" not in message


def test_a_port_held_on_another_address_leaves_the_registry_free_on_an_open_lab():
    """bindAddress 0.0.0.0: the IDE's port is taken by a process on any address, the registry's
    only by one on 127.0.0.1, where it is published."""
    listener = hold(OTHER)
    if listener is None:
        pytest.skip(f"this system has no {OTHER} to hold a port on")
    with listener:
        port = listener.getsockname()[1]
        ports = dataclasses.replace(ports_for_slot(5), registry=port, ide=port)
        assert host_ports.taken_ports("0.0.0.0", ports) == [("ide", port)]
