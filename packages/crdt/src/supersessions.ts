import { compareTimestamps, encodeTimestamp, type Timestamp } from '@provsync/hlc'
import { compareBytes, concat, copyBytes, equalBytes, HASH_BYTES, toHex } from './bytes.js'
import { decodeSupersession, type Supersession } from './codec/records.js'
import { admissible, type Context } from './context.js'
import { EMPTY } from './db.js'
import { InvalidArgumentError } from './errors.js'

/** A stored supersession with its content hash and whether it is in force on this node. */
export interface StoredSupersession {
  readonly hash: Uint8Array
  readonly record: Supersession
  /** False when the agent is revoked or an invalidation matches it; it stays stored for audit. */
  readonly inForce: boolean
}

/** A bound of a time range: an HLC timestamp, or a wall time in milliseconds. */
export type TimeBound = Timestamp | number

const TIMESTAMP_BYTES = 16

/** The encoded lower bound: a wall time starts at its first timestamp. */
function lowerBound(bound: TimeBound | undefined): Uint8Array {
  if (bound === undefined) return new Uint8Array(0)
  if (typeof bound !== 'number') return encodeTimestamp(bound)
  return encodeTimestamp({ wallMs: checkWallMs('from', bound), counter: 0, nodeId: new Uint8Array(8) })
}

/** The encoded upper bound: a wall time ends after its last timestamp (bug: it dropped that ms). */
function upperBound(bound: TimeBound | undefined): Uint8Array {
  if (bound === undefined) return new Uint8Array(TIMESTAMP_BYTES).fill(0xff)
  if (typeof bound !== 'number') return encodeTimestamp(bound)
  return encodeTimestamp({
    wallMs: checkWallMs('to', bound),
    counter: 0xffff,
    nodeId: new Uint8Array(8).fill(0xff),
  })
}

function checkWallMs(argument: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 2 ** 48)
    throw new InvalidArgumentError(argument, 'must be a wall time in ms (a non-negative integer below 2^48)')
  return value
}

export type ChainEnd = 'head' | 'invalidated' | 'cycle' | 'missing' | 'too-long'

export interface Chain {
  /** The hashes visited, starting at the target. */
  readonly path: readonly Uint8Array[]
  /** The last hash: the current head when `end` is 'head'. */
  readonly head: Uint8Array
  /**
   * 'head': the last hash is not superseded. 'invalidated': it was invalidated without a
   * replacement. 'cycle': a replacement leads back into the path. 'missing': `exists` said a
   * replacement is unknown. 'too-long': more than `maxLength` links.
   */
  readonly end: ChainEnd
}

export interface SupersessionQueries {
  get(target: Uint8Array): StoredSupersession | undefined
  all(target: Uint8Array): StoredSupersession[]
  isSuperseded(target: Uint8Array): boolean
  /**
   * `from` and `to` are inclusive bounds: an HLC timestamp, or a wall time in milliseconds,
   * which covers that whole millisecond (every counter and node id in it).
   */
  byAgent(
    agent: Uint8Array,
    options?: { from?: TimeBound; to?: TimeBound; limit?: number },
  ): StoredSupersession[]
  chain(target: Uint8Array, options?: { exists?: (hash: Uint8Array) => boolean; maxLength?: number }): Chain
}

/** Stores one verified supersession; call inside a write transaction. */
export function storeSupersession(
  ctx: Context,
  record: Supersession,
  encoded: Uint8Array,
  hash: Uint8Array,
): 'applied' | 'duplicate' {
  const { dbs } = ctx
  if (dbs.supRecords.get(hash) !== undefined) return 'duplicate'
  dbs.supRecords.put(hash, encoded)
  dbs.supByTarget.put(concat(record.target, hash), EMPTY)
  dbs.supByAgent.put(concat(record.agent, encodeTimestamp(record.hlc), hash), EMPTY)
  return 'applied'
}

export function inForce(ctx: Context, record: Supersession): boolean {
  return admissible(ctx, { signer: record.agent, hlc: record.hlc, keyText: toHex(record.target) })
}

/** The winner among several: latest HLC, then the higher agent key, then the higher hash. */
export function supersessionWins(a: StoredSupersession, b: StoredSupersession): boolean {
  return (
    (compareTimestamps(a.record.hlc, b.record.hlc) ||
      compareBytes(a.record.agent, b.record.agent) ||
      compareBytes(a.hash, b.hash)) > 0
  )
}

function checkHash(argument: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== HASH_BYTES) {
    throw new InvalidArgumentError(argument, `must be ${HASH_BYTES} bytes`)
  }
}

export function createSupersessionQueries(ctx: Context): SupersessionQueries {
  const load = (hash: Uint8Array): StoredSupersession | undefined => {
    const bytes = ctx.dbs.supRecords.get(hash)
    // Stryker disable next-line ConditionalExpression: equivalent, the indexes are written with the record and nothing deletes one
    if (bytes === undefined) return undefined
    const record = decodeSupersession(bytes, ctx.networkId)
    return { hash: copyBytes(hash), record, inForce: inForce(ctx, record) }
  }
  const all = (target: Uint8Array): StoredSupersession[] => {
    checkHash('target', target)
    const out: StoredSupersession[] = []
    // Stryker disable next-line ArrayDeclaration: equivalent, it only admits a record whose hash is 32 0xff bytes
    const end = concat(target, new Uint8Array(HASH_BYTES).fill(0xff), new Uint8Array([0xff]))
    for (const key of ctx.dbs.supByTarget.getKeys({ start: target, end })) {
      const stored = load(key.subarray(HASH_BYTES))
      // Stryker disable next-line ConditionalExpression: equivalent, an indexed hash is always stored (see load)
      if (stored !== undefined) out.push(stored)
    }
    return out.sort((a, b) => (supersessionWins(a, b) ? -1 : 1))
  }
  const get = (target: Uint8Array) => all(target).find((s) => s.inForce)

  return {
    get,
    all,
    isSuperseded: (target) => get(target) !== undefined,
    byAgent(agent, options = {}) {
      if (!(agent instanceof Uint8Array) || agent.length !== 32) {
        throw new InvalidArgumentError('agent', 'must be a 32-byte public key')
      }
      const limit = options.limit ?? 100
      if (!Number.isSafeInteger(limit) || limit < 0)
        throw new InvalidArgumentError('limit', 'must be a non-negative integer')
      // Newest first: a reverse range needs start > end.
      // Stryker disable next-line ArithmeticOperator: equivalent, 31 0xff bytes only exclude a hash that starts with 31 0xff bytes
      const start = concat(agent, upperBound(options.to), new Uint8Array(HASH_BYTES + 1).fill(0xff))
      const end = concat(agent, lowerBound(options.from))
      const out: StoredSupersession[] = []
      for (const key of ctx.dbs.supByAgent.getKeys({ start, end, reverse: true })) {
        if (out.length >= limit) break
        const stored = load(key.subarray(32 + 16))
        // Stryker disable next-line ConditionalExpression: equivalent, an indexed hash is always stored (see load)
        if (stored !== undefined) out.push(stored)
      }
      return out
    },
    chain(target, options = {}) {
      checkHash('target', target)
      const maxLength = options.maxLength ?? 1000
      const path: Uint8Array[] = [copyBytes(target)]
      let current = path[0]!
      for (;;) {
        const winner = get(current)
        if (winner === undefined) return { path, head: current, end: 'head' }
        const next = winner.record.replacement
        if (next === undefined) return { path, head: current, end: 'invalidated' }
        if (path.some((seen) => equalBytes(seen, next))) return { path, head: current, end: 'cycle' }
        if (options.exists !== undefined && !options.exists(next)) {
          return { path: [...path, copyBytes(next)], head: next, end: 'missing' }
        }
        if (path.length > maxLength) return { path, head: current, end: 'too-long' }
        path.push(copyBytes(next))
        current = next
      }
    },
  }
}
