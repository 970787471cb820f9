import { statSync } from 'node:fs'
import { join } from 'node:path'
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
import { createChangeFeed, type FeedSource } from '../src/push-feed.js'

// The change feed diffs each store's tree against a snapshot kept from the last look, on a real
// LMDB state: what a local write, a batch applied as pulled and a newer run of a register show.

const temp = new TempDirs('provsync-push-feed-')
afterEach(() => temp.cleanup())

const hexes = (keys: readonly Uint8Array[]) => keys.map((k) => Buffer.from(k).toString('hex')).sort()

async function state(): Promise<NodeState> {
  return openTestState(temp, { networkId: TEST_NETWORK })
}

/** `s` as a source that reports no batch: every change it makes is one no batch explains. */
const unobserved = (s: NodeState): FeedSource => ({
  tree: (store) => s.tree(store),
  onChange: (listener) => s.onChange(listener),
  observe: () => () => {},
})

describe('change feed', () => {
  it('returns the keys a local write and an applied batch added, once each', async () => {
    const s = await state()
    await s.apply('assertions', signedAssertions(signerN(1), 5, { offset: 100 }), {
      from: signerN(2).publicKey,
    })
    const feed = createChangeFeed(s, ['assertions', 'supersessions'])
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
    const feed = createChangeFeed(s, ['assertions'])
    s.advanceVerified(coordinate(7), 2n)
    expect(hexes(feed.take('assertions'))).toEqual(hexes([first.key]))
    expect(feed.take('revocations')).toEqual([])
    feed.close()
    expect(feed.take('assertions')).toEqual([])
  })

  it('diffs the tree when a change comes with no observed batch of its store, and only then', async () => {
    for (const source of [
      (s: NodeState) => s,
      unobserved,
      (s: NodeState) => ({ ...unobserved(s), observe: undefined }),
    ]) {
      const s = await state()
      const feed = createChangeFeed(source(s), ['assertions'])
      const own = s.advanceVerified(coordinate(9), 1n)
      const batch = signedAssertions(signerN(4), 6)
      const outcomes = await s.apply('assertions', batch, { from: signerN(2).publicKey })
      await Promise.resolve()
      expect(hexes(feed.take('assertions'))).toEqual(hexes([own.key, ...outcomes.map((o) => o.key!)]))
      // A batch of duplicates changes nothing and reports nothing new.
      await s.apply('assertions', batch, { from: signerN(2).publicKey })
      expect(feed.take('assertions')).toEqual([])
      feed.close()
    }
  })

  it('reports only the keys of records applied, not those a batch refused or already had', async () => {
    const s = await state()
    const feed = createChangeFeed(s, ['assertions'])
    const batch = signedAssertions(signerN(5), 4)
    await s.apply('assertions', batch.slice(0, 2), { from: signerN(2).publicKey })
    feed.take('assertions')
    const outcomes = await s.apply('assertions', batch, { from: signerN(2).publicKey })
    expect(outcomes.map((o) => o.status)).toEqual(['duplicate', 'duplicate', 'applied', 'applied'])
    expect(hexes(feed.take('assertions'))).toEqual(hexes(outcomes.slice(2).map((o) => o.key!)))
    feed.close()
  })

  it('takes an explained change from the observed batch, without diffing the tree', async () => {
    const s = await state()
    // A source that also reports a key the tree never got: only the observed path can return it.
    const phantom = new Uint8Array(32).fill(7)
    const source: FeedSource = {
      tree: (store) => s.tree(store),
      onChange: (listener) => s.onChange(listener),
      observe: (observer) =>
        s.observe({
          applied: (batch) =>
            observer.applied?.({
              ...batch,
              outcomes: [...batch.outcomes, { status: 'applied', key: phantom }],
            }),
        }),
    }
    const feed = createChangeFeed(source, ['assertions'])
    const outcomes = await s.apply('assertions', signedAssertions(signerN(6), 3), {
      from: signerN(2).publicKey,
    })
    expect(hexes(feed.take('assertions'))).toEqual(hexes([...outcomes.map((o) => o.key!), phantom]))
    feed.close()
  })

  it('holds no LMDB snapshot across writes to other stores: freed pages are reused and data.mdb stays small', async () => {
    const dataDir = temp.dir()
    const s = await openTestState(temp, { dataDir })
    const file = () => statSync(join(dataDir, 'data.mdb')).size
    // Only assertions change; the feed also follows stores that never do, as push's feed does.
    const stores = ['assertions', 'supersessions', 'revocations'] as const
    const feed = createChangeFeed(s, stores)
    const round = (from: number, to: number) => {
      // Twenty registers advanced again and again: the live data stays the same size.
      for (let i = from; i < to; i++) {
        s.advanceVerified(coordinate(i % 20), BigInt(i + 1))
        for (const store of stores) feed.take(store)
      }
    }
    round(0, 100)
    const settled = file()
    round(100, 500)
    // A snapshot kept from the feed's start pinned every page freed after it: 400 more write
    // transactions grew the file by ~16 MB (about 10 pages each). With pages reused it stays put.
    expect(file() - settled).toBeLessThan(1024 * 1024)
    feed.close()
  })
})
