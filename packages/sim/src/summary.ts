/** Builds the run's {@link SimReport} from what the cluster and the scenario measured. */
import { emptyPushStats, OFFENCE_REASONS, type PushStats } from '@provsync/sync'
import type { CheckResult, Refusal } from './checker.js'
import { STORES } from './checker.js'
import type { Cluster, NodeStats, Transport } from './cluster.js'
import type { FaultPlan } from './faults.js'
import type { LinkCounters, MemoryNetwork } from './links.js'
import type { AppliedEvent, EquivocationReport, Sample, SimReport } from './report.js'
import { type ProtocolBytes, sumProtocolBytes } from './traffic.js'

/** What the report needs of one honest node, as plain data (a node thread posts it as is). */
export interface ReportNode {
  readonly name: string
  readonly peerId: string
  readonly stats: NodeStats
  /** Bytes received by protocol. */
  readonly traffic: ProtocolBytes
  /** Push counters; undefined while the node is down. */
  readonly push: PushStats | undefined
}

/** Records and their bytes in one node's stores. */
export interface StoredRecords {
  readonly records: number
  readonly recordBytes: number
}

/** What the report needs of the memory network: bytes delivered per peer id, and the links' counters. */
export type ReportNetwork = Pick<MemoryNetwork, 'bytesReceived' | 'linkCounters'>

/** The cluster's nodes as the report reads them. */
export function reportNodes(cluster: Cluster): ReportNode[] {
  return cluster.nodes.map((n) => ({
    name: n.name,
    peerId: n.peerId.toString(),
    stats: n.stats,
    traffic: n.traffic.received(),
    push: n.node?.sync.pushStats(),
  }))
}

/** Several threads' networks as one: bytes per peer summed, link counters summed per link. */
export function mergedNetwork(
  parts: readonly { received: Record<string, number>; links: LinkCounters[] }[],
): ReportNetwork {
  const received = new Map<string, number>()
  const links = new Map<string, LinkCounters>()
  for (const part of parts) {
    for (const [peer, n] of Object.entries(part.received)) received.set(peer, (received.get(peer) ?? 0) + n)
    for (const c of part.links) {
      const key = c.peers.join(' ')
      const sum = links.get(key) ?? { peers: c.peers, chunks: 0, lost: 0, retransmitted: 0, resets: 0 }
      sum.chunks += c.chunks
      sum.lost += c.lost
      sum.retransmitted += c.retransmitted
      sum.resets += c.resets
      links.set(key, sum)
    }
  }
  return { bytesReceived: (peer) => received.get(peer) ?? 0, linkCounters: () => [...links.values()] }
}

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
  /** When the count that first saw equal roots came back (-1: never). */
  convergedSeenAtMs: number
  durationMs: number
  nodes: readonly ReportNode[]
  /** Records and bytes of the first running node (every honest node holds the same after convergence). */
  stored: StoredRecords
  memory: ReportNetwork | undefined
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

/** Time from the last heal (or the last write, if later) to `atMs`; -1 when `atMs` is. */
const afterHeal = (atMs: number, input: Pick<ReportInput, 'lastHeal' | 'writeMs'>): number =>
  atMs < 0 ? -1 : Math.max(0, atMs - Math.max(input.lastHeal, input.writeMs))

export function buildReport(input: ReportInput): SimReport {
  const { nodes, memory } = input
  const { records, recordBytes } = input.stored
  const perNode = perNodeTraffic(nodes, memory)
  const honestIn = Object.values(perNode).reduce((sum, t) => sum + t.bytesIn, 0)
  const syncIn = nodes.reduce((sum, n) => sum + n.stats.syncBytesIn, 0)
  const byProtocol = sumProtocolBytes(nodes.map((n) => n.traffic))
  const recordsPulled = nodes.reduce((sum, n) => sum + n.stats.recordsPulled, 0)
  const recordsApplied = nodes.reduce((sum, n) => sum + n.stats.recordsApplied, 0)
  const denominator = Math.max(1, records * (input.honest - 1))
  const tally = (filter: (r: Refusal) => boolean): Record<string, number> => {
    const out: Record<string, number> = {}
    for (const r of input.refusals.filter(filter)) out[r.reason] = (out[r.reason] ?? 0) + r.count
    return out
  }
  const honestPeers = new Set(nodes.map((n) => n.peerId))
  const links = lossyLinks(nodes, memory, input.names)
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
    convergeMsAfterHeal: afterHeal(input.convergedAtMs, input),
    convergeSeenMsAfterHeal: afterHeal(input.convergedSeenAtMs, input),
    durationMs: input.durationMs,
    rounds: nodes.reduce((sum, n) => sum + n.stats.rounds, 0),
    sessions: {
      ok: nodes.reduce((sum, n) => sum + n.stats.sessionsOk, 0),
      failed: nodes.reduce((sum, n) => sum + n.stats.sessionsFailed, 0),
      errors: nodes.reduce<Record<string, number>>((all, n) => {
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
    push: pushTotals(nodes),
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
function pushTotals(nodes: readonly ReportNode[]): PushStats {
  const total = emptyPushStats()
  for (const n of nodes) {
    const stats = n.push
    if (stats === undefined) continue
    for (const key of Object.keys(total) as (keyof PushStats)[]) total[key] += stats[key]
  }
  return total
}

/** Records and their bytes in the first running node's stores (every honest node holds the same after convergence). */
export function storedRecords(cluster: Cluster): StoredRecords {
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
function perNodeTraffic(nodes: readonly ReportNode[], memory: ReportNetwork | undefined) {
  return Object.fromEntries(
    nodes.map((n) => [
      n.name,
      {
        bytesIn: memory?.bytesReceived(n.peerId) ?? n.stats.syncBytesIn,
        bytesOut: n.stats.syncBytesOut,
        sessions: n.stats.sessionsOk + n.stats.sessionsFailed,
        rounds: n.stats.rounds,
      },
    ]),
  )
}

/** The in-memory links that lost chunks or were reset, named by their ends, sorted. */
function lossyLinks(
  nodes: readonly ReportNode[],
  memory: ReportNetwork | undefined,
  extraNames: ReadonlyMap<string, string> | undefined,
): SimReport['links'] {
  const names = new Map([...(extraNames ?? []), ...nodes.map((n) => [n.peerId, n.name] as const)])
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
