import type { Signer } from '@provsync/crdt'
import { MAX_NAME_BYTES } from './codec/records.js'
import { type IssueTime, signArtifact } from './codec/signed.js'
import { checkText } from './codec/text.js'
import { InvalidArgumentError } from './errors.js'
import type { ApplyOutcome } from './store/apply.js'
import type { ArtifactStore } from './store/store.js'

export const DECISION_FAMILY = 'decision'

export interface DecisionCacheOptions {
  readonly store: ArtifactStore
  /** This node's publisher key; it needs a live publish grant covering `scope`. */
  readonly signer: Signer
  readonly scope: string
  /** Time to live when `set` is given none; default 10 minutes. */
  readonly defaultTtlMs?: number
  readonly wallClock?: () => number
}

export interface DecisionEntry {
  readonly key: string
  readonly value: Uint8Array
}

export type DecisionGet =
  | {
      readonly status: 'hit'
      readonly value: Uint8Array
      readonly signer: Uint8Array
      readonly expiresAt: number | undefined
      readonly hash: Uint8Array
    }
  | { readonly status: 'miss' | 'expired' | 'bypassed' | 'stale' }

export interface DecisionCounters {
  hits: number
  misses: number
  expired: number
  invalidated: number
  bypassed: number
  computations: number
  computeMs: number
}

export interface DecisionCache {
  get(key: string, options?: { bypass?: boolean }): DecisionGet
  set(entry: DecisionEntry, options?: { ttl?: number }): Promise<ApplyOutcome>
  /** The cached value, or `factory`'s: one computation per key at a time (concurrent callers share it). */
  getOrCompute(
    key: string,
    factory: () => Uint8Array | Promise<Uint8Array>,
    options?: { ttl?: number },
  ): Promise<{ value: Uint8Array; cached: boolean }>
  /** Publishes a tombstone for `key` (it replicates); `reason` is returned in the outcome's detail. */
  invalidate(key: string, reason: string): Promise<ApplyOutcome>
  /** Deletes expired decisions from the store; returns how many. */
  pruneExpired(): number
  readonly counters: Readonly<DecisionCounters>
}

function issueClock(wallClock: () => number): () => IssueTime {
  let last = 0
  let counter = 0
  return () => {
    const wallMs = Math.max(wallClock(), last)
    counter = wallMs === last ? counter + 1 : 0
    last = wallMs
    return { wallMs, counter }
  }
}

/** A cache of signed decisions: artifacts of family `decision` in one scope, keyed by name. */
export function createDecisionCache(options: DecisionCacheOptions): DecisionCache {
  const { store, signer, scope } = options
  const wallClock = options.wallClock ?? Date.now
  const defaultTtl = options.defaultTtlMs ?? 600_000
  const issue = issueClock(wallClock)
  const counters: DecisionCounters = {
    hits: 0,
    misses: 0,
    expired: 0,
    invalidated: 0,
    bypassed: 0,
    computations: 0,
    computeMs: 0,
  }
  const inflight = new Map<string, Promise<Uint8Array>>()

  const checkKey = (key: string) => checkText('key', key, 1, MAX_NAME_BYTES)

  function get(key: string, opts: { bypass?: boolean } = {}): DecisionGet {
    if (opts.bypass === true) {
      counters.bypassed++
      return { status: 'bypassed' }
    }
    const result = store.current(scope, DECISION_FAMILY, key)
    if (result.status === 'current') {
      counters.hits++
      const a = result.version.artifact
      return {
        status: 'hit',
        value: a.content!,
        signer: a.publisher,
        expiresAt: a.expiresAt,
        hash: result.version.hash,
      }
    }
    if (result.status === 'expired') counters.expired++
    else counters.misses++
    return { status: result.status === 'expired' ? 'expired' : result.status === 'stale' ? 'stale' : 'miss' }
  }

  /** The next version of `key`: above every stored one, and the wall time when that is higher. */
  function nextVersion(key: string): bigint {
    let top = 0n
    for (const h of store.history(scope, DECISION_FAMILY, key)) {
      if (h.version.artifact.version > top) top = h.version.artifact.version
    }
    const now = BigInt(wallClock())
    return now > top ? now : top + 1n
  }

  async function publish(
    key: string,
    fields: { content?: Uint8Array; expiresAt?: number; tombstone?: boolean },
  ) {
    checkKey(key)
    const input = {
      scope,
      family: DECISION_FAMILY,
      name: key,
      version: nextVersion(key),
      epoch: store.minEpoch(scope),
    }
    const signed = signArtifact({ ...input, ...fields }, signer, store.networkId, issue())
    const [outcome] = await store.apply([signed.bytes], { from: store.nodeKey })
    return outcome!
  }

  async function set(entry: DecisionEntry, opts: { ttl?: number } = {}): Promise<ApplyOutcome> {
    const ttl = opts.ttl ?? defaultTtl
    if (!(Number.isSafeInteger(ttl) && ttl > 0))
      throw new InvalidArgumentError('ttl', 'expected a positive integer of ms')
    return publish(entry.key, { content: entry.value, expiresAt: wallClock() + ttl })
  }

  async function compute(key: string, factory: () => Uint8Array | Promise<Uint8Array>, ttl?: number) {
    const start = performance.now()
    counters.computations++
    try {
      const value = await factory()
      await set({ key, value }, ttl === undefined ? {} : { ttl })
      return value
    } finally {
      counters.computeMs += performance.now() - start
      inflight.delete(key)
    }
  }

  return {
    counters,
    get,
    set,
    async getOrCompute(key, factory, opts = {}) {
      const cached = get(key)
      if (cached.status === 'hit') return { value: cached.value, cached: true }
      let running = inflight.get(key)
      if (running === undefined) {
        running = compute(key, factory, opts.ttl)
        inflight.set(key, running)
      }
      return { value: await running, cached: false }
    },
    async invalidate(key, reason) {
      const outcome = await publish(key, { tombstone: true })
      if (outcome.status === 'applied') counters.invalidated++
      return { ...outcome, detail: reason }
    },
    pruneExpired: () => store.pruneExpired(DECISION_FAMILY),
  }
}
