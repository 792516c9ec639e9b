"""ingress-nginx for kind, as kind's ingress guide installs it: the controller release's
manifest for the kind provider (hostPorts 80/443 on the ingress-ready node, which kind maps
to the slot's ports), applied by a command during `up`.

Nothing a preview needs comes from the network: the manifest is fetched during `up` only,
once per machine, pinned by URL and sha256 (k8s_lab.ingress) and checked before use. The
command does not wait for the controller: it is ready long before a student writes a
first Ingress (bench/run.py: waiting kept `up` going about a minute after the IDE was).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_command as command

from k8s_lab import commands, gateway, ingress, versions
from k8s_lab.docker_host import DockerHost
from k8s_lab.names import LabNames


@dataclass
class IngressNginxArgs:
    names: LabNames
    cluster: pulumi.Resource  # the cluster command: the controller goes when it goes
    cluster_identity: pulumi.Input[str]  # changes when the cluster is made anew
    docker: DockerHost = field(default_factory=lambda: DockerHost(""))
    after: list[pulumi.Resource] = field(default_factory=list)  # the mirror's hosts.toml: the first pulls use it


class IngressNginx(pulumi.ComponentResource):
    def __init__(self, name: str, args: IngressNginxArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8s-lab:index:IngressNginx", name, None, opts)
        pinned = (args.names.cluster, ingress.MANIFEST_URL, ingress.MANIFEST_SHA256)
        command.local.Command(
            f"{name}-manifest",
            create=commands.manifest(*pinned),
            # Runs when `ingress` is switched off; a cluster being deleted skips it.
            delete=commands.manifest(*pinned, remove=True),
            environment=commands.environment(args.docker.environment()),
            triggers=[args.cluster_identity],
            # Remade with the cluster: the old command's `--remove` must run before the new
            # apply, not after it against the new cluster of the same name (the default
            # create-before-delete would remove ingress-nginx it had just applied).
            opts=pulumi.ResourceOptions(parent=self, deleted_with=args.cluster, delete_before_replace=True, depends_on=args.after),
        )
        self.register_outputs({})


@dataclass
class GatewayApiArgs(IngressNginxArgs):
    manifests: tuple[versions.Manifest, ...] = ()  # the version row's way in, applied in order


class GatewayApi(pulumi.ComponentResource):
    """A maintained row's way in (k8s_lab/gateway.py): the Gateway API's standard CRDs and
    NGINX Gateway Fabric, pinned by sha256, then the lab's NginxProxy and Gateway (given on
    stdin, so they are in the command's inputs and a change to them re-runs it), applied by
    one command in that order, as IngressNginx applies its manifest."""

    def __init__(self, name: str, args: GatewayApiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8s-lab:index:GatewayApi", name, None, opts)
        pinned = (args.names.cluster, args.manifests)
        command.local.Command(
            f"{name}-manifest",
            create=commands.manifests(*pinned),
            delete=commands.manifests(*pinned, remove=True),
            stdin=gateway.manifest_text(),
            environment=commands.environment(args.docker.environment()),
            triggers=[args.cluster_identity],
            # As IngressNginx's: the old removal runs before the new apply.
            opts=pulumi.ResourceOptions(parent=self, deleted_with=args.cluster, delete_before_replace=True, depends_on=args.after),
        )
        self.register_outputs({})
