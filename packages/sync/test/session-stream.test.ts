/**
 * Protocol 3: a session on one stream. Two nodes of this release sync without any fetch stream,
 * both ways, several stores differing; and a node that speaks protocol 2 (the previous release's
 * sessions, fetch streams included: `protocolVersion: 2`) keeps syncing with one of this release
 * both ways, real libp2p over TCP. The previous release's own build is checked against this one by
 * `scripts/mixed-previous.sh`.
 */
import { PROTOCOL_VERSION, type ProvsyncNode, SyncInitError } from '@provsync/sync'
import { TestNodes } from '@provsync/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { FETCH_PROTOCOL } from '../src/constants.js'
import {
  generateSigner,
  load,
  NETWORK,
  rootsEqual,
  signedAssertions,
  syncBothWays,
  tempDirs,
} from './helpers.js'

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

describe("a node pinned to protocol 2 (the previous release's sessions)", () => {
  it('syncs with a node of this release both ways, over fetch streams', async () => {
    const ours = await nodes.start({ sync: quiet })
    const old = await nodes.start({ sync: { ...quiet, protocolVersion: 2 } })
    const seen = await syncBothWays(ours, old, signer)
    expect(seen.there.error).toBeUndefined()
    expect([seen.there.applied, seen.there.remoteApplied, seen.equalAfterThere]).toEqual([250, 250, true])
    expect(seen.back.error).toBeUndefined()
    expect([seen.back.applied, seen.back.remoteApplied, seen.equalAfterBack]).toEqual([40, 40, true])
  })

  it('runs protocol 2 whichever side is pinned: without fetch streams its session fails at the fetch', async () => {
    for (const pinned of ['initiator', 'responder'] as const) {
      const a = await nodes.start({
        sync: { ...quiet, ...(pinned === 'initiator' ? { protocolVersion: 2 } : {}) },
      })
      const b = await nodes.start({
        sync: { ...quiet, ...(pinned === 'responder' ? { protocolVersion: 2 } : {}) },
      })
      await withoutFetchStreams(a, b)
      await load(b.state, signedAssertions(signer, 20, { networkId: NETWORK }), signer.publicKey)
      await a.dial(b.multiaddrs()[0]!)
      // Protocol 2 opens a fetch stream, which finds no handler: the session fails naming it.
      const failure = await a.sync.syncWith(b.peerId).then(
        (report) => report.error,
        (err: unknown) => err,
      )
      expect(String(failure), pinned).toContain(FETCH_PROTOCOL)
      expect(rootsEqual(a.state, b.state), pinned).toBe(false)
    }
  })

  it("refuses a version outside 2 to this release's with a SyncInitError naming the option", async () => {
    for (const protocolVersion of [1, PROTOCOL_VERSION + 1, 2.5]) {
      const error = await nodes.start({ sync: { ...quiet, protocolVersion } }).catch((err: unknown) => err)
      expect(error).toBeInstanceOf(SyncInitError)
      expect((error as SyncInitError).option).toBe('protocolVersion')
      expect((error as SyncInitError).value).toBe(protocolVersion)
    }
  })
})
