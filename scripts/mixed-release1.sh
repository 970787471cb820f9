#!/usr/bin/env bash
# Mixed releases with the real first release (issue #15): builds the first release (commit
# dbef513, whose sync codec is test/fixtures' frozen copy) from git in a temp dir, runs one node of
# it and one of this tree (`npx tsc -b` first) on 127.0.0.1, writes version-1 and evidence
# (version-2) records at the new node, and checks from both nodes' metrics that every session
# succeeded, no offence was counted on either side, no record was refused, and the old node holds
# exactly the version-1 records. Prints one line per check; exits 1 on the first failure, with
# the metric lines that failed it.
#   scripts/mixed-release1.sh            (about 4 minutes on 2 loaded cores, most of it tsc)
# Switches (environment), to show the checks catch a broken build:
#   NEW_TREE=<dir>     test the built tree at <dir> (its packages/cli/dist/bin.js) instead of this one
#   NEW_PATCH=<file>   build this tree's HEAD with <file> applied (git apply) in the temp dir and
#                      test that; e.g. scripts/mixed-release1-no-kinds.patch, which drops the
#                      record-kinds negotiation: the run must end in FAIL
#   RELEASE1=<commit>  the first release (default dbef513)
set -euo pipefail
RELEASE1=${RELEASE1:-dbef513}
root=$(cd "$(dirname "$0")/.." && pwd)
node22=$(cd "$root" && npx -c 'command -v node')
work=$(mktemp -d /tmp/provsync-mixed-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/mixed-build.sh
source "$root/scripts/mixed-build.sh"

tree=${NEW_TREE:-$root}
if [ -n "${NEW_PATCH:-}" ]; then
  [ -f "$NEW_PATCH" ] || { echo "FAIL NEW_PATCH=$NEW_PATCH: no such file"; exit 1; }
  patch_file=$(cd "$(dirname "$NEW_PATCH")" && pwd)/$(basename "$NEW_PATCH")
elif [ ! -f "$tree/packages/cli/dist/bin.js" ]; then
  echo "FAIL $tree/packages/cli/dist/bin.js is missing: build that tree first (npx tsc -b)"
  exit 1
fi
echo "building release 1 ($RELEASE1) in $work/release1"
build "$RELEASE1" "$work/release1"
if [ -n "${NEW_PATCH:-}" ]; then
  echo "building HEAD with $NEW_PATCH applied in $work/patched"
  build HEAD "$work/patched" "$patch_file"
  tree=$work/patched
fi
echo "testing the tree at $tree against release 1"

old=("$node22" "$work/release1/packages/cli/dist/bin.js")
new=("$node22" "$tree/packages/cli/dist/bin.js")
cd "$work"
"${new[@]}" keygen --operator --out op.key >/dev/null
"${new[@]}" keygen --agent --out agent.key >/dev/null
flags=(-n mixed -t op.key.pub -l /ip4/127.0.0.1/tcp/0 --announce-ms 50 --anti-entropy-ms 1500 --json)
ready() { until [ -s "$1" ]; do sleep 0.5; done; head -1 "$1"; }
old_port=$((20000 + RANDOM % 20000))
new_port=$((old_port + 1))
"${old[@]}" node -d old "${flags[@]}" --metrics-port "$old_port" >old.out 2>old.err &
pids+=($!)
old_addr=$(ready old.out | "$node22" -pe 'JSON.parse(require("fs").readFileSync(0)).addresses[0]')
"${new[@]}" node -d new "${flags[@]}" --metrics-port "$new_port" --bootstrap "$old_addr" >new.out 2>new.err &
pids+=($!)
ready new.out >/dev/null

for i in 1 2 3 4 5; do "${new[@]}" record vol dst "plain$i" 1 -d new >/dev/null; done
head -c 100000 /dev/urandom >evidence.bin
blob=$("${new[@]}" blob put evidence.bin -d new --json | "$node22" -pe 'JSON.parse(require("fs").readFileSync(0)).id')
for i in 1 2 3; do "${new[@]}" record vol dst "evidence$i" 1 --evidence "$blob" -d new >/dev/null; done
"${new[@]}" supersede "$(printf 'ab%.0s' {1..32})" --kind invalidate --reason e -k agent.key --evidence "$blob" -d new >/dev/null
"${new[@]}" supersede "$(printf 'cd%.0s' {1..32})" --kind invalidate --reason p -k agent.key -d new >/dev/null
sleep 15 # about ten sessions each way (anti-entropy every 1.5 s, plus announcements)

metrics() { curl -s "localhost:$1/metrics"; }
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; exit 1; fi; }
# absent <what> <pattern> <port>...: ok when no metric line of those nodes matches; else FAIL with them.
absent() {
  local what=$1 pattern=$2 found
  shift 2
  found=$(for port in "$@"; do metrics "$port"; done | grep -E "$pattern" || true)
  if [ -z "$found" ]; then echo "ok   $what"; else echo "FAIL $what:" && echo "$found" | sed 's/^/       /' && exit 1; fi
}
count() { # count old|new <store>
  if [ "$1" = old ]; then "${old[@]}" status -d old; else "${new[@]}" status -d new; fi | awk -v s="$2" '$1 == s { print $2 }'
}
absent "no offence at the old node" '^provsync_peer_offences_total' "$old_port"
absent "no offence at the new node" '^provsync_peer_offences_total' "$new_port"
absent "no record refused at the old node" '^provsync_records_refused_total' "$old_port"
absent "no failed session at either node" 'sync_sessions_total\{.*outcome="error"\}' "$old_port" "$new_port"
check "old node: the 5 version-1 assertions, not the 3 evidence ones (has $(count old assertions))" '[ "$(count old assertions)" = 5 ]'
check "old node: the version-1 supersession, not the evidence one (has $(count old supersessions))" '[ "$(count old supersessions)" = 1 ]'
check "new node: all 8 assertions and 2 supersessions" '[ "$(count new assertions)" = 8 ] && [ "$(count new supersessions)" = 2 ]'
metrics "$old_port" | grep '^provsync_sync_sessions_total' | sed 's/^/old  /'
