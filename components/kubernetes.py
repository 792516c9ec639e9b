"""Inside the cluster, through pulumi-kubernetes: the student's namespace, ingress-nginx
for kind, and the local-registry-hosting ConfigMap. Imported only by stacks that use it
(importing pulumi_kubernetes costs about a second)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from k8s_lab import ingress, registry


@dataclass
class ClusterBootstrapArgs:
    kubeconfig: pulumi.Input[str]  # secret, host kubeconfig; known only once every node is Ready
    namespace: str
    ingress: bool
    registry_host_port: int | None  # None: no local registry


class ClusterBootstrap(pulumi.ComponentResource):
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterBootstrapArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8s-lab:index:ClusterBootstrap", name, None, opts)
        # The kubeconfig comes from the read that follows the cluster's create, which waits
        # for every node: nothing below is applied before the cluster is Ready.
        provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=pulumi.Output.secret(args.kubeconfig),
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["kubeconfig"]),
        )
        in_cluster = pulumi.ResourceOptions(parent=self, provider=provider)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata=k8s.meta.v1.ObjectMetaArgs(name=args.namespace), opts=in_cluster
        )
        if args.ingress:
            # The controller kind's ingress guide installs, pinned: it runs on the
            # ingress-ready node with hostPorts 80/443, which kind maps to the slot's ports.
            # skip_await: waiting for the controller would keep `up` going about a minute
            # after the IDE is ready (bench/run.py: critical_path_ratio 1.59 -> 1.00); it
            # is ready long before a student writes a first Ingress.
            k8s.yaml.v2.ConfigFile(
                f"{name}-ingress-nginx", file=ingress.MANIFEST_URL, skip_await=True, opts=in_cluster
            )
        if args.registry_host_port is not None:
            k8s.core.v1.ConfigMap(
                f"{name}-local-registry-hosting",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="local-registry-hosting", namespace="kube-public"),
                data=registry.hosting_configmap_data(args.registry_host_port),
                opts=in_cluster,
            )
        self.namespace = namespace.metadata.apply(lambda m: m.name)
        self.register_outputs({"namespace": self.namespace})
