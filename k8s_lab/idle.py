"""When a lab counts as idle: its IDE has had no browser activity for a given time, as
code-server itself says (rules only; k8s_lab.idle_probe reads it from Docker).

What code-server v4.93.1 (the version ide/Dockerfile pins) offers, read in coder/code-server:
- src/node/routes/health.ts: GET /healthz answers, without authentication, JSON
  `{"status": "alive"|"expired", "lastHeartbeat": <ms since the epoch>}`.
- src/node/heart.ts: `lastHeartbeat` is set by `beat()`, which src/node/routes/index.ts calls
  on every HTTP and websocket request except /healthz itself; while connections stay open
  a timer beats again every 60 s, so an open browser tab counts as activity. It lives in
  the process only: 0 means no browser request since code-server started.
- It also touches a heartbeat file (~/.local/share/code-server/heartbeat) on each beat; we
  use /healthz, which is the process's own memory and the same endpoint as the health check.

So the IDE has been idle since `lastHeartbeat`, or, when that is 0, since its container
started (code-server starts with it). Anything we cannot read is never taken for idle.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from datetime import datetime

from k8s_lab import ide_container

# code-server beats at most once a minute (heart.ts heartbeatInterval): a shorter limit
# could stop a lab whose student is typing right now.
MIN_IDLE_SECONDS = 5 * 60
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNIT_SECONDS = (86400, 3600, 60, 1)


def parse_duration(text: str) -> int:
    """'2h', '90m', '1h30m', '1d' -> seconds. ValueError (with the fix) when it is not one,
    or shorter than code-server's heartbeat can tell apart from activity."""
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or not match:
        raise ValueError(f"{text!r} is not a duration; use e.g. 2h, 90m or 1h30m")
    seconds = sum(int(part or 0) * unit for part, unit in zip(match.groups(), _UNIT_SECONDS, strict=True))
    if seconds < MIN_IDLE_SECONDS:
        raise ValueError(f"{text!r} is shorter than 5m; code-server notes activity once a minute, use 5m or more")
    return seconds


def duration_argument(text: str) -> int:
    """`--idle-for`'s argparse type: seconds, or a usage error that names the fix."""
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def describe(seconds: float) -> str:
    """3720 -> '1h 02m'; 200 -> '3m'."""
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


# What idle_probe runs in the IDE container: its clock (the same clock Docker's StartedAt
# uses, so a Docker host whose clock differs from ours is still read right), then /healthz.
# A lab beyond loopback serves HTTPS, often with code-server's self-signed certificate (so
# -k), and code-server then answers plain HTTP on the same port with a redirect to https
# (httpolyglot in src/node/app.ts; the redirect in src/node/routes/index.ts), which -L
# follows; a server that speaks TLS only is asked over https directly. --max-time keeps a
# hung IDE from hanging the teacher's cron job.
HEALTH_PATH = f"localhost:{ide_container.CODE_SERVER_PORT}/healthz"
PROBE_SCRIPT = (
    "date +%s; "
    f"curl -fsSLk --max-time 5 http://{HEALTH_PATH} || curl -fsSk --max-time 5 https://{HEALTH_PATH}"
)


def probe_argv(docker: str, container: str) -> list[str]:
    return [docker, "exec", container, "sh", "-c", PROBE_SCRIPT]


def inspect_argv(docker: str, container: str) -> list[str]:
    return [docker, "inspect", "--format", "{{.State.Status}} {{.State.StartedAt}}", container]


@dataclass(frozen=True)
class Reading:
    """How long the IDE has been idle, or why that is not known."""

    idle_seconds: float | None  # None: unknown
    running: bool = True
    note: str = ""  # why it is unknown, or where the time comes from

    @property
    def known(self) -> bool:
        return self.idle_seconds is not None


def parse_started(text: str) -> float | None:
    """Docker's StartedAt (RFC 3339, nanoseconds) -> seconds since the epoch."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", text.strip())
    if not match:
        return None
    whole = datetime.fromisoformat(match.group(1) + match.group(3).replace("Z", "+00:00"))
    fraction = float(match.group(2) or 0)
    return whole.timestamp() + fraction


def read_inspect(output: str) -> tuple[str, float | None]:
    """`<status> <StartedAt>` -> (status, start seconds)."""
    status, _, started = output.strip().partition(" ")
    return status, parse_started(started)


def read_probe(output: str, started: float | None) -> Reading:
    """What PROBE_SCRIPT printed (the container's clock, then /healthz's JSON) -> a Reading."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if len(lines) < 2 or not lines[0].isdigit():
        return Reading(None, note="code-server's /healthz did not answer")
    now = int(lines[0])
    try:
        health = json.loads(lines[1])
        last_ms = health["lastHeartbeat"]
    except (ValueError, KeyError, TypeError):
        return Reading(None, note=f"code-server's /healthz answered something else: {lines[1][:80]!r}")
    if not isinstance(last_ms, (int, float)) or isinstance(last_ms, bool) or last_ms < 0:
        return Reading(None, note=f"code-server's lastHeartbeat is {last_ms!r}, not a time")
    if last_ms == 0:
        if started is None:
            return Reading(None, note="no browser activity since code-server started, and its start time is unknown")
        return Reading(max(0.0, now - started), note="no browser activity since the IDE started")
    return Reading(max(0.0, now - last_ms / 1000), note="since its last browser activity")


@dataclass(frozen=True)
class Decision:
    stop: bool
    message: str


def decide(student: str, reading: Reading, idle_for: int) -> Decision:
    """Stop only a running IDE read as idle for at least `idle_for` seconds; anything
    unknown keeps the lab running and says why."""
    if not reading.running:
        return Decision(False, f"lab {student!r}: the IDE is not running; nothing to stop for idleness ({reading.note})")
    if reading.idle_seconds is None:
        return Decision(False, f"lab {student!r} kept running: idle time unknown ({reading.note})")
    idle = describe(reading.idle_seconds)
    if reading.idle_seconds >= idle_for:
        return Decision(True, f"lab {student!r} idle for {idle} ({reading.note}), at least {describe(idle_for)}: stopping it")
    return Decision(False, f"lab {student!r} kept running: idle for {idle}, less than {describe(idle_for)}")
