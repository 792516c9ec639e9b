"""A stand-in for the `kind` executable, for tests on machines without kind.

It makes real containers named and labelled like kind's nodes, on the network named by
KIND_EXPERIMENTAL_DOCKER_NETWORK, each answering the `kubectl get nodes` readiness query
that k8s_lab.kind_lifecycle sends to the control plane. Told by the environment:
  FAKE_KIND_IMAGE       image for the node containers (required)
  FAKE_KIND_FAIL_AT     "control-plane": exit 1 after the control plane, leaving it behind
  FAKE_KIND_NOT_READY   "1": nodes report Ready=False
  FAKE_KIND_LOG         file that gets one line per invocation
Like kind v0.23.0, create and delete write the cluster's context into a kubeconfig file
(--kubeconfig, else $KUBECONFIG, else ~/.kube/config) under `<file>.lock`, taken with
O_EXCL: create tries 4 times within about 150 ms, delete once, then they fail
(pkg/cluster/internal/kubeconfig/internal/kubeconfig/lock.go, create.go). The lock is held
for a while, so callers sharing one file collide as they do with kind.
"""

import os
import re
import subprocess
import sys
import tempfile
import time

LABEL = "io.x-k8s.kind.cluster"


def docker(*args, check=True):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def nodes_of(cluster):
    out = docker("ps", "-a", "--filter", f"label={LABEL}={cluster}", "--format", "{{.Names}}").stdout
    return [n for n in out.split() if n]


def copy_in(container, path, text, mode):
    with tempfile.NamedTemporaryFile("w", delete=False) as handle:
        handle.write(text)
    os.chmod(handle.name, mode)
    docker("cp", handle.name, f"{container}:{path}")
    os.unlink(handle.name)


def kubeconfig_path(argv):
    if "--kubeconfig" in argv:
        return argv[argv.index("--kubeconfig") + 1]
    return os.environ.get("KUBECONFIG") or os.path.join(os.path.expanduser("~"), ".kube", "config")


def write_kubeconfig(path, cluster, waits):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for wait in waits:
        time.sleep(wait)
        try:
            lock = os.open(path + ".lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            continue
        try:
            time.sleep(0.3)  # kind reads, merges and writes the file meanwhile
            with open(path, "a") as handle:
                handle.write(f"# context kind-{cluster}\n")
            return
        finally:
            os.close(lock)
            os.unlink(path + ".lock")
    sys.exit(f"ERROR: failed to lock config file: open {path}.lock: file exists")


def create(cluster, config):
    roles = re.findall(r"^\s*-\s*role:\s*(\S+)", config, re.MULTILINE)
    if nodes_of(cluster):
        sys.exit(f'ERROR: failed to create cluster: node(s) already exist for a cluster with the name "{cluster}"')
    names, workers = [], 0
    for role in roles:
        if role == "control-plane":
            names.append(f"{cluster}-control-plane")
        else:
            workers += 1
            names.append(f"{cluster}-worker{'' if workers == 1 else workers}")
    network = os.environ.get("KIND_EXPERIMENTAL_DOCKER_NETWORK", "kind")
    for name in names:
        docker("run", "-d", "--name", name, "--hostname", name, "--network", network,
               "--label", f"{LABEL}={cluster}", os.environ["FAKE_KIND_IMAGE"], "sleep", "3600")
        if name.endswith("-control-plane") and os.environ.get("FAKE_KIND_FAIL_AT") == "control-plane":
            sys.exit("ERROR: failed to create cluster: (fake) kubeadm init failed")
    ready = "False" if os.environ.get("FAKE_KIND_NOT_READY") == "1" else "True"
    control_plane = f"{cluster}-control-plane"
    copy_in(control_plane, "/etc/fake-readiness", "".join(f"{n}={ready}\n" for n in names), 0o644)
    kubectl = (
        '#!/bin/sh\ncase " $* " in\n'
        '  *" apply "*) cat > /etc/applied.yaml ;;\n'
        '  *" delete "*) cat > /dev/null; rm -f /etc/applied.yaml ;;\n'
        "  *) cat /etc/fake-readiness ;;\nesac\n"
    )
    copy_in(control_plane, "/bin/kubectl", kubectl, 0o755)
    print(f'Creating cluster "{cluster}" ...', file=sys.stderr)


def main(argv):
    if os.environ.get("FAKE_KIND_LOG"):
        with open(os.environ["FAKE_KIND_LOG"], "a") as log:
            log.write(" ".join(argv) + "\n")
    name = argv[argv.index("--name") + 1] if "--name" in argv else "kind"
    if argv[:2] == ["create", "cluster"]:
        create(name, sys.stdin.read())
        write_kubeconfig(kubeconfig_path(argv), name, waits=(0, 0.001, 0.05, 0.1))
    elif argv[:2] == ["delete", "cluster"]:
        print(f'Deleting cluster "{name}" ...', file=sys.stderr)
        nodes = nodes_of(name)
        if nodes:
            docker("rm", "-f", "-v", *nodes)
        write_kubeconfig(kubeconfig_path(argv), name, waits=(0,))  # after the nodes, as kind's delete fails
    elif argv[:2] == ["get", "kubeconfig"]:
        if f"{name}-control-plane" not in nodes_of(name):
            sys.exit(f"ERROR: could not locate any control plane nodes for cluster named '{name}'")
        server = f"https://{name}-control-plane:6443" if "--internal" in argv else "https://127.0.0.1:6550"
        print(f"apiVersion: v1\nclusters:\n- cluster:\n    server: {server}\n  name: kind-{name}\nkind: Config\n")
    else:
        sys.exit(f"fake kind: unsupported {argv}")


if __name__ == "__main__":
    main(sys.argv[1:])
