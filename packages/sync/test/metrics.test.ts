import { readFileSync } from 'node:fs'
import type { ProvsyncNode } from '@provsync/sync'
import { QUIET_SYNC as quiet, stopAll, waitFor } from '@provsync/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { coordinate, generateSigner, startNode, tempDirs } from './helpers.js'

const dirs = tempDirs()
const nodes: ProvsyncNode[] = []
const operator = generateSigner()
const trust = [operator.publicKey]

afterEach(() => stopAll(nodes, dirs))

async function get(n: ProvsyncNode, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${n.metricsServer!.port}${path}`)
  return { status: res.status, text: await res.text() }
}

/** The value of one series in Prometheus text, undefined when absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.split(' ')[1])
}

describe('metrics endpoint over TCP', () => {
  it('serves the node figures operators graph, health and readiness', async () => {
    let ready = true
    const a = await startNode({
      dataDir: await dirs.make(),
      trust,
      sync: quiet,
      metricsPort: 0,
      readiness: () => (ready ? { ready: true } : { ready: false, reason: 'disk full\nsecond line' }),
    })
    nodes.push(a)
    expect(a.metricsServer?.host).toBe('127.0.0.1')
    a.state.advanceVerified(coordinate(1), 1n)
    a.state.advanceVerified(coordinate(2), 1n)
    await a.state.revocations.revoke(
      { subject: generateSigner().publicKey, subjectKind: 'signer', reason: 'test' },
      operator,
    )
    const { status, text } = await get(a, '/metrics')
    expect(status).toBe(200)
    expect(value(text, 'provsync_revocations_applied_total')).toBe(1)
    expect(value(text, 'provsync_invalidations_applied_total')).toBe(0)
    expect(value(text, 'provsync_entries_invalidated_total')).toBe(0)
    expect(value(text, 'provsync_ledger_sequence')).toBe(1)
    expect(value(text, 'provsync_store_records{store="assertions"}')).toBe(2)
    expect(value(text, 'provsync_store_records{store="revocations"}')).toBe(1)
    expect(value(text, 'provsync_view_coordinates')).toBe(2)

    expect(await get(a, '/healthz')).toEqual({ status: 200, text: 'ok\n' })
    expect(await get(a, '/readyz')).toEqual({ status: 200, text: 'ready\n' })
    ready = false
    expect(await get(a, '/readyz')).toEqual({ status: 503, text: 'not ready: disk full\n' })
  })

  it('drops a peer series when the peer disconnects', async () => {
    const a = await startNode({ dataDir: await dirs.make(), trust, sync: quiet, metricsPort: 0 })
    const b = await startNode({ dataDir: await dirs.make(), trust, sync: quiet })
    nodes.push(a, b)
    await a.dial(b.multiaddrs()[0]!)
    await a.sync.syncWith(b.peerId)
    const series = `provsync_last_sync_age_seconds{peer="${b.peerId}"}`
    expect(value((await get(a, '/metrics')).text, series)).toBeGreaterThanOrEqual(0)
    await b.stop()
    // The series goes once a learns of the disconnect (its topology's onDisconnect), within seconds.
    const gone = async () => value((await get(a, '/metrics')).text, series) === undefined
    await waitFor(gone, 'the series of a stopped peer to go', { timeoutMs: 10_000, intervalMs: 50 })
    expect(value((await get(a, '/metrics')).text, series)).toBeUndefined()
    // What peers() says of b stays: the series is bounded, the status is not the metric.
    expect(a.sync.peers().find((p) => p.peer === b.peerId.toString())?.lastSyncMs).toBeGreaterThan(0)
  })

  it('serves every series the Grafana dashboard in docs/ops queries', async () => {
    const a = await startNode({ dataDir: await dirs.make(), trust, sync: quiet, metricsPort: 0 })
    nodes.push(a)
    const dashboard = readFileSync(
      new URL('../../../docs/ops/grafana-dashboard.json', import.meta.url),
      'utf8',
    )
    // The artifact series come from @provsync/artifacts' service (packages/cli's artifacts-cli
    // test checks them on `provsync node`), not from sync's node.
    const queried = [...new Set(dashboard.match(/provsync_[a-z_]+/g) ?? [])].filter(
      (name) => !name.startsWith('provsync_artifact'),
    )
    expect(queried.length).toBeGreaterThan(8)
    const { text } = await get(a, '/metrics')
    const served = new Set([...text.matchAll(/^# TYPE (provsync_[a-z_]+) /gm)].map((m) => m[1]))
    const bases = (name: string) => [name, name.replace(/_(bucket|sum|count)$/, '')]
    expect(queried.filter((name) => !bases(name).some((b) => served.has(b)))).toEqual([])
  })
})
