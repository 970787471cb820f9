/**
 * A Byzantine peer: a libp2p node running the real provsync service over a lying store. It
 * serves forged, foreign, far-future and untrusted records, valid but false assertions (runs that
 * never happened), equivocating and replayed versions of its own records, and it attacks the
 * protocol directly with oversized and malformed frames and a flood of streams.
 */
import { mkdir, rm } from 'node:fs/promises'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { PeerId } from '@libp2p/interface'
import { memory } from '@libp2p/memory'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import {
  assertionKey,
  type Coordinate,
  encodeAssertion,
  encodeRevocation,
  encodeSupersession,
  recordHash,
  type Signer,
  signAssertion,
  signerFromSeed,
  signRevocation,
  signSupersession,
  toHex,
} from '@provsync/crdt'
import { type MerkleTree, openMerkleTree } from '@provsync/merkle'
import { encodeLength, provsync, RECONCILE_PROTOCOL, type StoreName, type SyncedState } from '@provsync/sync'
import { createLibp2p, type Libp2p } from 'libp2p'
import { open, type RootDatabase } from 'lmdb'
import type { Rng } from './prng.js'

export type ByzantineBehaviour =
  | 'forged-signature'
  | 'untrusted-revocation'
  | 'wrong-network'
  | 'far-future'
  | 'phantom-runs'
  | 'equivocation'
  | 'replay'
  | 'oversized-frame'
  | 'garbage-frame'
  | 'flood'

export const BYZANTINE_BEHAVIOURS: readonly ByzantineBehaviour[] = [
  'forged-signature',
  'untrusted-revocation',
  'wrong-network',
  'far-future',
  'phantom-runs',
  'equivocation',
  'replay',
  'oversized-frame',
  'garbage-frame',
  'flood',
]

/** What a scenario's Byzantine peers do when it names no behaviours: all but the stream flood. */
export const DEFAULT_BYZANTINE_BEHAVIOURS: readonly ByzantineBehaviour[] = BYZANTINE_BEHAVIOURS.filter(
  (b) => b !== 'flood',
)

/**
 * Refusal or offence reasons that prove an honest node caught a behaviour. Valid-but-false
 * records (phantom runs, equivocation, replay) cannot be refused on sight; the checker covers them
 * through convergence and the revocation invariants instead.
 */
export const CAUGHT_BY: Readonly<Record<ByzantineBehaviour, readonly string[] | undefined>> = {
  'forged-signature': ['bad-signature'],
  'untrusted-revocation': ['untrusted-operator'],
  'wrong-network': ['wrong-network'],
  'far-future': ['far-future'],
  'phantom-runs': undefined,
  equivocation: undefined,
  replay: undefined,
  'oversized-frame': ['oversized-frame'],
  'garbage-frame': ['malformed-frame', 'unexpected-message'],
  flood: ['too-many-sessions', 'rate-limited'],
}

export interface ServedRecord {
  readonly store: StoreName
  readonly key: Uint8Array
  readonly bytes: Uint8Array
}

export interface ByzantineOptions {
  readonly name: string
  readonly dataDir: string
  readonly networkId: string
  readonly trust: readonly Uint8Array[]
  readonly listen: string
  readonly behaviours: readonly ByzantineBehaviour[]
  /** Public keys of honest nodes (subjects of its untrusted revocations). */
  readonly victims: readonly Uint8Array[]
  /** Coordinates honest nodes verify, so phantom runs land on real view components. */
  readonly coordinates: readonly Coordinate[]
  readonly rng: Rng
}

export interface ByzantineNode {
  readonly name: string
  readonly peerId: PeerId
  readonly publicKey: Uint8Array
  readonly libp2p: Libp2p
  /** Tree keys of the records honest nodes must refuse. */
  readonly forged: readonly { store: StoreName; key: string }[]
  /** Switches to the second version of equivocated and replayed records. */
  switchPhase(): void
  /** Dials `address` (an honest node). */
  dial(address: string): Promise<void>
  /** Runs the frame-level attacks against every connected peer. */
  attack(): Promise<void>
  stop(): Promise<void>
}

const FAR_FUTURE_MS = 3_600_000
const HOUR_COORDINATE: Coordinate = { volume: 'byzantine', destination: 'nowhere', origin: 'equivocation' }
const REPLAY_COORDINATE: Coordinate = { volume: 'byzantine', destination: 'nowhere', origin: 'replay' }

function supersession(signer: Signer, networkId: string, rng: Rng, wallMs: number): Uint8Array {
  const record = signSupersession(
    { target: rng.bytes(32), kind: 'invalidate', reason: 'byzantine', hlc: { wallMs, counter: 0 } },
    signer,
    networkId,
  )
  return encodeSupersession(record, networkId)
}

function assertion(
  signer: Signer,
  networkId: string,
  coordinate: Coordinate,
  run: bigint,
  method: string,
  wallMs: number,
) {
  const bytes = encodeAssertion(
    signAssertion({ coordinate, run, method, hlc: { wallMs, counter: 0 } }, signer, networkId),
    networkId,
  )
  return { store: 'assertions' as const, key: assertionKey(signer.publicKey, coordinate), bytes }
}

export interface ForgedRecords {
  /** What the peer serves before and after `switchPhase`. */
  readonly phases: readonly [readonly ServedRecord[], readonly ServedRecord[]]
  /** The subset honest nodes must refuse. */
  readonly forged: readonly ServedRecord[]
}

/**
 * The records a Byzantine peer with `signer` serves; phase 1 differs from phase 0 only in the
 * equivocated and replayed registers. Pure apart from the clock, so tests can feed them to a store.
 */
export function forgeRecords(
  options: Pick<ByzantineOptions, 'networkId' | 'behaviours' | 'victims' | 'coordinates' | 'rng'>,
  signer: Signer,
): ForgedRecords {
  const { networkId, rng } = options
  const now = Date.now()
  const forged: ServedRecord[] = []
  const common: ServedRecord[] = []
  const phase0: ServedRecord[] = []
  const phase1: ServedRecord[] = []
  const wants = (b: ByzantineBehaviour): boolean => options.behaviours.includes(b)
  const bySupersession = (bytes: Uint8Array): ServedRecord => ({
    store: 'supersessions',
    key: recordHash(bytes),
    bytes,
  })
  if (wants('forged-signature')) {
    const bytes = supersession(signer, networkId, rng, now)
    bytes[bytes.length - 1]! ^= 0x01
    forged.push(bySupersession(bytes))
  }
  if (wants('wrong-network'))
    forged.push(bySupersession(supersession(signer, `${networkId}-elsewhere`, rng, now)))
  if (wants('far-future'))
    forged.push(bySupersession(supersession(signer, networkId, rng, now + FAR_FUTURE_MS)))
  if (wants('untrusted-revocation')) {
    for (const victim of options.victims.slice(0, 2)) {
      const bytes = encodeRevocation(
        signRevocation(
          {
            action: 'revoke',
            subjectKind: 'peer',
            subject: victim,
            reason: 'byzantine',
            hlc: { wallMs: now, counter: 0 },
          },
          signer,
          networkId,
        ),
        networkId,
      )
      forged.push({ store: 'revocations', key: recordHash(bytes), bytes })
    }
  }
  if (wants('phantom-runs')) {
    options.coordinates.slice(0, 8).forEach((coordinate, i) => {
      common.push(assertion(signer, networkId, coordinate, 1_000_000n + BigInt(i), 'never-happened', now))
    })
  }
  if (wants('equivocation')) {
    phase0.push(assertion(signer, networkId, HOUR_COORDINATE, 5n, 'version-a', now))
    phase1.push(assertion(signer, networkId, HOUR_COORDINATE, 5n, 'version-b', now))
  }
  if (wants('replay')) {
    // Phase 1 offers an older record of a register phase 0 already advanced.
    phase0.push(assertion(signer, networkId, REPLAY_COORDINATE, 7n, 'current', now))
    phase1.push(assertion(signer, networkId, REPLAY_COORDINATE, 3n, 'stale', now - 60_000))
  }
  return {
    phases: [
      [...forged, ...common, ...phase0],
      [...forged, ...common, ...phase1],
    ],
    forged,
  }
}

function lyingState(
  env: RootDatabase,
  networkId: string,
  publicKey: Uint8Array,
): SyncedState & { serve(records: readonly ServedRecord[]): void } {
  const stores: StoreName[] = ['revocations', 'supersessions', 'assertions']
  // Mirrors crdt's tree layout: reconciliation refuses a peer whose trees are keyed differently,
  // and assertion register keys are hashes exactly when crdt makes them 32 bytes long.
  const probe = assertionKey(new Uint8Array(32), { volume: 'v', destination: 'd', origin: 'o' })
  const trees = Object.fromEntries(
    stores.map((s) => [
      s,
      openMerkleTree(env, {
        name: `byzantine-${s}`,
        keysAreHashes: s !== 'assertions' || probe.length === 32,
      }),
    ]),
  ) as Record<StoreName, MerkleTree>
  const served = new Map<string, Uint8Array>()
  const listeners = new Set<(store: StoreName) => void>()
  return {
    networkId,
    publicKey,
    tree: (store) => trees[store],
    getRecords: (store, keys) => keys.map((key) => served.get(`${store}/${toHex(key)}`)),
    // It takes nothing from honest peers: every offer is answered as already held.
    apply: async (_store, records) => records.map(() => ({ status: 'duplicate' as const })),
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    serve(records) {
      env.transactionSync(() => {
        for (const store of stores) {
          const removed = [...trees[store].leaves()].map((leaf) => ({ key: leaf.key, valueHash: null }))
          trees[store].update(removed)
          trees[store].update(
            records
              .filter((r) => r.store === store)
              .map((r) => ({ key: r.key, valueHash: recordHash(r.bytes) })),
          )
        }
      })
      served.clear()
      for (const r of records) served.set(`${r.store}/${toHex(r.key)}`, r.bytes)
      for (const store of stores) for (const listener of listeners) listener(store)
    },
  }
}

/** A varint length prefix, as provsync frames use. */
export async function startByzantine(options: ByzantineOptions): Promise<ByzantineNode> {
  const seed = options.rng.bytes(32)
  const privateKey = await generateKeyPairFromSeed('Ed25519', seed)
  const signer = signerFromSeed(seed)
  await mkdir(options.dataDir, { recursive: true })
  const env = open({ path: options.dataDir, maxDbs: 16, keyEncoding: 'binary' })
  const state = lyingState(env, options.networkId, signer.publicKey)
  const { phases, forged } = forgeRecords(options, signer)
  state.serve(phases[0]!)
  const libp2p = await createLibp2p({
    privateKey,
    addresses: { listen: [options.listen] },
    transports: [memory(), tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }),
      provsync: provsync({
        state,
        trust: options.trust,
        announce: { debounceMs: 50 },
        antiEntropy: { intervalMs: 500, jitter: 0.3 },
      }),
    },
  })
  const behaviours = new Set(options.behaviours)

  async function frameAttack(peer: PeerId, payload: Uint8Array): Promise<void> {
    const stream = await libp2p.dialProtocol(peer, RECONCILE_PROTOCOL, { signal: AbortSignal.timeout(2_000) })
    stream.send(payload)
    await stream.close({ signal: AbortSignal.timeout(2_000) }).catch(() => {})
  }

  async function flood(peer: PeerId): Promise<void> {
    const streams = await Promise.allSettled(
      Array.from({ length: 24 }, () =>
        libp2p.dialProtocol(peer, RECONCILE_PROTOCOL, { signal: AbortSignal.timeout(2_000) }),
      ),
    )
    await new Promise((resolve) => setTimeout(resolve, 200))
    for (const s of streams) if (s.status === 'fulfilled') s.value.abort(new Error('flood over'))
  }

  return {
    name: options.name,
    peerId: libp2p.peerId,
    publicKey: signer.publicKey,
    libp2p,
    forged: forged.map((r) => ({ store: r.store, key: toHex(r.key) })),
    switchPhase: () => state.serve(phases[1]!),
    async dial(address) {
      await libp2p.dial(multiaddr(address), { signal: AbortSignal.timeout(5_000) })
    },
    async attack() {
      const peers = [...new Set(libp2p.getConnections().map((c) => c.remotePeer))]
      await Promise.allSettled(
        peers.map(async (peer) => {
          if (behaviours.has('oversized-frame')) {
            const junk = options.rng.bytes(1024)
            await frameAttack(peer, new Uint8Array([...encodeLength(10 * 1024 * 1024), ...junk])).catch(
              () => {},
            )
          }
          if (behaviours.has('garbage-frame')) {
            const junk = options.rng.bytes(200)
            await frameAttack(peer, new Uint8Array([...encodeLength(junk.length), ...junk])).catch(() => {})
          }
          if (behaviours.has('flood')) await flood(peer).catch(() => {})
        }),
      )
    },
    async stop() {
      await libp2p.stop()
      await env.close()
      await rm(options.dataDir, { recursive: true, force: true })
    },
  }
}
