"""k8s-lab: one student's cloud-native practice lab, as the seed builds it by hand.

(1) the IDE image, (2) the workspace volumes, (3) the kind network, (4) the cluster and
its kubeconfig, with a local registry and, inside, the student's namespace and the way in
(ingress-nginx, or the Gateway API on a maintained row), (5) the IDE container, attached to
the network with that kubeconfig.
"""

import pulumi

from components import (
    ClusterBootstrap,
    ClusterBootstrapArgs,
    GatewayApi,
    GatewayApiArgs,
    IdeContainer,
    IdeContainerArgs,
    IdeImage,
    IdeImageArgs,
    IdePassword,
    IdePasswordArgs,
    IngressNginx,
    IngressNginxArgs,
    KindCluster,
    KindClusterArgs,
    LabNetwork,
    LabNetworkArgs,
    LocalRegistry,
    LocalRegistryArgs,
    Workspace,
    WorkspaceArgs,
)
from components.docker_host import docker_options
from components.settings import read_lab_config
from k8s_lab import ide_image
from k8s_lab.ingress import ingress_url

lab = read_lab_config()
if not lab.ide_image:  # before any resource: a CRLF or unsettled ide/ stops here, with the fix
    ide_image.prepare_context(ide_image.IDE_DIR)
on_docker = docker_options(lab.docker)

row = lab.version_row  # the kubernetesVersion row: its kubectl in the IDE, its way in
image = IdeImage(
    "ide-image",
    IdeImageArgs(prebuilt=lab.ide_image, platform=lab.ide_platform, build_args=row.ide_build_args(ide_image.BUILD_ARGS)),
    on_docker,
)
workspace = Workspace(
    "workspace", WorkspaceArgs(names=lab.names, paths=lab.workspace, bind_folders=not lab.docker.remote), on_docker
)
network = LabNetwork("network", LabNetworkArgs(names=lab.names, mtu=lab.network_mtu), on_docker)
cluster = KindCluster(
    "cluster",
    KindClusterArgs(
        names=lab.names,
        network_name=network.name,
        network_id=network.network_id,
        node_image=lab.node_image,
        workers=lab.workers,
        bind_address=lab.bind_address,
        ports=lab.ports,
        namespace=lab.namespace,
        docker=lab.docker,
        caps=lab.shares,
        mirror=lab.registry_mirror,
    ),
)
if lab.registry:
    local_registry = LocalRegistry(
        "registry",
        LocalRegistryArgs(
            names=lab.names,
            network_name=network.name,
            host_port=lab.ports.registry,
            bind_address=lab.bind_address,
            cluster_identity=cluster.identity,
            docker=lab.docker,
        ),
        on_docker,
    )
    pulumi.export("registry", local_registry.push_host)
ClusterBootstrap(
    "bootstrap",
    ClusterBootstrapArgs(
        kubeconfig=cluster.host_kubeconfig,
        namespace=lab.namespace,
        registry_host_port=lab.ports.registry if lab.registry else None,
        cluster=cluster.command,
        cluster_identity=cluster.identity,
    ),
)
if lab.ingress:
    way_in = dict(names=lab.names, cluster=cluster.command, cluster_identity=cluster.identity, docker=lab.docker, after=cluster.pulls_ready)
    if row.way_in == "gateway-api":
        GatewayApi("ingress", GatewayApiArgs(**way_in, manifests=row.manifests))
    else:
        IngressNginx("ingress", IngressNginxArgs(**way_in))
    pulumi.export("ingressUrl", ingress_url(lab.bind_address, lab.ports.http, lab.docker.hostname, lab.host_name))
password = IdePassword("ide-password", IdePasswordArgs(configured=lab.ide_password))
ide = IdeContainer(
    "ide",
    IdeContainerArgs(
        names=lab.names,
        image=image.ref,
        network_name=network.name,
        src_volume=workspace.src_volume,
        vscode_volume=workspace.vscode_volume,
        password=password.value,
        kubeconfig=cluster.kubeconfig,
        ports=lab.ports,
        bind_address=lab.bind_address,
        timezone=lab.timezone,
        extra_env=lab.ide_env,
        extra_env_secret=lab.ide_env_secret,
        mount_docker_socket=lab.mount_docker_socket,
        docker_hostname=lab.docker.hostname,
        host_name=lab.host_name,
        memory_mb=lab.shares.ide_mb,
        cpus=lab.shares.cpus,
        https=lab.https,
    ),
    on_docker,
)

pulumi.export("ideUrl", ide.url)
pulumi.export("idePassword", password.value)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("hostKubeconfig", cluster.host_kubeconfig)
pulumi.export("clusterName", cluster.name)
pulumi.export("networkName", network.name)
pulumi.export("ideContainer", ide.name)
if lab.https:
    pulumi.export("ideCertificate", "self-signed" if lab.https.self_signed else "given")
