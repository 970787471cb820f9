/**
 * The seeded workload: what honest nodes do, and when. It is plain data (a sorted list of
 * operations) so the same seed gives the same schedule, and a driver turns each op into a call on
 * a real node.
 */
import { ScenarioConfigError } from './errors.js'
import type { Rng } from './prng.js'

export interface CoordinateSpec {
  readonly volume: string
  readonly destination: string
  readonly origin: string
}

/** A node verified a transfer itself: local evidence, signed and offered to peers as an assertion. */
export interface VerifyOp {
  readonly type: 'verify'
  readonly atMs: number
  readonly node: number
  readonly coordinate: CoordinateSpec
  readonly run: bigint
}

/** An agent (the node's key) supersedes a record. */
export interface SupersedeOp {
  readonly type: 'supersede'
  readonly atMs: number
  readonly node: number
  readonly target: Uint8Array
  readonly kind: 'invalidate' | 'replace' | 'correct'
  readonly replacement?: Uint8Array
  readonly reason: string
}

/** An operator revokes or reinstates a node's key, acting through one node. */
export interface OperatorOp {
  readonly type: 'revoke' | 'reinstate'
  readonly atMs: number
  readonly node: number
  readonly operator: number
  readonly subject: number
  readonly reason: string
}

export type WorkloadOp = VerifyOp | SupersedeOp | OperatorOp

export interface WorkloadMix {
  readonly verify: number
  readonly supersede: number
  /** Revocations and reinstatements, alternating per subject. */
  readonly operator: number
}

export interface WorkloadOptions {
  /** Honest nodes that act (indices 0..nodes-1). */
  readonly nodes: number
  /** Operations in total, spread over `durationMs`. */
  readonly operations: number
  readonly durationMs: number
  readonly mix?: Partial<WorkloadMix>
  /** Distinct coordinates the verifications spread over. */
  readonly coordinates?: number
  /** Operator keys in the trust bundle. */
  readonly operators?: number
  /** Nodes an operator may revoke; default none (operator ops then become verifications). */
  readonly revocable?: readonly number[]
}

export const DEFAULT_MIX: WorkloadMix = { verify: 0.7, supersede: 0.3, operator: 0 }

function weights(mix: WorkloadMix): Array<[WorkloadOp['type'] | 'operator', number]> {
  return [
    ['verify', mix.verify],
    ['supersede', mix.supersede],
    ['operator', mix.operator],
  ]
}

export function validateWorkload(options: WorkloadOptions): WorkloadMix {
  const mix = { ...DEFAULT_MIX, ...options.mix }
  if (!Number.isInteger(options.nodes) || options.nodes < 1) {
    throw new ScenarioConfigError('workload.nodes', `must be a positive integer, got ${options.nodes}`)
  }
  if (!Number.isInteger(options.operations) || options.operations < 0) {
    throw new ScenarioConfigError(
      'workload.operations',
      `must be a non-negative integer, got ${options.operations}`,
    )
  }
  if (!(options.durationMs >= 0)) {
    throw new ScenarioConfigError('workload.durationMs', `must be >= 0, got ${options.durationMs}`)
  }
  for (const [name, weight] of weights(mix)) {
    if (!(weight >= 0)) throw new ScenarioConfigError(`workload.mix.${name}`, `must be >= 0, got ${weight}`)
  }
  if (mix.verify + mix.supersede + mix.operator <= 0) {
    throw new ScenarioConfigError('workload.mix', 'at least one weight must be positive')
  }
  for (const subject of options.revocable ?? []) {
    if (!Number.isInteger(subject) || subject < 0 || subject >= options.nodes) {
      throw new ScenarioConfigError('workload.revocable', `node ${subject} is not in 0..${options.nodes - 1}`)
    }
  }
  return mix
}

function chooseType(rng: Rng, mix: WorkloadMix): 'verify' | 'supersede' | 'operator' {
  const total = mix.verify + mix.supersede + mix.operator
  let draw = rng.next() * total
  for (const [type, weight] of weights(mix)) {
    if (draw < weight) return type as 'verify' | 'supersede' | 'operator'
    draw -= weight
  }
  return 'verify'
}

/**
 * Builds the schedule. Runs only ever increase per (node, coordinate), as a real verifier's
 * monotone run counter would; supersession targets are fresh record hashes drawn from the seed.
 */
export function planWorkload(options: WorkloadOptions, rng: Rng): WorkloadOp[] {
  const mix = validateWorkload(options)
  const coordinates = Array.from({ length: options.coordinates ?? 64 }, (_, i) => ({
    volume: `vol-${i % 8}`,
    destination: `dest-${i % 5}`,
    origin: `origin-${i}`,
  }))
  const runs = new Map<string, bigint>()
  const revoked = new Set<number>()
  const revocable = options.revocable ?? []
  const times = Array.from({ length: options.operations }, () =>
    Math.floor(rng.next() * options.durationMs),
  ).sort((a, b) => a - b)
  return times.map((atMs, index): WorkloadOp => {
    // Revoked nodes stop acting: their new records would be refused everywhere.
    const actors = Array.from({ length: options.nodes }, (_, i) => i).filter((i) => !revoked.has(i))
    const node = rng.pick(actors.length > 0 ? actors : [0])
    let type = chooseType(rng, mix)
    if (type === 'operator' && revocable.length === 0) type = 'verify'
    if (type === 'operator') {
      const subject = rng.pick(revocable)
      const action = revoked.has(subject) ? 'reinstate' : 'revoke'
      if (action === 'revoke') revoked.add(subject)
      else revoked.delete(subject)
      const actor = rng.pick(
        actors.filter((i) => i !== subject).length > 0 ? actors.filter((i) => i !== subject) : actors,
      )
      return {
        type: action,
        atMs,
        node: actor,
        operator: rng.int(options.operators ?? 1),
        subject,
        reason: `${action} #${index}`,
      }
    }
    if (type === 'supersede') {
      const kind = rng.pick(['invalidate', 'replace', 'correct'] as const)
      const target = rng.bytes(32)
      return kind === 'invalidate'
        ? { type, atMs, node, target, kind, reason: `supersede #${index}` }
        : { type, atMs, node, target, kind, replacement: rng.bytes(32), reason: `supersede #${index}` }
    }
    const coordinate = rng.pick(coordinates)
    const key = `${node}/${coordinate.origin}`
    const run = (runs.get(key) ?? 0n) + BigInt(rng.range(1, 3))
    runs.set(key, run)
    return { type: 'verify', atMs, node, coordinate, run }
  })
}
