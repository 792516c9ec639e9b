"""k8s-lab's library, in two kinds of module.

Rules, safe to call while Pulumi evaluates the program (they run no program, open no
socket, fetch nothing, and give the same answer on every machine):
  config (the settings table), names, ports, workspace (path rules; `ensure_folders` makes
  the folders during `up` only), kind_config, kubeconfig, ide_container, ide_image (reads
  ide/, and gives its files one mode before any resource), ingress, registry, network,
  docker_host, commands, limits, mirror, repair, roster, orchestrate, handout, idle (when a
  lab counts as idle), exits (lab.py's exit codes and how to run it here), capacity
  (whether a class fits its host), exposure (which port is published on which address, and
  what protects it), docker_diff (what pulumi-docker diffs by a replacement trigger instead
  of Docker's read-back), versions (the kubernetesVersion rows), gateway (the Gateway API
  way in's own objects), shell_form (every command printed for a user, quoted for this
  system's shell; the settings' fix templates).

Actions, which run programs or talk to Docker, kind or the network, and are called by
lab.py, classroom.py and the commands Pulumi runs, never to compute a resource input:
  kind_lifecycle (the commands' helper: `python -m k8s_lab.kind_lifecycle`), drift (a
  read-only `docker ps`, for warnings and repairs), tools (the pinned fetcher), host_ports,
  power (stop/start), status, doctor, verbs, session (what lab.py and classroom.py share:
  tools, state backend, passphrase, stack selection, repairs), runner (the one way to run a program),
  idle_probe (reads an IDE's idle time through `docker exec`), cli (the command-line shell
  lab.py and classroom.py share: the Python check, help, verbs, questions, exit codes).

tests/test_module_kinds.py holds the rules to that: none imports a module that acts.
"""

RULES = (
    "config", "names", "ports", "workspace", "kind_config", "kubeconfig", "ide_container", "ide_image", "ingress",
    "registry", "network", "docker_host", "commands", "limits", "mirror", "repair", "roster", "orchestrate", "handout",
    "idle", "exits", "capacity", "exposure", "docker_diff", "versions", "gateway", "shell_form",
)
ACTIONS = ("kind_lifecycle", "drift", "tools", "host_ports", "power", "status", "doctor", "verbs", "session", "runner",
           "idle_probe", "cli")
