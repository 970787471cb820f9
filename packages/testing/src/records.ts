import type { PrivateKey } from '@libp2p/interface'
import {
  type Coordinate,
  encodeAssertion,
  encodeRevocation,
  encodeSupersession,
  type NodeState,
  type NodeStateOptions,
  nodeIdFor,
  openNodeState,
  type Signer,
  type StoreName,
  type SubjectKind,
  type SupersessionKind,
  signAssertion,
  signRevocation,
  signSupersession,
} from '@provsync/crdt'
import type { Timestamp } from '@provsync/hlc'
import { BASE_MS, TEST_NETWORK } from './constants.js'
import type { TempDirs } from './temp.js'

/** A timestamp at `wallMs`; the node id is zero unless `signer` names it (signing sets it anyway). */
export function hlc(wallMs: number, counter = 0, signer?: Signer): Timestamp {
  return { wallMs, counter, nodeId: signer === undefined ? new Uint8Array(8) : nodeIdFor(signer.publicKey) }
}

/** Coordinate `vol/dst/origin-<i>` (another volume when given). */
export function coordinate(i: number | string, volume = 'vol'): Coordinate {
  return { volume, destination: 'dst', origin: `origin-${i}` }
}

/** An encoded assertion of `run` at `coord`, signed by `signer`. */
export function assertionBytes(
  signer: Signer,
  coord: Coordinate,
  run: bigint,
  wallMs = BASE_MS,
  counter = 0,
  networkId = TEST_NETWORK,
): Uint8Array {
  const record = signAssertion(
    { coordinate: coord, run, method: 'checksum', hlc: hlc(wallMs, counter) },
    signer,
    networkId,
  )
  return encodeAssertion(record, networkId)
}

export interface SupersessionOptions {
  /** @default 'replace' with a replacement, else 'invalidate' */
  kind?: SupersessionKind
  replacement?: Uint8Array
  /** @default BASE_MS */
  wallMs?: number
  /** @default 'test' */
  reason?: string
  /** @default TEST_NETWORK */
  networkId?: string
}

/** An encoded supersession of the record `target` (its hash), signed by `signer`. */
export function supersessionBytes(
  signer: Signer,
  target: Uint8Array,
  options: SupersessionOptions = {},
): Uint8Array {
  const kind = options.kind ?? (options.replacement === undefined ? 'invalidate' : 'replace')
  const networkId = options.networkId ?? TEST_NETWORK
  const record = signSupersession(
    {
      target,
      kind,
      reason: options.reason ?? 'test',
      ...(options.replacement === undefined ? {} : { replacement: options.replacement }),
      hlc: hlc(options.wallMs ?? BASE_MS),
    },
    signer,
    networkId,
  )
  return encodeSupersession(record, networkId)
}

/** An encoded revocation (or reinstatement) of `subject`, signed by `operator`. */
export function revocationBytes(
  operator: Signer,
  subject: Uint8Array,
  action: 'revoke' | 'reinstate' = 'revoke',
  wallMs = BASE_MS,
  subjectKind: SubjectKind = 'peer',
  networkId = TEST_NETWORK,
): Uint8Array {
  const record = signRevocation(
    { action, subjectKind, subject, reason: 'compromised', hlc: hlc(wallMs) },
    operator,
    networkId,
  )
  return encodeRevocation(record, networkId)
}

export interface SignedAssertionsOptions {
  /** The first coordinate's index. @default 0 */
  offset?: number
  /** @default 1n */
  run?: bigint
  /** @default Date.now() */
  wallMs?: number
  /** @default TEST_NETWORK */
  networkId?: string
  /** @default 'test' */
  method?: string
  /** The coordinate of the `i`-th record (counted from `offset`). @default coordinate(i) */
  coordinateOf?: (i: number) => Coordinate
  /** The HLC counter of the `k`-th record of this call. @default k % 60,000 */
  counterOf?: (k: number) => number
}

/** `count` encoded assertions by `signer` (distinct coordinates from `offset`), as a peer would ship them. */
export function signedAssertions(
  signer: Signer,
  count: number,
  options: SignedAssertionsOptions = {},
): Uint8Array[] {
  const out: Uint8Array[] = []
  const wallMs = options.wallMs ?? Date.now()
  const networkId = options.networkId ?? TEST_NETWORK
  const coordinateOf = options.coordinateOf ?? coordinate
  const counterOf = options.counterOf ?? ((k: number) => k % 60_000)
  for (let i = 0; i < count; i++) {
    const record = signAssertion(
      {
        coordinate: coordinateOf((options.offset ?? 0) + i),
        run: options.run ?? 1n,
        hlc: { wallMs, counter: counterOf(i) },
        method: options.method ?? 'test',
      },
      signer,
      networkId,
    )
    out.push(encodeAssertion(record, networkId))
  }
  return out
}

/**
 * Applies records to `state` as if pulled from `from`, in batches (one transaction each);
 * throws naming the first refusal.
 */
export async function load(
  state: Pick<NodeState, 'apply'>,
  records: Uint8Array[],
  from: Uint8Array,
  options: { store?: StoreName; batch?: number } = {},
): Promise<void> {
  const batch = options.batch ?? 2000
  for (let i = 0; i < records.length; i += batch) {
    const outcomes = await state.apply(options.store ?? 'assertions', records.slice(i, i + batch), { from })
    const refused = outcomes.filter((o) => o.status === 'refused')
    if (refused.length > 0) throw new Error(`load refused ${refused.length}: ${refused[0]?.reason}`)
  }
}

/**
 * Opens a node state in a fresh directory of `temp` (network {@link TEST_NETWORK}, no verify
 * threads unless `options` say otherwise); `temp.cleanup()` closes it before removing the files.
 */
export async function openTestState(
  temp: TempDirs,
  options: Partial<NodeStateOptions> = {},
): Promise<NodeState> {
  return temp.adopt(
    await openNodeState({
      dataDir: options.dataDir ?? temp.dir(),
      networkId: TEST_NETWORK,
      verifyThreads: 0,
      ...options,
    }),
  )
}

/**
 * A node's identity and state as a provsync node keeps them: the libp2p key in `dataDir` (created
 * on first use, sync's `loadOrCreateIdentity`) and a node state there signing with that key (one
 * verify thread unless `options` say otherwise). The caller closes the state.
 */
export async function openIdentityState(
  options: Omit<NodeStateOptions, 'seed'>,
): Promise<{ privateKey: PrivateKey; state: NodeState }> {
  const { loadOrCreateIdentity, privateKeySeed } = await import('@provsync/sync')
  const privateKey = await loadOrCreateIdentity(options.dataDir)
  const state = await openNodeState({ verifyThreads: 1, ...options, seed: privateKeySeed(privateKey) })
  return { privateKey, state }
}
