import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { openArtifactStore, signArtifact, signGrant } from '@provsync/artifacts'
import { BlobReferences, openBlobReferences } from '@provsync/blobs'
import {
  encodeSupersession,
  generateSigner,
  openNodeState,
  recordHash,
  signerFromSeed,
  signSupersession,
} from '@provsync/crdt'
import { afterEach, describe, expect, it } from 'vitest'
import { artifactReferences, trackRecordReferences } from '../src/blobs/references.js'

// The node's side of "a peer may fetch a blob only if it may hold a record that references it":
// the index filled from crdt (a scan at start, then onApplied with the sender) and from the
// artifact store (blob refs by scope, hold grants), on real LMDB stores.
const NET = 'blob-refs-test'
const dirs: string[] = []
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'provsync-blobrefs-'))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})
const peerOf = (key: Uint8Array) => peerIdFromPublicKey(publicKeyFromRaw(key))
const id = (n: number) => new Uint8Array(32).fill(n)

function supersession(n: number, evidence?: Uint8Array) {
  const agent = signerFromSeed(new Uint8Array(32).fill(40 + n))
  const record = signSupersession(
    {
      target: id(100 + n),
      kind: 'invalidate',
      reason: 'r',
      hlc: { wallMs: Date.now() - 1000, counter: n },
      ...(evidence ? { evidence } : {}),
    },
    agent,
    NET,
  )
  return encodeSupersession(record, NET)
}

describe('trackRecordReferences', () => {
  it('indexes the evidence ids of stored records at start, then of every commit with its sender', async () => {
    const state = await openNodeState({ dataDir: tmp(), networkId: NET, noSync: true, verifyThreads: 0 })
    try {
      const peer = generateSigner().publicKey
      const early = supersession(1, id(1))
      await state.apply('supersessions', [early, supersession(2)], { from: peer })
      const refs = new BlobReferences()
      const stop = await trackRecordReferences(refs, state)
      expect(refs.of(id(1)).map((r) => [r.kind, r.from])).toEqual([['supersession', undefined]])
      expect(refs.of(id(1))[0]!.record).toEqual(recordHash(early))
      expect(refs.size).toBe(1)

      await state.apply('supersessions', [supersession(3, id(3))], { from: peer })
      expect(refs.provenance(id(3))).toEqual([peerOf(peer).toString()])
      state.advanceVerified({ volume: 'v', destination: 'd', origin: 'o' }, 1n, { evidence: id(4) })
      expect(refs.of(id(4)).map((r) => [r.kind, r.from])).toEqual([['assertion', undefined]])
      stop()
      await state.apply('supersessions', [supersession(5, id(5))], { from: peer })
      expect(refs.of(id(5))).toEqual([])
    } finally {
      await state.close()
    }
  })

  it("with a persisted index, a restart keeps each record's sender (the scan only adds what is missing)", async () => {
    const dataDir = tmp()
    const refsDir = join(tmp(), 'references')
    const peer = generateSigner().publicKey
    let state = await openNodeState({ dataDir, networkId: NET, noSync: true, verifyThreads: 0 })
    let refs = await openBlobReferences({ path: refsDir, noSync: true })
    let stop = await trackRecordReferences(refs, state)
    await state.apply('supersessions', [supersession(6, id(6))], { from: peer })
    expect(refs.provenance(id(6))).toEqual([peerOf(peer).toString()])
    stop()
    await refs.close()
    await state.close()

    state = await openNodeState({ dataDir, networkId: NET, noSync: true, verifyThreads: 0 })
    try {
      refs = await openBlobReferences({ path: refsDir, noSync: true })
      stop = await trackRecordReferences(refs, state)
      expect(refs.provenance(id(6))).toEqual([peerOf(peer).toString()])
      expect(refs.of(id(6))).toHaveLength(1)
      stop()
      await refs.close()
      // An index kept in memory only forgets the sender at the restart: the scan knows none.
      const memory = new BlobReferences()
      ;(await trackRecordReferences(memory, state))()
      expect(memory.provenance(id(6))).toEqual([])
    } finally {
      await state.close()
    }
  })
})

describe('artifactReferences', () => {
  it('authorizes an artifact blob only for a peer whose live hold grant covers its scope, catching up on new versions', async () => {
    const operator = generateSigner()
    const publisher = generateSigner()
    const node = generateSigner()
    const [inScope, outOfScope, noGrant] = [generateSigner(), generateSigner(), generateSigner()]
    const store = await openArtifactStore({
      dataDir: tmp(),
      networkId: NET,
      nodeKey: node.publicKey,
      trust: [operator.publicKey],
      noSync: true,
    })
    try {
      let tick = Date.now() - 10_000
      const at = () => ({ wallMs: ++tick, counter: 0 })
      const grant = (key: Uint8Array, right: 'hold' | 'publish', scopes: string[]) =>
        signGrant({ subject: key, right, scopes, epoch: 1n }, operator, NET, at()).bytes
      const artifact = (name: string, blobId: Uint8Array) =>
        signArtifact(
          {
            scope: 'cluster/c1',
            family: 'evidence',
            name,
            version: 1n,
            epoch: 1n,
            content: new Uint8Array(5000),
            blobId,
          },
          publisher,
          NET,
          at(),
        ).bytes
      const from = { from: node.publicKey }
      const granted = await store.apply(
        [
          grant(publisher.publicKey, 'publish', ['cluster']),
          grant(node.publicKey, 'hold', ['cluster']),
          grant(inScope.publicKey, 'hold', ['cluster/c1']),
          grant(outOfScope.publicKey, 'hold', ['cluster/c2']),
        ],
        from,
      )
      expect(granted.every((o) => o.status === 'applied')).toBe(true)
      expect((await store.apply([artifact('a', id(7))], from))[0]!.status).toBe('applied')
      const refs = new BlobReferences()
      const policy = artifactReferences(refs, store)
      expect(policy.mayFetch(peerOf(inScope.publicKey), id(7))).toBe(true) // caught up on demand
      expect(refs.of(id(7))).toMatchObject([{ kind: 'artifact', scope: 'cluster/c1' }])
      expect(policy.mayFetch(peerOf(outOfScope.publicKey), id(7))).toBe(false)
      expect(policy.mayFetch(peerOf(noGrant.publicKey), id(7))).toBe(false)
      expect(policy.mayFetch(peerOf(inScope.publicKey), id(8))).toBe(false)
      await store.apply([artifact('b', id(8))], from)
      expect(policy.mayFetch(peerOf(inScope.publicKey), id(8))).toBe(true)
    } finally {
      await store.close()
    }
  })
})
