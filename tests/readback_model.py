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

  tpd    kreuzwerker/terraform-provider-docker v4.5.0, internal/provider/
  moby   moby/moby, daemon/
  cmd    pulumi/pulumi-command, provider/pkg/provider/
  k8s    pulumi/pulumi-kubernetes, provider/pkg/provider/provider.go
  rnd    pulumi/pulumi-random (bridges terraform-provider-random, framework resources)
  pdn    pulumi/pulumi-docker, provider/ (the native docker.Image)

`second_up` walks an evaluated stack and returns the replaces and updates a real second
`up` would show, and every set property the model does not know (so a new input cannot
slip past it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class Host:
    """What of a Docker Engine changes what it stores."""

    swap_accounting: bool = True  # sysinfo.SwapLimit: cgroup v2 with memory.swap.max, or v1 with swapaccount=1
    name: str = "swap accounting"


HOSTS = (Host(True, "swap accounting"), Host(False, "no swap accounting"))


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


def stored_memory_swap(value: int, host: Host) -> int:
    """tpd funcs.go:342-347 sends MB * 1 MiB (or -1 as is); moby daemon_unix.go
    verifyPlatformContainerResources stores -1 when the kernel has no swap accounting;
    tpd funcs.go:940-944 reads MemorySwap back in MB when > 0, else as is."""
    sent = value * MIB if value > 0 else value
    if not host.swap_accounting:
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
        "mustRun": Rule(as_given, False, f"{TPD}:122; {TPD_FUNCS}:818-822 Read sets false only for a stopped container"),
        "memory": Rule(as_given, False, f"{TPD}:842; {TPD_FUNCS}:932 Read stores Memory/1MiB (what :335 sent)"),
        "memorySwap": Rule(stored_memory_swap, False, f"{TPD}:856; {TPD_FUNCS}:940-944; moby daemon_unix.go verifyPlatformContainerResources"),
        "cpus": Rule(stored_cpus, True, f"{TPD}:1158 ForceNew; {TPD_FUNCS}:946-947; tpd helpers.go:133"),
    },
    "docker:index/network:Network": {
        "name": Rule(as_given, True, "tpd resource_docker_network.go:25 ForceNew; resource_docker_network_funcs.go:175 Read"),
        "driver": Rule(as_given, True, "tpd resource_docker_network.go:40 ForceNew; _funcs.go:177 Read"),
        "options": Rule(as_given, True, "tpd resource_docker_network.go:48 ForceNew; _funcs.go:193 Read stores Docker's Options (engine test: as given)"),
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
        key: Rule(as_given, key == "triggers", "cmd local/commandController.go Create/Update; common/inputs.go:10")
        for key in ("create", "delete", "update", "environment", "stdin", "triggers", "logging", "addPreviousOutputInEnv")
    },
    # terraform-provider-random's password: every argument RequiresReplace, stored as given.
    "random:index/randomPassword:RandomPassword": {
        key: Rule(as_given, True, "rnd upstream internal/provider/resource_password.go: RequiresReplace plan modifiers")
        for key in ("length", "special")
    },
    # The kubernetes provider diffs old *inputs* against new ones (k8s provider.go Diff:
    # parseCheckpointObject(oldState)), so what the API server adds is never a difference.
    "kubernetes:core/v1:Namespace": {
        "apiVersion": Rule(as_given, True, "k8s provider.go Diff: a new kind or version replaces"),
        "kind": Rule(as_given, True, "k8s provider.go Diff"),
        "metadata": Rule(as_given, True, "k8s provider.go Diff: metadata.name is immutable (forceNewProperties)"),
    },
    "kubernetes:core/v1:ConfigMap": {
        "apiVersion": Rule(as_given, True, "k8s provider.go Diff"),
        "kind": Rule(as_given, True, "k8s provider.go Diff"),
        "metadata": Rule(as_given, True, "k8s provider.go Diff: metadata.name/namespace are immutable"),
        "data": Rule(as_given, False, "k8s provider.go Diff: ConfigMap data updates in place (enableConfigMapMutable)"),
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
    resources (tests/lab_mocks.py Recorded: .type, .urn, .custom, .inputs)."""
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
            if not rule.same(stored, given):
                changes.append(Change(resource.urn, key, given, stored, rule.force_new))
    return changes, unmodelled


def step(rules: dict[str, Rule], replace_on_changes: list[str], state: dict[str, Any], inputs: dict[str, Any]) -> str:
    """What the engine does with a resource whose stored state is `state` and whose new
    inputs are `inputs`: "same", "update" or "replace" (ForceNew, or the resource's
    `replace_on_changes`; pulumi engine step_generator)."""
    changed = {key for key in set(state) | set(inputs) if state.get(key) != inputs.get(key)}
    if not changed:
        return "same"
    if any(rules[key].force_new or key in replace_on_changes for key in changed if key in rules):
        return "replace"
    return "update"


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
    (the engine's default is create-before-delete). Manifests are named by their --url."""
    applied: set[str] = set()
    for command in commands:
        steps = [command.inputs.get("delete"), command.inputs.get("create")]
        for line in steps if command.delete_before_replace else reversed(steps):
            words = (line or "").split()
            if "manifest" in words:
                url = words[words.index("--url") + 1]
                (applied.discard if "--remove" in words else applied.add)(url)
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
