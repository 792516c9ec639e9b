"""The maintained rows' way in: the Gateway API, served by NGINX Gateway Fabric on the
ingress-ready node's ports 80/443, and one Gateway the students' HTTPRoutes attach to.

Why NGINX Gateway Fabric (2.6.x) and not Contour: Contour's single-file Gateway install
(examples/render/contour-gateway.yaml at v1.33.6) bundles the Gateway API's *experimental*
channel at v1.3.0, and the lab wants the standard channel at a current release; NGF
installs the standard channel's own files (v1.5.1) and exposes exactly the knobs kind
needs on its NginxProxy: hostPorts, a nodeSelector and tolerations for the nginx pods
(apis/v1alpha2/nginxproxy_types.go at v2.6.7: ContainerSpec.HostPorts, PodSpec.NodeSelector,
PodSpec.Tolerations). cloud-provider-kind is not used: its load-balancer host ports
collide between students (kubernetes-sigs/cloud-provider-kind#458).

The NginxProxy here is referenced by the Gateway (infrastructure.parametersRef), so it is
merged over the one NGF's manifest gives its GatewayClass, this Gateway's settings winning
(nginxproxy_types.go:18-23): the manifest stays exactly the pinned file.
"""

from __future__ import annotations

from typing import Any

import yaml

NAMESPACE = "nginx-gateway"  # made by NGF's deploy/default/deploy.yaml
GATEWAY_CLASS = "nginx"  # ditto
GATEWAY = "lab"
PROXY = "lab-proxy"


def nginx_proxy() -> dict[str, Any]:
    return {
        "apiVersion": "gateway.nginx.org/v1alpha2",
        "kind": "NginxProxy",
        "metadata": {"name": PROXY, "namespace": NAMESPACE},
        "spec": {
            "kubernetes": {
                "deployment": {
                    # On the ingress-ready node (the control plane), which kind maps to the
                    # slot's http/https ports, as ingress-nginx's kind manifest does.
                    "pod": {
                        "nodeSelector": {"ingress-ready": "true"},
                        "tolerations": [
                            {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}
                        ],
                    },
                    "container": {"hostPorts": [{"port": 80, "containerPort": 80}, {"port": 443, "containerPort": 443}]},
                },
                # No load balancer on kind (the GatewayClass's default would stay pending);
                # NodePort keeps the class's externalTrafficPolicy valid, ClusterIP would not.
                "service": {"type": "NodePort"},
            }
        },
    }


def gateway() -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": GATEWAY, "namespace": NAMESPACE},
        "spec": {
            "gatewayClassName": GATEWAY_CLASS,
            "infrastructure": {"parametersRef": {"group": "gateway.nginx.org", "kind": "NginxProxy", "name": PROXY}},
            # Routes from every namespace: the student's own is where their HTTPRoutes are.
            "listeners": [{"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "All"}}}],
        },
    }


def objects() -> list[dict[str, Any]]:
    return [nginx_proxy(), gateway()]


def manifest_text() -> str:
    """The lab's own objects as one YAML stream, the same bytes on every machine."""
    return yaml.safe_dump_all(objects(), sort_keys=False, default_flow_style=False)


def parent_ref() -> dict[str, str]:
    """What a student's HTTPRoute names in `parentRefs`."""
    return {"name": GATEWAY, "namespace": NAMESPACE}
