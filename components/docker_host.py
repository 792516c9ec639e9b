"""The Docker a stack talks to: the default one, or an explicit provider for `dockerHost`."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from k8s_lab.docker_host import DockerHost


def docker_options(host: DockerHost) -> pulumi.ResourceOptions:
    """Options for every component that makes Docker objects; components pass their
    providers on to their children (and to the invokes they parent)."""
    if not host.url:
        return pulumi.ResourceOptions()
    provider = docker.Provider("docker-host", host=host.url)
    return pulumi.ResourceOptions(providers=[provider])
