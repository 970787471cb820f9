/**
 * Builders of the frozen test vectors, from fixed seeds only: the generator writes their output
 * to `v1/*.json`, and `vectors.test.ts` rebuilds them and compares bytes. Nothing here reads a
 * clock or a random source, so a difference is a change of an encoding.
 */
import {
  type AnyRecord,
  assertionKey,
  blake3,
  type Coordinate,
  encodeAssertion,
  encodeRevocation,
  encodeSupersession,
  networkTag,
  openNodeState,
  recordHash,
  type Signer,
  STORE_NAMES,
  type StoreName,
  signAssertion,
  signerFromSeed,
  signRevocation,
  signSupersession,
} from '@provsync/crdt'
import {
  createReconciler,
  createResponder,
  EMPTY_ROOT,
  type MerkleTree,
  openMerkleTree,
  type ReconcileOptions,
} from '@provsync/merkle'
import { trustBundleHash } from '@provsync/sync'
import type { RootDatabase } from 'lmdb'
import { encodeAnnouncement, encodeMessage, type Message } from '../../packages/sync/src/wire/codec.js'

export const VECTOR_NETWORK = 'vectors-net'
export const VECTOR_MS = Date.UTC(2026, 0, 1)

const utf8 = new TextEncoder()

/** Signer number `n`: the seed is 32 bytes of `n`. */
export function vectorSigner(n: number): Signer {
  return signerFromSeed(new Uint8Array(32).fill(n))
}

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
export const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'))

/** JSON form of decoded values: bytes as hex, bigints as decimal strings. */
export function toPlain(value: unknown): unknown {
  if (value instanceof Uint8Array) return hex(value)
  if (typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) return value.map(toPlain)
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toPlain(v)
    return out
  }
  return value
}

// ---- records

export interface RecordVector {
  name: string
  signerSeed: number
  type: AnyRecord['type']
  fields: unknown
  hash: string
  hex: string
}

const hlcAt = (offsetMs: number, counter = 0) => ({ wallMs: VECTOR_MS + offsetMs, counter })
const target = (n: number) => blake3(utf8.encode(`target-${n}`))

const ASSERTIONS: Array<{ name: string; coordinate: Coordinate; run: bigint; method: string; ms: number }> = [
  {
    name: 'assertion-basic',
    coordinate: { volume: 'photos', destination: 's3-eu', origin: 'laptop-7' },
    run: 42n,
    method: 'sha256-readback',
    ms: 0,
  },
  {
    name: 'assertion-max-run-empty-method',
    coordinate: { volume: 'v', destination: 'd', origin: 'o' },
    run: 2n ** 64n - 1n,
    method: '',
    ms: 1,
  },
  {
    name: 'assertion-unicode-nfc',
    coordinate: { volume: 'café', destination: 'Zürich', origin: '東京-1 🚀' },
    run: 0n,
    method: 'blake3',
    ms: 2,
  },
]

function recordVector(name: string, signerSeed: number, any: AnyRecord, bytes: Uint8Array): RecordVector {
  return {
    name,
    signerSeed,
    type: any.type,
    fields: toPlain(any.record),
    hash: hex(recordHash(bytes)),
    hex: hex(bytes),
  }
}

export function buildRecordVectors(): RecordVector[] {
  const out: RecordVector[] = []
  const asserter = vectorSigner(1)
  for (const a of ASSERTIONS) {
    const record = signAssertion(
      { coordinate: a.coordinate, run: a.run, method: a.method, hlc: hlcAt(a.ms) },
      asserter,
      VECTOR_NETWORK,
    )
    out.push(recordVector(a.name, 1, { type: 'assertion', record }, encodeAssertion(record, VECTOR_NETWORK)))
  }
  const agent = vectorSigner(2)
  const supersessions = [
    { name: 'supersession-invalidate', kind: 'invalidate' as const, reason: 'bad disk' },
    { name: 'supersession-replace', kind: 'replace' as const, reason: 'newer copy', replacement: target(2) },
    { name: 'supersession-correct', kind: 'correct' as const, reason: '', replacement: target(3) },
  ]
  supersessions.forEach((s, i) => {
    const { name, ...fields } = s
    const record = signSupersession(
      { ...fields, target: target(1), hlc: hlcAt(10 + i, i) },
      agent,
      VECTOR_NETWORK,
    )
    out.push(
      recordVector(name, 2, { type: 'supersession', record }, encodeSupersession(record, VECTOR_NETWORK)),
    )
  })
  const operator = vectorSigner(3)
  const revocations = [
    { name: 'revocation-revoke-peer', action: 'revoke' as const, subjectKind: 'peer' as const },
    { name: 'revocation-reinstate-signer', action: 'reinstate' as const, subjectKind: 'signer' as const },
  ]
  revocations.forEach((r, i) => {
    const { name, ...fields } = r
    const record = signRevocation(
      { ...fields, subject: vectorSigner(1).publicKey, reason: 'host compromised', hlc: hlcAt(20 + i) },
      operator,
      VECTOR_NETWORK,
    )
    out.push(recordVector(name, 3, { type: 'revocation', record }, encodeRevocation(record, VECTOR_NETWORK)))
  })
  return out
}

// ---- records with an evidence blob id (version 2, issue #15)

const evidenceId = (n: number) => blake3(utf8.encode(`evidence-${n}`))

/**
 * Version-2 supersessions and assertions: the version-1 fields plus an evidence blob id. Frozen in
 * `v2/records.json`; the version-1 vectors stay as they are (a record without evidence is still
 * written as version 1).
 */
export function buildEvidenceRecordVectors(): RecordVector[] {
  const out: RecordVector[] = []
  const asserter = vectorSigner(1)
  const a = ASSERTIONS[0]!
  const assertion = signAssertion(
    { coordinate: a.coordinate, run: a.run, method: a.method, hlc: hlcAt(30), evidence: evidenceId(1) },
    asserter,
    VECTOR_NETWORK,
  )
  out.push(
    recordVector(
      'assertion-evidence',
      1,
      { type: 'assertion', record: assertion },
      encodeAssertion(assertion, VECTOR_NETWORK),
    ),
  )
  const agent = vectorSigner(2)
  const supersessions = [
    { name: 'supersession-invalidate-evidence', kind: 'invalidate' as const, reason: 'bad disk' },
    {
      name: 'supersession-replace-evidence',
      kind: 'replace' as const,
      reason: 'newer copy',
      replacement: target(2),
    },
  ]
  supersessions.forEach((s, i) => {
    const { name, ...fields } = s
    const record = signSupersession(
      { ...fields, target: target(1), hlc: hlcAt(40 + i), evidence: evidenceId(2 + i) },
      agent,
      VECTOR_NETWORK,
    )
    out.push(
      recordVector(name, 2, { type: 'supersession', record }, encodeSupersession(record, VECTOR_NETWORK)),
    )
  })
  return out
}

// ---- merkle

export interface TreeSpec {
  name: string
  keysAreHashes: boolean
  /** Entry i: key `key-i` (or its BLAKE3 for hashed keys), value hash BLAKE3(`value-i` ‖ variant). */
  entries: Array<[number, string]>
}

const range = (from: number, to: number, variant = ''): Array<[number, string]> =>
  Array.from({ length: to - from }, (_, i) => [from + i, variant] as [number, string])

export const TREE_SPECS: readonly TreeSpec[] = [
  { name: 'hashed-1', keysAreHashes: true, entries: range(0, 1) },
  { name: 'hashed-3', keysAreHashes: true, entries: range(0, 3) },
  { name: 'hashed-300', keysAreHashes: true, entries: range(0, 300) },
  { name: 'plain-1', keysAreHashes: false, entries: range(0, 1) },
  { name: 'plain-60', keysAreHashes: false, entries: range(0, 60) },
]

/** Pairs reconciled in the transcripts: A initiates, B responds. */
export const SESSION_SPECS: ReadonlyArray<{ name: string; a: TreeSpec; b: TreeSpec }> = [
  {
    name: 'hashed-300',
    a: { name: 'a', keysAreHashes: true, entries: range(0, 300) },
    b: {
      name: 'b',
      keysAreHashes: true,
      entries: [
        ...range(0, 300).filter(([i]) => i !== 3 && i !== 50 && i !== 7),
        [7, 'b'],
        ...range(300, 304),
      ],
    },
  },
  {
    name: 'plain-60',
    a: { name: 'a', keysAreHashes: false, entries: range(0, 60) },
    b: { name: 'b', keysAreHashes: false, entries: [...range(1, 59), [59, 'b'], ...range(60, 62)] },
  },
  {
    name: 'empty-vs-hashed-3',
    a: { name: 'a', keysAreHashes: true, entries: [] },
    b: { name: 'b', keysAreHashes: true, entries: range(0, 3) },
  },
]

function keyOf(i: number, keysAreHashes: boolean): Uint8Array {
  const key = utf8.encode(`key-${i}`)
  return keysAreHashes ? blake3(key) : key
}

let treeCounter = 0

/** Builds a spec's tree in `env` (under a fresh name) inside one write transaction. */
export function buildTree(env: RootDatabase, spec: TreeSpec): MerkleTree {
  const tree = openMerkleTree(env, {
    name: `vec-${spec.name}-${++treeCounter}`,
    keysAreHashes: spec.keysAreHashes,
  })
  env.transactionSync(() =>
    tree.update(
      spec.entries.map(([i, variant]) => ({
        key: keyOf(i, spec.keysAreHashes),
        valueHash: blake3(utf8.encode(`value-${i}${variant}`)),
      })),
    ),
  )
  return tree
}

export interface Transcript {
  /** Initiator messages, in order. */
  requests: string[]
  /** Responder answers, one per request. */
  responses: string[]
  result: { localOnly: string[]; remoteOnly: string[]; differing: string[] }
}

/** Each side's options: protocol 1 by default; v2 vectors fix the salts (see V2_SALTS). */
export function runTranscript(
  a: MerkleTree,
  b: MerkleTree,
  initiator: ReconcileOptions = {},
  responderOptions: ReconcileOptions = {},
): Transcript {
  const reconciler = createReconciler(a, initiator)
  const responder = createResponder(b, responderOptions)
  const requests: string[] = []
  const responses: string[] = []
  for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
    const response = responder.respond(request)
    requests.push(hex(request))
    responses.push(hex(response))
    reconciler.receive(response)
    if (requests.length > 1000) throw new Error('transcript did not end')
  }
  const result = reconciler.result()
  return {
    requests,
    responses,
    result: {
      localOnly: result.localOnly.map(hex).sort(),
      remoteOnly: result.remoteOnly.map(hex).sort(),
      differing: result.differing.map(hex).sort(),
    },
  }
}

export interface MerkleVectors {
  emptyRoot: string
  roots: Array<{ name: string; keysAreHashes: boolean; count: number; root: string }>
  transcripts: Array<{ name: string } & Transcript>
}

export function buildMerkleVectors(env: RootDatabase): MerkleVectors {
  const roots = TREE_SPECS.map((spec) => {
    const tree = buildTree(env, spec)
    return { name: spec.name, keysAreHashes: spec.keysAreHashes, count: tree.count(), root: hex(tree.root()) }
  })
  const transcripts = SESSION_SPECS.map((s) => ({
    name: s.name,
    ...runTranscript(buildTree(env, s.a), buildTree(env, s.b)),
  }))
  return { emptyRoot: hex(EMPTY_ROOT), roots, transcripts }
}

/** Protocol 2's salts in the v2 transcripts: each side's is fixed so the frames are. */
export const V2_SALTS = { initiator: new Uint8Array(16).fill(0x11), responder: new Uint8Array(16).fill(0x22) }
export const v2Options = {
  initiator: { version: 2 as const, salt: V2_SALTS.initiator } satisfies ReconcileOptions,
  responder: { salt: V2_SALTS.responder } satisfies ReconcileOptions,
}

/** Protocol 2 (salted fingerprints): the same pairs as v1, with fixed salts. */
export function buildMerkleV2Vectors(env: RootDatabase): Pick<MerkleVectors, 'transcripts'> {
  const transcripts = SESSION_SPECS.map((s) => ({
    name: s.name,
    ...runTranscript(buildTree(env, s.a), buildTree(env, s.b), v2Options.initiator, v2Options.responder),
  }))
  return { transcripts }
}

/** Sync frames of protocol 2: hello and welcome naming version 2, a reconcile frame of merkle's protocol 2. */
export function buildSyncV2Vectors(
  merkleV2: Pick<MerkleVectors, 'transcripts'>,
): Pick<SyncVectors, 'frames'> {
  const trustHash = trustBundleHash([vectorSigner(3).publicKey, vectorSigner(4).publicKey])
  const messages: Array<[string, Message]> = [
    ['hello', { type: 'hello', networkId: VECTOR_NETWORK, trustHash, version: 2 }],
    ['welcome', { type: 'welcome', version: 2 }],
    [
      'reconcile',
      { type: 'reconcile', store: 'assertions', payload: unhex(merkleV2.transcripts[0]!.requests[0]!) },
    ],
  ]
  const frames = messages.map(([name, message]) => ({
    name,
    fields: toPlain(message),
    hex: hex(encodeMessage(message)),
  }))
  return { frames }
}

/**
 * The hello and welcome of a node that names the record kinds it accepts beyond the first
 * release's (hello field 6, welcome field 4; `v2/kinds.json`): with and without the stores and
 * credential fields before them, so the order of the extension fields is pinned too.
 */
export function buildSyncKindsVectors(): Pick<SyncVectors, 'frames'> {
  const trustHash = trustBundleHash([vectorSigner(3).publicKey, vectorSigner(4).publicKey])
  const kinds = ['supersession/v2', 'assertion/v2']
  const stores = ['revocations', 'supersessions', 'assertions', 'invalidations']
  const credential = new Uint8Array(8).fill(7)
  const messages: Array<[string, Message]> = [
    ['hello-kinds', { type: 'hello', networkId: VECTOR_NETWORK, trustHash, version: 2, kinds }],
    ['welcome-kinds', { type: 'welcome', version: 2, kinds }],
    [
      'hello-stores-credential-kinds',
      { type: 'hello', networkId: VECTOR_NETWORK, trustHash, version: 2, stores, credential, kinds },
    ],
    ['welcome-stores-credential-kinds', { type: 'welcome', version: 2, stores, credential, kinds }],
  ]
  const frames = messages.map(([name, message]) => ({
    name,
    fields: toPlain(message),
    hex: hex(encodeMessage(message)),
  }))
  return { frames }
}

// ---- sync wire

export interface SyncVectors {
  trustHash: string
  frames: Array<{ name: string; fields: unknown; hex: string }>
  announcements: Array<{ name: string; fields: unknown; hex: string }>
}

/** The messages pinned by the vectors; `merkle` supplies a real reconciliation payload. */
export function syncMessages(merkle: MerkleVectors, records: RecordVector[]): Array<[string, Message]> {
  const trustHash = trustBundleHash([vectorSigner(3).publicKey, vectorSigner(4).publicKey])
  const keys = records.slice(0, 2).map((r) => unhex(r.hash))
  const firstRequest = unhex(merkle.transcripts[0]!.requests[0]!)
  return [
    ['hello', { type: 'hello', networkId: VECTOR_NETWORK, trustHash, version: 1 }],
    ['welcome', { type: 'welcome', version: 1 }],
    ['refusal', { type: 'refusal', code: 'wrong-network', message: 'peer is on another network' }],
    ['refusal-store', { type: 'refusal', code: 'unknown-store', message: 'no such store', store: 'blobs' }],
    ['reconcile', { type: 'reconcile', store: 'assertions', payload: firstRequest }],
    ['offer', { type: 'offer', store: 'supersessions', keys, last: true }],
    ['offer-more', { type: 'offer', store: 'supersessions', keys: keys.slice(0, 1), last: false }],
    ['pulled', { type: 'pulled', store: 'revocations', applied: 3, refused: 1 }],
    ['fetch', { type: 'fetch', store: 'assertions', keys }],
    ['records', { type: 'records', records: records.map((r) => unhex(r.hex)), last: true, missing: 0 }],
    ['records-partial', { type: 'records', records: [unhex(records[0]!.hex)], last: false, missing: 2 }],
    ['end', { type: 'end' }],
  ]
}

export function buildSyncVectors(merkle: MerkleVectors, records: RecordVector[]): SyncVectors {
  const trustHash = trustBundleHash([vectorSigner(3).publicKey, vectorSigner(4).publicKey])
  const frames = syncMessages(merkle, records).map(([name, message]) => ({
    name,
    fields: toPlain(message),
    hex: hex(encodeMessage(message)),
  }))
  const root = (name: string) => unhex(merkle.roots.find((r) => r.name === name)!.root)
  const heads = [
    { store: 'revocations', root: EMPTY_ROOT, count: 0 },
    { store: 'supersessions', root: root('hashed-3'), count: 3 },
    { store: 'assertions', root: root('hashed-300'), count: 300 },
  ]
  const announcements = [
    { name: 'heads-3', value: { networkId: VECTOR_NETWORK, trustHash, heads } },
    { name: 'heads-none', value: { networkId: VECTOR_NETWORK, trustHash, heads: [] } },
  ].map(({ name, value }) => ({ name, fields: toPlain(value), hex: hex(encodeAnnouncement(value)) }))
  return { trustHash: hex(trustHash), frames, announcements }
}

// ---- encoded records for the LMDB scenario

export function signedAssertion(signer: Signer, coordinate: Coordinate, run: bigint): Uint8Array {
  const record = signAssertion({ coordinate, run, method: 'checksum', hlc: hlcAt(0) }, signer, VECTOR_NETWORK)
  return encodeAssertion(record, VECTOR_NETWORK)
}

export function signedSupersession(signer: Signer): Uint8Array {
  const record = signSupersession(
    { kind: 'invalidate', target: target(1), reason: 'test', hlc: hlcAt(0) },
    signer,
    VECTOR_NETWORK,
  )
  return encodeSupersession(record, VECTOR_NETWORK)
}

export function signedRevocation(operator: Signer, subject: Uint8Array): Uint8Array {
  const record = signRevocation(
    { action: 'revoke', subjectKind: 'peer', subject, reason: 'compromised', hlc: hlcAt(0) },
    operator,
    VECTOR_NETWORK,
  )
  return encodeRevocation(record, VECTOR_NETWORK)
}

// ---- the stores: tree keys and roots of the record vectors

export interface StoreVectors {
  networkTag: string
  /** Tree key of each record vector, by name (assertion registers are keyed by asserter ‖ coordinate). */
  treeKeys: Record<string, string>
  /** Root of each store's tree after applying that store's record vectors to a fresh node. */
  roots: Record<string, string>
}

const STORE_OF: Record<AnyRecord['type'], StoreName> = {
  assertion: 'assertions',
  supersession: 'supersessions',
  revocation: 'revocations',
}

/** Applies each store's records to its own fresh node in `dataDir(store)`; the operator (seed 3) is trusted. */
export async function buildStoreVectors(
  records: RecordVector[],
  dataDir: (store: StoreName) => string,
): Promise<StoreVectors> {
  const treeKeys: Record<string, string> = {}
  for (const r of records) {
    const fields = r.fields as { asserter?: string; coordinate?: Coordinate }
    treeKeys[r.name] =
      r.type === 'assertion' ? hex(assertionKey(unhex(fields.asserter!), fields.coordinate!)) : r.hash
  }
  const roots: Record<string, string> = {}
  for (const store of STORE_NAMES) {
    const state = await openNodeState({
      dataDir: dataDir(store),
      networkId: VECTOR_NETWORK,
      trust: [vectorSigner(3).publicKey],
      seed: new Uint8Array(32).fill(9),
      wallClock: () => VECTOR_MS + 60_000,
      verifyThreads: 0,
    })
    try {
      const mine = records.filter((r) => STORE_OF[r.type] === store)
      const outcomes = await state.apply(
        store,
        mine.map((r) => unhex(r.hex)),
        { from: vectorSigner(5).publicKey },
      )
      const refused = outcomes.find((o) => o.status === 'refused')
      if (refused !== undefined) throw new Error(`vector record refused: ${refused.detail}`)
      const absent = mine.find((r) => state.tree(store).get(unhex(treeKeys[r.name]!)) === undefined)
      if (absent !== undefined) throw new Error(`${absent.name} is not in the tree under its key`)
      roots[store] = hex(state.tree(store).root())
    } finally {
      await state.close()
    }
  }
  return { networkTag: hex(networkTag(VECTOR_NETWORK)), treeKeys, roots }
}
