import { readFileSync } from 'node:fs'
import {
  createReconciler,
  createResponder,
  EMPTY_ROOT,
  type MerkleTree,
  openMerkleTree,
  type ReconcileOptions,
} from '@provsync/merkle'
import { describe, expect, test } from 'vitest'
import { hashOf, hex, uniqueName, useTempEnv } from './helpers.js'

// Protocol 1 is frozen by the committed vectors (test/vectors/v1/merkle.json, README there): the
// roots of fixed sets and whole reconciliation transcripts. The repository's vector suite checks
// them too; this package checks them against its own code, so that any change of the bytes a
// tree hashes or a session sends fails here ("protocol change: bump the version"). The sets are
// those of test/vectors/build.ts (TREE_SPECS, SESSION_SPECS), restated as data.

interface Transcript {
  name: string
  requests: string[]
  responses: string[]
  result: { localOnly: string[]; remoteOnly: string[]; differing: string[] }
}
interface Vectors {
  emptyRoot: string
  roots: Array<{ name: string; keysAreHashes: boolean; count: number; root: string }>
  transcripts: Transcript[]
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../test/vectors/v1/merkle.json', import.meta.url), 'utf8'),
) as Vectors
const vectorsV2 = JSON.parse(
  readFileSync(new URL('../../../test/vectors/v2/merkle.json', import.meta.url), 'utf8'),
) as Pick<Vectors, 'transcripts'>
const BUMP = 'protocol change: bump the version'
const temp = useTempEnv()
const utf8 = new TextEncoder()
const unhex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'))

type Entries = Array<[number, string]>
const range = (from: number, to: number, variant = ''): Entries =>
  Array.from({ length: to - from }, (_, i) => [from + i, variant] as [number, string])

function build(keysAreHashes: boolean, entries: Entries): MerkleTree {
  const tree = openMerkleTree(temp.env, { name: uniqueName('vec'), keysAreHashes })
  temp.env.transactionSync(() =>
    tree.update(
      entries.map(([i, variant]) => ({
        key: keysAreHashes ? hashOf(`key-${i}`) : utf8.encode(`key-${i}`),
        valueHash: hashOf(`value-${i}${variant}`),
      })),
    ),
  )
  return tree
}

const TREES: Record<string, [boolean, Entries]> = {
  'hashed-1': [true, range(0, 1)],
  'hashed-3': [true, range(0, 3)],
  'hashed-300': [true, range(0, 300)],
  'plain-1': [false, range(0, 1)],
  'plain-60': [false, range(0, 60)],
}

const SESSIONS: Record<string, { keysAreHashes: boolean; a: Entries; b: Entries }> = {
  'hashed-300': {
    keysAreHashes: true,
    a: range(0, 300),
    b: [...range(0, 300).filter(([i]) => i !== 3 && i !== 50 && i !== 7), [7, 'b'], ...range(300, 304)],
  },
  'plain-60': { keysAreHashes: false, a: range(0, 60), b: [...range(1, 59), [59, 'b'], ...range(60, 62)] },
  'empty-vs-hashed-3': { keysAreHashes: true, a: [], b: range(0, 3) },
}

type Sides = { initiator?: ReconcileOptions; responder?: ReconcileOptions }

/** A responder over the transcript's `b` set answers its committed requests with its committed responses. */
function replayResponder(transcript: Transcript, options: Sides = {}): void {
  const spec = SESSIONS[transcript.name]!
  const responder = createResponder(build(spec.keysAreHashes, spec.b), options.responder)
  transcript.requests.forEach((request, round) => {
    expect(hex(responder.respond(unhex(request))), `${BUMP}: ${transcript.name} response ${round}`).toBe(
      transcript.responses[round],
    )
  })
  expect(responder.done).toBe(true)
}

/** A reconciler over the `a` set, fed the committed responses, sends the committed requests and finds the committed keys. */
function replayReconciler(transcript: Transcript, options: Sides = {}): void {
  const spec = SESSIONS[transcript.name]!
  const reconciler = createReconciler(build(spec.keysAreHashes, spec.a), options.initiator)
  const sent: string[] = []
  for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
    sent.push(hex(request))
    const response = transcript.responses[sent.length - 1]
    if (response === undefined) break
    reconciler.receive(unhex(response))
  }
  expect(sent, `${BUMP}: ${transcript.name} requests`).toEqual(transcript.requests)
  expect(reconciler.done).toBe(true)
  const result = reconciler.result()
  expect({
    localOnly: result.localOnly.map(hex).sort(),
    remoteOnly: result.remoteOnly.map(hex).sort(),
    differing: result.differing.map(hex).sort(),
  }).toEqual(transcript.result)
}

/** The committed transcripts of `vectors` replayed against this package's responder and reconciler. */
function replayTranscripts(transcripts: Transcript[], options: Sides = {}): void {
  expect(transcripts.map((t) => t.name)).toEqual(Object.keys(SESSIONS))
  for (const transcript of transcripts) {
    replayResponder(transcript, options)
    replayReconciler(transcript, options)
  }
}

describe('frozen merkle vectors of protocol 2 (test/vectors/v2/merkle.json, salts fixed)', () => {
  test('the same pairs and salts give the committed frames both ways, and the committed keys', () => {
    // Both sides of a session run the same code, so a change to the protocol that both make alike
    // (the key a fingerprint is taken with, a key's encoding) still agrees with itself: only the
    // frozen frames see it.
    replayTranscripts(vectorsV2.transcripts, {
      initiator: { version: 2, salt: new Uint8Array(16).fill(0x11) },
      responder: { salt: new Uint8Array(16).fill(0x22) },
    })
  })
})

describe('frozen merkle vectors of protocol 1', () => {
  test('the empty root and the roots of the fixed sets', () => {
    expect(hex(EMPTY_ROOT), BUMP).toBe(vectors.emptyRoot)
    expect(vectors.roots.map((r) => r.name)).toEqual(Object.keys(TREES))
    for (const committed of vectors.roots) {
      const [keysAreHashes, entries] = TREES[committed.name]!
      const tree = build(keysAreHashes, entries)
      expect(
        { ...committed, count: tree.count(), root: hex(tree.root()) },
        `${BUMP}: ${committed.name}`,
      ).toEqual(committed)
    }
  })

  test('a responder answers the committed requests with the committed responses', () => {
    expect(vectors.transcripts.map((t) => t.name)).toEqual(Object.keys(SESSIONS))
    for (const transcript of vectors.transcripts) replayResponder(transcript)
  })

  test('a reconciler fed the committed responses sends the committed requests and finds the committed keys', () => {
    for (const transcript of vectors.transcripts) replayReconciler(transcript)
  })
})
