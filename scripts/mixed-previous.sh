#!/usr/bin/env bash
# The previous release's own build against this tree (sync protocol 3, session 14): builds the
# previous release (default 3fe2df5, the last commit whose sessions speak protocol 2 only) from git
# in a temp dir, then runs test/mixed/*.mixed.ts, whose nodes of both builds sync both ways over
# TCP on 127.0.0.1. Exits with vitest's code. Build this tree first (npx tsc -b).
#   scripts/mixed-previous.sh                 (about 2-3 minutes on 2 cores, most of it tsc)
#   PREVIOUS=<commit> scripts/mixed-previous.sh
#   PROVSYNC_PREVIOUS_RELEASE=<dir> scripts/mixed-previous.sh   (an already built checkout: no build)
set -euo pipefail
PREVIOUS=${PREVIOUS:-3fe2df5}
root=$(cd "$(dirname "$0")/.." && pwd)
node22=$(cd "$root" && npx -c 'command -v node')
work=$(mktemp -d /tmp/provsync-previous-XXXXXX)
trap 'rm -rf "$work"' EXIT
# shellcheck source=scripts/mixed-build.sh
source "$root/scripts/mixed-build.sh"

if [ -z "${PROVSYNC_PREVIOUS_RELEASE:-}" ]; then
  echo "building the previous release ($PREVIOUS) in $work/previous"
  build "$PREVIOUS" "$work/previous"
  export PROVSYNC_PREVIOUS_RELEASE=$work/previous
fi
cd "$root"
npx vitest run --config scripts/vitest.mixed.config.ts
