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
import { generateSigner, NETWORK, syncBothWays, tempDirs } from '../../packages/sync/test/helpers.js'

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
      const seen = await syncBothWays(ours, old, signer)
      expect([seen.there.applied, seen.there.remoteApplied, seen.equalAfterThere]).toEqual([250, 250, true])
      expect([seen.back.applied, seen.back.remoteApplied, seen.equalAfterBack]).toEqual([40, 40, true])
    } finally {
      await previous.cleanup()
    }
  })
})
