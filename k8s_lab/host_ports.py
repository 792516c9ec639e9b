"""Which of a slot's host ports are already taken, checked before anything is created.

Docker reports a taken port only when it publishes it ("port is already allocated", or
"address already in use" when a process outside Docker holds it). The IDE container is
the last thing the lab makes, so that error comes after the network and the whole kind
cluster were built, and kind fails the same way only after pulling its node image.
Trying the ports first turns that late failure into an early message naming the fix.
"""

from __future__ import annotations

import errno
import socket
import sys
from collections.abc import Callable

from k8s_lab import exposure
from k8s_lab.ports import SlotPorts
from k8s_lab.exits import lab_command

# errno for "in use" on POSIX, and Winsock's code for it on Windows.
_IN_USE = {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)}


def can_bind_tcp(bind_address: str, port: int) -> bool:
    """Whether a TCP socket can bind (bind_address, port) right now.

    Only "address in use" counts as taken. Any other refusal (a port under 1024 for a
    user who is not root, an address this machine does not have) is not a conflict: the
    Docker daemon binds with its own privileges, and the address is checked elsewhere.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if sys.platform == "win32":
            # Without this, Windows lets a second socket bind over a listening one.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:
            # As Docker's own listener (Go sets SO_REUSEADDR): a listening socket still
            # blocks the bind, but connections lingering in TIME_WAIT do not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((bind_address, port))
        except OSError as error:
            if error.errno in _IN_USE or getattr(error, "winerror", None) in _IN_USE:
                return False
    return True


def taken_ports(
    bind_address: str,
    ports: SlotPorts,
    can_bind: Callable[[str, int], bool] = can_bind_tcp,
) -> list[tuple[str, int]]:
    """(purpose, port) for each of the slot's host ports that cannot be bound now, each tried
    on the address it is published on (`published_on`): a port held elsewhere does not stop
    the registry on 127.0.0.1, and one held on 127.0.0.1 does, whatever bindAddress says."""
    return [(purpose, port) for purpose, port in ports.as_dict().items() if not can_bind(published_on(purpose, bind_address), port)]


def published_on(purpose: str, bind_address: str) -> str:
    """The host address the port of `purpose` is published on by this machine's Docker
    (k8s_lab/exposure.py's table; the checks here run only for it, never for a dockerHost)."""
    return exposure.address(purpose, bind_address, remote=False)


def port_conflict_message(bind_address: str, slot: int, taken: list[tuple[str, int]], stack: str | None = None) -> str:
    listed = "\n".join(f"  - {published_on(purpose, bind_address)}:{port} ({purpose})" for purpose, port in taken)
    return (
        f"slot {slot} needs host ports that are already in use:\n{listed}\n"
        f"Fix: pick a free slot ({lab_command('config', 'slot', '<n>', *(['--stack', stack] if stack else []))}), or stop what listens there."
    )
