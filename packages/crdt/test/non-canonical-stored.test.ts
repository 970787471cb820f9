/**
 * Records an older release stored before decoding became canonical (issue #17): the fixture store
 * is written with the text decoder of that release (any UTF-8 accepted), then reopened by this
 * one. `verifyState` (what `provsync verify --offline` runs) names each such record, by store,
 * field and problem, and nothing else.
 */
import {
  encodeAssertion,
  encodeSupersession,
  type Signer,
  signAssertion,
  signedMessage,
  signSupersession,
  verifyState,
} from '@provsync/crdt'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { BASE_MS, hash32, NETWORK, signerN, TempDirs } from './helpers.js'

const older = vi.hoisted(() => ({ release: false }))

// The older release's text decoder: whatever the bytes decode to, no canonical check.
vi.mock('../src/codec/text.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/codec/text.js')>()
  return {
    ...real,
    decodeCanonicalText: (field: string, bytes: Uint8Array) =>
      older.release ? new TextDecoder().decode(bytes) : real.decodeCanonicalText(field, bytes),
  }
})

const temp = new TempDirs()
afterEach(async () => {
  older.release = false
  await temp.cleanup()
})

const A = signerN(1)
const utf8 = (text: string) => new TextEncoder().encode(text)
const TEXT_AFTER_HEADER = 12 // type, version, network tag (8), text length (2)

/** A signed assertion whose volume holds exactly `volume`, as the older release accepted it. */
function assertionWithVolume(signer: Signer, volume: Uint8Array, run: bigint): Uint8Array {
  const record = signAssertion(
    {
      coordinate: { volume: 'x'.repeat(volume.length), destination: 's3', origin: 'laptop' },
      run,
      method: 'checksum',
      hlc: { wallMs: BASE_MS, counter: 0 },
    },
    signer,
    NETWORK,
  )
  const bytes = encodeAssertion(record, NETWORK)
  bytes.set(volume, TEXT_AFTER_HEADER)
  bytes.set(signer.sign(signedMessage('assertion', NETWORK, bytes)), bytes.length - 64)
  return bytes
}

/** A signed invalidating supersession whose reason holds exactly `reason`. */
function supersessionWithReason(signer: Signer, reason: Uint8Array): Uint8Array {
  const record = signSupersession(
    {
      target: hash32(9),
      kind: 'invalidate',
      reason: 'x'.repeat(reason.length),
      hlc: { wallMs: BASE_MS, counter: 1 },
    },
    signer,
    NETWORK,
  )
  const bytes = encodeSupersession(record, NETWORK)
  const offset = TEXT_AFTER_HEADER + 1 + 32 // kind, target
  bytes.set(reason, offset)
  bytes.set(signer.sign(signedMessage('supersession', NETWORK, bytes)), bytes.length - 64)
  return bytes
}

describe('non-canonical records already stored (issue #17 item 4)', () => {
  it('verify names each one by store, field and problem, and passes the canonical ones', async () => {
    const dataDir = temp.dir()
    older.release = true
    const old = await openOlder(dataDir)
    const from = { from: A.publicKey }
    const applied = [
      ...(await old.apply(
        'assertions',
        [
          assertionWithVolume(A, utf8('photos'), 1n),
          assertionWithVolume(A, Uint8Array.of(0xef, 0xbb, 0xbf, ...utf8('photos')), 2n),
          assertionWithVolume(A, utf8('pho\u0000tos'), 3n),
        ],
        from,
      )),
      ...(await old.apply('supersessions', [supersessionWithReason(A, utf8('bad\nreason'))], from)),
    ]
    expect(applied.map((o) => o.status)).toEqual(['applied', 'applied', 'applied', 'applied'])
    await old.close()

    older.release = false
    const state = await temp.open({ dataDir, wallClock: () => BASE_MS })
    const check = await verifyState(state)
    expect(check.ok).toBe(false)
    const byStore = Object.fromEntries(check.stores.map((s) => [s.store, s]))
    expect(byStore.assertions).toMatchObject({ nonCanonical: 2, mismatchCount: 2 })
    expect(byStore.supersessions).toMatchObject({ nonCanonical: 1, mismatchCount: 1 })
    expect(byStore.revocations).toMatchObject({ ok: true, nonCanonical: 0 })
    // The view's listing holds the spoofed coordinates too: named, not a crash.
    expect(check.derived.ok).toBe(false)
    expect(check.derived.mismatches[0]).toMatch(/^view: entry \d+ is not canonical \(volume: /)
    const messages = check.stores.flatMap((s) => s.mismatches)
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^assertions record [0-9a-f]{64}: not canonical \(volume: byte-order-mark\)/),
        expect.stringMatching(/^assertions record [0-9a-f]{64}: not canonical \(volume: control-character\)/),
        expect.stringMatching(
          /^supersessions record [0-9a-f]{64}: not canonical \(reason: control-character\)/,
        ),
      ]),
    )
  })

  it('a store holding only canonical records verifies clean', async () => {
    const state = await temp.open({ wallClock: () => BASE_MS })
    await state.apply('assertions', [assertionWithVolume(A, utf8('café'), 1n)], { from: A.publicKey })
    const check = await verifyState(state)
    expect(check.ok).toBe(true)
    expect(check.stores.every((s) => s.nonCanonical === 0)).toBe(true)
  })
})

function openOlder(dataDir: string) {
  return temp.open({ dataDir, wallClock: () => BASE_MS })
}
