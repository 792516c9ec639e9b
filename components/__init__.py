"""k8s-lab's Pulumi components, one concern each (type tokens k8s-lab:index:<Name>)."""

from components.cluster import KindCluster, KindClusterArgs
from components.cluster_bootstrap import ClusterBootstrap, ClusterBootstrapArgs
from components.ide import IdeContainer, IdeContainerArgs
from components.ide_image import IdeImage, IdeImageArgs
from components.ingress import GatewayApi, GatewayApiArgs, IngressNginx, IngressNginxArgs
from components.network import LabNetwork, LabNetworkArgs
from components.password import IdePassword, IdePasswordArgs
from components.registry import LocalRegistry, LocalRegistryArgs
from components.workspace import Workspace, WorkspaceArgs

__all__ = [
    "ClusterBootstrap",
    "ClusterBootstrapArgs",
    "IdeContainer",
    "IdeContainerArgs",
    "IdeImage",
    "IdeImageArgs",
    "IdePassword",
    "IdePasswordArgs",
    "GatewayApi",
    "GatewayApiArgs",
    "IngressNginx",
    "IngressNginxArgs",
    "KindCluster",
    "KindClusterArgs",
    "LabNetwork",
    "LabNetworkArgs",
    "LocalRegistry",
    "LocalRegistryArgs",
    "Workspace",
    "WorkspaceArgs",
]
