/**
 * Protocol 3 keeps protocol 2's answer to a fingerprint collision: the store's reconciliation is
 * run again at once with a new salt, and a second collision in a row is a lying tree. Merkle's
 * reconciler is wrapped so that chosen runs report a collision.
 */
import type * as merkle from '@provsync/merkle'
import { TestNodes } from '@provsync/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { generateSigner, load, NETWORK, rootsEqual, signedAssertions, tempDirs } from './helpers.js'

/** How many more assertions runs (initiator side) report a collision. */
const collide = vi.hoisted(() => ({ assertions: 0, runs: 0 }))

vi.mock('@provsync/merkle', async (original) => {
  const actual = await original<typeof merkle>()
  return {
    ...actual,
    createReconciler: (...args: Parameters<typeof actual.createReconciler>) => {
      const reconciler = actual.createReconciler(...args)
      const tree = args[0] as { name?: string }
      const result = reconciler.result.bind(reconciler)
      let counted = false
      reconciler.result = () => {
        const found = result()
        if (tree.name !== 'assertions' || counted) return found
        counted = true
        collide.runs++
        if (collide.assertions <= 0) return found
        collide.assertions--
        return { ...found, collision: true }
      }
      return reconciler
    },
  }
})

const signer = generateSigner()
const nodes = new TestNodes({ networkId: NETWORK, trust: [signer.publicKey] }, tempDirs())
const quiet = { announce: false as const, antiEntropy: false as const, syncOnConnect: false }
afterEach(() => nodes.cleanup())

async function pair() {
  const a = await nodes.start({ sync: quiet })
  const b = await nodes.start({ sync: quiet })
  const records = signedAssertions(signer, 60, { networkId: NETWORK })
  await load(a.state, records.slice(0, 50), signer.publicKey)
  await load(b.state, records.slice(10), signer.publicKey)
  await a.dial(b.multiaddrs()[0]!)
  collide.runs = 0
  return { a, b }
}

describe('protocol 3: a fingerprint collision', () => {
  it('runs the store again with a new salt, and the session converges', async () => {
    const { a, b } = await pair()
    collide.assertions = 1
    const report = await a.sync.syncWith(b.peerId)
    expect(collide.runs).toBe(2)
    expect(report.applied).toBe(10)
    expect(report.remoteApplied).toBe(10)
    expect(rootsEqual(a.state, b.state)).toBe(true)
  })

  it('twice in a row is a lying tree', async () => {
    const { a, b } = await pair()
    collide.assertions = 2
    await expect(a.sync.syncWith(b.peerId)).rejects.toMatchObject({ reason: 'lying-tree' })
    expect(a.sync.offences(b.peerId)['lying-tree']).toBe(1)
  })
})
