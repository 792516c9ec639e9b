"""The kind cluster, made and removed with the kind CLI through pulumi-command, and its
two kubeconfigs: one for the host, one for containers on the lab network."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import pulumi
import pulumi_command as command

from k8s_lab import commands, drift, kind_config, kubeconfig
from k8s_lab.docker_host import DockerHost
from k8s_lab.names import LabNames
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
    registry: bool  # wire containerd for the local registry
    namespace: str  # default namespace of the in-network kubeconfig
    docker: DockerHost = field(default_factory=lambda: DockerHost(""))


class KindCluster(pulumi.ComponentResource):
    name: pulumi.Output[str]
    host_kubeconfig: pulumi.Output[str]  # secret; server on the host's published API port
    kubeconfig: pulumi.Output[str]  # secret; server is the control plane by its network name
    identity: pulumi.Output[str]

    def __init__(self, name: str, args: KindClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8s-lab:index:KindCluster", name, None, opts)
        windows = sys.platform == "win32"
        # The commands run k8s_lab.kind_lifecycle with this program's own interpreter,
        # from the project folder, so they work the same under sh and cmd.
        python = sys.executable
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
                registry=args.registry,
                # On another Docker host the API must be reachable from here, by that
                # host's name (in its certificate too).
                api_server_address=args.bind_address if args.docker.remote else "127.0.0.1",
                extra_cert_sans=(args.docker.hostname,) if args.docker.hostname else (),
            )
        )
        docker_env = args.docker.environment()
        # kind joins the lab's network (created by Pulumi) instead of making its own "kind";
        # the rest of the environment re-runs the idempotent create when the cluster was
        # lost behind Pulumi's back (k8s_lab.drift).
        lost = drift.cluster_lost(drift.probe(args.names, docker_env))
        if lost:
            pulumi.log.warn(
                f"kind cluster {cluster_name!r} was deleted outside Pulumi; this update makes it again", self
            )
        environment = pulumi.Output.all(args.network_name, args.network_id).apply(
            lambda net: drift.command_environment(net[0], net[1], lost, docker_env)
        )
        cluster = command.local.Command(
            f"{name}-cluster",
            create=commands.kind_create(cluster_name, args.workers, python=python, windows=windows),
            delete=commands.kind_delete(cluster_name, python=python, windows=windows),
            dir=str(commands.PROJECT_DIR),
            stdin=config_yaml,
            environment=environment,
            # pulumi-command replaces only on `triggers`; other changes re-run `create`,
            # which keeps a healthy cluster. A new config or network means a new cluster,
            # and the old one must go first: kind names are fixed.
            triggers=[config_yaml, args.network_name],
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        # kind prints a cluster-admin kubeconfig: keep it out of logs, the console and the
        # next run's environment, and secret in state.
        read_kubeconfig = command.local.Command(
            f"{name}-kubeconfig",
            create=commands.kind_kubeconfig(cluster_name, python=python, windows=windows),
            dir=str(commands.PROJECT_DIR),
            environment=docker_env or None,
            logging=command.local.Logging.NONE,
            add_previous_output_in_env=False,
            # create prints the control plane's container ID: a remade cluster has new
            # credentials, so the kubeconfig is read again (and the IDE gets it).
            triggers=[cluster.stdout],
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["stdout"], depends_on=[cluster]),
        )
        self.name = cluster.id.apply(lambda _: cluster_name)
        host_server = f"https://{args.docker.hostname}:{args.ports.api}" if args.docker.hostname else None
        self.host_kubeconfig = pulumi.Output.secret(read_kubeconfig.stdout).apply(
            lambda text: kubeconfig.rewrite_server(text, args.names.kubeconfig_cluster, host_server) if host_server else text
        )
        self.kubeconfig = self.host_kubeconfig.apply(
            lambda text: kubeconfig.set_namespace(
                kubeconfig.rewrite_server(text, args.names.kubeconfig_cluster, args.names.in_network_server),
                args.names.kubeconfig_cluster,
                args.namespace,
            )
        )
        # What changes exactly when the cluster is remade (see k8s_lab.drift).
        self.identity = cluster.stdout
        self.register_outputs(
            {
                "name": self.name,
                "host_kubeconfig": self.host_kubeconfig,
                "kubeconfig": self.kubeconfig,
                "identity": self.identity,
            }
        )
