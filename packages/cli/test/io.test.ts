import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ago, progressLine, table, terminalProgress, toJson } from '../src/io.js'

function capture(isTTY: boolean) {
  const chunks: string[] = []
  return { out: { isTTY, write: (s: string) => chunks.push(s) }, text: () => chunks.join('') }
}

describe('toJson', () => {
  it('writes bigints as decimal strings and bytes as hex', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.uint8Array({ maxLength: 40 }),
        (run, bytes) => {
          const parsed = JSON.parse(toJson({ run, bytes, nested: [run] }))
          expect(parsed).toEqual({
            run: run.toString(),
            bytes: Buffer.from(bytes).toString('hex'),
            nested: [run.toString()],
          })
        },
      ),
    )
  })
})

describe('terminalProgress', () => {
  it('stays silent in a pipe', () => {
    const { out, text } = capture(false)
    const progress = terminalProgress(out)
    progress.update('verifying', 1, 10)
    progress.update('verifying', 10, 10)
    progress.end()
    expect(text()).toBe('')
  })

  it('rewrites one line on a terminal, throttled, and clears it at the end', () => {
    const { out, text } = capture(true)
    let t = 0
    const progress = terminalProgress(out, () => t, 100)
    progress.update('verifying', 1, 10)
    t = 50
    progress.update('verifying', 2, 10) // within the interval: dropped
    t = 200
    progress.update('verifying', 3, 10)
    progress.update('verifying', 10, 10) // completion always shows
    progress.end()
    expect(text()).toBe(
      '\r\x1b[Kverifying 1/10 (10%)\r\x1b[Kverifying 3/10 (30%)\r\x1b[Kverifying 10/10 (100%)\r\x1b[K',
    )
  })

  it('never shows a percentage outside 0..100', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (done, total) => {
        const match = /\((\d+)%\)/.exec(progressLine('x', done, total))
        if (total === 0) expect(match).toBeNull()
        else expect(Number(match![1])).toBeLessThanOrEqual(100)
      }),
    )
  })
})

describe('table and ago', () => {
  it('aligns columns to the widest cell', () => {
    expect(
      table([
        ['a', 'bb', 'c'],
        ['ccc', 'd', 'e'],
      ]),
    ).toBe('a    bb  c\nccc  d   e')
  })

  it('says how long ago', () => {
    expect(ago(undefined, 0)).toBe('never')
    expect(ago(1000, 4000)).toBe('3s ago')
    expect(ago(0, 125_000)).toBe('2m5s ago')
    expect(ago(0, 7_260_000)).toBe('2h1m ago')
  })
})
