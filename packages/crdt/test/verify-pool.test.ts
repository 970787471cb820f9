import { acquireSharedVerifier, createBatchVerifier, signedMessage } from '@provsync/crdt'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { assertionBytes, coordinate, NETWORK, signerN } from './helpers.js'

const signer = signerN(1)
const records = Array.from({ length: 80 }, (_, i) => assertionBytes(signer, coordinate(i), BigInt(i)))
const items = records.map((bytes) => ({
  publicKey: signer.publicKey,
  signature: bytes.subarray(bytes.length - 64),
  message: signedMessage('assertion', NETWORK, bytes),
}))

const pooled = createBatchVerifier({ threads: 2 })
const inline = createBatchVerifier({ threads: 0 })
afterAll(async () => {
  await pooled.close()
  await inline.close()
})

describe('batch verifier', () => {
  it('worker threads and the calling thread agree with inline verification on every item (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.nat({ max: items.length - 1 }), { maxLength: 20 }),
        async (corrupt) => {
          const batch = items.map((item, i) => {
            if (!corrupt.includes(i)) return item
            const signature = item.signature.slice()
            signature[i % 64]! ^= 0x40
            return { ...item, signature }
          })
          const expected = items.map((_, i) => !corrupt.includes(i))
          expect(await pooled.verify(batch)).toEqual(expected)
          expect(await inline.verify(batch)).toEqual(expected)
          // Results may be read in any order while workers still run.
          const job = pooled.start(batch)
          const order = batch.map((_, i) => batch.length - 1 - i)
          expect(order.map((i) => job.result(i)).reverse()).toEqual(expected)
        },
      ),
      { numRuns: 15 },
    )
  })
})

describe('shared verifier', () => {
  it('keeps working for the remaining users when one releases it', async () => {
    const first = acquireSharedVerifier(1)
    const second = acquireSharedVerifier(1)
    await first.close()
    await first.close() // releasing twice releases once
    expect(await second.verify(items)).toEqual(items.map(() => true))
    await second.close()
    const third = acquireSharedVerifier(1)
    expect(await third.verify(items.slice(0, 40))).toEqual(items.slice(0, 40).map(() => true))
    await third.close()
  })
})
