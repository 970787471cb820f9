import { createPublicKey, verify as nodeVerify } from 'node:crypto'
import { rmSync } from 'node:fs'
import { loadavg } from 'node:os'
import { ed25519 } from '@noble/curves/ed25519.js'
import { generateSigner, type NodeState, openNodeState, signedMessage, verifySignature } from '@provsync/crdt'
import { perRecord, tempDir, timeAlternating } from '@provsync/testing'
import { rate, runSuite, timeMs } from '../../../bench/lib.js'
import { BATCH, coordinate, NETWORK, signBatch } from './batches.js'

async function withState<T>(body: (state: NodeState, dir: string) => Promise<T>, options = {}): Promise<T> {
  const dir = tempDir('provsync-bench-')
  const operator = generateSigner()
  const state = await openNodeState({
    dataDir: dir,
    networkId: NETWORK,
    trust: [operator.publicKey],
    ...options,
  })
  try {
    return await body(state, dir)
  } finally {
    await state.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await runSuite('crdt', async (ctx) => {
  // Verification: the three implementations side by side on one signed assertion.
  const signer = generateSigner()
  const sample = signBatch(signer, 0, 1, 1n)[0]!
  const message = signedMessage('assertion', NETWORK, sample)
  const signature = sample.subarray(sample.length - 64)
  const minMs = ctx.quick ? 300 : 1500
  const sodiumRate = rate(
    () => {
      if (!verifySignature(signer.publicKey, message, signature)) throw new Error('bad')
    },
    { minMs },
  )
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), signer.publicKey])
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' })
  const nodeRate = rate(
    () => {
      if (!nodeVerify(null, message, key, signature)) throw new Error('bad')
    },
    { minMs },
  )
  const nobleRate = rate(
    () => {
      if (!ed25519.verify(signature, message, signer.publicKey)) throw new Error('bad')
    },
    { minMs: ctx.quick ? 200 : 600 },
  )
  ctx.record('verify_sodium_native_per_s', Math.round(sodiumRate), 'verifies/s')
  ctx.record('verify_node_crypto_per_s', Math.round(nodeRate), 'verifies/s')
  ctx.record('verify_noble_per_s', Math.round(nobleRate), 'verifies/s')

  // Apply: batches of 1,000 signed assertions, each batch new records, into a growing store.
  const batches = ctx.quick ? 4 : 20
  const signers = Array.from({ length: 4 }, () => generateSigner())
  const pending = Array.from({ length: batches + 2 }, (_, b) =>
    signBatch(signers[b % signers.length]!, b * BATCH, BATCH, BigInt(b + 1)),
  )
  /**
   * Apply and single-thread verification alternate, batch by batch, so both see the same machine
   * (other processes come and go) and the ratio compares like with like.
   */
  async function measureApply(state: NodeState) {
    for (const batch of pending.slice(0, 2))
      await state.apply('assertions', batch, { from: signers[0]!.publicKey })
    const times = await timeAlternating(
      pending.slice(2),
      async (batch) => {
        const outcomes = await state.apply('assertions', batch, { from: signers[1]!.publicKey })
        if (outcomes.some((o) => o.status !== 'applied')) throw new Error('bench batch not applied')
      },
      () => {
        for (let i = 0; i < BATCH; i++) {
          if (!verifySignature(signer.publicKey, message, signature)) throw new Error('bad')
        }
      },
    )
    return perRecord(times, batches * BATCH)
  }

  /**
   * The same batches as a pipelining caller feeds them (the sync layer's pull): each batch's
   * signatures start verifying on the pool (`verifyRecords`) before the batch ahead of it is
   * applied (`applyVerified`), so the workers verify while this thread applies and flushes. Timed
   * whole, between two single-thread verification runs of the same count (their mean is the
   * baseline), since the workers' verification of the next batch would spill into an alternated
   * verification.
   */
  async function measurePipelined(state: NodeState) {
    for (const batch of pending.slice(0, 2))
      await state.apply('assertions', batch, { from: signers[0]!.publicKey })
    const verifyAll = () => {
      const t0 = performance.now()
      for (let i = 0; i < batches * BATCH; i++) {
        if (!verifySignature(signer.publicKey, message, signature)) throw new Error('bad')
      }
      return performance.now() - t0
    }
    const verifyBefore = verifyAll()
    const t0 = performance.now()
    const cpu0 = process.cpuUsage()
    let ahead = state.verifyRecords('assertions', pending[2]!)
    for (const batch of [...pending.slice(3), undefined]) {
      const current = ahead
      if (batch !== undefined) ahead = state.verifyRecords('assertions', batch)
      const outcomes = await state.applyVerified(current, { from: signers[1]!.publicKey })
      if (outcomes.some((o) => o.status !== 'applied')) throw new Error('bench batch not applied')
    }
    const applyMs = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    const verifyMs = (verifyBefore + verifyAll()) / 2
    return { ratio: verifyMs / applyMs, cpuUs: (cpu.user + cpu.system) / (batches * BATCH) }
  }

  // The same batches into a store that skips the fsync of each commit: what the pipeline does
  // when the disk is not waited for (the durable figure above is the one that counts).
  await withState(
    async (state) => {
      const { applyRate, verifyRate } = await measureApply(state)
      ctx.record('apply_records_per_s_nosync', Math.round(applyRate), 'records/s')
      ctx.record('apply_verify_ratio_nosync', applyRate / verifyRate, 'ratio')
    },
    { noSync: true },
  )

  await withState(async (state) => {
    const { applyRate, verifyRate, applyCpuUs, verifyCpuUs } = await measureApply(state)
    ctx.record('apply_records_per_s', Math.round(applyRate), 'records/s')
    ctx.record('ed25519_verify_per_s', Math.round(verifyRate), 'verifies/s')
    ctx.record('apply_verify_ratio', applyRate / verifyRate, 'ratio')
    // CPU time (all threads) is far less sensitive than wall time to other processes on the
    // machine: what one record costs to apply, against what one verification costs.
    ctx.record('apply_cpu_us_per_record', applyCpuUs, 'µs')
    ctx.record('verify_cpu_us', verifyCpuUs, 'µs')
    ctx.record('load_average_1m', loadavg()[0]!, 'runnable')

    // Gate: random coordinates among those stored, policy "any evidence".
    let i = 0
    const total = (batches + 2) * BATCH
    const gateRate = rate(
      () => {
        const c = coordinate((i = (i * 7919 + 13) % total))
        state.gate(c, 1n)
      },
      { minMs },
    )
    ctx.record('gate_per_s', Math.round(gateRate), 'decisions/s')
  })

  await withState(async (state) => {
    const { ratio, cpuUs } = await measurePipelined(state)
    ctx.record('apply_pipelined_verify_ratio', ratio, 'ratio')
    ctx.record('apply_pipelined_cpu_us_per_record', cpuUs, 'µs')
  })

  // `--apply-only` stops here: the apply figures without the revocation's 1M-record setup.
  if (ctx.args.includes('--apply-only')) return

  // Revoke: one peer with `perPeer` assertions among `peers * perPeer`.
  const perPeer = ctx.quick ? 10_000 : 100_000
  const peers = 10
  const operator = generateSigner()
  await withState(
    async (state) => {
      const asserters = Array.from({ length: peers }, () => generateSigner())
      const setupStart = performance.now()
      for (const asserter of asserters) {
        for (let start = 0; start < perPeer; start += 5000) {
          const batch = signBatch(asserter, start, Math.min(5000, perPeer - start), 7n)
          await state.apply('assertions', batch, { from: asserter.publicKey })
        }
      }
      ctx.record('revoke_setup_s', (performance.now() - setupStart) / 1000, 's')
      const victim = asserters[3]!
      const ms = await timeMs(() =>
        state.revocations.revoke(
          { subject: victim.publicKey, subjectKind: 'peer', reason: 'bench' },
          operator,
        ),
      )
      const entry = state.ledger.since().at(-1)
      if (entry?.result?.invalidated !== perPeer)
        throw new Error(`revocation invalidated ${entry?.result?.invalidated}`)
      // The victim's registers left the assertions tree in the same transaction.
      const inTree = state.tree('assertions').count()
      if (inTree !== (peers - 1) * perPeer)
        throw new Error(`assertions tree holds ${inTree} after the revocation`)
      ctx.record('revoke_ms', ms, 'ms')
      ctx.record('revoke_assertions_total', peers * perPeer, 'assertions')
      ctx.record('revoke_assertions_invalidated', perPeer, 'assertions')
    },
    { trust: [operator.publicKey] },
  )
})
