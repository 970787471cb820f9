import { readFileSync } from 'node:fs'
import { get as httpGet } from 'node:http'
import { DEFAULT_READER_LIMITS } from '@provsync/crdt'
import { createResponder } from '@provsync/merkle'
import type { ProvsyncNode } from '@provsync/sync'
import { QUIET_SYNC as quiet, stopAll, waitFor } from '@provsync/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { coordinate, generateSigner, startNode, tempDirs } from './helpers.js'

const dirs = tempDirs()
const nodes: ProvsyncNode[] = []
const operator = generateSigner()
const trust = [operator.publicKey]

afterEach(() => {
  vi.useRealTimers()
  return stopAll(nodes, dirs)
})

async function get(n: ProvsyncNode, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${n.metricsServer!.port}${path}`)
  return { status: res.status, text: await res.text() }
}

/** As `get`, on a connection of its own (a kept-alive one may be closed while a test blocks the thread). */
function getFresh(n: ProvsyncNode, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port: n.metricsServer!.port, path, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        text += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
    }).on('error', reject)
  })
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

  it('gauges the oldest LMDB reader and warns on /readyz while one pins the file, until it is let go', async () => {
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true })
    const store = { noSync: true }
    const a = await startNode({ dataDir: await dirs.make(), trust, sync: quiet, metricsPort: 0, store })
    nodes.push(a)
    const lag = async () =>
      value((await getFresh(a, '/metrics')).text, 'provsync_lmdb_oldest_reader_lag_transactions')
    const held = async () =>
      value((await getFresh(a, '/metrics')).text, 'provsync_lmdb_oldest_reader_held_seconds')
    a.state.advanceVerified(coordinate(0), 1n)
    expect(await lag()).toBeLessThanOrEqual(1)
    expect(await getFresh(a, '/readyz')).toEqual({ status: 200, text: 'ready\n' })

    // A tree snapshot kept open (a merkle responder, as push's change feed kept one in session 15).
    const responder = createResponder(a.state.tree('supersessions'))
    for (let i = 1; i <= DEFAULT_READER_LIMITS.maxLagTxns + 20; i++)
      a.state.advanceVerified(coordinate(i % 20), BigInt(i + 1))
    expect(await lag()).toBeGreaterThan(DEFAULT_READER_LIMITS.maxLagTxns)
    expect(await getFresh(a, '/readyz')).toEqual({ status: 200, text: 'ready\n' }) // not held long yet
    vi.setSystemTime(Date.now() + DEFAULT_READER_LIMITS.maxHeldMs + 60_000)
    expect(await held()).toBeGreaterThan(DEFAULT_READER_LIMITS.maxHeldMs / 1000)
    const warned = await getFresh(a, '/readyz')
    expect(warned.status).toBe(200)
    expect(warned.text).toMatch(
      /^ready, warning: an LMDB read snapshot of transaction \d+ has been held for 6\.\d min, \d+ transactions behind: pages freed since are not reused and the data file grows\n$/,
    )

    responder.close()
    a.state.advanceVerified(coordinate(1), 5_000n)
    expect(await lag()).toBeLessThanOrEqual(1)
    expect(await getFresh(a, '/readyz')).toEqual({ status: 200, text: 'ready\n' })
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
