/**
 * Sums the calling thread's collections inside `apply-loop.ts`'s measured loop from a
 * `--trace-gc-nvp` log (issue #16, session 11):
 * `node --trace-gc-nvp --import tsx packages/crdt/bench/apply-loop.ts 15 > gc.log 2>&1`, then
 * `npx tsx packages/crdt/bench/gc-trace-sum.ts gc.log [records]` (records: batches × 1,000,
 * default 15,000). Only the first isolate's lines (the main thread; workers are other isolates)
 * after the "measured loop from N ms" line count. Prints, per record, the scavenges' pause,
 * the bytes they copied within the young generation (`new_space_survived`) and promoted to the
 * old one (`promoted`), the parallel helpers' scavenging time, and the mark-compacts' pause.
 */
import { readFileSync } from 'node:fs'

const [file, recordsArg] = process.argv.slice(2)
if (file === undefined) throw new Error('usage: gc-trace-sum.ts <trace-gc-nvp log> [records]')
const records = Number(recordsArg ?? 15_000)
const text = readFileSync(file, 'utf8')
const start = /measured loop from (\d+) ms/.exec(text)
if (start === null) throw new Error('no "measured loop from" line: run apply-loop.ts with this build')
const from = Number(start[1])

/** The name=value fields of one nvp line (the first of a repeated name). */
function fields(line: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const pair of line.split(' ')) {
    const at = pair.indexOf('=')
    if (at > 0 && !out.has(pair.slice(0, at))) out.set(pair.slice(0, at), pair.slice(at + 1))
  }
  return out
}

let main: string | undefined
const sum = { scavenges: 0, pause: 0, survived: 0, promoted: 0, background: 0, markCompacts: 0, mcPause: 0 }
for (const line of text.split('\n')) {
  const m = /^\[\d+:(0x[0-9a-f]+)\]\s+(\d+) ms: (.*)$/.exec(line)
  if (m === null) continue
  main ??= m[1]
  if (m[1] !== main || Number(m[2]) < from) continue
  const f = fields(m[3]!)
  const num = (name: string) => Number(f.get(name) ?? 0)
  if (f.get('gc') === 's') {
    sum.scavenges++
    sum.pause += num('pause')
    sum.survived += num('new_space_survived')
    sum.promoted += num('promoted')
    sum.background += num('background.scavenge.parallel')
  } else {
    sum.markCompacts++
    sum.mcPause += num('pause')
  }
}
const perRecord = (ms: number) => Number(((ms * 1000) / records).toFixed(1))
console.log(
  JSON.stringify({
    scavenges: sum.scavenges,
    scavenge_pause_us_per_record: perRecord(sum.pause),
    survived_bytes_per_record: Math.round(sum.survived / records),
    promoted_bytes_per_record: Math.round(sum.promoted / records),
    background_scavenge_us_per_record: perRecord(sum.background),
    mark_compacts: sum.markCompacts,
    mark_compact_pause_us_per_record: perRecord(sum.mcPause),
  }),
)
