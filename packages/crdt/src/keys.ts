import { NODE_ID_BYTES } from '@provsync/hlc'
import { blake3, equalBytes, KEY_BYTES } from './bytes.js'
import { type Coordinate, encodeCoordinate } from './codec/coordinate.js'

const utf8 = new TextEncoder()

/** The HLC node id of a signer: the first 8 bytes of BLAKE3(public key). */
export function nodeIdFor(publicKey: Uint8Array): Uint8Array {
  return blake3(publicKey).slice(0, NODE_ID_BYTES)
}

/** 8 bytes carried in every record, so a record of another network is refused before verifying. */
export function networkTag(networkId: string): Uint8Array {
  let tag = networkTags.get(networkId)
  // Stryker disable next-line ConditionalExpression: equivalent, a cache: deriving the tag every time gives the same bytes
  if (tag === undefined) {
    tag = blake3(utf8.encode('provsync/network'), utf8.encode(networkId)).slice(0, 8)
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, only bounds the cache
    if (networkTags.size >= 64) networkTags.clear()
    networkTags.set(networkId, tag)
  }
  return tag
}
const networkTags = new Map<string, Uint8Array>()

/** Stable 32-byte id of a coordinate: BLAKE3 of its canonical encoding. */
export function coordinateId(coordinate: Coordinate): Uint8Array {
  return blake3(encodeCoordinate(coordinate))
}

/** Tree key of an assertion max-register: BLAKE3(asserter ‖ coordinate), uniform like a hash. */
export function assertionKey(asserter: Uint8Array, coordinate: Coordinate): Uint8Array {
  return blake3(asserter, encodeCoordinate(coordinate))
}

const recentKeys: Uint8Array[] = []
// Stryker disable next-line ArrayDeclaration: equivalent, an extra trailing id is never read (an id is read at the index of a cached key, and the ids are unshifted alike)
const recentIds: Uint8Array[] = []

/**
 * {@link nodeIdFor} with a cache of the last few keys: ingest checks it for every record, and a
 * batch usually comes from a handful of signers.
 */
export function cachedNodeIdFor(publicKey: Uint8Array): Uint8Array {
  // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: equivalent, a cache miss derives the same id
  for (let i = 0; i < recentKeys.length; i++) {
    // Stryker disable next-line ConditionalExpression: equivalent, a cache miss derives the same id
    if (equalBytes(recentKeys[i], publicKey)) return recentIds[i]!
  }
  const id = nodeIdFor(publicKey)
  recentKeys.unshift(new Uint8Array(publicKey))
  recentIds.unshift(id)
  // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: equivalent, only bounds the cache (both lists alike)
  if (recentKeys.length > 8) {
    recentKeys.pop()
    recentIds.pop()
  }
  return id
}

export function isPublicKey(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === KEY_BYTES
}
