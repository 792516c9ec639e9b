"""Kubeconfig rewriting, over parsed YAML."""

from __future__ import annotations

import yaml


class KubeconfigError(ValueError):
    pass


def rewrite_server(kubeconfig_yaml: str, cluster: str, server: str) -> str:
    """`kubeconfig_yaml` with the server of `cluster` set to `server`, everything else kept.

    kind's kubeconfig points at the API port published on the host; from inside the lab
    network the IDE must use the control-plane's name and port instead.
    """
    try:
        config = yaml.safe_load(kubeconfig_yaml)
    except yaml.YAMLError as error:
        raise KubeconfigError(f"kubeconfig is not valid YAML: {error}") from None
    if not isinstance(config, dict) or not isinstance(config.get("clusters"), list):
        raise KubeconfigError("kubeconfig has no clusters list")
    matches = [c for c in config["clusters"] if isinstance(c, dict) and c.get("name") == cluster]
    if not matches:
        found = [c.get("name") for c in config["clusters"] if isinstance(c, dict)]
        raise KubeconfigError(f"kubeconfig has no cluster named {cluster!r} (found {found})")
    for entry in matches:
        details = entry.setdefault("cluster", {})
        if not isinstance(details, dict):
            raise KubeconfigError(f"cluster {cluster!r} has no cluster details")
        details["server"] = server
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)


def set_namespace(kubeconfig_yaml: str, context: str, namespace: str) -> str:
    """`kubeconfig_yaml` with `namespace` as the default namespace of `context`."""
    config = yaml.safe_load(kubeconfig_yaml)
    contexts = config.get("contexts") if isinstance(config, dict) else None
    matches = [c for c in contexts or [] if isinstance(c, dict) and c.get("name") == context]
    if not matches:
        raise KubeconfigError(f"kubeconfig has no context named {context!r}")
    for entry in matches:
        entry.setdefault("context", {})["namespace"] = namespace
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)


def merge_into(existing_yaml: str, lab_yaml: str, name: str) -> str:
    """`existing_yaml` (a user's kubeconfig, maybe empty) with the cluster, user and context of
    `lab_yaml` (kind's, one of each) added under `name`, replacing an earlier merge of the
    same lab, and `name` the current context; everything else is kept."""
    lab = yaml.safe_load(lab_yaml)
    if not isinstance(lab, dict) or not all(isinstance(lab.get(part), list) and lab[part] for part in ("clusters", "users", "contexts")):
        raise KubeconfigError("the lab's kubeconfig has no cluster, user or context")
    config = yaml.safe_load(existing_yaml) if existing_yaml.strip() else None
    if config is None:
        config = {"apiVersion": "v1", "kind": "Config", "preferences": {}}
    if not isinstance(config, dict):
        raise KubeconfigError("your kubeconfig is not a YAML mapping; fix or move it, then merge again")
    cluster = {"name": name, "cluster": lab["clusters"][0].get("cluster", {})}
    user = {"name": name, "user": lab["users"][0].get("user", {})}
    context_details = dict(lab["contexts"][0].get("context", {}), cluster=name, user=name)
    context = {"name": name, "context": context_details}
    for part, entry in (("clusters", cluster), ("users", user), ("contexts", context)):
        kept = [item for item in config.get(part) or [] if not (isinstance(item, dict) and item.get("name") == name)]
        config[part] = [*kept, entry]
    config["current-context"] = name
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
