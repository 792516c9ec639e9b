"""Host ports for a lab slot.

Every host port is the seed's port plus STRIDE times the slot: slot 0 publishes exactly
what the seed did (8444, 5500, 80, 443). The seed ports (and the API port) have pairwise
different remainders modulo STRIDE, so a port's remainder names its purpose and its
quotient names its slot: two different (purpose, slot) pairs can never share a port.

A class adds ports that belong to no slot: the pull-through caches `classroom.py mirror`
runs (one per upstream, on consecutive ports). Their remainders differ from every seed
port's, so no slot's port ever equals theirs, and they keep clear of ports common host
services hold (macOS's AirPlay Receiver listens on 5000 and 7000).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

STRIDE = 100
MAX_PORT = 65535

SEED_PORTS = {
    "ide": 8444,  # code-server (container port 8443), as the seed's compose file
    "live_server": 5500,  # VS Code Live Server (container port 5500), as the seed's compose file
    "http": 80,  # ingress, control-plane containerPort 80, as the seed's kind config
    "https": 443,  # ingress, control-plane containerPort 443, as the seed's kind config
    # Kubernetes API on the host. The seed let kind pick a random port; a fixed one keeps
    # the host kubeconfig stable across cluster re-creation. 6550 is k3d's default API
    # port, chosen because 6443 shares its remainder with 443.
    "api": 6550,
    # The local registry, as kind's local-registry guide publishes it.
    "registry": 5001,
}

assert len({port % STRIDE for port in SEED_PORTS.values()}) == len(SEED_PORTS)

MAX_SLOT = (MAX_PORT - max(SEED_PORTS.values())) // STRIDE

# The class mirror's first port (docker.io); the next serves registry.k8s.io.
MIRROR_PORT = 5010
MIRROR_PORTS = (MIRROR_PORT, MIRROR_PORT + 1)
assert not {port % STRIDE for port in MIRROR_PORTS} & {port % STRIDE for port in SEED_PORTS.values()}

# Ports a host often has taken by something else; a class-wide port never takes one.
COMMON_HOST_PORTS = {
    22: "ssh",
    53: "DNS",
    631: "CUPS printing",
    2375: "the Docker API",
    2376: "the Docker API (TLS)",
    3000: "development servers",
    3306: "MySQL",
    5000: "macOS's AirPlay Receiver",
    5353: "mDNS (Bonjour, Avahi)",
    5432: "PostgreSQL",
    6379: "Redis",
    7000: "macOS's AirPlay Receiver",
    8000: "development servers",
    8080: "HTTP proxies and development servers",
    9000: "development servers",
}


@dataclass(frozen=True)
class SlotPorts:
    ide: int
    live_server: int
    http: int
    https: int
    api: int
    registry: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def ports_for_slot(slot: int) -> SlotPorts:
    """The host ports of `slot`; ValueError when a port would pass 65535 or slot < 0."""
    if slot < 0 or slot > MAX_SLOT:
        raise ValueError(f"slot {slot} is outside 0..{MAX_SLOT}")
    return SlotPorts(**{purpose: base + STRIDE * slot for purpose, base in SEED_PORTS.items()})


def slot_port_owner(port: int) -> tuple[int, str] | None:
    """(slot, purpose) of the slot port equal to `port`, or None when no slot publishes it."""
    for purpose, base in SEED_PORTS.items():
        slot, remainder = divmod(port - base, STRIDE)
        if remainder == 0 and 0 <= slot <= MAX_SLOT:
            return slot, purpose
    return None


def class_port_problem(port: int) -> str | None:
    """Why `port` cannot be a class-wide port (the mirror's), or None."""
    if not 1024 <= port <= MAX_PORT:
        return f"port {port} is outside 1024..{MAX_PORT}"
    owner = slot_port_owner(port)
    if owner:
        return f"port {port} is slot {owner[0]}'s {owner[1]} port"
    if port in COMMON_HOST_PORTS:
        return f"port {port} is often held by {COMMON_HOST_PORTS[port]}"
    return None


def reachable_host(bind_address: str, docker_hostname: str | None = None) -> str:
    """Where a published port is reached: on another Docker host, by that host's name;
    here, published on every interface, still on loopback."""
    if docker_hostname:
        return docker_hostname
    return "127.0.0.1" if bind_address == "0.0.0.0" else bind_address
