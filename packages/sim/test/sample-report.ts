import type { SimReport } from '@provsync/sim'

/**
 * A finished run's report, for the chart and report tests: three honest nodes and one Byzantine
 * on TCP, the last heal at 1.5 s, eight crash/restart events, three timeline samples; `overrides`
 * replace whole fields.
 */
export function sampleReport(overrides: Partial<SimReport> = {}): SimReport {
  return {
    scenario: 'chart',
    seed: 's',
    transport: 'tcp',
    nodes: { honest: 3, byzantine: 1 },
    workload: { operations: 10, acknowledged: 10, recordsPerSecond: 5, writeMs: 2_000 },
    lastHealMs: 1_500,
    convergedAtMs: 2_100,
    convergeMsAfterHeal: 100,
    convergeSeenMsAfterHeal: 150,
    durationMs: 2_500,
    rounds: 12,
    sessions: { ok: 5, failed: 0, errors: {} },
    bytes: {
      totalIn: 0,
      syncIn: 600,
      perNode: {},
      perRecordPerNode: 33,
      syncPerRecordPerNode: 20,
      byProtocol: { '/provsync/reconcile/1.0.0': 3000, '/provsync/fetch/1.0.0': 2500 },
      meanRecordBytes: 170,
    },
    pulls: { records: 40, applied: 30, perRecordPerNode: 1.3 },
    push: {
      framesSent: 12,
      recordsSent: 40,
      recordsReceived: 40,
      recordsApplied: 30,
      duplicateFrames: 2,
      dropped: 0,
      prunes: 1,
      grafts: 0,
    },
    refusals: {},
    offences: {},
    blamedHonest: {},
    links: [],
    equivocations: [],
    faults: [],
    events: Array.from({ length: 8 }, (_, i) => ({
      tMs: 500 + i * 10,
      type: i % 2 === 0 ? ('crash' as const) : ('restart' as const),
      label: `${i % 2 === 0 ? 'crash' : 'restart'} n${i}`,
      distinctRoots: 1,
    })),
    timeline: [
      { tMs: 0, distinctRoots: 1, bytesIn: 0, records: 0 },
      { tMs: 1000, distinctRoots: 3, bytesIn: 4000, records: 5 },
      { tMs: 2500, distinctRoots: 1, bytesIn: 5500, records: 10 },
    ],
    eventLoopDelayMs: { p50: 1, p99: 5, max: 9 },
    check: { ok: true, seed: 's', checked: [], violations: [] },
    ...overrides,
  }
}
