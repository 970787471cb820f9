import { describe, expect, it } from 'vitest'
import { type RootCount, waitForEqualRoots } from '../src/quiescence.js'

// Quiescence dates equal roots from the last change of any node, not from the count that saw them.

describe('waitForEqualRoots', () => {
  it('dates equal roots from the last change before the count that found them, not from the count', async () => {
    let t = 0
    const now = () => t
    // Counts come 1 s apart (a busy loop): differing, then equal after a change at 1,200.
    const counts: RootCount[] = [
      { distinct: 3, lastChangeMs: 900 },
      { distinct: 1, lastChangeMs: 1_200 },
      { distinct: 1, lastChangeMs: 1_200 },
    ]
    const result = await waitForEqualRoots(
      now,
      () => {
        t += 1_000
        return counts.shift() ?? { distinct: 1, lastChangeMs: 1_200 }
      },
      60_000,
      400,
    )
    expect(result).toEqual({ equalSince: 1_200, seenAt: 2_000 })
  })

  it('moves the start to a later change that kept the roots equal', async () => {
    let t = 0
    const counts: RootCount[] = [
      { distinct: 1, lastChangeMs: 500 },
      { distinct: 1, lastChangeMs: 1_800 },
    ]
    const result = await waitForEqualRoots(
      () => t,
      () => {
        t += 1_000
        return counts.shift() ?? { distinct: 1, lastChangeMs: 1_800 }
      },
      60_000,
      1_500,
    )
    // Equal from 500 at the first count; a change at 1,800 moves it; held 1,500 ms at the count at 4,000.
    expect(result).toEqual({ equalSince: 1_800, seenAt: 1_000 })
    expect(t).toBe(4_000)
  })

  it('without change times, dates equal roots from the count; -1 when they never settle', async () => {
    let t = 0
    const settled = await waitForEqualRoots(
      () => t,
      () => {
        t += 300
        return { distinct: 1 }
      },
      60_000,
      400,
    )
    expect(settled).toEqual({ equalSince: 300, seenAt: 300 })
    t = 0
    const never = await waitForEqualRoots(
      () => t,
      () => {
        t += 300
        return { distinct: 2, lastChangeMs: 0 }
      },
      1_000,
      400,
    )
    expect(never).toEqual({ equalSince: -1, seenAt: -1 })
  })
})
