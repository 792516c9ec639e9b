"""Options for the lab's Docker network, as kind gives its own.

kind (pkg/cluster/internal/providers/docker/network.go) creates its network as
`docker network create -d=bridge -o com.docker.network.bridge.enable_ip_masquerade=true
[-o com.docker.network.driver.mtu=<MTU of the default bridge, when it has one>]
[--ipv6 --subnet fc00:...]`, and reuses a network named by
KIND_EXPERIMENTAL_DOCKER_NETWORK untouched. The lab creates the network itself, so it
exists before the cluster and the IDE joins it as an ordinary Pulumi dependency.

IPv6 is left off and the cluster is configured `ipFamily: ipv4`: the seed's subnets are
IPv4, Docker Desktop and many Linux daemons do not enable IPv6 on user networks, and
kind itself falls back to IPv4-only when IPv6 is unavailable. One address family keeps
the lab the same on every student's machine.
"""

from __future__ import annotations

DRIVER = "bridge"
MASQUERADE_OPTION = "com.docker.network.bridge.enable_ip_masquerade"
MTU_OPTION = "com.docker.network.driver.mtu"
KIND_NETWORK_ENV = "KIND_EXPERIMENTAL_DOCKER_NETWORK"


def network_options(default_bridge_options: dict[str, str] | None) -> dict[str, str]:
    """The driver options for the lab network, copying the default bridge's MTU as kind does."""
    options = {MASQUERADE_OPTION: "true"}
    mtu = (default_bridge_options or {}).get(MTU_OPTION, "")
    if mtu.isdigit() and int(mtu) > 0:
        options[MTU_OPTION] = str(int(mtu))
    return options
