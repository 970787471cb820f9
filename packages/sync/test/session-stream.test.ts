/**
 * Protocol 3: a session on one stream. Two nodes of this release sync without any fetch stream,
 * both ways, several stores differing; and a node of the previous release (protocol 2, the code of
 * the commit before it: `PROVSYNC_PREVIOUS_RELEASE`, default /work/base, built) keeps syncing with
 * one of this release both ways, real libp2p over TCP.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { ProvsyncNode } from '@provsync/sync'
import { TestNodes } from '@provsync/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { FETCH_PROTOCOL } from '../src/constants.js'
import { generateSigner, load, NETWORK, rootsEqual, signedAssertions, tempDirs } from './helpers.js'

const signer = generateSigner()
const trust = [signer.publicKey]
const nodes = new TestNodes({ networkId: NETWORK, trust }, tempDirs())
const quiet = { announce: false as const, antiEntropy: false as const, syncOnConnect: false }
afterEach(() => nodes.cleanup())

/**
 * Takes the fetch protocol away from a node: a fetch stream opened to it finds no handler, and
 * the session that opened it fails.
 */
async function withoutFetchStreams(...peers: ProvsyncNode[]): Promise<void> {
  for (const node of peers) await node.libp2p.unhandle(FETCH_PROTOCOL)
}

describe('protocol 3: a session on one stream', () => {
  it('two nodes of this release pull both ways on the reconcile stream alone, every store in one session', async () => {
    const a = await nodes.start({ sync: quiet })
    const b = await nodes.start({ sync: quiet })
    await withoutFetchStreams(a, b)
    const records = signedAssertions(signer, 1_300, { networkId: NETWORK })
    await load(a.state, records.slice(0, 1_100), signer.publicKey)
    await load(b.state, records.slice(200), signer.publicKey)
    await a.state.revocations.revoke(
      { subject: generateSigner().publicKey, subjectKind: 'peer', reason: 'test' },
      signer,
    )

    await a.dial(b.multiaddrs()[0]!)
    const report = await a.sync.syncWith(b.peerId)
    expect(report.error).toBeUndefined()
    expect(report.applied).toBe(200)
    // b pulled a's 200 assertions and its revocation, on the stream a opened.
    expect(report.remoteApplied).toBe(201)
    expect(rootsEqual(a.state, b.state)).toBe(true)
    // And the other way, b starting: what a lacks now comes back on b's stream.
    await load(b.state, signedAssertions(signer, 5, { networkId: NETWORK, offset: 5_000 }), signer.publicKey)
    const back = await b.sync.syncWith(a.peerId)
    expect(back.error).toBeUndefined()
    expect(back.remoteApplied).toBe(5)
    expect(rootsEqual(a.state, b.state)).toBe(true)
  })

  it('stores that do not differ are settled by their first answers, and nothing moves', async () => {
    const a = await nodes.start({ sync: quiet })
    const b = await nodes.start({ sync: quiet })
    const records = signedAssertions(signer, 300, { networkId: NETWORK })
    await load(a.state, records, signer.publicKey)
    await load(b.state, records, signer.publicKey)
    await a.dial(b.multiaddrs()[0]!)
    const report = await a.sync.syncWith(b.peerId)
    // Four stores, each settled by the answer to its first request (all four sent at once).
    expect(report.rounds).toBe(4)
    expect(report.pulled + report.remoteApplied).toBe(0)
  })
})

const previousRelease = process.env.PROVSYNC_PREVIOUS_RELEASE ?? '/work/base'
const previousTesting = join(previousRelease, 'packages/testing/dist/index.js')

describe('a node of the previous release (protocol 2)', () => {
  it('is built where the test looks for it', () => {
    expect(existsSync(previousTesting)).toBe(true)
  })

  it('syncs with a node of this release both ways, over fetch streams', async () => {
    const { TestNodes: PreviousNodes } = (await import(previousTesting)) as typeof import('@provsync/testing')
    const previous = new PreviousNodes({ networkId: NETWORK, trust }, tempDirs())
    try {
      const ours = await nodes.start({ sync: quiet })
      const old = await previous.start({ sync: quiet })
      const records = signedAssertions(signer, 1_500, { networkId: NETWORK })
      await load(ours.state, records.slice(0, 1_250), signer.publicKey)
      await load(old.state, records.slice(250), signer.publicKey)

      await ours.dial(old.multiaddrs()[0]!)
      const report = await ours.sync.syncWith(old.peerId)
      expect(report.applied).toBe(250)
      expect(report.remoteApplied).toBe(250)
      expect(rootsEqual(ours.state, old.state)).toBe(true)

      const more = signedAssertions(signer, 100, { networkId: NETWORK, offset: 10_000 })
      await load(old.state, more.slice(0, 60), signer.publicKey)
      await load(ours.state, more.slice(40), signer.publicKey)
      const back = await old.sync.syncWith(ours.peerId)
      expect(back.applied).toBe(40)
      expect(back.remoteApplied).toBe(40)
      expect(rootsEqual(ours.state, old.state)).toBe(true)
    } finally {
      await previous.cleanup()
    }
  })
})
