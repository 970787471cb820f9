/**
 * Sync over TCP + noise + yamux on loopback, two nodes in this process.
 * - local_apply_records_per_s: crdt's `apply` of the same records with no network, the ingest ceiling.
 * - verify_per_s: sodium-native's (the chosen implementation's) verifications per second on one
 *   thread, the baseline of full_sync_ratio as in the crdt suite; verify_pool_per_s: crdt's batch
 *   verifier with its worker threads, for comparison.
 * - raw_stream_mb_per_s: a plain libp2p stream between the same two nodes, the transport limit.
 * - full_sync_records_per_s: a fresh node pulling N signed records from one peer.
 * - stream_efficiency: bytes moved per second during that sync over the raw stream rate.
 * - full_sync_apply_share: the part of that sync spent inside `apply`; the rest is the sync layer.
 * - transfer_only_records_per_s / transfer_only_stream_efficiency: the same pull into a node whose
 *   `apply` discards what it gets, so only reconciliation, fetch and transport remain: the sync
 *   layer's own ceiling, to compare with local_apply_records_per_s.
 * - incremental_sync_ms / incremental_bytes: N on both sides, d = 100 differences.
 */
import {
  createBatchVerifier,
  decodeAssertion,
  generateSigner,
  type NodeState,
  openNodeState,
  signedMessage,
  verifySignature,
} from '@provsync/crdt'
import { createNode, type ProvsyncNode, type SyncedState } from '@provsync/sync'
import * as testing from '@provsync/testing'
import { rate, rateAsync, runSuite } from '../../../bench/lib.js'
import { framedStream } from '../src/framing.js'

const NETWORK = 'provsync-bench'
const RAW_PROTOCOL = '/provsync-bench/raw/1.0.0'

/** `count` assertions by a new signer, from coordinate `offset`. */
const signedAssertions = (count: number, offset: number): Uint8Array[] =>
  testing.signedAssertions(generateSigner(), count, { offset, networkId: NETWORK, method: 'bench' })

/** Applies in batches of 5,000 (one transaction each), as a pull would. */
const load = (state: NodeState, records: Uint8Array[], from: Uint8Array): Promise<void> =>
  testing.load(state, records, from, { batch: 5_000 })

/**
 * Verifications per second of the chosen implementation (sodium-native) on one thread, over the
 * records the sync moves: the baseline of full_sync_ratio, as in the crdt suite. The batch
 * verifier's rate with its worker threads is reported beside it.
 */
async function verifyRates(records: readonly Uint8Array[]): Promise<{ single: number; pooled: number }> {
  const items = records.slice(0, 1024).map((bytes) => ({
    publicKey: decodeAssertion(bytes, NETWORK).asserter,
    message: signedMessage('assertion', NETWORK, bytes),
    signature: bytes.subarray(bytes.length - 64),
  }))
  let next = 0
  const single = rate(
    () => {
      const item = items[next++ % items.length]!
      if (!verifySignature(item.publicKey, item.message, item.signature)) throw new Error('bad signature')
    },
    { minMs: 2000 },
  )
  const verifier = createBatchVerifier()
  try {
    const pooled = await rateAsync(
      async () => {
        await verifier.verify(items)
      },
      { batch: items.length, minMs: 2000 },
    )
    return { single, pooled }
  } finally {
    await verifier.close()
  }
}

/** MB/s of one plain libp2p stream from `from` to `to`, written with send/onDrain backpressure. */
async function rawStreamRate(from: ProvsyncNode, to: ProvsyncNode, totalBytes: number): Promise<number> {
  let resolveReceived: (bytes: number) => void = () => {}
  let rejectReceived: (err: unknown) => void = () => {}
  const received = new Promise<number>((resolve, reject) => {
    resolveReceived = resolve
    rejectReceived = reject
  })
  await to.libp2p.handle(RAW_PROTOCOL, async (stream) => {
    try {
      let bytes = 0
      for await (const data of stream) bytes += data.byteLength
      await stream.close()
      resolveReceived(bytes)
    } catch (err) {
      rejectReceived(err)
    }
  })
  const chunk = new Uint8Array(60_000)
  const connection = from.libp2p.getConnections(to.peerId)[0] ?? (await from.libp2p.dial(to.multiaddrs()[0]!))
  const stream = await connection.newStream(RAW_PROTOCOL)
  const start = performance.now()
  const writer = framedStream(stream, { maxFrameBytes: chunk.byteLength })
  for (let sent = 0; sent < totalBytes; sent += chunk.byteLength) await writer.write(chunk)
  await stream.close()
  const bytes = await received
  return bytes / 1e6 / ((performance.now() - start) / 1000)
}

/**
 * Pulls everything `source` holds into a node whose `apply` accepts and discards, so the time is
 * the sync layer's alone (reconciliation against an empty tree, fetch pipeline, transport).
 * Returns records/s and bytes received.
 */
async function transferOnly(
  source: ProvsyncNode,
  dataDir: string,
): Promise<{ perSecond: number; bytes: number }> {
  const state = await openNodeState({ dataDir, networkId: NETWORK, trust: [] })
  const sink: SyncedState = {
    networkId: state.networkId,
    publicKey: state.publicKey,
    tree: (store) => state.tree(store),
    getRecords: (store, keys) => state.getRecords(store, keys),
    apply: async (_store, records) => records.map(() => ({ status: 'applied' as const })),
    onChange: (listener) => state.onChange(listener),
  }
  const libp2p = await testing.createLibp2pWithProvsync({ state: sink, trust: [], ...testing.QUIET_SYNC })
  try {
    await libp2p.dial(source.multiaddrs()[0]!)
    const t0 = performance.now()
    const report = await libp2p.services.provsync.syncWith(source.peerId)
    const seconds = (performance.now() - t0) / 1000
    if (report.pulled !== source.state.tree('assertions').count()) throw new Error('transfer was incomplete')
    return { perSecond: report.pulled / seconds, bytes: report.bytesIn }
  } finally {
    await libp2p.stop()
    await state.close()
  }
}

await runSuite('sync', async (ctx) => {
  const n = ctx.quick ? 10_000 : 100_000
  const d = 100
  const dirs = new testing.TempDirs('provsync-bench-')
  const nodes: ProvsyncNode[] = []
  const start = async (): Promise<ProvsyncNode> => {
    const dataDir = await dirs.make()
    const node = await createNode({
      dataDir,
      networkId: NETWORK,
      trust: [],
      listen: ['/ip4/127.0.0.1/tcp/0'],
      sync: testing.QUIET_SYNC,
    })
    nodes.push(node)
    return node
  }
  try {
    const source = await start()
    const fresh = await start()
    const records = signedAssertions(n, 0)
    const loadStart = performance.now()
    await load(source.state, records, generateSigner().publicKey)
    // crdt's own ingest rate (verify + LMDB + tree) with no network: the ceiling of any pull.
    const localApply = n / ((performance.now() - loadStart) / 1000)
    ctx.record('local_apply_records_per_s', localApply, 'records/s')
    await fresh.dial(source.multiaddrs()[0]!)

    const raw = await rawStreamRate(source, fresh, ctx.quick ? 64e6 : 256e6)
    ctx.record('raw_stream_mb_per_s', raw, 'MB/s')

    // Measured next to the sync it is the baseline of, so both see the same machine.
    const verify = await verifyRates(records)
    ctx.record('verify_per_s', verify.single, 'signatures/s (one thread)')
    ctx.record('verify_pool_per_s', verify.pooled, 'signatures/s (batch verifier, all threads)')

    const t0 = performance.now()
    const full = await fresh.sync.syncWith(source.peerId)
    const fullSeconds = (performance.now() - t0) / 1000
    if (fresh.state.tree('assertions').count() !== n) throw new Error('full sync did not converge')
    const recordsPerSecond = full.applied / fullSeconds
    ctx.record('full_sync_records_per_s', recordsPerSecond, 'records/s')
    ctx.record('full_sync_ratio', recordsPerSecond / verify.single, 'x verify_per_s (target >= 0.7)')
    ctx.record('full_sync_mb', full.bytesIn / 1e6, 'MB')
    ctx.record('full_sync_apply_share', full.applyMs / 1000 / fullSeconds, 'of the sync spent in apply')
    ctx.record('full_sync_over_local_apply', recordsPerSecond / localApply, 'x local_apply_records_per_s')
    ctx.record('stream_efficiency', full.bytesIn / 1e6 / fullSeconds / raw, 'x raw stream (aim >= 0.5)')

    const transferDir = await dirs.make()
    const transfer = await transferOnly(source, transferDir)
    ctx.record('transfer_only_records_per_s', transfer.perSecond, 'records/s')
    ctx.record(
      'transfer_only_stream_efficiency',
      ((transfer.bytes / 1e6) * (transfer.perSecond / n)) / raw,
      'x raw stream',
    )

    const extra = signedAssertions(d, n)
    await load(source.state, extra.slice(0, d / 2), generateSigner().publicKey)
    await load(fresh.state, extra.slice(d / 2), generateSigner().publicKey)
    const t1 = performance.now()
    const incremental = await fresh.sync.syncWith(source.peerId)
    ctx.record('incremental_sync_ms', performance.now() - t1, 'ms')
    ctx.record('incremental_bytes', incremental.bytesIn + incremental.bytesOut, 'bytes')
    ctx.record('incremental_rounds', incremental.rounds, 'round trips')
    const same =
      Buffer.compare(fresh.state.tree('assertions').root(), source.state.tree('assertions').root()) === 0
    if (!same) throw new Error('incremental sync did not converge')
  } finally {
    await Promise.allSettled(nodes.map((node) => node.stop()))
    await dirs.cleanup()
  }
})
