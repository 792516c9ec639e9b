"""Properties that Docker fills in behind the program's back, diffed by a trigger instead.

pulumi-docker stores what its Read gets from Docker, and two ForceNew properties read back
something else than the program sent, on hosts the lab must work on:

- a container's `ports`: with `must_run` true, Read sets them from
  NetworkSettings.Ports, which moby empties while the container is stopped
  (terraform-provider-docker v4.5.0 resource_docker_container_funcs.go:797-805). A
  `pulumi refresh` of a stopped lab then stores no ports, and the next `up` would replace
  the IDE (its writable layer lost) and the registry.
- a network's `options`: moby adds the daemon's `default-network-opts` for the driver to
  the options it stores (moby daemon/network.go:315-324, Docker 24 and newer), and Read
  stores them all (resource_docker_network_funcs.go:193). Every `up` would then replace
  the network, and create-before-delete fails on its fixed name.

Both are left out of the provider's diff (`ignore_changes`: the bridge deletes them from
the Terraform diff before it asks whether the change replaces: pulumi-terraform-bridge
pkg/tfshim/sdk-v2/provider2.go:615-620 and instance_diff.go:95-108, read at 59de6c6,
the v3.137.0 that pulumi-docker 5.2.0's provider/go.mod requires) and given
to the engine as a `replacement_trigger` instead: the engine compares the trigger with
the one it stored, never with Docker (pulumi pkg/resource/deploy/step_generator.go
shouldTriggerReplace, since v3.208.0), so a changed slot, bindAddress or networkMtu still
replaces, and nothing Docker adds does. A trigger missing from an older state is no change
(shouldTriggerReplace: a null on either side is "no trigger"). The replacement gets the
program's new ports or options, not the ignored old ones: before a replace the engine
checks the program's inputs again, without ignore_changes (step_generator.go:1954 and
:2003-2023 at v3.259.0; an update keeps the old ones, :1264-1269, which is the point).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def ports_by_trigger(bindings: Iterable[tuple[int, int, str]]) -> dict[str, Any]:
    """ResourceOptions keywords for a container publishing (internal, external, host address) ports."""
    ports = [{"internal": internal, "external": external, "ip": ip} for internal, external, ip in bindings]
    return {"ignore_changes": ["ports"], "replacement_trigger": {"ports": sorted(ports, key=lambda port: port["internal"])}}


def options_by_trigger(options: dict[str, str]) -> dict[str, Any]:
    """ResourceOptions keywords for a network created with these driver options."""
    return {"ignore_changes": ["options"], "replacement_trigger": {"options": dict(sorted(options.items()))}}
