#!/bin/sh
# Patch linuxserver/code-server's service script so that code-server refuses to start when
# no password reached it, instead of falling back to `--auth none` (an open IDE with a root
# shell and the host's docker socket). Fails when the script no longer has that fallback,
# so an upstream change breaks the build instead of silently dropping the guard.
# Usage: refuse-open-auth.sh <path of svc-code-server/run>
set -eu
run="$1"
if ! grep -q 'AUTH="none"' "$run"; then
  echo "refuse-open-auth: no AUTH=\"none\" fallback in $run; review the guard" >&2
  exit 1
fi
sed -i 's|AUTH="none"|echo "k8s-lab: no password reached code-server (FILE__PASSWORD); refusing to start without one" >\&2; exit 1|' "$run"
if grep -q 'AUTH="none"' "$run"; then
  echo "refuse-open-auth: could not patch $run" >&2
  exit 1
fi
