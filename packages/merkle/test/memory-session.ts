import { expect } from 'vitest'
import { createReconciler, createResponder, type ReconcileOptions } from '../src/reconcile.js'
import { hashOf, hex, hexResult } from './helpers.js'
import type { MemoryTree } from './memory-tree.js'

// Sessions between in-memory trees (memory-tree.ts), for the session suites that run under
// `npm run mutate`: a pair of sets with a known difference, a whole session, and its check.

export type Entries = Array<readonly [Uint8Array, Uint8Array]>

export interface Pair {
  a: Entries
  b: Entries
  onlyA: Uint8Array[]
  onlyB: Uint8Array[]
  changed: Uint8Array[]
}

/** Splits keys into a pair of sets: role 0 only on a, 1 only on b, 2 on both with other values, else equal. */
export function pairOf(keys: Uint8Array[], roleOf: (i: number) => number): Pair {
  const pair: Pair = { a: [], b: [], onlyA: [], onlyB: [], changed: [] }
  const v = hashOf('v')
  const w = hashOf('w')
  keys.forEach((key, i) => {
    const role = roleOf(i)
    if (role !== 1) pair.a.push([key, v])
    if (role === 0) pair.onlyA.push(key)
    else if (role === 1) {
      pair.b.push([key, v])
      pair.onlyB.push(key)
    } else if (role === 2) {
      pair.b.push([key, w])
      pair.changed.push(key)
    } else pair.b.push([key, v])
  })
  return pair
}

export interface Run {
  localOnly: string[]
  remoteOnly: string[]
  differing: string[]
  rounds: number
  requests: Uint8Array[]
  responses: Uint8Array[]
  responderDone: boolean
}

/** A whole session between two trees; `tamper` may rewrite each response. */
export function session(
  a: MemoryTree,
  b: MemoryTree,
  optionsA: ReconcileOptions = {},
  optionsB: ReconcileOptions = optionsA,
  tamper: (response: Uint8Array, round: number) => Uint8Array = (r) => r,
): Run {
  const reconciler = createReconciler(a, optionsA)
  const responder = createResponder(b, optionsB)
  const requests: Uint8Array[] = []
  const responses: Uint8Array[] = []
  try {
    for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
      requests.push(request.slice())
      const response = tamper(responder.respond(request), responses.length)
      responses.push(response.slice())
      reconciler.receive(response)
      if (responses.length > 5000) throw new Error('session did not end')
    }
  } catch (error) {
    // The side that failed released its snapshot; the other side abandons the session.
    reconciler.close()
    responder.close()
    throw error
  }
  return {
    ...hexResult(reconciler.result()),
    rounds: reconciler.stats.rounds,
    requests,
    responses,
    responderDone: responder.done,
  }
}

export const sortedHex = (keys: Uint8Array[]) => keys.map(hex).sort()

export function expectExact(pair: Pair, run: Run): void {
  expect(run.localOnly).toEqual(sortedHex(pair.onlyA))
  expect(run.remoteOnly).toEqual(sortedHex(pair.onlyB))
  expect(run.differing).toEqual(sortedHex(pair.changed))
  expect(run.responderDone).toBe(true)
}
