"""Host ports for a lab slot.

Every host port is the seed's port plus STRIDE times the slot: slot 0 publishes exactly
what the seed did (8444, 5500, 80, 443). The seed ports (and the API port) have pairwise
different remainders modulo STRIDE, so a port's remainder names its purpose and its
quotient names its slot: two different (purpose, slot) pairs can never share a port.
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


def reachable_host(bind_address: str, docker_hostname: str | None = None) -> str:
    """Where a published port is reached: on another Docker host, by that host's name;
    here, published on every interface, still on loopback."""
    if docker_hostname:
        return docker_hostname
    return "127.0.0.1" if bind_address == "0.0.0.0" else bind_address
