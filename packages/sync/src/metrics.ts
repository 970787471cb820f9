import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Counter, Gauge, Registry } from 'prom-client'

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
}

export function createSyncMetrics(
  registry: Registry = new Registry(),
  lastSyncAgeSeconds: () => Map<string, number> = () => new Map(),
  blockedCount: () => number = () => 0,
): SyncMetrics {
  const registers = [registry]
  return {
    registry,
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
      help: 'Seconds since the last successful sync with each peer',
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
  close(): Promise<void>
}

/** Serves the registry at `/metrics` in the Prometheus text format. */
export async function serveMetrics(
  registry: Registry,
  port: number,
  host = '127.0.0.1',
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end()
      return
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
