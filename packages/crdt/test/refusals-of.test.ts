import { InvalidArgumentError, type NodeState } from '@provsync/crdt'
import { afterEach, describe, expect, it } from 'vitest'
import { assertionBytes, coordinate, signerN, TempDirs } from './helpers.js'

const temp = new TempDirs()
afterEach(() => temp.cleanup())

const operator = signerN(100)
const A = signerN(1)
const B = signerN(2)

const node = () => temp.open({ trust: [operator.publicKey] })
const roots = (state: NodeState) =>
  (['revocations', 'supersessions', 'assertions'] as const).map((s) =>
    Buffer.from(state.tree(s).root()).toString('hex'),
  )

function batch(): Uint8Array[] {
  const forged = assertionBytes(A, coordinate(2), 4n)
  forged[forged.length - 1]! ^= 1
  const records = Array.from({ length: 300 }, (_, i) => assertionBytes(i % 2 ? A : B, coordinate(i), 5n))
  records[1] = forged
  records[7] = assertionBytes(B, coordinate(3), 1n, Date.now() + 3_600_000)
  records[250] = new Uint8Array([2, 1, 0])
  const late = assertionBytes(A, coordinate(299), 6n)
  late[late.length - 2]! ^= 4
  records[299] = late
  return records
}

describe('refusalsOf', () => {
  it('lists exactly what applyVerified then refuses, with the same reasons, and writes nothing', async () => {
    const state = await node()
    const before = roots(state)
    const handle = state.verifyRecords('assertions', batch())
    const listed = state.refusalsOf(handle)
    expect(listed.map((r) => r.index)).toEqual([1, 7, 250, 299])
    expect(listed.find((r) => r.index === 1)?.reason).toBe('bad-signature')
    expect(listed.find((r) => r.index === 299)?.reason).toBe('bad-signature')
    expect(roots(state)).toEqual(before)
    expect(state.refusalsOf(handle)).toEqual(listed) // asking again changes nothing
    const outcomes = await state.applyVerified(handle, { from: A.publicKey })
    const refused = outcomes.flatMap((o, index) =>
      o.status === 'refused' ? [{ index, reason: o.reason }] : [],
    )
    expect(refused).toEqual(listed)
    expect(roots(state)).not.toEqual(before)
  })

  it('refuses a handle of another state or one already applied', async () => {
    const one = await node()
    const other = await node()
    const handle = one.verifyRecords('assertions', [assertionBytes(A, coordinate(1), 1n)])
    expect(() => other.refusalsOf(handle)).toThrow(InvalidArgumentError)
    await one.applyVerified(handle, { from: A.publicKey })
    expect(() => one.refusalsOf(handle)).toThrow(InvalidArgumentError)
  })
})
