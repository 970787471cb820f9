import { renderChart } from '@provsync/sim'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { byteTicks, countTicks, placeLabels, totalBytesIn } from '../src/report.js'
import { sampleReport as report } from './sample-report.js'

// The simulation's SVG reads without the README: a legend, integer ticks for counts, labels that
// never overlap, titles inside the frames, and on TCP a byte total that covers the breakdown.
describe('the simulation chart', () => {
  it('ticks a count axis with integers only', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), (max) => {
        const ticks = countTicks(max)
        expect(ticks.every(Number.isInteger)).toBe(true)
        expect(ticks[0]).toBe(0)
        expect(ticks[ticks.length - 1]).toBeGreaterThanOrEqual(max)
        expect(ticks.length).toBeLessThanOrEqual(6)
      }),
    )
  })

  it('places event labels so that no two in a row overlap', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(900), fc.string({ minLength: 1, maxLength: 20 })), { maxLength: 30 }),
        (events) => {
          const sorted = [...events].sort((a, b) => a[0] - b[0])
          const rows = placeLabels(
            sorted.map((e) => e[0]),
            sorted.map((e) => e[1]),
          )
          for (let i = 0; i < sorted.length; i++)
            for (let j = i + 1; j < sorted.length; j++) {
              if (rows[i] !== rows[j]) continue
              expect(sorted[i]![0] + sorted[i]![1].length * 6 + 8).toBeLessThanOrEqual(sorted[j]![0])
            }
        },
      ),
    )
  })

  it('has a legend, integer root ticks and titles inside the panel frames', () => {
    const svg = renderChart(report())
    for (const entry of ['distinct root sets', 'bytes received', 'converged', 'crash', 'restart'])
      expect(svg).toMatch(new RegExp(`class="label">${entry}</text>`))
    const rootTicks = [...svg.matchAll(/class="tick" text-anchor="end">([^<]+)</g)].map((m) => m[1]!)
    expect(rootTicks.slice(0, 4)).toEqual(['0', '1', '2', '3'])
    const frames = [
      ...svg.matchAll(/<rect x="70" y="(\d+(?:\.\d+)?)" width="\d+" height="200" class="frame"/g),
    ].map((m) => Number(m[1]))
    const titles = [...svg.matchAll(/<text x="78" y="([\d.]+)" class="title">/g)].map((m) => Number(m[1]))
    expect(titles).toHaveLength(2)
    titles.forEach((y, i) => {
      expect(y).toBeGreaterThan(frames[i]!)
      expect(y).toBeLessThan(frames[i]! + 200)
    })
  })

  it('on TCP the byte total counts every byte of the per-protocol breakdown', () => {
    expect(totalBytesIn(report())).toBe(5500)
    expect(renderChart(report())).toContain('5.4 KiB received by the honest nodes')
    expect(totalBytesIn(report({ transport: 'memory', bytes: { ...report().bytes, totalIn: 9000 } }))).toBe(
      9000,
    )
  })

  it('keeps every series below its panel title, whatever the values', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(3_000), fc.nat(6), fc.nat(10_000_000)), { minLength: 2 }),
        (points) => {
          const timeline = points.map(([tMs, distinctRoots, bytesIn]) => ({
            tMs,
            distinctRoots,
            bytesIn,
            records: 0,
          }))
          const svg = renderChart(report({ timeline }))
          const frames = [
            ...svg.matchAll(/<rect x="70" y="([\d.]+)" width="\d+" height="200" class="frame"/g),
          ]
          const series = [...svg.matchAll(/<polyline class="series" stroke="[^"]+" points="([^"]*)"/g)]
          series.forEach((m, i) => {
            const top = Number(frames[i]![1])
            for (const point of m[1]!.split(' ').filter(Boolean))
              expect(Number(point.split(',')[1])).toBeGreaterThanOrEqual(top + 24)
          })
        },
      ),
      { numRuns: 30 },
    )
  })

  it('labels bytes in round binary units', () => {
    expect(byteTicks(439 * 1024)).toEqual([0, 125, 250, 375, 500].map((k) => k * 1024))
    expect(byteTicks(3 * 1024 * 1024)).toEqual([0, 1.25, 2.5, 3.75, 5].map((m) => m * 1024 * 1024))
    expect(byteTicks(700)).toEqual([0, 250, 500, 750, 1000])
  })
})
