/**
 * What brings each node its last records after the run's last write: reads a `--trace=FILE` of the
 * simulation (packages/sim/src/trace.ts) and prints, per node that applied anything after the last
 * write, when (ms after it), from whom, and how (a push, or a session and its reason), then the
 * records applied after the last write summed by how they came. Used to find why a run converges
 * late after the heal (sync README, "Session 15 (gossip)").
 *
 *   npx tsx packages/sim/bench/trace-tail.ts /tmp/t.jsonl
 */
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

interface Line {
  t: number
  ev: string
  node?: string
  peer?: string
  reason?: string
  applied?: number
  inSession?: boolean
  eager?: string
  lazy?: string
  grafts?: number
}

interface Arrival {
  node: string
  peer: string
  atMs: number
  applied: number
  how: string
}

/** The reason of the session of `node` with `peer` that finished first at or after `t`. */
function sessionReason(sessions: readonly Line[], node: string, peer: string, t: number): string {
  const found = sessions.find((s) => s.node === node && s.peer === peer && s.t >= t)
  return found === undefined ? 'session (unfinished)' : `session:${found.reason}`
}

/** Every batch applied after the last write, with how it came. */
export function arrivalsAfterLastWrite(lines: readonly Line[]): { lastWrite: number; arrivals: Arrival[] } {
  const lastWrite = Math.max(...lines.filter((l) => l.ev === 'write').map((l) => l.t))
  const sessions = lines.filter((l) => l.ev === 'session').sort((a, b) => a.t - b.t)
  const arrivals = lines
    .filter((l) => l.ev === 'batch' && l.t > lastWrite)
    .map((l) => ({
      node: l.node ?? '?',
      peer: l.peer ?? '?',
      atMs: l.t - lastWrite,
      applied: l.applied ?? 0,
      how: l.inSession === true ? sessionReason(sessions, l.node ?? '', l.peer ?? '', l.t) : 'push',
    }))
  return { lastWrite, arrivals }
}

/**
 * The groups the eager push links split the nodes into, from one round of `links` lines (a link
 * counts if either end has it eager): more than one group means a cut tree, the smaller groups
 * getting nothing pushed from the rest.
 */
export function eagerGroups(round: readonly Line[]): string[][] {
  const parent = new Map<string, string>()
  const find = (n: string): string => {
    const p = parent.get(n) ?? n
    if (p === n) return n
    const root = find(p)
    parent.set(n, root)
    return root
  }
  for (const l of round) parent.set(l.node ?? '?', find(l.node ?? '?'))
  for (const l of round)
    for (const peer of (l.eager ?? '').split(' ').filter((p) => p.length > 0))
      parent.set(find(peer), find(l.node ?? '?'))
  const groups = new Map<string, string[]>()
  for (const node of parent.keys()) groups.set(find(node), [...(groups.get(find(node)) ?? []), node])
  return [...groups.values()].sort((a, b) => b.length - a.length)
}

/**
 * Links one end lists eager and the other lazy, from one round of `links` lines, as `a>b` (a
 * pushes to b, b does not push to a): a graft lost for want of a stream left one such link
 * for 1.2 s in a session-17 trace, and the node at its lazy end got the last write 2.6 s late.
 */
export function halfEagerLinks(round: readonly Line[]): string[] {
  const split = (s: string | undefined): string[] => (s ?? '').split(' ').filter((p) => p.length > 0)
  const eager = new Map(round.map((l) => [l.node ?? '?', new Set(split(l.eager))]))
  const lazy = new Map(round.map((l) => [l.node ?? '?', new Set(split(l.lazy))]))
  const half: string[] = []
  for (const [node, peers] of eager)
    for (const peer of peers) if (lazy.get(peer)?.has(node) === true) half.push(`${node}>${peer}`)
  return half.sort()
}

/** Per 500 ms round of `links` lines from `from` on: the groups smaller than the largest, and grafts so far. */
function cutsAfter(lines: readonly Line[], from: number): string[] {
  const rounds = new Map<number, Line[]>()
  for (const l of lines)
    if (l.ev === 'links' && l.t >= from) {
      const round = Math.floor((l.t - from) / 500)
      rounds.set(round, [...(rounds.get(round) ?? []), l])
    }
  return [...rounds.entries()]
    .sort(([a], [b]) => a - b)
    .map(([round, ls]) => {
      const cut = eagerGroups(ls).slice(1)
      const grafts = ls.reduce((sum, l) => sum + (l.grafts ?? 0), 0)
      const half = halfEagerLinks(ls)
      const groups = cut.length === 0 ? 'one tree' : cut.map((g) => `{${g.join(' ')}}`).join(' ')
      // Node threads write their links lines at their own phase: a round may hold only some nodes,
      // and then shows groups that are not cut (read only rounds of every node).
      const nodes = new Set(ls.map((l) => l.node)).size
      return `${round * 500} ms: ${groups} (${nodes} nodes; grafts ${grafts}; half-eager ${half.length}: ${half.join(' ')})`
    })
}

function main(path: string): void {
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Line)
  const { lastWrite, arrivals } = arrivalsAfterLastWrite(lines)
  const converged = lines.find((l) => l.ev === 'converged')
  console.log(`converged ${converged === undefined ? '?' : converged.t - lastWrite} ms after the last write`)
  const last = new Map<string, Arrival>()
  for (const a of arrivals) last.set(a.node, a)
  for (const a of [...last.values()].sort((x, y) => y.atMs - x.atMs))
    console.log(
      `${a.node.padEnd(4)} last at ${String(a.atMs).padStart(6)} ms from ${a.peer.padEnd(4)} ${a.how}`,
    )
  const byHow = new Map<string, { records: number; batches: number; lateRecords: number }>()
  for (const a of arrivals) {
    const sum = byHow.get(a.how) ?? { records: 0, batches: 0, lateRecords: 0 }
    sum.records += a.applied
    sum.batches++
    if (a.atMs > 2_000) sum.lateRecords += a.applied
    byHow.set(a.how, sum)
  }
  console.log('records applied after the last write, by how (later than 2 s in brackets):')
  for (const [how, sum] of byHow)
    console.log(`  ${how.padEnd(28)} ${sum.records} in ${sum.batches} (${sum.lateRecords})`)
  console.log('groups cut off from the push tree after the last write (every 500 ms):')
  for (const line of cutsAfter(lines, lastWrite)) console.log(`  ${line}`)
}

// Run as a script (not when a test imports the functions above).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const path = process.argv[2]
  if (path === undefined) {
    console.error('usage: trace-tail.ts TRACE.jsonl')
    process.exit(2)
  }
  main(path)
}
