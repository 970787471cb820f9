import {
  ARTIFACT_SYNC_PROTOCOL,
  type ArtifactMessage,
  decodeArtifactMessage,
  encodeArtifactMessage,
} from '@provsync/artifacts'
import { framedStream } from '@provsync/sync'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { NET, publishers } from './helpers.js'
import { cleanup, connect, grantTo, startArtifactNode, waitFor } from './net/nodes.js'

afterEach(cleanup)

const key = (n: number) => new Uint8Array(32).fill(n)

describe('the artifacts protocol frames', () => {
  const samples: ArtifactMessage[] = [
    { type: 'hello', version: 1, networkId: 'net', bundleVersion: 3n, credential: new Uint8Array([1, 2]) },
    { type: 'hello', version: 1, networkId: 'net', bundleVersion: 0n },
    { type: 'welcome', version: 1 },
    { type: 'refusal', code: 'not-shared', message: 'no such scope for this peer' },
    { type: 'reconcile', scope: '', payload: new Uint8Array([9, 9]) },
    {
      type: 'scopes',
      scopes: [
        { scope: 'a/b', root: key(1) },
        { scope: 'a/c', root: key(2) },
      ],
    },
    { type: 'want', scope: 'a/b', all: false, keys: [key(3), key(4)] },
    { type: 'want', scope: 'a/b', all: true, keys: [] },
    { type: 'records', scope: 'a/b', last: true, records: [new Uint8Array([5, 6, 7])] },
    { type: 'end' },
  ]

  it('round-trips every message', () => {
    for (const m of samples) expect(decodeArtifactMessage(encodeArtifactMessage(m))).toEqual(m)
  })

  it('turns any bytes into a message that re-encodes identically, or a MalformedArtifactFrameError', () => {
    const mutated = fc
      .tuple(
        fc.constantFrom(...samples.map(encodeArtifactMessage)),
        fc.array(fc.tuple(fc.nat(), fc.nat(255))),
      )
      .map(([bytes, edits]) => {
        const out = new Uint8Array(bytes)
        for (const [at, value] of edits) if (out.length > 0) out[at % out.length] = value
        return out
      })
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 200 })), (bytes) => {
        let message: ArtifactMessage
        try {
          message = decodeArtifactMessage(bytes)
        } catch (err) {
          expect((err as Error).name).toBe('MalformedArtifactFrameError')
          return
        }
        expect(encodeArtifactMessage(message)).toEqual(bytes)
      }),
      { numRuns: 2_000 },
    )
  })

  it('refuses unsorted scope lists, a want of all that names keys, and a scope that is not one', () => {
    const unsorted = encodeArtifactMessage({
      type: 'scopes',
      scopes: [
        { scope: 'a/c', root: key(1) },
        { scope: 'a/b', root: key(2) },
      ],
    })
    expect(() => decodeArtifactMessage(unsorted)).toThrow(/not sorted/)
    const wantAll = encodeArtifactMessage({ type: 'want', scope: 'a', all: true, keys: [key(1)] })
    expect(() => decodeArtifactMessage(wantAll)).toThrow(/names keys/)
    const badScope = encodeArtifactMessage({ type: 'want', scope: 'A/../b', all: true, keys: [] })
    expect(() => decodeArtifactMessage(badScope)).toThrow(/not a scope/)
  })
})

describe('a hand-written peer on the wire', () => {
  async function rawPeer() {
    const storage = await startArtifactNode()
    const client = await startArtifactNode()
    await storage.artifacts.publish(
      [
        grantTo(publishers[0]!.publicKey, 'publish', ['cluster']),
        grantTo(storage.key, 'hold', ['cluster']),
        grantTo(client.key, 'hold', ['cluster/c1']),
      ].map((d) => d.bytes),
    )
    await connect(client, storage)
    const stream = await client.node.libp2p.dialProtocol(storage.peerId, ARTIFACT_SYNC_PROTOCOL)
    const framed = framedStream(stream)
    const send = (m: ArtifactMessage) => framed.write(encodeArtifactMessage(m))
    const read = async () => {
      const f = await framed.read()
      return f === undefined ? undefined : decodeArtifactMessage(f)
    }
    return { storage, client, stream, framed, send, read }
  }

  it('garbage after the hello is a malformed-frame offence; the node carries on serving', async () => {
    const { storage, client, framed, send, read } = await rawPeer()
    await send({ type: 'hello', version: 1, networkId: NET, bundleVersion: 0n })
    expect(await read()).toMatchObject({ type: 'welcome' })
    await framed.write(new Uint8Array([0xff, 1, 2, 3]))
    await waitFor(() => storage.artifacts.offences(client.peerId)['malformed-frame'] === 1, 'the offence')
    const report = await client.artifacts.syncWith(storage.peerId)
    expect(report.error).toBeUndefined()
  })

  it('asking about a scope it was not listed gets not-shared and is blamed as a probe', async () => {
    const { storage, client, send, read } = await rawPeer()
    await send({ type: 'hello', version: 1, networkId: NET, bundleVersion: 0n })
    await read()
    await send({ type: 'scopes', scopes: [] })
    expect(await read()).toEqual({ type: 'scopes', scopes: [] })
    await send({ type: 'want', scope: 'cluster/c2', all: true, keys: [] })
    expect(await read()).toEqual({
      type: 'refusal',
      code: 'not-shared',
      message: 'no such scope for this peer',
    })
    await waitFor(() => storage.artifacts.offences(client.peerId).probe === 1, 'the probe offence')
  })

  it('another network id is refused as wrong-network before anything else', async () => {
    const { storage, client, send, read } = await rawPeer()
    await send({ type: 'hello', version: 1, networkId: 'another-net', bundleVersion: 0n })
    expect(await read()).toMatchObject({ type: 'refusal', code: 'wrong-network' })
    await waitFor(() => storage.artifacts.offences(client.peerId)['wrong-network'] === 1, 'the offence')
  })
})
