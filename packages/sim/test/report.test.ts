import { type CheckResult, type FaultEvent, renderChart, reportJson, type SimReport } from '@provsync/sim'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { formatProtocolBytes } from '../src/cli.js'
import { describeFault } from '../src/report.js'
import { sampleReport } from './sample-report.js'

const check: CheckResult = { ok: true, seed: 's', checked: ['same-roots'], violations: [] }

const partition: FaultEvent = {
  type: 'partition',
  atMs: 500,
  groups: [
    [0, 1],
    [2, 3],
  ],
}

function report(timeline: SimReport['timeline'], name = 'demo'): SimReport {
  const base = sampleReport()
  return sampleReport({
    scenario: name,
    seed: 'seed-1',
    transport: 'memory',
    nodes: { honest: 4, byzantine: 1 },
    sessions: { ok: 5, failed: 1, errors: { 'Error: x': 1 } },
    bytes: {
      ...base.bytes,
      totalIn: 1000,
      byProtocol: { '/provsync/reconcile/1.0.0': 300, '/provsync/fetch/1.0.0': 250 },
    },
    faults: [partition, { type: 'heal', atMs: 1_500 }],
    events: [
      { tMs: 520, type: 'partition', label: describeFault(partition), distinctRoots: 1 },
      { tMs: 1_530, type: 'heal', label: 'heal', distinctRoots: 2 },
    ],
    timeline,
    check,
  })
}

const samples = fc
  .array(
    fc.record({
      dt: fc.integer({ min: 1, max: 500 }),
      roots: fc.integer({ min: 1, max: 9 }),
      bytes: fc.nat(5_000),
    }),
    {
      minLength: 1,
      maxLength: 40,
    },
  )
  .map((raw) => {
    let t = 0
    let total = 0
    return raw.map((s) => {
      t += s.dt
      total += s.bytes
      return { tMs: t, distinctRoots: s.roots, bytesIn: total, records: 0 }
    })
  })

describe('renderChart', () => {
  test('draws one point per sample in each panel, left to right, inside the canvas', () => {
    fc.assert(
      fc.property(samples, (timeline) => {
        const svg = renderChart(report(timeline))
        expect(svg.startsWith('<svg ')).toBe(true)
        expect(svg.trimEnd().endsWith('</svg>')).toBe(true)
        const lines = [...svg.matchAll(/<polyline[^>]*points="([^"]*)"/g)].map((m) =>
          m[1]!.split(' ').map((p) => p.split(',').map(Number) as [number, number]),
        )
        expect(lines).toHaveLength(2)
        const [roots, bytes] = lines as [[number, number][], [number, number][]]
        // The root panel is a step line: two points per sample after the first.
        expect(roots).toHaveLength(timeline.length * 2 - 1)
        expect(bytes).toHaveLength(timeline.length)
        for (const line of lines) {
          for (let i = 1; i < line.length; i++) expect(line[i]![0]).toBeGreaterThanOrEqual(line[i - 1]![0])
          for (const [x, y] of line) {
            expect(x).toBeGreaterThanOrEqual(0)
            expect(x).toBeLessThanOrEqual(900)
            expect(y).toBeGreaterThanOrEqual(0)
          }
        }
      }),
    )
  })

  test('labels every fault and escapes text', () => {
    const svg = renderChart(report([{ tMs: 0, distinctRoots: 1, bytesIn: 0, records: 0 }], '<b>&"x"'))
    expect(svg).toContain('partition 2|2')
    expect(svg).toContain('>heal<')
    expect(svg).not.toContain('<b>')
    expect(svg).toContain('&#60;b&#62;&#38;&#34;x&#34;')
  })
})

test('reportJson round-trips through JSON.parse', () => {
  const r = report([{ tMs: 5, distinctRoots: 2, bytesIn: 10, records: 1 }])
  expect(JSON.parse(reportJson(r))).toEqual(r)
})

describe('bytes by protocol', () => {
  test('shares of what the transport carried, the rest being framing and encryption', () => {
    const line = formatProtocolBytes({ '/provsync/fetch/1.0.0': 250, '/provsync/reconcile/1.0.0': 440 }, 1000)
    expect(line).toBe(
      '/provsync/reconcile/1.0.0 44 %, /provsync/fetch/1.0.0 25 %, framing and encryption 31 %',
    )
  })

  test('the streams are the whole when the transport bytes are unknown or smaller', () => {
    expect(formatProtocolBytes({ a: 30, b: 10 }, 20)).toBe('a 75 %, b 25 %')
    expect(formatProtocolBytes({}, 0)).toBe('none')
  })
})
