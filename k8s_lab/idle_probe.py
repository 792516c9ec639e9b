"""Reads how long a lab's IDE has been idle, from Docker (the rules are k8s_lab.idle).

Through `docker inspect` and `docker exec` into the IDE container, so it works the same for
a lab on this machine and one on another Docker host (DOCKER_HOST in `env`), whatever
address the IDE is published on, HTTP or HTTPS.
"""

from __future__ import annotations

from collections.abc import Mapping

from k8s_lab import idle
from k8s_lab.runner import Runner, RunError

TIMEOUT_SECONDS = 30  # curl inside gives up after 5 s per scheme; this covers a slow ssh:// Docker host


def read_idle(runner: Runner, docker: str, container: str, env: Mapping[str, str] | None = None) -> idle.Reading:
    """The IDE's idle time; never raises for an IDE that cannot be read (the Reading says why)."""
    try:
        inspected = runner.run(idle.inspect_argv(docker, container), env=env, timeout=TIMEOUT_SECONDS, check=False)
    except RunError as error:
        return idle.Reading(None, note=f"docker did not answer: {error}")
    if not inspected.ok and "no such" in inspected.stderr.lower():  # "No such object" / "No such container"
        return idle.Reading(None, running=False, note=f"there is no container {container}")
    if not inspected.ok:
        said = " | ".join(line for line in inspected.stderr.strip().splitlines()[-2:] if line.strip())
        return idle.Reading(None, note=f"docker did not answer: {said or f'exit {inspected.returncode}'}")
    state, started = idle.read_inspect(inspected.stdout)
    if state != "running":
        return idle.Reading(None, running=False, note=f"{container} is {state}")
    try:
        probed = runner.run(idle.probe_argv(docker, container), env=env, timeout=TIMEOUT_SECONDS, check=False)
    except RunError as error:
        return idle.Reading(None, note=f"could not ask code-server: {error}")
    reading = idle.read_probe(probed.stdout, started)
    if not reading.known and not probed.ok:
        said = " | ".join(line for line in probed.stderr.strip().splitlines()[-2:] if line.strip())
        return idle.Reading(None, note=f"{reading.note}: {said}" if said else reading.note)
    return reading
