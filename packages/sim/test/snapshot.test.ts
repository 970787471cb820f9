import { generateSigner, type NodeState } from '@provsync/crdt'
import * as testing from '@provsync/testing'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { snapshotHistory, snapshotNode } from '../src/snapshot.js'

const temp = new testing.TempDirs()
let state: NodeState
const meta = { name: 'n0', peerId: 'p', atMs: 5, knownKeys: [] }

beforeAll(async () => {
  state = await testing.openTestState(temp)
  const peer = generateSigner()
  await testing.load(state, testing.signedAssertions(peer, 40), peer.publicKey, { batch: 7 })
})
afterAll(() => temp.cleanup())

describe('the final snapshot reads the history history-prefix compares', () => {
  test('cut to a prefix: the same first digests, and the whole count', () => {
    const whole = snapshotHistory(state, meta).history
    expect(whole).toHaveLength(40)
    expect(new Set(whole).size).toBe(40)
    const cut = snapshotNode(state, { ...meta, historyPrefix: 13 })
    expect(cut.history).toEqual(whole.slice(0, 13))
    expect(cut.historyLength).toBe(40)
    expect(snapshotNode(state, { ...meta, historyPrefix: 0 })).toMatchObject({
      history: [],
      historyLength: 40,
    })
  })

  test('a prefix longer than the history, or none, reads it all and gives no separate count', () => {
    const whole = snapshotHistory(state, meta).history
    for (const historyPrefix of [undefined, 40, 41]) {
      const snapshot = snapshotNode(state, { ...meta, historyPrefix })
      expect(snapshot.history).toEqual(whole)
      expect(snapshot.historyLength).toBe(historyPrefix === 40 ? 40 : undefined)
    }
  })
})
