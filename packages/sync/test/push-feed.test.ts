import type { NodeState } from '@provsync/crdt'
import {
  coordinate,
  openTestState,
  signedAssertions,
  signerN,
  TEST_NETWORK,
  TempDirs,
} from '@provsync/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { createChangeFeed } from '../src/push-feed.js'

// The change feed diffs each store's tree against a snapshot kept from the last look, on a real
// LMDB state: what a local write, a batch applied as pulled and a newer run of a register show.

const temp = new TempDirs('provsync-push-feed-')
afterEach(() => temp.cleanup())

const hexes = (keys: readonly Uint8Array[]) => keys.map((k) => Buffer.from(k).toString('hex')).sort()

async function state(): Promise<NodeState> {
  return openTestState(temp, { networkId: TEST_NETWORK })
}

describe('change feed', () => {
  it('returns the keys a local write and an applied batch added, once each', async () => {
    const s = await state()
    await s.apply('assertions', signedAssertions(signerN(1), 5, { offset: 100 }), {
      from: signerN(2).publicKey,
    })
    const feed = createChangeFeed((store) => s.tree(store), ['assertions', 'supersessions'])
    expect(feed.take('assertions')).toEqual([]) // what was there at the start is not news

    const own = s.advanceVerified(coordinate(1), 3n)
    const batch = signedAssertions(signerN(3), 40)
    const outcomes = await s.apply('assertions', batch, { from: signerN(2).publicKey })
    const expected = [own.key, ...outcomes.map((o) => o.key!)]

    expect(hexes(feed.take('assertions'))).toEqual(hexes(expected))
    expect(feed.take('assertions')).toEqual([])
    expect(feed.take('supersessions')).toEqual([])
    feed.close()
  })

  it('returns a register whose run advanced (same key, new value), and nothing for a store it does not follow', async () => {
    const s = await state()
    const first = s.advanceVerified(coordinate(7), 1n)
    const feed = createChangeFeed((store) => s.tree(store), ['assertions'])
    s.advanceVerified(coordinate(7), 2n)
    expect(hexes(feed.take('assertions'))).toEqual(hexes([first.key]))
    expect(feed.take('revocations')).toEqual([])
    feed.close()
    expect(feed.take('assertions')).toEqual([])
  })
})
