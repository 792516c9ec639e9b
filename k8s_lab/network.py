"""Options for the lab's Docker network, as kind gives its own.

kind (pkg/cluster/internal/providers/docker/network.go) creates its network as
`docker network create -d=bridge -o com.docker.network.bridge.enable_ip_masquerade=true
[-o com.docker.network.driver.mtu=<MTU of the default bridge, when it has one>]
[--ipv6 --subnet fc00:...]`, and reuses a network named by
KIND_EXPERIMENTAL_DOCKER_NETWORK untouched. The lab creates the network itself, so it
exists before the cluster and the IDE joins it as an ordinary Pulumi dependency.

IPv6 is off and the cluster is configured `ipFamily: ipv4`: the seed's subnets are
IPv4, Docker Desktop and many Linux daemons do not enable IPv6 on user networks, and
kind itself falls back to IPv4-only when IPv6 is unavailable. The option Docker stores
(`com.docker.network.enable_ipv6=false`) says so explicitly: pulumi-docker sends no
`ipv6: false`, so a daemon whose `default-network-opts` turn IPv6 on would otherwise
give the network IPv6, read back differently on every refresh, and replace it.

The MTU is never read from the evaluating machine's Docker (kind copies the default
bridge's): a stack is a function of its config. The `networkMtu` setting gives one
(VPNs and nested VMs need 1450 or less); without it the daemon's default applies.
"""

from __future__ import annotations

DRIVER = "bridge"
MASQUERADE_OPTION = "com.docker.network.bridge.enable_ip_masquerade"
MTU_OPTION = "com.docker.network.driver.mtu"
KIND_NETWORK_ENV = "KIND_EXPERIMENTAL_DOCKER_NETWORK"


IPV6_OPTION = "com.docker.network.enable_ipv6"


def network_options(mtu: int | None) -> dict[str, str]:
    """The driver options for the lab network: kind's, IPv6 off, and the MTU when given."""
    options = {MASQUERADE_OPTION: "true", IPV6_OPTION: "false"}
    if mtu:
        options[MTU_OPTION] = str(mtu)
    return options
