import { describe, test } from 'vitest'
import type { ReconcileOptions } from '../src/reconcile.js'
import { hashOf } from './helpers.js'
import { expectExact, pairOf, session } from './memory-session.js'
import { memoryTree } from './memory-tree.js'

// The message budget of the session core (session-core.ts's `build`): descriptions and answers
// stop where the next one could overflow the smaller of the two message limits, and the rest go
// in the next message. No other session suite fills a message with either (found by mutation run
// O: both budget checks made `true` survived them all): a node described by its children takes
// 16 bytes per child, so it takes a level of more than 16,000 differing children; an answer to a
// leaf list carries the answerer's keys there, so a few hundred answers of 20 keys each.

const SMALL: ReconcileOptions = { maxFrameBytes: 4096, maxMessageBytes: 256 * 1024 }

describe('the message budget', () => {
  test('a level of differing nodes larger than one message is described over several, and the result is exact', () => {
    // 16,500 uniform keys, each alone under its own 16-bit prefix (a depth-4 node), every one held
    // by both sides with other values: 1,032 nodes of depth 3 differ in all their 16 children, and
    // their descriptions (259 bytes each, 267 KB) do not fit one 256 KiB message.
    const keys = Array.from({ length: 16_500 }, (_, i) => {
      const key = hashOf(`b${i}`)
      key[0] = i >>> 8
      key[1] = i & 0xff
      return key
    })
    const pair = pairOf(keys, () => 2)
    const run = session(memoryTree(pair.a), memoryTree(pair.b), SMALL)
    // Exact, and no message of either side above the limit: the receiving side refuses one
    // (OversizedMessageError), so an overfull message fails the session.
    expectExact(pair, run)
  })

  test('answers larger than one message are sent over several, and the result is exact', () => {
    // 512 nodes of depth 2 (9-bit prefixes): the initiator holds one key in each, which it
    // describes by its leaf; the responder holds that key and 20 more there, and answers each leaf
    // list with its own 21 keys: about 500 KB of answers to one message of descriptions.
    const under = (node: number, j: number) => {
      const key = hashOf(`a${node}/${j}`)
      key[0] = node >>> 1
      key[1] = ((node & 1) << 7) | (key[1]! & 0x7f)
      return key
    }
    const keys = Array.from({ length: 512 * 21 }, (_, i) => under(i % 512, Math.floor(i / 512)))
    // Keys 0-511 (one per node) on both sides, the rest only on the responder.
    const pair = pairOf(keys, (i) => (i < 512 ? 3 : 1))
    expectExact(pair, session(memoryTree(pair.a), memoryTree(pair.b), SMALL))
  })
})
