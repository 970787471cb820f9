/**
 * Writes `session-v3.json`: the frames of a protocol 3 session, in the order they travel on its one
 * stream, each with its length prefix. Run `npx tsx packages/sync/test/vectors/generate.ts`; the
 * committed file is the reference, and session-vectors.test.ts checks this release against it.
 */
import { writeFileSync } from 'node:fs'
import { encodeFrame } from '../../src/framing.js'
import { encodeMessage, type Message } from '../../src/wire/codec.js'

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill)
const key = (i: number) => bytes(32, i)

/** Initiator `i`, responder `r`. Merkle payloads are opaque here (merkle's own vectors fix them). */
export const SESSION: Array<{ from: 'i' | 'r'; note: string; message: Message }> = [
  {
    from: 'i',
    note: 'hello naming version 3 and all four stores',
    message: {
      type: 'hello',
      networkId: 'provsync-vectors',
      trustHash: bytes(32, 7),
      version: 3,
      stores: ['revocations', 'supersessions', 'assertions', 'invalidations'],
      kinds: ['supersession/v2', 'assertion/v2'],
    },
  },
  {
    from: 'r',
    note: 'welcome naming version 3: the session runs on this stream',
    message: {
      type: 'welcome',
      version: 3,
      stores: ['revocations', 'supersessions', 'assertions', 'invalidations'],
      kinds: ['supersession/v2', 'assertion/v2'],
    },
  },
  ...(['revocations', 'supersessions', 'assertions', 'invalidations'] as const).map((store, i) => ({
    from: 'i' as const,
    note: `first merkle request of ${store}, all four sent before any answer is read`,
    message: { type: 'reconcile' as const, store, payload: bytes(8, i + 1) },
  })),
  ...(['revocations', 'supersessions', 'assertions', 'invalidations'] as const).map((store, i) => ({
    from: 'r' as const,
    note: `answer for ${store}, in the order of the requests`,
    message: { type: 'reconcile' as const, store, payload: bytes(12, 0x10 + i) },
  })),
  {
    from: 'i',
    note: 'the initiator pulls on the same stream',
    message: { type: 'fetch', store: 'assertions', keys: [key(1), key(2)] },
  },
  {
    from: 'r',
    note: 'its records, one frame, last',
    message: { type: 'records', records: [bytes(40, 0xa1), bytes(41, 0xa2)], last: true, missing: 0 },
  },
  {
    from: 'i',
    note: 'an offer of what the responder lacks',
    message: { type: 'offer', store: 'assertions', keys: [key(3)], last: true },
  },
  {
    from: 'r',
    note: 'the responder pulls the offer on the same stream',
    message: { type: 'fetch', store: 'assertions', keys: [key(3)] },
  },
  {
    from: 'i',
    note: 'the initiator answers it',
    message: { type: 'records', records: [bytes(40, 0xa3)], last: true, missing: 0 },
  },
  {
    from: 'r',
    note: 'the responder applied it',
    message: { type: 'pulled', store: 'assertions', applied: 1, refused: 0 },
  },
  { from: 'i', note: 'end', message: { type: 'end' } },
  { from: 'r', note: 'end', message: { type: 'end' } },
]

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

if (import.meta.url === `file://${process.argv[1]}`) {
  const frames = SESSION.map(({ from, note }, i) => ({
    from,
    note,
    type: SESSION[i]!.message.type,
    hex: hex(encodeFrame(encodeMessage(SESSION[i]!.message))),
  }))
  writeFileSync(
    new URL('./session-v3.json', import.meta.url),
    `${JSON.stringify({ protocol: '/provsync/reconcile/1.0.0', version: 3, frames }, null, 2)}\n`,
  )
}
