"""What the real providers store after Create/Read, and how they diff the next `up`.

Pulumi's mocks echo a resource's inputs back as its state; the real providers do not. The
bridged Terraform providers (pulumi-docker 5.x bridges terraform-provider-docker v4.5.0,
submodule `upstream` of pulumi/pulumi-docker) Read the object back after Create and store
what they read; the next `up` diffs the program's inputs against that, and a difference
in a ForceNew property replaces the resource, anywhere else it updates it in place.

MODEL maps (resource type, input property) to a Rule: `stored` turns the program's input
into what the provider stores, for a `Host` (what of the Docker Engine decides it),
`force_new` says whether a difference replaces, `same` how the provider compares (plain
equality unless a DiffSuppressFunc says otherwise), `source` where that is read from.
Abbreviations in `source`:

  tpd    kreuzwerker/terraform-provider-docker v4.5.0 (pulumi-docker 5.2.0's `upstream`),
         internal/provider/
  moby   moby/moby docker-v29.7.2, daemon/ (where 20.10 differs, its v20.10.27 line too)
  cmd    pulumi/pulumi-command v1.2.1, provider/pkg/provider/
  k8s    pulumi/pulumi-kubernetes v4.32.0, provider/pkg/provider/ (the version requirements.txt
         pins: the newest whose source was at hand)
  rnd    pulumi/pulumi-random (bridges terraform-provider-random, framework resources)
  pdn    pulumi/pulumi-docker at 237b7899 (5.2.0's provider.go), provider/ (the native docker.Image)
  bridge pulumi/pulumi-terraform-bridge at 59de6c6 (pulumi-docker 5.2.0 requires v3.137.0)
  engine pulumi/pulumi pkg/resource/deploy/, v3.259.0 and later

Host kinds: swap accounting, the daemon's default network options and the memory and CPU
cgroups change what Docker stores. On a host without cgroups the program refuses caps
(k8s_lab.limits.host_problem, asked by `lab.py doctor` and `up`); everywhere else the
second `up` changes nothing.

`second_up` walks an evaluated stack and returns the replaces and updates a real second
`up` would show, and every set property the model does not know (so a new input cannot
slip past it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

MIB = 1024 * 1024


# A daemon.json `default-network-opts` for bridge networks (Docker 24+): an MTU for a VPN,
# and IPv6 on by default (the lab's own option says false and wins: moby daemon/network.go:319).
DEFAULT_NETWORK_OPTS = (("com.docker.network.driver.mtu", "1400"), ("com.docker.network.enable_ipv6", "true"))


@dataclass(frozen=True)
class Host:
    """What of a Docker Engine changes what it stores (docker info names the first and last)."""

    swap_accounting: bool = True  # sysinfo.SwapLimit: cgroup v2 with memory.swap.max, or v1 with swapaccount=1
    default_network_opts: tuple[tuple[str, str], ...] = ()  # daemon.json default-network-opts["bridge"]
    cgroups: bool = True  # sysinfo.MemoryLimit and CPUCfs (rootless without delegation, some WSL and NAS: neither)
    name: str = "swap accounting"
    ncpu: int = 16  # runtime.NumCPU() of the daemon, docker info NCPU

    @property
    def facts(self) -> dict[str, Any]:
        """What `docker info` says of this host (the keys k8s_lab.limits.host_problems reads)."""
        return {"MemoryLimit": self.cgroups, "SwapLimit": self.swap_accounting and self.cgroups, "CpuCfsQuota": self.cgroups, "NCPU": self.ncpu}


# Swap accounting x network default options x cgroups, where they combine (no memory cgroup
# means no swap accounting either).
HOSTS = (
    Host(True, (), True, "swap accounting"),
    Host(False, (), True, "no swap accounting"),
    Host(True, DEFAULT_NETWORK_OPTS, True, "swap accounting, default network options"),
    Host(False, DEFAULT_NETWORK_OPTS, True, "no swap accounting, default network options"),
    Host(False, (), False, "no cgroups"),
    Host(False, DEFAULT_NETWORK_OPTS, False, "no cgroups, default network options"),
)


@dataclass(frozen=True)
class Rule:
    stored: Callable[[Any, Host], Any]
    force_new: bool
    source: str
    same: Callable[[Any, Any], bool] = lambda stored, given: stored == given


def as_given(value: Any, host: Host) -> Any:
    return value


# --- docker (terraform-provider-docker v4.5.0) -------------------------------------------


def parse_cpus(text: str) -> int:
    """docker/cli opts.ParseCPUs, as tpd resource_docker_container_funcs.go:355 calls it:
    the decimal as an exact rational times 1e9, which must be a whole number."""
    nano = Fraction(text) * 1_000_000_000
    if nano.denominator != 1:
        raise ValueError(f"{text!r}: value is too precise")
    return int(nano)


def nano_to_decimal_string(nano: int) -> str:
    """tpd helpers.go:133 nanoInt64ToDecimalString: nine decimals; a string with exactly
    nine '0' characters is rounded to one decimal, else trailing zeros are trimmed."""
    if nano == 0:
        return "0"
    value = Fraction(nano, 1_000_000_000)
    nine = _float_string(value, 9)
    if nine.count("0") == 9:
        return _float_string(value, 1)
    return nine.rstrip("0")


def _float_string(value: Fraction, places: int) -> str:
    """Go big.Rat.FloatString: rounded half away from zero to `places` decimals."""
    scaled = value * 10**places
    whole = int(scaled)
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    integer, fraction = divmod(whole, 10**places)
    return f"{integer}.{fraction:0{places}d}" if places else str(integer)


def stored_cpus(value: str, host: Host) -> str:
    # tpd resource_docker_container_funcs.go:946-947: Read stores nanoInt64ToDecimalString(NanoCPUs).
    return nano_to_decimal_string(parse_cpus(value))


def stored_memory(value: int, host: Host) -> int:
    """moby daemon_unix.go:412-416 (docker-v29.7.2; v20.10.27 :434) drops Memory to 0 with a
    warning when there is no memory cgroup; tpd funcs.go:932 reads Memory/1MiB back."""
    return value if host.cgroups else 0


def stored_memory_swap(value: int, host: Host) -> int:
    """tpd funcs.go:342-347 sends MB * 1 MiB (or -1 as is); moby daemon_unix.go
    verifyPlatformContainerResources stores -1 when the kernel has no swap accounting
    (:417-420) or no memory cgroup (:415); tpd funcs.go:940-944 reads MemorySwap back in MB
    when > 0, else as is."""
    sent = value * MIB if value > 0 else value
    if not host.swap_accounting or not host.cgroups:
        sent = -1
    return sent // MIB if sent > 0 else sent


def go_duration(text: str) -> str:
    """Go time.ParseDuration then Duration.String (tpd funcs.go:147-157 sends, :964-967
    reads): '5s' -> '5s', '90s' -> '1m30s', '500ms' -> '500ms'."""
    units = {"ms": Fraction(1, 1000), "s": Fraction(1), "m": Fraction(60), "h": Fraction(3600)}
    number = text.rstrip("hmsn")
    unit = text[len(number) :]
    seconds = Fraction(number) * units[unit]
    if seconds < 1:
        return f"{int(seconds * 1000)}ms" if seconds else "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    secs_text = f"{float(secs):g}s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{secs_text}"
    return f"{int(minutes)}m{secs_text}" if minutes else secs_text


def stored_options(value: dict[str, str], host: Host) -> dict[str, str]:
    # moby daemon/network.go:315-324 (docker-v29.7.2): the daemon's default options for the
    # driver are added where the request has no such key; tpd _funcs.go:193 stores them all.
    return {**dict(host.default_network_opts), **value}


def create_fails(inputs: dict[str, Any], host: Host) -> str | None:
    """Why moby refuses to create this container on `host`, or None: NanoCPUs without CFS
    (daemon_unix.go:472-473, docker-v29.7.2; v20.10.27 :510), or more than the host's CPUs
    (:482-486; v20.10.27 :520)."""
    if inputs.get("cpus") and not host.cgroups:
        return "NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted"
    if inputs.get("cpus") and Fraction(inputs["cpus"]) > host.ncpu:
        return f"range of CPUs is from 0.01 to {host.ncpu}.00, as there are only {host.ncpu} CPUs available"
    return None


def stored_healthcheck(value: dict[str, Any], host: Host) -> dict[str, Any]:
    # tpd funcs.go:960-968: test, the durations as Duration.String(), retries; start_interval
    # has Default "0s" (resource_docker_container.go "healthcheck"), so an unset one is equal.
    durations = {key: go_duration(value[key]) for key in ("interval", "timeout", "startPeriod") if key in value}
    return {**value, **durations}


def stored_ports(value: list[dict[str, Any]], host: Host) -> list[dict[str, Any]]:
    # tpd resource_docker_container_structures.go:35 flattenContainerPorts: sorted by
    # port, protocol "tcp" (schema Default), ip as Docker has it.
    return sorted(({"protocol": "tcp", **port} for port in value), key=lambda port: port["internal"])


def same_ports(stored: list[dict[str, Any]], given: list[dict[str, Any]]) -> bool:
    # tpd resource_docker_container.go suppressIfPortsDidNotChangeForMigrationV0ToV1: the
    # same length and, port by internal port, the same external, ip and protocol.
    key = lambda port: (port["internal"], port.get("external"), port.get("ip", "0.0.0.0"), port.get("protocol", "tcp"))  # noqa: E731
    return sorted(map(key, stored)) == sorted(map(key, given))


def same_set(stored: list[Any], given: list[Any]) -> bool:
    # TypeSet: order is not a difference.
    canon = lambda items: sorted(repr(sorted(i.items())) if isinstance(i, dict) else repr(i) for i in items)  # noqa: E731
    return canon(stored) == canon(given)


CONTAINER = "docker:index/container:Container"
TPD = "tpd resource_docker_container.go"
TPD_FUNCS = "tpd resource_docker_container_funcs.go"

# The type token (kubernetes:core/v1:ConfigMap) is apiVersion and kind: another is another
# resource (a new URN), never a diff of this one.
_K8S_TYPE = "the Pulumi type token is apiVersion + kind: a change is a new URN"
_K8S_NAME = "k8s diff.go:207-212 metadataForceNewProperties (.metadata.name, .namespace); provider.go:1558-1566"

MODEL: dict[str, dict[str, Rule]] = {
    CONTAINER: {
        "name": Rule(as_given, True, f"{TPD}:50 ForceNew; {TPD_FUNCS}:828 Read trims Docker's '/'"),
        "image": Rule(as_given, True, f"{TPD}:141 ForceNew; {TPD_FUNCS}:840-844 Read stores the ID for a sha256: input, else Config.Image (the input)"),
        "envs": Rule(as_given, True, f"{TPD}:590 ForceNew; Read never sets env ({TPD_FUNCS} resourceDockerContainerRead)", same_set),
        "workingDir": Rule(as_given, True, f"{TPD}:243 ForceNew; {TPD_FUNCS}:869 Read stores Config.WorkingDir"),
        "ports": Rule(stored_ports, True, f"{TPD}:487 ForceNew; {TPD_FUNCS}:802 Read", same_ports),
        "volumes": Rule(as_given, True, f"{TPD}:434 ForceNew, a set; Read never sets volumes", same_set),
        "networksAdvanced": Rule(as_given, True, f"{TPD}:909 ForceNew; {TPD_FUNCS}:791 Read sets it only when the state's is empty", same_set),
        "uploads": Rule(as_given, True, f"{TPD}:987 ForceNew; Read never sets upload", same_set),
        "restart": Rule(as_given, False, f"{TPD}:230; {TPD_FUNCS}:857 Read stores RestartPolicy.Name; Update sends it"),
        "healthcheck": Rule(stored_healthcheck, False, f"{TPD}:1045 (not ForceNew); {TPD_FUNCS}:960-968 Read stores Duration.String()"),
        "wait": Rule(as_given, False, f"{TPD}:79 provider-side only, never read"),
        "waitTimeout": Rule(as_given, False, f"{TPD}:86 provider-side only, never read"),
        "mustRun": Rule(as_given, False, f"{TPD}:122; {TPD_FUNCS}:818-822 Read sets false only for a stopped container; Update :998-1012 starts it"),
        "memory": Rule(stored_memory, False, f"{TPD}:842; {TPD_FUNCS}:932 Read stores Memory/1MiB (what :335 sent); moby daemon_unix.go:412-416"),
        "memorySwap": Rule(stored_memory_swap, False, f"{TPD}:856; {TPD_FUNCS}:940-944; moby daemon_unix.go verifyPlatformContainerResources"),
        "cpus": Rule(stored_cpus, True, f"{TPD}:1158 ForceNew; {TPD_FUNCS}:946-947; tpd helpers.go:133"),
        "destroyGraceSeconds": Rule(as_given, False, f"{TPD}:827 (not ForceNew); Read never sets it ({TPD_FUNCS}:931); Delete :1086-1093 stops with it"),
    },
    "docker:index/network:Network": {
        "name": Rule(as_given, True, "tpd resource_docker_network.go:25 ForceNew; resource_docker_network_funcs.go:175 Read"),
        "driver": Rule(as_given, True, "tpd resource_docker_network.go:40 ForceNew; _funcs.go:177 Read"),
        "options": Rule(stored_options, True, "tpd resource_docker_network.go:48 ForceNew; _funcs.go:193 Read stores Docker's Options; moby daemon/network.go:315-324 adds the daemon's defaults"),
        "ipv6": Rule(as_given, True, "tpd resource_docker_network.go:78 ForceNew; _funcs.go:181 Read stores EnableIPv6"),
    },
    "docker:index/volume:Volume": {
        "name": Rule(as_given, True, "tpd resource_docker_volume.go:41 ForceNew; :308 Read"),
        "driver": Rule(as_given, True, "tpd resource_docker_volume.go:55 ForceNew; :310 Read"),
        "driverOpts": Rule(as_given, True, "tpd resource_docker_volume.go:62 ForceNew; :311 Read stores volume.Options"),
    },
    "docker:index/remoteImage:RemoteImage": {
        "name": Rule(as_given, True, "tpd resource_docker_image.go:36 ForceNew"),
        "keepLocally": Rule(as_given, False, "tpd resource_docker_image.go:55, never read"),
    },
    # The native provider stores its Checked inputs (pdn provider/provider.go:396 and :472
    # checkpointObject) and diffs the old inputs against the new Checked ones (:295); Diff sets
    # no replace keys (:271-328), so any change is an update that rebuilds, never a replace.
    # Check fills build.dockerfile, build.contextDigest and an unset build.platform from the
    # machine running Pulumi (:144-233): the same on every machine only for an LF, 0755 ide/
    # and a stored idePlatform (tests/test_machine_independence.py, tests/provider_check.py).
    "docker:index/image:Image": {
        key: Rule(as_given, False, "pdn provider/provider.go:271-328 Diff (no replace keys); :396/:472 stores the Checked inputs")
        for key in ("imageName", "build", "skipPush", "buildOnPreview")
    },
    "pulumi:providers:docker": {"host": Rule(as_given, False, "provider configuration, stored as given")},
    # pulumi-command keeps its inputs as state (cmd local/commandController.go Create:
    # CommandOutputs{CommandInputs: input}); only `triggers` replaces
    # (cmd common/inputs.go:10 provider:"replaceOnChanges"), anything else re-runs create.
    "command:local:Command": {
        key: Rule(as_given, key == "triggers", "cmd local/commandController.go:41 Create, :74 Update store the inputs; common/inputs.go:10 replaceOnChanges")
        for key in ("create", "delete", "update", "environment", "stdin", "triggers", "logging", "addPreviousOutputInEnv")
    },
    # terraform-provider-random's password: every argument RequiresReplace, stored as given.
    "random:index/randomPassword:RandomPassword": {
        key: Rule(as_given, True, "rnd upstream internal/provider/resource_password.go: RequiresReplace plan modifiers")
        for key in ("length", "special")
    },
    # The kubernetes provider diffs the *live* object it last read (after a refresh: the
    # cluster's) against the new inputs, pruned to the keys the old inputs had (k8s
    # provider.go:1483 parseCheckpointObject, :1494 pruneLiveState, :1537-1540 inputPatch):
    # what the API server adds outside the program's keys (labels, status, uid) is pruned,
    # a value changed in the cluster under one of them is a difference.
    "kubernetes:core/v1:Namespace": {
        "apiVersion": Rule(as_given, True, _K8S_TYPE),
        "kind": Rule(as_given, True, _K8S_TYPE),
        "metadata": Rule(as_given, True, _K8S_NAME),
    },
    "kubernetes:core/v1:ConfigMap": {
        "apiVersion": Rule(as_given, True, _K8S_TYPE),
        "kind": Rule(as_given, True, _K8S_TYPE),
        "metadata": Rule(as_given, True, _K8S_NAME),
        # enableConfigMapMutable defaults to false (provider.go:696-709), so `data` is a
        # replace field (diff.go:32-33); the name is fixed, so the provider asks for
        # delete-before-replace (provider.go:1651-1658).
        "data": Rule(as_given, True, "k8s diff.go:32-33 forceNewProperties: .data replaces unless enableConfigMapMutable (provider.go:696-709, default false)"),
    },
    "pulumi:providers:kubernetes": {
        "kubeconfig": Rule(as_given, False, "k8s provider.go:486-495 DiffConfig: with clusterIdentifier set, a new kubeconfig does not replace"),
        "clusterIdentifier": Rule(as_given, True, "k8s provider.go:490 DiffConfig: a new clusterIdentifier replaces"),
        "deleteUnreachable": Rule(as_given, False, "k8s provider.go:619 provider configuration"),
        "upsertExistingObjects": Rule(as_given, False, "k8s provider.go:683 provider configuration"),
    },
}


@dataclass(frozen=True)
class Change:
    urn: str
    property: str
    given: Any
    stored: Any
    replace: bool

    def __str__(self) -> str:
        return f"{'replace' if self.replace else 'update'} {self.urn.rsplit('::', 1)[-1]}.{self.property}: program {self.given!r}, provider stored {self.stored!r}"


def second_up(resources: list[Any], host: Host) -> tuple[list[Change], list[str]]:
    """(the changes a real second `up` shows, `type.property` the model lacks) for recorded
    resources (tests/lab_mocks.py Recorded: .type, .urn, .custom, .inputs, .ignore_changes).
    A property in `ignore_changes` is no difference (bridge provider2.go:615-620 deletes it
    from the diff); the `replacement_trigger` is stored by the engine as given."""
    changes: list[Change] = []
    unmodelled: list[str] = []
    for resource in resources:
        if not resource.custom:
            continue
        rules = MODEL.get(resource.type, {})
        for key, given in resource.inputs.items():
            rule = rules.get(key)
            if rule is None:
                unmodelled.append(f"{resource.type}.{key}")
                continue
            stored = rule.stored(given, host)
            if not rule.same(stored, given) and key not in getattr(resource, "ignore_changes", ()):
                replace = rule.force_new or key in getattr(resource, "replace_on_changes", ())
                changes.append(Change(resource.urn, key, given, stored, replace))
    return changes, unmodelled


def create_failures(resources: list[Any], host: Host) -> list[str]:
    """The containers the first `up` cannot create on `host`, with Docker's reason."""
    failures = []
    for resource in resources:
        reason = create_fails(resource.inputs, host) if resource.type == CONTAINER else None
        if reason:
            failures.append(f"{resource.name}: {reason}")
    return failures


def refreshed_while_stopped(state: dict[str, Any]) -> dict[str, Any]:
    """A container's state after `pulumi refresh` while it is stopped: with must_run true,
    Read sets ports from NetworkSettings.Ports, which moby empties on stop (tpd
    resource_docker_container_funcs.go:797-805), then must_run false (:816-823)."""
    refreshed = dict(state)
    if state.get("mustRun"):
        if state.get("ports"):
            refreshed["ports"] = []
        refreshed["mustRun"] = False
    return refreshed


def step(
    rules: dict[str, Rule],
    replace_on_changes: list[str],
    state: dict[str, Any],
    inputs: dict[str, Any],
    ignore_changes: Sequence[str] = (),
    triggers: tuple[Any, Any] = (None, None),
) -> str:
    """What the engine does with a resource whose stored state is `state` and whose new
    inputs are `inputs`: "same", "update" or "replace" (ForceNew, or the resource's
    `replace_on_changes`; pulumi engine step_generator). `ignore_changes` are no
    difference (bridge provider2.go:615-620); `triggers`, the stored and the new
    replacement trigger, replace when both are set and differ (engine
    step_generator.go:1804 and :3683-3698 shouldTriggerReplace, read at v3.259.0+14)."""
    if None not in triggers and triggers[0] != triggers[1]:
        return "replace"
    changed = {key for key in set(state) | set(inputs) if not _same(rules, key, state, inputs) and key not in ignore_changes}
    if not changed:
        return "same"
    if any(rules[key].force_new or key in replace_on_changes for key in changed if key in rules):
        return "replace"
    return "update"


def _same(rules: dict[str, Rule], key: str, state: dict[str, Any], inputs: dict[str, Any]) -> bool:
    """Whether the provider sees no difference in `key` (its Rule's comparison when both have it)."""
    if key in rules and key in state and key in inputs:
        return rules[key].same(state[key], inputs[key])
    return state.get(key) == inputs.get(key)


def docker_update_memory(live_memory_mb: int, inputs: dict[str, Any]) -> int:
    """The IDE's live memory cap after pulumi-docker's in-place Update: tpd
    resource_docker_container_funcs.go:1034 sends memory (0 when unset), and moby
    daemon/container/container_unix.go UpdateContainer skips `Memory == 0`: the old cap stays."""
    sent = int(inputs.get("memory") or 0)
    return sent if sent != 0 else live_memory_mb


def cluster_objects_after_remake(commands: list[Any]) -> set[str]:
    """What the commands that follow the cluster's identity leave applied in a remade
    cluster of the same name: each is replaced (its `triggers` changed), so its old
    `delete` and new `create` both run, delete first only with `delete_before_replace`
    (the engine's default is create-before-delete). Manifests are named by their --url; a
    command with several (a Gateway API row: k8s_lab/kind_lifecycle.py manifests) applies or
    removes them together (its CRDs are kept on removal, which this does not model)."""
    applied: set[str] = set()
    for command in commands:
        steps = [command.inputs.get("delete"), command.inputs.get("create")]
        for line in steps if command.delete_before_replace else reversed(steps):
            words = (line or "").split()
            if "manifest" in words:
                urls = {words[i + 1] for i, word in enumerate(words[:-1]) if word == "--url"}
                (applied.difference_update if "--remove" in words else applied.update)(urls)
    return applied


def create_of_an_object_dropped_from_state(provider_inputs: dict[str, Any]) -> str:
    """A refresh while the cluster is unreachable drops the provider's objects from state
    when `deleteUnreachable` is set (k8s provider.go Read: "Deleting the unreachable
    resource from Pulumi state"); the objects are still in the cluster, so the next `up`
    creates them again: since pulumi-kubernetes 4.29 that is a client-side create, which
    fails with AlreadyExists (provider/pkg/await/await.go Creation) unless the provider has
    `upsertExistingObjects` (provider.go:683)."""
    if str(provider_inputs.get("deleteUnreachable")).lower() != "true":
        return "kept in state"
    return "adopted" if str(provider_inputs.get("upsertExistingObjects")).lower() == "true" else "AlreadyExists"
