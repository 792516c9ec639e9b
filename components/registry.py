"""The student's local registry: a registry:2 container on the lab network with its data
in a volume, published on the slot's registry port, and every kind node told about it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker
import pulumi_command as command

from k8s_lab import commands, docker_diff, exposure, registry
from k8s_lab.docker_host import DockerHost
from k8s_lab.names import LabNames


@dataclass
class LocalRegistryArgs:
    names: LabNames
    network_name: pulumi.Input[str]
    host_port: int
    bind_address: str
    cluster_identity: pulumi.Input[str]  # changes when the cluster is remade
    docker: DockerHost = field(default_factory=lambda: DockerHost(""))


class LocalRegistry(pulumi.ComponentResource):
    push_host: pulumi.Output[str]

    def __init__(self, name: str, args: LocalRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8s-lab:index:LocalRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        image = docker.RemoteImage(f"{name}-image", name=registry.IMAGE, keep_locally=True, opts=child)
        # Pushed images survive `up` and container replacement; destroy removes them.
        data = docker.Volume(f"{name}-data", name=args.names.registry_volume, opts=child)
        # On loopback whatever bindAddress says (k8s_lab.exposure: pushed by this host's daemon).
        binding = (registry.CONTAINER_PORT, args.host_port, exposure.address("registry", args.bind_address, args.docker.remote))
        container = docker.Container(
            f"{name}-container",
            name=args.names.registry_container,
            image=image.image_id,
            ports=[docker.ContainerPortArgs(internal=binding[0], external=binding[1], ip=binding[2])],
            volumes=[docker.ContainerVolumeArgs(volume_name=data.name, container_path=registry.DATA_DIR)],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network_name)],
            restart="unless-stopped",
            must_run=True,
            destroy_grace_seconds=registry.STOP_GRACE_SECONDS,
            # Fixed name and host port (pulumi-docker issue 1356).
            opts=pulumi.ResourceOptions(
                parent=self,
                delete_before_replace=True,
                **docker_diff.ports_by_trigger([binding]),
            ),
        )
        # Every node, including ones of a remade cluster, learns where localhost:<port> is.
        command.local.Command(
            f"{name}-node-hosts",
            create=commands.registry_hosts(
                args.names.cluster,
                registry.hosts_dir(args.host_port),
                registry.endpoint(args.names.registry_container),
            ),
            environment=commands.environment(args.docker.environment()),
            triggers=[args.cluster_identity],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[container]),
        )
        self.push_host = pulumi.Output.from_input(registry.push_host(args.host_port))
        self.register_outputs({"push_host": self.push_host})
