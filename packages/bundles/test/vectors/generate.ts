// Writes test/vectors/dsse-v1.json: `npx tsx packages/bundles/test/vectors/generate.ts`.
// The vectors freeze PAE and the envelope encoding; Ed25519 signatures are deterministic.
import { writeFileSync } from 'node:fs'
import { signerFromSeed, toHex } from '@provsync/crdt'
import { encodeEnvelope, PAYLOAD_TYPE, pae, signEnvelope } from '../../src/index.js'

function seed(byte: number): Uint8Array {
  return new Uint8Array(32).fill(byte)
}

const cases = [
  {
    name: 'spec example, one signature',
    seeds: [0x11],
    payloadType: 'http://example.com/HelloWorld',
    payload: 'hello world',
  },
  { name: 'empty payload', seeds: [0x22], payloadType: 'application/vnd.example+json', payload: '' },
  {
    name: 'two signatures, non-ASCII payload',
    seeds: [0x33, 0x44],
    payloadType: PAYLOAD_TYPE,
    payload: '{"é":"∂"}',
  },
]

const vectors = cases.map((c) => {
  const payload = new TextEncoder().encode(c.payload)
  const signers = c.seeds.map(seed).map(signerFromSeed)
  return {
    name: c.name,
    seeds: c.seeds.map((s) => toHex(seed(s))),
    publicKeys: signers.map((s) => toHex(s.publicKey)),
    payloadType: c.payloadType,
    payloadHex: toHex(payload),
    paeHex: toHex(pae(c.payloadType, payload)),
    envelope: new TextDecoder().decode(encodeEnvelope(signEnvelope(c.payloadType, payload, signers))),
  }
})
writeFileSync(new URL('./dsse-v1.json', import.meta.url), `${JSON.stringify(vectors, null, 2)}\n`)
