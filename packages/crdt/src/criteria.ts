import { compareTimestamps, type Timestamp } from '@provsync/hlc'
import { equalBytes, toHex } from './bytes.js'
import { InvalidArgumentError } from './errors.js'
import { isPublicKey } from './keys.js'

export const MAX_PATTERN_BYTES = 256

/**
 * What an invalidation by criteria matches. The "key" of a record is its text form:
 * `volume/destination/origin` for an assertion, the target hash in hex for a supersession.
 */
export type InvalidationCriteria =
  | { readonly type: 'signer'; readonly key: Uint8Array }
  | { readonly type: 'prefix'; readonly prefix: string }
  | { readonly type: 'pattern'; readonly pattern: string }
  | { readonly type: 'older-than'; readonly epoch: Timestamp }
  /** Artifacts of a family (`cluster_snapshot`, ...); matches no record of the three first stores. */
  | { readonly type: 'family'; readonly family: string }

/** The parts of a record a criterion looks at. */
export interface Matchable {
  readonly signer: Uint8Array
  readonly hlc: Timestamp
  readonly keyText: string
  /** An artifact's family; absent for records that are not artifacts. */
  readonly family?: string
}

export function validateCriteria(criteria: InvalidationCriteria): void {
  if (typeof criteria !== 'object' || criteria === null) {
    throw new InvalidArgumentError('criteria', 'must be an object')
  }
  switch (criteria.type) {
    case 'signer':
      if (!isPublicKey(criteria.key))
        throw new InvalidArgumentError('criteria.key', 'must be a 32-byte public key')
      return
    case 'prefix':
      checkText('criteria.prefix', criteria.prefix)
      return
    case 'pattern':
      checkText('criteria.pattern', criteria.pattern)
      return
    case 'family':
      checkText('criteria.family', criteria.family)
      return
    case 'older-than':
      if (!isHlc(criteria.epoch)) throw new InvalidArgumentError('criteria.epoch', 'must be an HLC timestamp')
      return
    default:
      throw new InvalidArgumentError(
        'criteria.type',
        `unknown criteria ${JSON.stringify((criteria as { type: unknown }).type)}`,
      )
  }
}

function isHlc(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const { wallMs, counter, nodeId } = value as Record<string, unknown>
  return Number.isSafeInteger(wallMs) && Number.isSafeInteger(counter) && nodeId instanceof Uint8Array
}

function checkText(argument: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0)
    throw new InvalidArgumentError(argument, 'must be a non-empty string')
  if (Buffer.byteLength(value) > MAX_PATTERN_BYTES)
    throw new InvalidArgumentError(argument, `longer than ${MAX_PATTERN_BYTES} bytes`)
}

/** `*` matches any run of characters, `?` one character; everything else is literal. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${body}$`, 's')
}

/** A compiled criterion: one test per record. */
export function compileCriteria(criteria: InvalidationCriteria): (record: Matchable) => boolean {
  switch (criteria.type) {
    case 'signer':
      return (r) => equalBytes(r.signer, criteria.key)
    case 'prefix':
      return (r) => r.keyText.startsWith(criteria.prefix)
    case 'pattern': {
      const re = globToRegExp(criteria.pattern)
      return (r) => re.test(r.keyText)
    }
    case 'older-than':
      return (r) => compareTimestamps(r.hlc, criteria.epoch) < 0
    case 'family':
      return (r) => r.family === criteria.family
  }
}

export function describeCriteria(criteria: InvalidationCriteria): string {
  switch (criteria.type) {
    case 'signer':
      return `signer ${toHex(criteria.key)}`
    case 'prefix':
      return `key prefix ${JSON.stringify(criteria.prefix)}`
    case 'pattern':
      return `key pattern ${JSON.stringify(criteria.pattern)}`
    case 'older-than':
      return `HLC older than ${criteria.epoch.wallMs}.${criteria.epoch.counter}`
    case 'family':
      return `artifact family ${JSON.stringify(criteria.family)}`
  }
}
