import { describe, expect, it } from 'vitest'
import { quickstart } from '../examples/quickstart.js'

describe('examples', () => {
  it('quickstart records evidence, gates on it and falls back after a revocation', async () => {
    const lines: string[] = []
    const result = await quickstart((line) => lines.push(line))
    expect(result.before).toMatchObject({ run: 42n, provenance: { type: 'asserted' } })
    expect(result.after).toMatchObject({ run: 41n, provenance: { type: 'local' } })
    expect(result.gates.map((g) => g.allowed)).toEqual([true, false, true])
    expect(result.entry.result?.invalidated).toBe(1)
    expect(result.outOfTree).toBe(1)
    expect(lines.slice(-3)).toEqual([
      'assertions: 2 stored, 1 in the tree',
      'view: 1 coordinate(s)',
      'history: advance → advance → revoke',
    ])
  })
})
