/**
 * A Byzantine peer: a libp2p node running the real provsync service over a lying store. It
 * serves forged, foreign, far-future and untrusted records, valid but false assertions (runs that
 * never happened), two versions of one register to two sets of peers at the same time
 * (equivocation), an older record of a register it advanced (replay), and it attacks the
 * protocol directly with oversized and malformed frames and a flood of streams.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { mkdir, rm } from 'node:fs/promises'
import { noise } from '@chainsafe/libp2p-noise'
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
import { muxer } from '@provsync/mux'
import { encodeLength, provsync, RECONCILE_PROTOCOL, type StoreName, type SyncedState } from '@provsync/sync'
import { createLibp2p, type Libp2p } from 'libp2p'
import { open, type RootDatabase } from 'lmdb'
import type { MemoryNetwork } from './links.js'
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
  /**
   * Peer ids served version B of the equivocated register; every other peer gets version A, at
   * the same time. The scenario picks them by a seeded split of the honest nodes.
   */
  readonly versionBPeers?: readonly string[]
  readonly rng: Rng
  /** The shaped memory network the honest nodes are on, whose transport the peer then uses too. */
  readonly memory?: MemoryNetwork
}

/** One register the peer equivocated on, and whom it handed each version to. */
export interface Equivocation {
  readonly store: StoreName
  /** Hex tree key of the register. */
  readonly key: string
  /** Hex record hashes of version A and version B, both signed by the peer. */
  readonly versions: readonly [string, string]
  /** Peer ids that fetched each version from it (its own count of what it answered). */
  readonly handedTo: readonly [readonly string[], readonly string[]]
}

export interface ByzantineNode {
  readonly name: string
  readonly peerId: PeerId
  readonly publicKey: Uint8Array
  readonly libp2p: Libp2p
  /** Tree keys of the records honest nodes must refuse. */
  readonly forged: readonly { store: StoreName; key: string }[]
  /** Switches to the older record of the replayed register. */
  switchPhase(): void
  /** The registers it equivocated on, with whom it handed each version to so far. */
  equivocations(): Equivocation[]
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
  /** What the peer serves every peer before and after `switchPhase`. */
  readonly phases: readonly [readonly ServedRecord[], readonly ServedRecord[]]
  /**
   * Version A and version B of the equivocated register (empty without that behaviour): the same
   * key, run and time, different bytes, each served to its own set of peers beside the phase's records.
   */
  readonly versions: readonly [readonly ServedRecord[], readonly ServedRecord[]]
  /** The subset honest nodes must refuse. */
  readonly forged: readonly ServedRecord[]
}

/** What the peer serves a peer of `audience` (0: version A, 1: version B) in `phase`. */
export function servedTo(records: ForgedRecords, phase: 0 | 1, audience: 0 | 1): ServedRecord[] {
  return [...records.phases[phase], ...records.versions[audience]]
}

/**
 * The records a Byzantine peer with `signer` serves; phase 1 differs from phase 0 only in the
 * replayed register, version B from version A only in the equivocated one. Pure apart from the
 * clock, so tests can feed them to a store.
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
  const versionA: ServedRecord[] = []
  const versionB: ServedRecord[] = []
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
    versionA.push(assertion(signer, networkId, HOUR_COORDINATE, 5n, 'version-a', now))
    versionB.push(assertion(signer, networkId, HOUR_COORDINATE, 5n, 'version-b', now))
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
    versions: [versionA, versionB],
    forged,
  }
}

/** The lying store behind a Byzantine peer; exported for the SyncedState acceptance suite. */
export interface LyingState extends SyncedState {
  /** Replaces what each audience is served (0: version A, 1: version B), in one transaction. */
  serve(audiences: readonly [readonly ServedRecord[], readonly ServedRecord[]]): void
  /** Runs `act` as a conversation with `peer`: trees and records are that peer's audience's. */
  as<T>(peer: string, act: () => T): T
  equivocations(): Equivocation[]
}

export function lyingState(
  env: RootDatabase,
  networkId: string,
  publicKey: Uint8Array,
  versions: ForgedRecords['versions'],
  versionBPeers: ReadonlySet<string>,
): LyingState {
  const stores: StoreName[] = ['revocations', 'supersessions', 'assertions', 'invalidations']
  // Mirrors crdt's tree layout: reconciliation refuses a peer whose trees are keyed differently,
  // and assertion register keys are hashes exactly when crdt makes them 32 bytes long.
  const probe = assertionKey(new Uint8Array(32), { volume: 'v', destination: 'd', origin: 'o' })
  const treesFor = (prefix: string) =>
    Object.fromEntries(
      stores.map((s) => [
        s,
        openMerkleTree(env, {
          name: `${prefix}-${s}`,
          keysAreHashes: s !== 'assertions' || probe.length === 32,
        }),
      ]),
    ) as Record<StoreName, MerkleTree>
  // One set of trees per audience: each peer reconciles against the version meant for it.
  const trees = [treesFor('byzantine'), treesFor('byzantine-b')] as const
  const served = [new Map<string, Uint8Array>(), new Map<string, Uint8Array>()] as const
  const conversation = new AsyncLocalStorage<string>()
  const audience = (): 0 | 1 => {
    const peer = conversation.getStore()
    return peer !== undefined && versionBPeers.has(peer) ? 1 : 0
  }
  const equivocated = new Map<string, { store: StoreName; key: string; hashes: [string, string] }>()
  versions[0].forEach((a, i) => {
    const b = versions[1][i]!
    equivocated.set(`${a.store}/${toHex(a.key)}`, {
      store: a.store,
      key: toHex(a.key),
      hashes: [toHex(recordHash(a.bytes)), toHex(recordHash(b.bytes))],
    })
  })
  const handedTo = new Map<string, [Set<string>, Set<string>]>()
  const listeners = new Set<(store: StoreName) => void>()
  return {
    networkId,
    publicKey,
    tree: (store) => trees[audience()][store],
    getRecords(store, keys) {
      const side = audience()
      const peer = conversation.getStore()
      return keys.map((key) => {
        const id = `${store}/${toHex(key)}`
        if (peer !== undefined && equivocated.has(id)) {
          const sets = handedTo.get(id) ?? [new Set<string>(), new Set<string>()]
          sets[side].add(peer)
          handedTo.set(id, sets)
        }
        return served[side].get(id)
      })
    },
    // It takes nothing from honest peers: every offer is answered as already held.
    apply: async (_store, records) => records.map(() => ({ status: 'duplicate' as const })),
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    serve(audiences) {
      env.transactionSync(() => {
        for (const side of [0, 1] as const) {
          for (const store of stores) {
            const tree = trees[side][store]
            tree.update([...tree.leaves()].map((leaf) => ({ key: leaf.key, valueHash: null })))
            tree.update(
              audiences[side]
                .filter((r) => r.store === store)
                .map((r) => ({ key: r.key, valueHash: recordHash(r.bytes) })),
            )
          }
        }
      })
      for (const side of [0, 1] as const) {
        served[side].clear()
        for (const r of audiences[side]) served[side].set(`${r.store}/${toHex(r.key)}`, r.bytes)
      }
      for (const store of stores) for (const listener of listeners) listener(store)
    },
    as: (peer, act) => conversation.run(peer, act),
    equivocations: () =>
      [...equivocated].map(([id, e]) => {
        const sets = handedTo.get(id)
        return {
          store: e.store,
          key: e.key,
          versions: e.hashes,
          handedTo: [[...(sets?.[0] ?? [])].sort(), [...(sets?.[1] ?? [])].sort()],
        }
      }),
  }
}

/** A varint length prefix, as provsync frames use. */
export async function startByzantine(options: ByzantineOptions): Promise<ByzantineNode> {
  const seed = options.rng.bytes(32)
  const privateKey = await generateKeyPairFromSeed('Ed25519', seed)
  const signer = signerFromSeed(seed)
  await mkdir(options.dataDir, { recursive: true })
  const env = open({ path: options.dataDir, maxDbs: 16, keyEncoding: 'binary' })
  const records = forgeRecords(options, signer)
  const state = lyingState(
    env,
    options.networkId,
    signer.publicKey,
    records.versions,
    new Set(options.versionBPeers ?? []),
  )
  state.serve([servedTo(records, 0, 0), servedTo(records, 0, 1)])
  const libp2p = await createLibp2p({
    privateKey,
    addresses: { listen: [options.listen] },
    transports: [options.memory?.transport() ?? memory(), tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [muxer()],
    services: {
      identify: identify(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }),
      provsync: provsync({
        state,
        trust: options.trust,
        announce: { debounceMs: 50 },
        antiEntropy: { intervalMs: 500, jitter: 0.3 },
        // Every conversation, the inbound reconcile and fetch streams and the sessions the
        // service starts itself, runs inside `state.as(remote peer)`: the service is the real
        // one; only what it reads from the state depends on whom it talks to.
        conversation: (peer, act) => state.as(peer.toString(), act),
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
    forged: records.forged.map((r) => ({ store: r.store, key: toHex(r.key) })),
    switchPhase: () => state.serve([servedTo(records, 1, 0), servedTo(records, 1, 1)]),
    equivocations: () => state.equivocations(),
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
