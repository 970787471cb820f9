/**
 * Crash trials with real processes: a node is SIGKILLed while it applies a batch, or between
 * appending a revocation to its ledger and applying it, then its data directory is reopened and
 * checked: a batch is all there or not at all, the Merkle tree matches the records, and a
 * revocation the ledger holds is in force after start-up replay.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeSupersession, openNodeState, signerFromSeed, signSupersession, toHex } from '@provsync/crdt'
import { createRng } from './prng.js'
import { spawnNodeProcess } from './process.js'

export interface CrashTrialOptions {
  readonly seed: string | number
  /** Records in the batch that is being applied when the kill lands (default 2,000). */
  readonly records?: number
  /** Delay between the child starting to apply and the SIGKILL. */
  readonly killAfterMs: number
  readonly dir?: string
}

export interface CrashTrialResult {
  readonly seed: string
  /** The batch the child was killed in: how much of it the reopened store holds. */
  readonly batch: { readonly size: number; readonly found: number; readonly killed: boolean }
  /** `verify()` of the reopened supersessions tree, and whether every leaf has its record. */
  readonly treeOk: boolean
  readonly recordsMatchTree: boolean
  /** The revocation whose ledger entry was appended when the child died is in force after reopen. */
  readonly revocationReplayed: boolean
  readonly pendingLedgerEntries: number
}

export async function runCrashTrial(options: CrashTrialOptions): Promise<CrashTrialResult> {
  const seed = String(options.seed)
  const rng = createRng(seed)
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'provsync-crash-')))
  const networkId = `crash-${seed}`
  const operatorSeed = rng.fork('operator').bytes(32)
  const operator = signerFromSeed(operatorSeed)
  const agent = signerFromSeed(rng.fork('agent').bytes(32))
  const size = options.records ?? 2_000
  const now = Date.now()
  const batch = Array.from({ length: size }, (_, i) =>
    toHex(
      encodeSupersession(
        signSupersession(
          {
            target: rng.bytes(32),
            kind: 'invalidate',
            reason: `crash #${i}`,
            hlc: { wallMs: now, counter: i },
          },
          agent,
          networkId,
        ),
        networkId,
      ),
    ),
  )
  const base = { dataDir: join(dir, 'node'), networkId, trust: [toHex(operator.publicKey)], name: 'crash' }
  try {
    const first = await spawnNodeProcess(base)
    const applied = first.call({
      cmd: 'apply',
      store: 'supersessions',
      records: batch,
      from: toHex(agent.publicKey),
    })
    applied.catch(() => {})
    await first.applying()
    await new Promise((resolve) => setTimeout(resolve, options.killAfterMs))
    first.kill('SIGKILL')
    const exit = await first.exited

    // Second crash: the process kills itself between the ledger append and its application.
    const second = await spawnNodeProcess({ ...base, killAfterLedgerAppend: true })
    const revoked = second.call({
      cmd: 'revoke',
      subject: toHex(agent.publicKey),
      operatorSeed: toHex(operatorSeed),
    })
    revoked.catch(() => {})
    await second.exited

    const state = await openNodeState({
      dataDir: base.dataDir,
      networkId,
      trust: [operator.publicKey],
      verifyThreads: 0,
    })
    try {
      const tree = state.tree('supersessions')
      const keys = [...tree.leaves()].map((leaf) => leaf.key)
      const records = state.getRecords('supersessions', keys)
      return {
        seed,
        batch: { size, found: tree.count(), killed: exit.signal === 'SIGKILL' },
        treeOk: tree.verify().ok,
        recordsMatchTree: records.every((r) => r !== undefined),
        revocationReplayed: state.revocations.isRevoked(agent.publicKey),
        pendingLedgerEntries: state.ledger.totals().pending,
      }
    } finally {
      await state.close()
    }
  } finally {
    if (options.dir === undefined) await rm(dir, { recursive: true, force: true })
  }
}
