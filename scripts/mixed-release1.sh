#!/usr/bin/env bash
# Mixed releases with the real first release (issue #15): builds the first release (commit
# dbef513, whose sync codec is test/fixtures' frozen copy) from git in a temp dir, runs one node of
# it and one of this tree (`npx tsc -b` first) on 127.0.0.1, writes version-1 and evidence
# (version-2) records at the new node, and checks from both nodes' metrics that every session
# succeeded, no offence was counted on either side, no record was refused, and the old node holds
# exactly the version-1 records. Prints one line per check; exits 1 on the first failure.
#   scripts/mixed-release1.sh            (about 3 minutes on 2 loaded cores, most of it tsc)
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

echo "building release 1 ($RELEASE1) in $work/release1"
mkdir -p "$work/release1/node_modules/@provsync"
git -C "$root" archive "$RELEASE1" | tar -x -C "$work/release1"
for entry in "$root"/node_modules/* "$root"/node_modules/.bin; do
  [ "$(basename "$entry")" = "@provsync" ] || ln -s "$entry" "$work/release1/node_modules/$(basename "$entry")"
done
for pkg in "$work"/release1/packages/*; do ln -s "../../packages/$(basename "$pkg")" "$work/release1/node_modules/@provsync/"; done
(cd "$work/release1" && "$node22" node_modules/typescript/bin/tsc -b)

old=("$node22" "$work/release1/packages/cli/dist/bin.js")
new=("$node22" "$root/packages/cli/dist/bin.js")
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
count() { # count old|new <store>
  if [ "$1" = old ]; then "${old[@]}" status -d old; else "${new[@]}" status -d new; fi | awk -v s="$2" '$1 == s { print $2 }'
}
check "no offence at the old node" "! metrics $old_port | grep -q '^provsync_peer_offences_total'"
check "no offence at the new node" "! metrics $new_port | grep -q '^provsync_peer_offences_total'"
check "no record refused at the old node" "! metrics $old_port | grep -q '^provsync_records_refused_total'"
check "no failed session at either node" "! (metrics $old_port; metrics $new_port) | grep -q 'sync_sessions_total{.*outcome=\"error\"}'"
check "old node: the 5 version-1 assertions, not the 3 evidence ones" '[ "$(count old assertions)" = 5 ]'
check "old node: the version-1 supersession, not the evidence one" '[ "$(count old supersessions)" = 1 ]'
check "new node: all 8 assertions and 2 supersessions" '[ "$(count new assertions)" = 8 ] && [ "$(count new supersessions)" = 2 ]'
metrics "$old_port" | grep '^provsync_sync_sessions_total' | sed 's/^/old  /'
