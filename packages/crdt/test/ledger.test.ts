import { spawn } from 'node:child_process'
import { cpSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { LedgerImportError, type NodeState, toHex } from '@provsync/crdt'
import { describe, expect, it } from 'vitest'
import {
  assertionBytes,
  BASE_MS,
  coordinate,
  crdtSuite,
  hash32,
  hlc,
  NETWORK,
  SEEDED_COORDS,
  supersessionBytes,
} from './helpers.js'

const suite = crdtSuite()
const { temp, operator, A, B } = suite

const operatorSeed = new Uint8Array(32).fill(7)
const coords = SEEDED_COORDS

async function seeded(dataDir?: string): Promise<NodeState> {
  const state = await suite.seeded(dataDir ? { dataDir } : {})
  state.advanceVerified(coords[1]!, 2n)
  return state
}

function viewOf(state: NodeState) {
  return coords.map((c) => state.view.get(c)?.run)
}

describe('revocation ledger', () => {
  it('records each revocation with its source, counts and correlation id, and answers queries', async () => {
    const state = await seeded()
    const e1 = await state.revocations.revoke(
      { subject: A.publicKey, subjectKind: 'peer', reason: 'compromised', correlationId: 'incident-7' },
      operator,
    )
    const e2 = await state.revocations.reinstate(
      { subject: A.publicKey, subjectKind: 'peer', reason: 'cleared' },
      operator,
    )
    const e3 = state.ledger.invalidate(
      { type: 'signer', key: B.publicKey },
      { actor: 'ops@example', reason: 'old key' },
    )
    expect(e1).toMatchObject({
      seq: 1,
      kind: 'revoke',
      subjectKind: 'peer',
      subject: A.publicKey,
      reason: 'compromised',
      actor: toHex(operator.publicKey),
      source: { type: 'local' },
      correlationId: 'incident-7',
      result: { invalidated: 3, restored: 0 },
    })
    expect(e2).toMatchObject({ seq: 2, kind: 'reinstate', result: { invalidated: 0, restored: 3 } })
    expect(e3).toMatchObject({ seq: 3, kind: 'invalidate', actor: 'ops@example', result: { invalidated: 1 } })
    expect(state.ledger.since(1).map((e) => e.seq)).toEqual([2, 3])
    expect(state.ledger.byKind('revoke').map((e) => e.seq)).toEqual([1])
    expect(state.ledger.bySubject(A.publicKey).map((e) => e.seq)).toEqual([1, 2])
    expect(state.ledger.bySubject(B.publicKey).map((e) => e.seq)).toEqual([3])
    expect(state.ledger.latestSeq()).toBe(3)
    expect(state.ledger.totals()).toEqual({
      entries: 3,
      revocations: 1,
      reinstatements: 1,
      invalidations: 1,
      invalidated: 4,
      restored: 3,
      pending: 0,
    })
  })

  it('replay is idempotent: it changes nothing on a node that is in line', async () => {
    const state = await seeded()
    await state.revocations.revoke({ subject: A.publicKey, subjectKind: 'peer', reason: 'x' }, operator)
    state.ledger.invalidate({ type: 'pattern', pattern: 'vol/dst/origin-?' }, { actor: 'ops', reason: 'all' })
    const view = viewOf(state)
    const history = state.history.since()
    expect(state.ledger.replay()).toBe(0)
    expect(state.ledger.replay({ fromSeq: 2 })).toBe(0)
    expect(viewOf(state)).toEqual(view)
    expect(state.history.since()).toEqual(history)
  })

  it('a restored backup plus the exported ledger brings back no revoked evidence', async () => {
    const dataDir = temp.dir()
    const backupDir = temp.dir()
    const state = await seeded(dataDir)
    await state.close()
    cpSync(dataDir, backupDir, { recursive: true }) // the backup predates the revocation

    const live = await temp.open({ dataDir, trust: [operator.publicKey] })
    await live.revocations.revoke(
      { subject: A.publicKey, subjectKind: 'peer', reason: 'compromised' },
      operator,
    )
    expect(viewOf(live)).toEqual([4n, 2n, undefined])
    const exported = live.ledger.export() // kept apart from the data

    const restored = await temp.open({ dataDir: backupDir, trust: [operator.publicKey] })
    expect(viewOf(restored)).toEqual([9n, 9n, 9n]) // the backup still trusts A
    const { added, viewChanges } = restored.ledger.import(exported)
    expect(added).toBe(1)
    expect(viewChanges).toBe(3)
    expect(viewOf(restored)).toEqual([4n, 2n, undefined])
    expect(restored.ledger.since()[0]).toMatchObject({ kind: 'revoke', source: { type: 'import' } })
    expect(restored.tree('revocations').root()).toEqual(live.tree('revocations').root())

    // A's records imported from elsewhere are refused; importing again changes nothing.
    const again = await restored.apply('assertions', [assertionBytes(A, coordinate(9), 1n)], {
      from: B.publicKey,
    })
    expect(again[0]?.reason).toBe('revoked-signer')
    expect(restored.ledger.import(exported)).toEqual({ added: 0, viewChanges: 0 })
  })

  it('an import whose revocation does not verify is refused whole', async () => {
    const state = await seeded()
    await state.revocations.revoke({ subject: A.publicKey, subjectKind: 'peer', reason: 'x' }, operator)
    const text = new TextDecoder().decode(state.ledger.export())
    const other = await temp.open({ trust: [operator.publicKey] })
    const tampered = text
      .replace(/"reason": "x"/, '"reason": "y"')
      .replace(/("record": ")(..)/, (_m, p, hex) => `${p}${hex === '03' ? '02' : '03'}`)
    expect(() => other.ledger.import(new TextEncoder().encode(tampered))).toThrow(LedgerImportError)
    expect(() => other.ledger.import(new TextEncoder().encode('{'))).toThrow(LedgerImportError)
    const untrusting = await temp.open({ trust: [] })
    expect(() => untrusting.ledger.import(state.ledger.export())).toThrow(LedgerImportError)
    expect(other.ledger.latestSeq()).toBe(0)
    expect(untrusting.ledger.latestSeq()).toBe(0)
  })

  it('invalidation by criteria: prefix, pattern and HLC epoch, with counts', async () => {
    const state = await seeded()
    await state.supersessions.put(supersessionBytes(B, hash32(1), { wallMs: BASE_MS - 10 }))
    const byPrefix = state.ledger.invalidate(
      { type: 'prefix', prefix: 'vol/dst/origin-3' },
      { actor: 'ops', reason: 'lost' },
    )
    expect(byPrefix.result).toMatchObject({ invalidated: 1, viewChanges: 1 })
    expect(viewOf(state)).toEqual([9n, 9n, undefined])
    const byEpoch = state.ledger.invalidate(
      { type: 'older-than', epoch: hlc(BASE_MS) },
      { actor: 'ops', reason: 'before the epoch' },
    )
    expect(byEpoch.result?.invalidated).toBe(1) // the supersession; assertions are at BASE_MS, not older
    expect(state.supersessions.isSuperseded(hash32(1))).toBe(false)
    const byPattern = state.ledger.invalidate(
      { type: 'pattern', pattern: '*/origin-1' },
      { actor: 'ops', reason: 'x' },
    )
    expect(byPattern.result?.invalidated).toBe(2)
    expect(viewOf(state)).toEqual([undefined, 9n, undefined])
    expect(state.ledger.byKind('invalidate').length).toBe(3)
  })

  it('recovers at open from a crash between ledger append and application (SIGKILL)', async () => {
    const dataDir = temp.dir()
    const opSigner = (await import('@provsync/crdt')).signerFromSeed(operatorSeed)
    const state = await temp.open({ dataDir, trust: [opSigner.publicKey] })
    await state.apply(
      'assertions',
      coords.map((c) => assertionBytes(A, c, 9n)),
      { from: A.publicKey },
    )
    state.advanceVerified(coords[0]!, 3n)
    await state.close()

    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url)),
        dataDir,
        NETWORK,
        toHex(operatorSeed),
        toHex(A.publicKey),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)))
    expect(signal, stderr).toBe('SIGKILL')

    const recovered = await temp.open({ dataDir, trust: [opSigner.publicKey] })
    expect(recovered.ledger.latestSeq()).toBe(1)
    expect(recovered.ledger.totals()).toMatchObject({ pending: 0, invalidated: 3 })
    expect(viewOf(recovered)).toEqual([3n, undefined, undefined])
    expect(recovered.view.get(coords[0]!)?.provenance).toEqual({ type: 'local' })
    expect(recovered.history.since().filter((h) => h.kind === 'revoke').length).toBe(3)
    // A's registers left the assertions tree with the recovery; this node's own one stays.
    expect(recovered.tree('assertions').count()).toBe(1)
  })
})
