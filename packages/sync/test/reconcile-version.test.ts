import { createReconciler, createResponder, openMerkleTree } from '@provsync/merkle'
import { open } from 'lmdb'
import { afterAll, describe, expect, it } from 'vitest'
import { reconcileVersionFor } from '../src/protocol/reconcile.js'
import { decodeMessage, encodeMessage, PROTOCOL_VERSION } from '../src/wire/codec.js'
import { Frame as ReleaseOneFrame } from './fixtures/sync-release1.generated.js'
import { tempDirs } from './helpers.js'

// Negotiation of merkle's reconciliation protocol 2 (issue #16): the welcome's version decides.
const dirs = tempDirs()
afterAll(() => dirs.cleanup())

describe('reconciliation protocol negotiation', () => {
  it('this release announces version 3 (merkle protocol 2 included); the first release decodes it and its own 1 comes back as 1', () => {
    expect(PROTOCOL_VERSION).toBe(3)
    const welcome = encodeMessage({ type: 'welcome', version: PROTOCOL_VERSION })
    expect(ReleaseOneFrame.decode(welcome).welcome).toEqual({ version: 3 })
    const old = decodeMessage(ReleaseOneFrame.encode({ welcome: { version: 1 } }))
    expect(old).toEqual({ type: 'welcome', version: 1 })
  })

  it('a previous-release welcome gets protocol 1, this release protocol 2', () => {
    expect(reconcileVersionFor(0)).toBe(1)
    expect(reconcileVersionFor(1)).toBe(1)
    expect(reconcileVersionFor(2)).toBe(2)
    expect(reconcileVersionFor(3)).toBe(2)
  })

  it('the chosen protocol shows in the first request: version byte 1 or 2, both served by one responder', async () => {
    const env = open({ path: await dirs.make(), maxDbs: 4 })
    try {
      const tree = openMerkleTree(env, { name: 't', keysAreHashes: true })
      for (const remote of [1, 2]) {
        const version = reconcileVersionFor(remote)
        const reconciler = createReconciler(tree, { version })
        const request = reconciler.next()!
        expect(request[1]).toBe(version)
        expect(() => createResponder(tree).respond(request)).not.toThrow()
        reconciler.close()
      }
    } finally {
      await env.close()
    }
  })
})
