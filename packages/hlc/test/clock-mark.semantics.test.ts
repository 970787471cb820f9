import { createClock } from '@provsync/hlc'
import { expect, test } from 'vitest'
import { nodeId, recordingStore } from './helpers.js'

const T = Date.UTC(2026, 11, 6)
const me = nodeId(1)
const peer = nodeId(2)

// A clock pulled ahead of its wall clock by a peer reserves from the time it issues, not from the
// wall clock: measured from the wall clock, the mark would sit just past the issued time and the
// clock would write on nearly every timestamp while it runs ahead.
test('a timestamp taken from a peer ahead of the wall clock saves its mark reserveMs past that timestamp', () => {
  const store = recordingStore()
  const clock = createClock({ nodeId: me, wallClock: () => T, store, reserveMs: 100, maxDriftMs: 1000 })
  expect(clock.update({ wallMs: T + 500, counter: 0, nodeId: peer })).toMatchObject({ wallMs: T + 500 })
  expect(store.saved.map((m) => [m.wallMs, m.counter])).toEqual([[T + 600, 0]])
  for (let i = 0; i < 50; i++) clock.now()
  expect(store.saved).toHaveLength(1)
})
