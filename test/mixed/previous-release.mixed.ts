/**
 * A node of the previous release's own build (protocol 2: `PROVSYNC_PREVIOUS_RELEASE`, a built
 * checkout of it) syncs with a node of this release both ways, real libp2p over TCP. Not part of
 * `npm test` (it needs that build): `scripts/mixed-previous.sh` builds the previous release from
 * git and runs this file with `scripts/vitest.mixed.config.ts`.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { TestNodes } from '@provsync/testing'
import { afterEach, describe, expect, it } from 'vitest'
import {
  generateSigner,
  load,
  NETWORK,
  rootsEqual,
  signedAssertions,
  tempDirs,
} from '../../packages/sync/test/helpers.js'

const signer = generateSigner()
const trust = [signer.publicKey]
const nodes = new TestNodes({ networkId: NETWORK, trust }, tempDirs())
const quiet = { announce: false as const, antiEntropy: false as const, syncOnConnect: false }
afterEach(() => nodes.cleanup())

const previousRelease = process.env.PROVSYNC_PREVIOUS_RELEASE ?? ''
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
