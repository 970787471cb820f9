/** Builds the run's {@link SimReport} from what the cluster and the scenario measured. */
import { emptyPushStats, OFFENCE_REASONS, type PushStats } from '@provsync/sync'
import type { CheckResult, Refusal } from './checker.js'
import { STORES } from './checker.js'
import type { Cluster, Transport } from './cluster.js'
import type { FaultPlan } from './faults.js'
import type { MemoryNetwork } from './links.js'
import type { AppliedEvent, EquivocationReport, Sample, SimReport } from './report.js'
import { sumProtocolBytes } from './traffic.js'

export interface ReportInput {
  name: string
  seed: string
  transport: Transport
  honest: number
  byzCount: number
  ops: number
  acknowledged: number
  writeMs: number
  lastHeal: number
  convergedAtMs: number
  durationMs: number
  cluster: Cluster
  memory: MemoryNetwork | undefined
  refusals: readonly Refusal[]
  plan: FaultPlan
  events: AppliedEvent[]
  samples: Sample[]
  check: CheckResult
  loopDelay: SimReport['eventLoopDelayMs']
  equivocations?: readonly EquivocationReport[]
  /** Names for peer ids that are not cluster nodes (the Byzantine peers). */
  names?: ReadonlyMap<string, string>
}

export function buildReport(input: ReportInput): SimReport {
  const { cluster, memory } = input
  const { records, recordBytes } = storedRecords(cluster)
  const perNode = perNodeTraffic(cluster, memory)
  const honestIn = Object.values(perNode).reduce((sum, t) => sum + t.bytesIn, 0)
  const syncIn = cluster.nodes.reduce((sum, n) => sum + n.stats.syncBytesIn, 0)
  const byProtocol = sumProtocolBytes(cluster.nodes.map((n) => n.traffic.received()))
  const recordsPulled = cluster.nodes.reduce((sum, n) => sum + n.stats.recordsPulled, 0)
  const recordsApplied = cluster.nodes.reduce((sum, n) => sum + n.stats.recordsApplied, 0)
  const denominator = Math.max(1, records * (input.honest - 1))
  const tally = (filter: (r: Refusal) => boolean): Record<string, number> => {
    const out: Record<string, number> = {}
    for (const r of input.refusals.filter(filter)) out[r.reason] = (out[r.reason] ?? 0) + r.count
    return out
  }
  const honestPeers = new Set(cluster.nodes.map((n) => n.peerId.toString()))
  const links = lossyLinks(cluster, memory, input.names)
  // Sync's offence reasons, less 'wrong-network': a record refusal shares that word and the
  // tally cannot tell the two apart, so it counts as a refusal.
  const offenceReasons = new Set<string>(OFFENCE_REASONS.filter((r) => r !== 'wrong-network'))
  return {
    scenario: input.name,
    seed: input.seed,
    transport: input.transport,
    nodes: { honest: input.honest, byzantine: input.byzCount },
    workload: {
      operations: input.ops,
      acknowledged: input.acknowledged,
      recordsPerSecond: input.writeMs > 0 ? (input.acknowledged * 1000) / input.writeMs : 0,
      writeMs: input.writeMs,
    },
    lastHealMs: input.lastHeal,
    convergedAtMs: input.convergedAtMs,
    convergeMsAfterHeal:
      input.convergedAtMs < 0
        ? -1
        : Math.max(0, input.convergedAtMs - Math.max(input.lastHeal, input.writeMs)),
    durationMs: input.durationMs,
    rounds: cluster.nodes.reduce((sum, n) => sum + n.stats.rounds, 0),
    sessions: {
      ok: cluster.nodes.reduce((sum, n) => sum + n.stats.sessionsOk, 0),
      failed: cluster.nodes.reduce((sum, n) => sum + n.stats.sessionsFailed, 0),
      errors: cluster.nodes.reduce<Record<string, number>>((all, n) => {
        for (const [key, count] of Object.entries(n.stats.errors)) all[key] = (all[key] ?? 0) + count
        return all
      }, {}),
    },
    bytes: {
      totalIn: honestIn,
      syncIn,
      perNode,
      perRecordPerNode: honestIn / denominator,
      syncPerRecordPerNode: syncIn / denominator,
      byProtocol,
      meanRecordBytes: records === 0 ? 0 : recordBytes / records,
    },
    pulls: { records: recordsPulled, applied: recordsApplied, perRecordPerNode: recordsPulled / denominator },
    push: pushTotals(cluster),
    refusals: tally((r) => !offenceReasons.has(r.reason)),
    offences: tally((r) => offenceReasons.has(r.reason)),
    blamedHonest: tally((r) => honestPeers.has(r.peer)),
    links,
    equivocations: input.equivocations ?? [],
    faults: input.plan,
    events: input.events,
    timeline: input.samples,
    eventLoopDelayMs: input.loopDelay,
    check: input.check,
  }
}

/** Every running node's push counters, summed. */
function pushTotals(cluster: Cluster): PushStats {
  const total = emptyPushStats()
  for (const n of cluster.nodes) {
    const stats = n.node?.sync.pushStats()
    if (stats === undefined) continue
    for (const key of Object.keys(total) as (keyof PushStats)[]) total[key] += stats[key]
  }
  return total
}

/** Records and their bytes in the first running node's stores (every honest node holds the same after convergence). */
function storedRecords(cluster: Cluster): { records: number; recordBytes: number } {
  const reference = cluster.nodes.find((n) => n.node !== undefined)?.node?.state
  let records = 0
  let recordBytes = 0
  if (reference !== undefined) {
    for (const store of STORES) {
      const keys = [...reference.tree(store).leaves()].map((l) => l.key)
      records += keys.length
      for (const bytes of reference.getRecords(store, keys)) recordBytes += bytes?.length ?? 0
    }
  }
  return { records, recordBytes }
}

/** Each node's sync traffic, sessions and rounds, by node name. */
function perNodeTraffic(cluster: Cluster, memory: MemoryNetwork | undefined) {
  return Object.fromEntries(
    cluster.nodes.map((n) => [
      n.name,
      {
        bytesIn: memory?.bytesReceived(n.peerId.toString()) ?? n.stats.syncBytesIn,
        bytesOut: n.stats.syncBytesOut,
        sessions: n.stats.sessionsOk + n.stats.sessionsFailed,
        rounds: n.stats.rounds,
      },
    ]),
  )
}

/** The in-memory links that lost chunks or were reset, named by their ends, sorted. */
function lossyLinks(
  cluster: Cluster,
  memory: MemoryNetwork | undefined,
  extraNames: ReadonlyMap<string, string> | undefined,
): SimReport['links'] {
  const names = new Map([
    ...(extraNames ?? []),
    ...cluster.nodes.map((n) => [n.peerId.toString(), n.name] as const),
  ])
  const nameOf = (peer: string): string => names.get(peer) ?? peer
  return (memory?.linkCounters() ?? [])
    .filter((c) => c.lost > 0 || c.resets > 0)
    .map((c) => ({
      link: c.peers.map(nameOf).sort().join('-'),
      chunks: c.chunks,
      lost: c.lost,
      retransmitted: c.retransmitted,
      resets: c.resets,
    }))
    .sort((a, b) => a.link.localeCompare(b.link))
}
