"""The kind cluster, made and removed with the kind CLI through pulumi-command, and its
two kubeconfigs: one for the host, one for containers on the lab network."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_command as command

from k8s_lab import commands, drift, kind_config, kubeconfig, limits, mirror, repair
from k8s_lab.docker_host import DockerHost
from k8s_lab.names import LabNames
from k8s_lab.network import KIND_NETWORK_ENV
from k8s_lab.ports import SlotPorts


@dataclass
class KindClusterArgs:
    names: LabNames
    network_name: pulumi.Input[str]
    network_id: pulumi.Input[str]
    node_image: str
    workers: int
    bind_address: str
    ports: SlotPorts
    namespace: str  # default namespace of the in-network kubeconfig
    docker: DockerHost = field(default_factory=lambda: DockerHost(""))
    caps: limits.Shares = field(default_factory=limits.Shares)  # the nodes' shares of labMemory/labCpus
    mirror: str | None = None  # registryMirror (limits.parse_mirror); None: pull from the upstreams


class KindCluster(pulumi.ComponentResource):
    name: pulumi.Output[str]
    host_kubeconfig: pulumi.Output[str]  # secret; server on the host's published API port
    kubeconfig: pulumi.Output[str]  # secret; server is the control plane by its network name
    identity: pulumi.Output[str]
    command: command.local.Command  # for `deleted_with`: what goes when the cluster goes

    def __init__(self, name: str, args: KindClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8s-lab:index:KindCluster", name, None, opts)
        cluster_name = args.names.cluster
        config_yaml = kind_config.to_yaml(
            kind_config.render_kind_config(
                cluster_name=cluster_name,
                node_image=args.node_image,
                workers=args.workers,
                bind_address=args.bind_address,
                http_port=args.ports.http,
                https_port=args.ports.https,
                api_port=args.ports.api,
                # Addresses from k8s_lab.exposure: on another Docker host the API must be
                # reachable from here, by that host's name (in its certificate too).
                extra_cert_sans=(args.docker.hostname,) if args.docker.hostname else (),
                remote=args.docker.remote,
            )
        )
        docker_env = args.docker.environment()
        cluster_urn = repair.child_urn(pulumi.get_stack(), repair.CLUSTER_COMMAND)
        drift.warn_if_lost(args.names, docker_env, cluster_urn, lambda message: pulumi.log.warn(message, self))
        # kind joins the lab's network (created by Pulumi) instead of making its own "kind".
        # The network's ID is there too: a network made anew (Docker reset, then
        # `up --refresh`) re-runs the idempotent create, which makes the lost cluster again.
        environment = pulumi.Output.all(args.network_name, args.network_id).apply(
            lambda net: {**commands.environment(docker_env), KIND_NETWORK_ENV: net[0], drift.NETWORK_ID_ENV: net[1]}
        )
        cluster = command.local.Command(
            f"{name}-cluster",
            # Caps are applied by the helper after kind made the nodes (kind has no setting).
            create=commands.kind_create(cluster_name, args.workers, args.caps),
            delete=commands.kind_delete(cluster_name),
            stdin=config_yaml,
            environment=environment,
            # pulumi-command replaces only on `triggers`; other changes re-run `create`,
            # which keeps a healthy cluster. A new config or network means a new cluster,
            # and the old one must go first: kind names are fixed.
            triggers=[config_yaml, args.network_name],
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        # What changes exactly when the cluster is made anew, and is known in a preview
        # whenever it does not: the command's ID is new only on replacement (an update that
        # re-runs create keeps it, and a preview of that update knows it, where `stdout`
        # would be unknown), and the network's ID is new when the network is.
        self.identity = pulumi.Output.all(cluster.id, args.network_id).apply(lambda ids: f"{ids[0]}/{ids[1]}")
        # kind prints a cluster-admin kubeconfig: keep it out of logs, the console and the
        # next run's environment, and secret in state.
        read_kubeconfig = command.local.Command(
            f"{name}-kubeconfig",
            create=commands.kind_kubeconfig(cluster_name),
            environment=commands.environment(docker_env),
            logging=command.local.Logging.NONE,
            add_previous_output_in_env=False,
            # A remade cluster has new credentials: read them again (and the IDE gets them).
            triggers=[self.identity],
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["stdout"], depends_on=[cluster]),
        )
        self.command = cluster
        # What the cluster's first pulls wait for (ingress-nginx's images): the mirror's hosts.toml.
        self.pulls_ready: list[pulumi.Resource] = self.use_mirror(name, args, docker_env, cluster) if args.mirror else []
        self.name = cluster.id.apply(lambda _: cluster_name)
        host_server = f"https://{args.docker.hostname}:{args.ports.api}" if args.docker.hostname else None
        self.host_kubeconfig = read_kubeconfig.stdout.apply(pulumi.Output.secret).apply(
            lambda text: kubeconfig.rewrite_server(text, args.names.kubeconfig_cluster, host_server) if host_server else text
        )
        self.kubeconfig = self.host_kubeconfig.apply(
            lambda text: kubeconfig.set_namespace(
                kubeconfig.rewrite_server(text, args.names.kubeconfig_cluster, args.names.in_network_server),
                args.names.kubeconfig_cluster,
                args.namespace,
            )
        )
        self.register_outputs(
            {
                "name": self.name,
                "host_kubeconfig": self.host_kubeconfig,
                "kubeconfig": self.kubeconfig,
                "identity": self.identity,
            }
        )

    def use_mirror(self, name: str, args: KindClusterArgs, docker_env: dict[str, str], cluster: pulumi.Resource) -> list[pulumi.Resource]:
        """Every node, also of a remade cluster, pulls docker.io and registry.k8s.io through
        the class's cache (k8s_lab.mirror); made only when registryMirror is set."""
        assert args.mirror
        return [
            command.local.Command(
                f"{name}-mirror-{upstream.slug}",
                create=commands.registry_hosts(args.names.cluster, mirror.hosts_dir(upstream), mirror.endpoint(args.mirror, upstream)),
                environment=commands.environment(docker_env),
                triggers=[self.identity],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster]),
            )
            for upstream in mirror.UPSTREAMS
        ]
