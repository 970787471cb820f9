import {
  encodeInvalidation,
  InvalidArgumentError,
  type NodeState,
  STORE_NAMES,
  type StoreName,
  signInvalidation,
} from '@provsync/crdt'
import { describe, expect, it } from 'vitest'
import {
  assertionBytes,
  BASE_MS,
  coordinate,
  crdtSuite,
  hash32,
  revocationBytes,
  signerN,
  supersessionBytes,
} from './helpers.js'

const { temp, operator, A: K } = crdtSuite('each')
const second = signerN(101)
const coords = [coordinate(1), coordinate(2)]
const byK: { store: StoreName; bytes: Uint8Array }[] = [
  ...coords.map((c) => ({ store: 'assertions' as const, bytes: assertionBytes(K, c, 3n) })),
  { store: 'supersessions', bytes: supersessionBytes(K, hash32(1), { wallMs: BASE_MS + 1 }) },
]
const revokeK = revocationBytes(operator, K.publicKey, 'revoke', BASE_MS + 100)
const roots = (state: NodeState) =>
  STORE_NAMES.map((store) => Buffer.from(state.tree(store).root()).toString('hex'))

async function withRecords(trust: Uint8Array[]): Promise<NodeState> {
  const state = await temp.open({ trust, noSync: true })
  for (const { store, bytes } of byK) await state.apply(store, [bytes], { from: K.publicKey })
  await state.apply('revocations', [revokeK], { from: operator.publicKey })
  return state
}

describe('setTrust: a running state follows a trust-bundle rotation', () => {
  it('an operator rotated out: its revocations stop acting and leave the tree, as after a restart with the new keys', async () => {
    const running = await withRecords([operator.publicKey])
    expect(running.revocations.isRevoked(K.publicKey)).toBe(true)
    expect(running.view.get(coords[0]!)).toBeUndefined()
    const changed: StoreName[] = []
    running.onChange((store) => changed.push(store))

    expect(await running.setTrust([second.publicKey])).toBe(true)
    expect(running.revocations.isRevoked(K.publicKey)).toBe(false)
    expect(running.revocations.records(K.publicKey)).toHaveLength(1) // still stored, for audit
    expect(running.tree('revocations').count()).toBe(0)
    expect(running.view.get(coords[0]!)?.run).toBe(3n)
    expect(changed).toContain('revocations')
    expect(changed).toContain('assertions')

    // The same records on a state opened with the new keys from the start: the same roots.
    const fresh = await withRecords([second.publicKey])
    expect(roots(running)).toEqual(roots(fresh))
  })

  it('refuses revocations of the removed operator from then on and takes the new one’s', async () => {
    const running = await withRecords([operator.publicKey])
    await running.setTrust([second.publicKey])
    const late = revocationBytes(operator, K.publicKey, 'revoke', BASE_MS + 300)
    const [byOld] = await running.apply('revocations', [late], { from: operator.publicKey })
    expect(byOld).toMatchObject({ status: 'refused', reason: 'untrusted-operator' })
    const [byNew] = await running.apply(
      'revocations',
      [revocationBytes(second, K.publicKey, 'revoke', BASE_MS + 400)],
      { from: second.publicKey },
    )
    expect(byNew?.status).toBe('applied')
    expect(running.revocations.isRevoked(K.publicKey)).toBe(true)
  })

  it('rotating back restores the removed operator’s revocation; the set in force is a no-op', async () => {
    const running = await withRecords([operator.publicKey])
    const before = roots(running)
    await running.setTrust([second.publicKey])
    expect(await running.setTrust([operator.publicKey])).toBe(true)
    expect(running.revocations.isRevoked(K.publicKey)).toBe(true)
    expect(roots(running)).toEqual(before)
    expect(await running.setTrust([operator.publicKey])).toBe(false)
  })

  it('refuses a key that is not 32 bytes and changes nothing', async () => {
    const running = await withRecords([operator.publicKey])
    await expect(running.setTrust([new Uint8Array(31)])).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(running.revocations.isRevoked(K.publicKey)).toBe(true)
  })

  it('an invalidation by the removed operator stops acting and leaves its tree; rotating back restores it', async () => {
    const state = await withRecords([operator.publicKey, second.publicKey])
    const B = signerN(2) // never revoked: only the invalidation can take its run out of the view
    await state.apply('assertions', [assertionBytes(B, coords[1]!, 5n)], { from: B.publicKey })
    const record = signInvalidation(
      {
        action: 'invalidate',
        criteria: { type: 'pattern', pattern: 'vol/dst/*' },
        reason: 'bad batch',
        hlc: { wallMs: BASE_MS + 500, counter: 0 },
      },
      operator,
      state.networkId,
    )
    const [outcome] = await state.apply('invalidations', [encodeInvalidation(record, state.networkId)], {
      from: operator.publicKey,
    })
    expect(outcome?.status).toBe('applied')
    expect(state.view.get(coords[1]!)).toBeUndefined()
    await state.setTrust([second.publicKey])
    expect(state.tree('invalidations').count()).toBe(0)
    expect(state.view.get(coords[1]!)?.run).toBe(5n)
    await state.setTrust([second.publicKey, operator.publicKey])
    expect(state.tree('invalidations').count()).toBe(1)
    expect(state.view.get(coords[1]!)).toBeUndefined()
  })
})
