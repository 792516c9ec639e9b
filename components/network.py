"""The lab's docker network, made the way kind makes its own, for kind and the IDE to share."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from k8s_lab import docker_diff, network
from k8s_lab.names import LabNames


@dataclass
class LabNetworkArgs:
    names: LabNames
    mtu: int | None = None  # None: the daemon's default


class LabNetwork(pulumi.ComponentResource):
    name: pulumi.Output[str]
    network_id: pulumi.Output[str]

    def __init__(self, name: str, args: LabNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8s-lab:index:LabNetwork", name, None, opts)
        options = network.network_options(args.mtu)
        lab = docker.Network(
            f"{name}-network",
            name=args.names.network,
            driver=network.DRIVER,
            options=options,
            ipv6=False,
            opts=pulumi.ResourceOptions(parent=self, **docker_diff.options_by_trigger(options)),
        )
        self.name = lab.name
        self.network_id = lab.id
        self.register_outputs({"name": self.name, "network_id": self.network_id})
