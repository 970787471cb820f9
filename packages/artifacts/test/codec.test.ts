import {
  ArtifactRefusedError,
  checkScope,
  covers,
  decodeRecord,
  encodeRecord,
  InvalidScopeError,
  MAX_INLINE_BYTES,
  MalformedRecordError,
  OversizedFieldError,
  signArtifact,
  signedMessage,
  signedPrefix,
  signScopeEpoch,
  signWithdrawal,
  verifyDecoded,
  verifyItem,
} from '@provsync/artifacts'
import { createBatchVerifier, networkTag } from '@provsync/crdt'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { artifact, at, grant, NET, operator, publishers } from './helpers.js'

const TAG = networkTag(NET)
const decode = (bytes: Uint8Array) => decodeRecord(bytes, NET, TAG)

describe('records', () => {
  it('round-trips every kind and verifies its signature', () => {
    const records = [
      grant(publishers[0]!, 'publish', ['cluster/c1', 'cluster/c2'], 3n, { expiresAt: 99 }),
      signWithdrawal(
        { subject: publishers[0]!.publicKey, right: 'hold', epoch: 2n, reason: 'moved' },
        operator,
        NET,
        at(),
      ),
      signScopeEpoch({ scope: 'cluster', minEpoch: 4n }, operator, NET, at()),
      artifact(publishers[1]!, { version: 7n, base: 6n, expiresAt: 1234 }),
      artifact(publishers[1]!, { version: 8n, tombstone: true }),
    ]
    for (const r of records) {
      const d = decode(r.bytes)
      expect(d.record).toEqual(r.record)
      expect(d.hash).toEqual(r.hash)
      expect(verifyDecoded(d, NET)).toBe(true)
    }
  })

  it('refuses a tampered signature, another network and trailing bytes, each typed', () => {
    const a = artifact(publishers[0]!, { version: 1n })
    const forged = a.bytes.slice()
    forged[forged.length - 1]! ^= 1
    expect(verifyDecoded(decode(forged), NET)).toBe(false)
    expect(() => decodeRecord(a.bytes, 'other', networkTag('other'))).toThrow(
      expect.objectContaining({ reason: 'wrong-network' }),
    )
    const trailing = new Uint8Array([...a.bytes, 0])
    expect(() => decode(trailing)).toThrow(MalformedRecordError)
  })

  it('puts small content inline and refuses large content inline', () => {
    const small = artifact(publishers[0]!, { version: 1n, content: new Uint8Array(MAX_INLINE_BYTES) })
    expect(small.record.content?.length).toBe(MAX_INLINE_BYTES)
    const big = signArtifact(
      {
        scope: 'a',
        family: 'f',
        name: 'n',
        version: 1n,
        epoch: 1n,
        content: new Uint8Array(5000),
        blobId: new Uint8Array(32),
      },
      publishers[0]!,
      NET,
      at(),
    )
    expect(big.record.blob).toEqual({ id: new Uint8Array(32), size: 5000 })
    expect(big.record.content).toBeUndefined()
    expect(decode(big.bytes).record).toEqual(big.record)
    expect(() =>
      encodeRecord({ ...small.record, content: new Uint8Array(3000), contentSize: 3000 }, NET),
    ).toThrow(OversizedFieldError)
  })

  it('refuses text that is not canonical: control characters, BOM, non-NFC', () => {
    for (const name of ['a\u0007', '\ufeffa', 'e\u0301', '']) {
      expect(() => artifact(publishers[0]!, { version: 1n, name })).toThrow(MalformedRecordError)
    }
  })

  it('the strict decoder (no re-encode) accepts only bytes that re-encode identically', () => {
    const samples = [
      artifact(publishers[0]!, { version: 5n, base: 4n, expiresAt: 10 }),
      artifact(publishers[0]!, { version: 6n, tombstone: true }),
      grant(publishers[0]!, 'publish', ['a', 'b/c'], 2n, { expiresAt: 5 }),
      signWithdrawal(
        { subject: publishers[0]!.publicKey, right: 'hold', epoch: 2n, reason: 'é' },
        operator,
        NET,
        at(),
      ),
      signScopeEpoch({ scope: 'a/b', minEpoch: 4n }, operator, NET, at()),
    ]
    fc.assert(
      fc.property(
        fc.nat(samples.length - 1),
        fc.nat(4095),
        fc.integer({ min: 1, max: 255 }),
        (s, at, delta) => {
          const bytes = samples[s]!.bytes.slice()
          const index = at % bytes.length
          bytes[index] = (bytes[index]! + delta) & 0xff
          let decoded: ReturnType<typeof decode>
          try {
            decoded = decodeRecord(bytes, NET, TAG, false)
          } catch (error) {
            expect(error).toBeInstanceOf(ArtifactRefusedError)
            return
          }
          expect(encodeRecord(decoded.record, NET)).toEqual(bytes)
          expect(verifyDecoded(decoded, NET)).toBe(false)
        },
      ),
      { numRuns: 2000 },
    )
  })
})

describe('verification items', () => {
  it('point into the record and share one prefix per network, signing exactly what the signer signed', async () => {
    const records = Array.from(
      { length: 40 },
      (_, i) => artifact(publishers[i % 2]!, { version: BigInt(i + 1), name: `n${i}` }).bytes,
    )
    const items = records.map((bytes) => verifyItem(bytes, NET))
    const body = (bytes: Uint8Array) => bytes.subarray(0, bytes.length - 64)
    for (const [k, item] of items.entries()) {
      // No copy per record: the body is a view of the record's own bytes.
      expect(item.message.buffer).toBe(records[k]!.buffer)
      expect(item.prefix).toBe(signedPrefix(NET))
      expect(Buffer.concat([item.prefix!, item.message])).toEqual(
        Buffer.from(signedMessage(NET, body(records[k]!))),
      )
    }
    expect(signedPrefix('other-net')).not.toEqual(signedPrefix(NET))
    // Through the worker pool (40 items: above its inline threshold): all verify; a flipped body
    // byte, or another network's prefix, does not.
    const tampered = Uint8Array.from(records[3]!)
    tampered[20]! ^= 1
    const verifier = createBatchVerifier({ threads: 1 })
    try {
      expect(await verifier.verify(items)).toEqual(items.map(() => true))
      const bad = [...items]
      bad[3] = verifyItem(tampered, NET)
      bad[7] = { ...items[7]!, prefix: signedPrefix('other-net') }
      const results = await verifier.verify(bad)
      expect(results.flatMap((ok, i) => (ok ? [] : [i]))).toEqual([3, 7])
    } finally {
      await verifier.close()
    }
  })
})

describe('records: length changes', () => {
  it('refuses every truncation and every extension, typed', () => {
    const a = artifact(publishers[0]!, { version: 2n, expiresAt: 7 })
    fc.assert(
      fc.property(fc.nat(a.bytes.length - 1), fc.uint8Array({ minLength: 1, maxLength: 8 }), (cut, extra) => {
        expect(() => decodeRecord(a.bytes.subarray(0, cut), NET, TAG, false)).toThrow(ArtifactRefusedError)
        expect(() => decodeRecord(new Uint8Array([...a.bytes, ...extra]), NET, TAG, false)).toThrow(
          ArtifactRefusedError,
        )
      }),
    )
  })
})

describe('scopes', () => {
  it('validates segments and counts', () => {
    expect(checkScope('cluster/c1/role/edge')).toBe('cluster/c1/role/edge')
    for (const bad of ['', 'a//b', 'A', 'a/b/c/d/e/f/g/h/i', 'x'.repeat(65), 'a/', '/a', 'a b']) {
      expect(() => checkScope(bad)).toThrow(InvalidScopeError)
    }
  })

  it('a prefix covers itself and below, segment-wise', () => {
    const segment = fc.stringMatching(/^[a-z0-9._-]{1,6}$/)
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 8 }), fc.nat(8), (segments, cut) => {
        const scope = segments.join('/')
        const prefix = segments.slice(0, Math.max(1, Math.min(cut, segments.length))).join('/')
        expect(covers(prefix, scope)).toBe(true)
        expect(covers(`${scope}x`, scope)).toBe(false)
        if (prefix !== scope) expect(covers(scope, prefix)).toBe(false)
      }),
    )
  })
})
