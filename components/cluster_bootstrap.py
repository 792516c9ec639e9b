"""Inside the cluster, through pulumi-kubernetes: the student's namespace and the
local-registry-hosting ConfigMap.

The cluster can vanish behind Pulumi's back (`kind delete cluster`, a Docker reset), and
`destroy` deletes the cluster anyway, so nothing here ever needs the cluster to be
deleted from:
- `delete_unreachable` on the provider: a refresh or delete against a cluster that is gone
  drops the objects from state instead of failing (pulumi-kubernetes provider.go).
- `deleted_with` the cluster command: when the cluster goes, Pulumi skips these deletes.
- the namespace is kept (`retain_on_delete`) when `namespace` changes: the old one holds
  the student's work, so it stays in the cluster, and `destroy` never waits for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from k8s_lab import registry


@dataclass
class ClusterBootstrapArgs:
    kubeconfig: pulumi.Input[str]  # secret, host kubeconfig; known only once every node is Ready
    namespace: str
    registry_host_port: int | None  # None: no local registry
    cluster: pulumi.Resource  # the cluster command: these objects go when it goes
    cluster_identity: pulumi.Input[str]  # changes exactly when the cluster is made anew


class ClusterBootstrap(pulumi.ComponentResource):
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterBootstrapArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8s-lab:index:ClusterBootstrap", name, None, opts)
        # The kubeconfig comes from the read that follows the cluster's create, which waits
        # for every node: nothing below is applied before the cluster is Ready.
        provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=pulumi.Output.secret(args.kubeconfig),
            delete_unreachable=True,
            # A refresh while the cluster is only stopped drops these objects from state
            # (delete_unreachable); once it runs again, creating them adopts the ones still
            # there instead of failing with AlreadyExists (pulumi-kubernetes >= 4.29 creates
            # client-side: provider/pkg/await/await.go Creation, provider.go upsertExistingObjects).
            upsert_existing_objects=True,
            # Replaced exactly when the cluster is new. Without it, a preview in which the
            # kubeconfig read re-runs shows the provider and everything in the cluster
            # replaced (an unknown kubeconfig replaces it: provider.go DiffConfig).
            cluster_identifier=args.cluster_identity,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["kubeconfig"]),
        )
        in_cluster = pulumi.ResourceOptions(parent=self, provider=provider, deleted_with=args.cluster)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.namespace),
            opts=pulumi.ResourceOptions.merge(in_cluster, pulumi.ResourceOptions(retain_on_delete=True)),
        )
        if args.registry_host_port is not None:
            k8s.core.v1.ConfigMap(
                f"{name}-local-registry-hosting",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="local-registry-hosting", namespace="kube-public"),
                data=registry.hosting_configmap_data(args.registry_host_port),
                opts=in_cluster,
            )
        self.namespace = namespace.metadata.apply(lambda m: m.name or args.namespace)
        self.register_outputs({"namespace": self.namespace})
