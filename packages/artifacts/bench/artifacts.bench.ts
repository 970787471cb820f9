import { rmSync } from 'node:fs'
import { loadavg } from 'node:os'
import { type ArtifactStore, createDecisionCache, DECISION_FAMILY } from '@provsync/artifacts'
import { perRecord, timeAlternating } from '@provsync/testing'
import { rate, runSuite } from '../../../bench/lib.js'
import {
  applyBatches,
  artifacts,
  BATCH,
  nodeKey,
  openBenchStore,
  publisher,
  rawDecisionCopy,
  verifyBaseline,
} from './fixtures.js'
import { publishToAll, scopedSessionBytes } from './sync-bench.js'

async function withStore<T>(
  body: (store: ArtifactStore, dir: string) => Promise<T>,
  noSync = false,
): Promise<T> {
  const { store, dir } = await openBenchStore(noSync)
  try {
    return await body(store, dir)
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Apply batches of new artifacts, alternating with single-thread verification of as many signatures. */
async function measureApply(store: ArtifactStore, batches: number) {
  const pending = applyBatches(batches)
  await store.apply(pending[0]!, { from: nodeKey })
  const verify = verifyBaseline(pending[0]![0]!)
  const times = await timeAlternating(
    pending.slice(1),
    async (batch) => {
      const outcomes = await store.apply(batch, { from: nodeKey })
      if (outcomes.some((o) => o.status !== 'applied'))
        throw new Error(`bench batch not applied: ${outcomes[0]?.reason}`)
    },
    () => verify(BATCH),
  )
  return perRecord(times, batches * BATCH)
}

await runSuite('artifacts', async (ctx) => {
  const batches = ctx.quick ? 4 : 20
  const minMs = ctx.quick ? 300 : 1500
  // Without the fsync of each commit: what the pipeline itself costs (the durable figure counts).
  await withStore(async (store) => {
    const { applyRate, verifyRate } = await measureApply(store, batches)
    ctx.record('artifact_apply_per_s_nosync', Math.round(applyRate), 'artifacts/s')
    ctx.record('artifact_apply_verify_ratio_nosync', applyRate / verifyRate, 'ratio')
  }, true)
  await withStore(async (store) => {
    const { applyRate, verifyRate, applyCpuUs, verifyCpuUs } = await measureApply(store, batches)
    ctx.record('artifact_apply_per_s', Math.round(applyRate), 'artifacts/s')
    // CPU time (all threads) is far less sensitive than wall time to other processes on the machine.
    ctx.record('apply_cpu_us_per_artifact', applyCpuUs, 'µs')
    ctx.record('verify_cpu_us', verifyCpuUs, 'µs')
    ctx.record('ed25519_verify_per_s', Math.round(verifyRate), 'verifies/s')
    ctx.record('artifact_apply_verify_ratio', applyRate / verifyRate, 'ratio')
    ctx.record('load_average_1m', loadavg()[0]!, 'runnable')
  })

  // `--only=apply`: the apply figures alone (to compare two versions of the apply path quickly).
  if (ctx.args.includes('--only=apply')) return

  // Decision cache hits against raw lmdb-js gets of the same keys and values, in the same run.
  const keys = ctx.quick ? 2_000 : 20_000
  await withStore(async (store, dir) => {
    const expiresAt = Date.now() + 3_600_000
    for (let start = 0; start < keys; start += BATCH) {
      const batch = artifacts(publisher, DECISION_FAMILY, start, Math.min(BATCH, keys - start), { expiresAt })
      await store.apply(batch, { from: nodeKey })
    }
    const cache = createDecisionCache({ store, signer: publisher, scope: 'bench/s0' })
    const names = Array.from({ length: keys / 4 }, (_, i) => `item-${i * 4}`)
    const { raw, rawKeys } = await rawDecisionCopy(dir, store, names)
    let i = 0
    let j = 0
    let hitRate = 0
    let rawRate = 0
    for (let round = 0; round < 3; round++) {
      hitRate += rate(
        () => {
          if (cache.get(names[(i = (i + 7919) % names.length)]!).status !== 'hit') throw new Error('miss')
        },
        { minMs: minMs / 3 },
      )
      rawRate += rate(
        () => {
          if (raw.get(rawKeys[(j = (j + 7919) % rawKeys.length)]!) === undefined) throw new Error('missing')
        },
        { minMs: minMs / 3 },
      )
    }
    await raw.close()
    ctx.record('decision_get_per_s', Math.round(hitRate / 3), 'gets/s')
    ctx.record('lmdb_raw_gets_per_s', Math.round(rawRate / 3), 'gets/s')
    ctx.record('decision_get_ratio', hitRate / rawRate, 'ratio')
  }, true)

  // Scoped replication: bytes of a session over the same session when only the shared scope
  // exists. `--scopes N --per-scope M` size it (the figure: 100 scopes of 10,000).
  // `--per-scope=200` passes through `npm run bench` (its runner forwards only `--` words);
  // `--per-scope 200` works when the suite file is run directly.
  const arg = (name: string, fallback: number) => {
    const joined = ctx.args.find((a) => a.startsWith(`${name}=`))
    if (joined !== undefined) return Number(joined.slice(name.length + 1))
    const i = ctx.args.indexOf(name)
    return i >= 0 ? Number(ctx.args[i + 1]) : fallback
  }
  const scopes = arg('--scopes', 100)
  const perScope = arg('--per-scope', ctx.quick ? 200 : 10_000)
  const session = await scopedSessionBytes(scopes, perScope, 10)
  ctx.record('scoped_session_bytes', session.withAll, 'bytes')
  ctx.record('single_scope_session_bytes', session.alone, 'bytes')
  ctx.record('scoped_reconcile_bytes_ratio', session.withAll / session.alone, 'ratio')
  ctx.record('scoped_artifacts_per_scope', perScope, 'artifacts')
  ctx.record('scoped_scopes', scopes, 'scopes')
  const publishing = await publishToAll(8, ctx.quick ? 5 : 30)
  ctx.record('publish_to_all_ms', publishing.median, 'ms')
  ctx.record('publish_to_all_mean_ms', publishing.mean, 'ms')
})
