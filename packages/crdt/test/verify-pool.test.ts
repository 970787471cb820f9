import {
  acquireSharedVerifier,
  type BatchVerifier,
  blake3,
  createBatchVerifier,
  recordHash,
  signedMessage,
  streamingJob,
  type VerifyItem,
  type VerifyJob,
} from '@provsync/crdt'
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
  it('verifies prefix ‖ message as the one message, pooled and inline, and refuses a changed prefix', async () => {
    const split = (prefixLength: number) =>
      items.map((item) => ({
        ...item,
        prefix: item.message.subarray(0, prefixLength),
        message: item.message.subarray(prefixLength),
      }))
    for (const prefixLength of [0, 1, 30]) {
      const batch = split(prefixLength)
      expect(await pooled.verify(batch)).toEqual(items.map(() => true))
      expect(await inline.verify(batch.slice(0, 5))).toEqual([true, true, true, true, true])
    }
    const wrongPrefix = split(30).map((item, i) =>
      i % 2 === 0 ? { ...item, prefix: new Uint8Array(30) } : item,
    )
    const expected = items.map((_, i) => i % 2 === 1)
    expect(await pooled.verify(wrongPrefix)).toEqual(expected)
    expect(await inline.verify(wrongPrefix.slice(0, 6))).toEqual(expected.slice(0, 6))
  })

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

describe('inline verification of prefixed messages', () => {
  // The inline path packs prefix ‖ message into one buffer reused from item to item (session 18):
  // a verdict must depend on that item's bytes alone, whatever came before it (longer or shorter
  // messages, ones past the buffer's first size), and a changed byte on either side of the split
  // must still be refused.
  it('gives each item the verdict of its whole message, whatever the lengths and order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            message: fc.uint8Array({ minLength: 1, maxLength: 9000, size: 'max' }),
            split: fc.nat(),
            flip: fc.option(fc.nat(), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (cases) => {
          const batch: VerifyItem[] = cases.map(({ message, split, flip }) => {
            const signature = signer.sign(message)
            const at = split % (message.length + 1)
            const signed = message.slice()
            if (flip !== undefined) signed[flip % signed.length]! ^= 0x01
            return {
              publicKey: signer.publicKey,
              signature,
              prefix: signed.subarray(0, at),
              message: signed.subarray(at),
            }
          })
          const expected = cases.map(({ flip }) => flip === undefined)
          expect(await inline.verify(batch)).toEqual(expected)
          expect(await inline.verify([...batch].reverse())).toEqual([...expected].reverse())
        },
      ),
      { numRuns: 25 },
    )
  })
})

describe('streaming job', () => {
  it('numbers results across its growing chunks, whatever the first chunk size and reading order (property)', async () => {
    await fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat({ max: items.length - 1 }), { maxLength: 10 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: items.length }),
        fc.boolean(),
        (corrupt, firstChunk, count, reversed) => {
          const job = streamingJob(pooled, firstChunk)
          const batch = items.slice(0, count)
          batch.forEach((item, i) => {
            if (corrupt.includes(i)) {
              const signature = item.signature.slice()
              signature[0]! ^= 0x01
              job.push({ ...item, signature })
            } else job.push(item)
          })
          job.flush()
          const order = batch.map((_, i) => (reversed ? batch.length - 1 - i : i))
          const results = new Array<boolean>(batch.length)
          for (const i of order) results[i] = job.result(i)
          expect(results).toEqual(batch.map((_, i) => !corrupt.includes(i)))
        },
      ),
      { numRuns: 30 },
    )
  })

  it('while an item it waits for is still being verified elsewhere, the caller verifies later chunks', () => {
    // A verifier whose chunks answer from a script: every item of a chunk counts as claimed by a
    // "worker" (claimOne finds nothing) and becomes ready only once the caller has verified an item
    // of a later chunk; result() of an item not ready throws where the real job would block.
    const log: string[] = []
    const chunks: { unclaimed: number; done: boolean }[] = []
    const fake: BatchVerifier = {
      threads: 1,
      start(batch: readonly VerifyItem[]): VerifyJob {
        const me = { unclaimed: chunks.length === 0 ? 0 : batch.length, done: false }
        const position = chunks.push(me) - 1
        return {
          ready: () => me.done || chunks.slice(position + 1).some((c) => c.done),
          claimOne() {
            if (me.unclaimed === 0) return false
            me.unclaimed--
            me.done = true
            log.push(`caller verified an item of chunk ${position}`)
            return true
          },
          result(index) {
            if (!(me.done || chunks.slice(position + 1).some((c) => c.done)))
              throw new Error(`item ${index} of chunk ${position} waited while later chunks had work`)
            return true
          },
        }
      },
      verify: async (batch) => batch.map(() => true),
      close: async () => {},
    }
    const job = streamingJob(fake, 2)
    for (const item of items.slice(0, 6)) job.push(item)
    job.flush()
    expect(chunks.length).toBe(2)
    expect(job.result(0)).toBe(true)
    expect(log).toEqual(['caller verified an item of chunk 1'])
  })

  it('refuses to answer for an item never pushed', () => {
    const job = streamingJob(inline, 4)
    job.push(items[0]!)
    job.flush()
    expect(job.result(0)).toBe(true)
    expect(() => job.result(1)).toThrow(RangeError)
  })
})

describe('digests', () => {
  // The items as ingest hands them in: the domain prefix apart, the record's body as the message.
  const split = records.map((bytes) => ({
    publicKey: signer.publicKey,
    signature: bytes.subarray(bytes.length - 64),
    prefix: signedMessage('assertion', NETWORK, bytes).subarray(0, -(bytes.length - 64)),
    message: bytes.subarray(0, bytes.length - 64),
  }))

  it("give each item's BLAKE3(message ‖ signature), the record hash, from workers, calling thread and inline jobs (property)", async () => {
    await fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat({ max: split.length - 1 }), { maxLength: 10 }),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        (corrupt, firstChunk, reversed) => {
          const batch = split.map((item, i) => {
            if (!corrupt.includes(i)) return item
            const signature = item.signature.slice()
            signature[3]! ^= 0x10
            return { ...item, signature }
          })
          const hashes = batch.map((item) => blake3(item.message, item.signature))
          for (const verifier of [pooled, inline]) {
            const job = streamingJob(verifier, firstChunk, { digests: true })
            for (const item of batch) job.push(item)
            job.flush()
            const order = batch.map((_, i) => (reversed ? batch.length - 1 - i : i))
            for (const i of order) {
              expect(job.result(i)).toBe(!corrupt.includes(i))
              expect(job.digest?.(i)).toEqual(hashes[i])
            }
          }
        },
      ),
      { numRuns: 20 },
    )
    // A valid record's digest is its content address.
    const job = pooled.start(split, { digests: true })
    split.forEach((_, i) => {
      expect(job.result(i)).toBe(true)
      expect(job.digest?.(i)).toEqual(recordHash(records[i]!))
    })
  })

  it('are not computed unless asked for', () => {
    const plain = pooled.start(split)
    expect(plain.result(0)).toBe(true)
    expect(plain.digest?.(0)).toBeUndefined()
    const small = inline.start(split.slice(0, 3))
    expect(small.result(1)).toBe(true)
    expect(small.digest?.(1)).toBeUndefined()
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
