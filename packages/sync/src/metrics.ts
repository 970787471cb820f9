import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type ReaderLimits, readerWarning } from '@provsync/crdt'
import { Counter, Gauge, Registry } from 'prom-client'
import { AddressInUseError } from './errors.js'
import type { StoreName, SyncedState } from './state.js'

/** The sync layer's Prometheus metrics, in a registry of their own so several nodes share a process. */
export interface SyncMetrics {
  readonly registry: Registry
  sessions: Counter<'direction' | 'outcome'>
  rounds: Counter<'store'>
  bytes: Counter<'direction'>
  recordsPulled: Counter<'store'>
  recordsApplied: Counter<'store'>
  recordsRefused: Counter<'store' | 'reason'>
  offences: Counter<'reason'>
  blockedPeers: Gauge
  announcements: Counter<'outcome'>
  lastSyncAge: Gauge<'peer'>
  revocationsApplied: Counter
  invalidationsApplied: Counter
  entriesInvalidated: Counter
  ledgerSequence: Gauge
  storeRecords: Gauge<'store'>
  viewCoordinates: Gauge
  /** Transactions committed since the oldest LMDB read snapshot (0 without one). */
  oldestReaderLag: Gauge
  /** Seconds the checks have seen that snapshot held. */
  oldestReaderHeld: Gauge
}

/** What the metrics read from the node when scraped. */
export interface MetricSources {
  /** Seconds since the last sync, per peer: only the peers that should have a series. */
  lastSyncAgeSeconds(): Map<string, number>
  blockedCount(): number
  state?: SyncedState
  stores?: readonly StoreName[]
}

/** Sets a counter to a running total kept elsewhere (the ledger's), so it never goes down by itself. */
function totalCounter(
  name: string,
  help: string,
  registers: Registry[],
  total: () => number | undefined,
): Counter {
  return new Counter({
    name,
    help,
    registers,
    collect() {
      const value = total()
      if (value === undefined) return
      this.reset()
      this.inc(value)
    },
  })
}

function stateMetrics(registers: Registry[], sources: MetricSources) {
  const { state } = sources
  const totals = () => state?.ledger?.totals()
  return {
    revocationsApplied: totalCounter(
      'provsync_revocations_applied_total',
      'Revocations this node applied (its ledger)',
      registers,
      () => totals()?.revocations,
    ),
    invalidationsApplied: totalCounter(
      'provsync_invalidations_applied_total',
      'Invalidations by criteria this node applied (its ledger)',
      registers,
      () => totals()?.invalidations,
    ),
    entriesInvalidated: totalCounter(
      'provsync_entries_invalidated_total',
      'Entries revocations and invalidations took out of force',
      registers,
      () => totals()?.invalidated,
    ),
    ledgerSequence: new Gauge({
      name: 'provsync_ledger_sequence',
      help: 'Latest sequence number of the revocation ledger',
      registers,
      collect() {
        if (state?.ledger !== undefined) this.set(state.ledger.latestSeq())
      },
    }),
    storeRecords: new Gauge({
      name: 'provsync_store_records',
      help: 'Records in each store (its Merkle tree)',
      labelNames: ['store'],
      registers,
      collect() {
        for (const store of sources.stores ?? []) {
          if (state !== undefined) this.set({ store }, state.tree(store).count())
        }
      },
    }),
    viewCoordinates: new Gauge({
      name: 'provsync_view_coordinates',
      help: 'Coordinates with a component in the durability view',
      registers,
      collect() {
        if (state?.view !== undefined) this.set(state.view.count())
      },
    }),
    ...readerMetrics(registers, state),
  }
}

/**
 * The oldest LMDB reader (crdt's `readerHealth`, a read of LMDB's reader table, 12-20 µs): checked
 * per scrape, once for both gauges (the second reads the first's result), never per write.
 */
function readerMetrics(registers: Registry[], state: SyncedState | undefined) {
  let last: ReturnType<NonNullable<SyncedState['readerHealth']>> | undefined
  return {
    oldestReaderLag: new Gauge({
      name: 'provsync_lmdb_oldest_reader_lag_transactions',
      help: 'Transactions committed since the oldest LMDB read snapshot; one held for long keeps the data file growing',
      registers,
      collect() {
        last = state?.readerHealth?.()
        if (last !== undefined) this.set(last.oldestLagTxns)
      },
    }),
    oldestReaderHeld: new Gauge({
      name: 'provsync_lmdb_oldest_reader_held_seconds',
      help: 'Seconds the oldest LMDB read snapshot has been seen held',
      registers,
      collect() {
        const health = last ?? state?.readerHealth?.()
        last = undefined
        if (health !== undefined) this.set(health.oldestHeldMs / 1000)
      },
    }),
  }
}

/**
 * `readiness` with a warning when the state's oldest LMDB reader is past `limits` (crdt's
 * `readerWarning`, default 1,000 transactions for 5 minutes): still ready (reads and writes work),
 * but `/readyz` names the cause in one line before the data file has grown much.
 */
export function withReaderWarning(
  readiness: Readiness,
  state: Pick<SyncedState, 'readerHealth'>,
  limits?: ReaderLimits,
): Readiness {
  if (!readiness.ready || state.readerHealth === undefined) return readiness
  const warning = readerWarning(state.readerHealth(), limits)
  return warning === undefined ? readiness : { ...readiness, warning }
}

export function createSyncMetrics(
  registry: Registry = new Registry(),
  sources: MetricSources = { lastSyncAgeSeconds: () => new Map(), blockedCount: () => 0 },
): SyncMetrics {
  const { lastSyncAgeSeconds, blockedCount } = sources
  const registers = [registry]
  return {
    registry,
    ...stateMetrics(registers, sources),
    sessions: new Counter({
      name: 'provsync_sync_sessions_total',
      help: 'Sync sessions by direction and outcome',
      labelNames: ['direction', 'outcome'],
      registers,
    }),
    rounds: new Counter({
      name: 'provsync_sync_rounds_total',
      help: 'Reconciliation round trips',
      labelNames: ['store'],
      registers,
    }),
    bytes: new Counter({
      name: 'provsync_sync_bytes_total',
      help: 'Bytes moved on provsync streams',
      labelNames: ['direction'],
      registers,
    }),
    recordsPulled: new Counter({
      name: 'provsync_records_pulled_total',
      help: 'Records received from peers',
      labelNames: ['store'],
      registers,
    }),
    recordsApplied: new Counter({
      name: 'provsync_records_applied_total',
      help: 'Pulled records that changed the store',
      labelNames: ['store'],
      registers,
    }),
    recordsRefused: new Counter({
      name: 'provsync_records_refused_total',
      help: 'Pulled records refused, by reason',
      labelNames: ['store', 'reason'],
      registers,
    }),
    offences: new Counter({
      name: 'provsync_peer_offences_total',
      help: 'Peer offences by reason',
      labelNames: ['reason'],
      registers,
    }),
    blockedPeers: new Gauge({
      name: 'provsync_blocked_peers',
      help: 'Peers currently blocked',
      registers,
      collect() {
        this.set(blockedCount())
      },
    }),
    announcements: new Counter({
      name: 'provsync_announcements_total',
      help: 'Head announcements sent and received, by outcome',
      labelNames: ['outcome'],
      registers,
    }),
    lastSyncAge: new Gauge({
      name: 'provsync_last_sync_age_seconds',
      help: 'Seconds since the last successful sync with each connected peer (series bounded)',
      labelNames: ['peer'],
      registers,
      collect() {
        this.reset()
        for (const [peer, age] of lastSyncAgeSeconds()) this.set({ peer }, age)
      },
    }),
  }
}

export interface MetricsServer {
  readonly port: number
  readonly host: string
  close(): Promise<void>
}

/**
 * Whether the node can do its work: `reason` is one line, served with a 503 when not ready; a
 * ready node may carry a one-line `warning` (served with the 200).
 */
export type Readiness = { ready: true; warning?: string } | { ready: false; reason: string }

export interface ServeMetricsOptions {
  /**
   * Address to bind.
   *
   * @default '127.0.0.1'
   */
  host?: string
  /**
   * Answers `/readyz`: 200 when ready, 503 with the reason otherwise.
   *
   * @default always ready
   */
  readiness?: () => Readiness | Promise<Readiness>
}

async function answer(registry: Registry, url: string | undefined, options: ServeMetricsOptions) {
  const path = (url ?? '').split('?')[0]
  if (path === '/metrics') {
    return { status: 200, type: registry.contentType, body: await registry.metrics() }
  }
  if (path === '/healthz') return { status: 200, type: 'text/plain', body: 'ok\n' }
  if (path === '/readyz') {
    const state = (await options.readiness?.()) ?? { ready: true }
    const line = !state.ready
      ? `not ready: ${state.reason.split('\n')[0]}`
      : state.warning === undefined
        ? 'ready'
        : `ready, warning: ${state.warning.split('\n')[0]}`
    return { status: state.ready ? 200 : 503, type: 'text/plain', body: `${line}\n` }
  }
  return { status: 404, type: 'text/plain', body: 'not found\n' }
}

/**
 * Serves the registry at `/metrics` in the Prometheus text format, `/healthz` (the process
 * answers: 200) and `/readyz` (200 when `readiness` says so, else 503 and its reason).
 */
export async function serveMetrics(
  registry: Registry,
  port: number,
  options: ServeMetricsOptions = {},
): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1'
  const server: Server = createServer((req, res) => {
    answer(registry, req.url, options).then(
      ({ status, type, body }) => res.writeHead(status, { 'content-type': type }).end(body),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new AddressInUseError(`${host}:${port}`, { cause: err }) : err),
    )
    server.listen(port, host, () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    host,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
