import fc from 'fast-check'
import { expect } from 'vitest'
import { ReconcileError } from '../src/errors.js'

// The lying-responder properties that the in-memory session suite (session-refusals.semantics)
// and its LMDB twin (lying-peer) both check, each with its own session and number of runs.

/** Rewrites the response of round `round` (numbered from 0). */
export type Tamper = (response: Uint8Array, round: number) => Uint8Array
/** Runs a session whose responses go through the tamper; returns the error it ended with, if any. */
export type EndsWith = (tamper: Tamper) => unknown

/** Random bytes of at most `maxLength` in place of one of the first four responses: a typed error or an answer. */
export function checkJunkResponses(endsWith: EndsWith, maxLength: number, numRuns: number): void {
  fc.assert(
    fc.property(fc.nat({ max: 3 }), fc.uint8Array({ maxLength }), (round, junk) => {
      const error = endsWith((r, i) => (i === round ? junk : r))
      // Junk can be accepted only where it happens to parse as a consistent answer.
      if (error !== undefined) expect(error).toBeInstanceOf(ReconcileError)
    }),
    { numRuns },
  )
}

/** One of the `rounds` responses of the honest session cut short: always a typed error. */
export function checkTruncatedResponses(endsWith: EndsWith, rounds: number, numRuns: number): void {
  fc.assert(
    fc.property(fc.nat(), fc.double({ min: 0, max: 0.999, noNaN: true }), (n, keep) => {
      const round = n % rounds
      const error = endsWith((r, i) => (i === round ? r.subarray(0, Math.floor(r.length * keep)) : r))
      expect(error).toBeInstanceOf(ReconcileError)
    }),
    { numRuns },
  )
}

/** One byte flipped in one of the first three responses: a typed error or a session that still ends. */
export function checkFlippedResponses(endsWith: EndsWith, numRuns: number): void {
  fc.assert(
    fc.property(fc.nat({ max: 2 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (round, at, mask) => {
      const error = endsWith((r, i) => {
        if (i !== round) return r
        const copy = r.slice()
        copy[at % copy.length]! ^= mask
        return copy
      })
      if (error !== undefined) expect(error).toBeInstanceOf(ReconcileError)
    }),
    { numRuns },
  )
}
