import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatCheck, main, runProcessScenario, runScenario, ScenarioConfigError, USAGE } from '@provsync/sim'
import { describe, expect, test } from 'vitest'
import { main as example } from '../examples/basic.js'
import { validateScenario } from '../src/scenario.js'

describe('runScenario', () => {
  test('refuses a scenario it cannot run, before starting any node', async () => {
    const workload = { operations: 1, durationMs: 10 }
    await expect(runScenario({ seed: 1, nodes: 1, workload })).rejects.toThrow(ScenarioConfigError)
    expect(() => validateScenario({ seed: 1, nodes: 3, workload, transport: 'udp' as 'tcp' })).toThrow(
      /transport/,
    )
    expect(() =>
      validateScenario({ seed: 1, nodes: 3, workload, faults: [{ type: 'crash', atMs: 0, node: 5 }] }),
    ).toThrow(/faults\[0\]/)
    const lossy = [{ type: 'link' as const, atMs: 0, a: 0, b: 1, fault: { lossPct: 5, delayMs: 0 } }]
    expect(() => validateScenario({ seed: 1, nodes: 3, workload, transport: 'tcp', faults: lossy })).toThrow(
      /memory transport/,
    )
    expect(validateScenario({ seed: 1, nodes: 3, workload, faults: lossy })).toEqual(lossy)
    for (const verifyThreads of [-1, 1.5])
      expect(() => validateScenario({ seed: 1, nodes: 3, workload, verifyThreads })).toThrow(
        `verifyThreads: must be an integer >= 0, got ${verifyThreads}`,
      )
  })

  test('nodes verifying on one shared worker pool converge through a partition with every invariant held', async () => {
    const { check, report } = await runScenario({
      seed: 'pool-1',
      nodes: 4,
      verifyThreads: 1,
      workload: { operations: 200, durationMs: 800 },
      faults: [
        {
          type: 'partition',
          atMs: 100,
          groups: [
            [0, 1],
            [2, 3],
          ],
        },
        { type: 'heal', atMs: 500 },
      ],
      convergeTimeoutMs: 20_000,
    })
    expect(check.ok, formatCheck(check)).toBe(true)
    // Records crossed the healed partition by pulls, every one verified before it applied.
    expect(report.pulls.applied).toBeGreaterThan(0)
    expect(report.workload.acknowledged).toBeGreaterThan(100)
  }, 60_000)

  test('a partition that never heals is caught: same-roots fails, naming nodes and seed', async () => {
    const { check, report } = await runScenario({
      seed: 'never-heals',
      nodes: 3,
      workload: { operations: 30, durationMs: 600 },
      faults: [{ type: 'partition', atMs: 0, groups: [[0, 1], [2]] }],
      convergeTimeoutMs: 1_000,
    })
    expect(check.ok).toBe(false)
    expect(report.convergeMsAfterHeal).toBe(-1)
    const roots = check.violations.find((v) => v.invariant === 'same-roots')!
    expect(roots.nodes).toEqual(['n0', 'n1', 'n2'])
    expect(roots.detail).toMatch(/\{n0,n1\}=\S+ \{n2\}=/)
    expect(formatCheck(check)).toContain('--seed "never-heals"')
    // n0 and n1 talked: the bytes they received split by protocol, within what the transport carried.
    const { byProtocol, totalIn, syncIn } = report.bytes
    const reconcile = byProtocol['/provsync/reconcile/1.0.0'] ?? 0
    const fetch = byProtocol['/provsync/fetch/1.0.0'] ?? 0
    expect(reconcile).toBeGreaterThan(0)
    // Sync protocol 3 (session 14): a session's fetches travel on its reconcile stream.
    expect(fetch).toBe(0)
    expect(Object.keys(byProtocol).some((p) => p.startsWith('/meshsub/'))).toBe(true)
    // Every sync frame read is on one of the two sync protocols' streams.
    expect(reconcile + fetch).toBeGreaterThanOrEqual(syncIn)
    expect(Object.values(byProtocol).reduce((a, b) => a + b, 0)).toBeLessThan(totalIn)
  })

  test('converges over TCP loopback through a partition, with clock skew and an operator revoking and reinstating a node', async () => {
    const { check, report } = await runScenario({
      seed: 'tcp-1',
      nodes: 3,
      transport: 'tcp',
      workload: { operations: 40, durationMs: 1_200, mix: { operator: 0.1 }, revocable: [2] },
      faults: [
        { type: 'skew', atMs: 0, node: 1, offsetMs: 1_500 },
        { type: 'partition', atMs: 200, groups: [[0], [1, 2]] },
        { type: 'heal', atMs: 800 },
      ],
      convergeTimeoutMs: 20_000,
    })
    expect(check.ok, formatCheck(check)).toBe(true)
    expect(report.transport).toBe('tcp')
    expect(report.bytes.syncIn).toBeGreaterThan(0)
    // Nodes got each other's records by pulling them; a pull can only be new or a duplicate.
    expect(report.pulls.applied).toBeGreaterThan(0)
    expect(report.pulls.records).toBeGreaterThanOrEqual(report.pulls.applied)
  }, 60_000)
})

test('process scenarios refuse faults they cannot apply, before starting a process', async () => {
  const base = { seed: 1, nodes: 2, operations: 1 }
  await expect(
    runProcessScenario({ ...base, faults: [{ type: 'skew', atMs: 0, node: 0, offsetMs: 5 }] }),
  ).rejects.toThrow(/faults\[0\].*skew/)
  await expect(runProcessScenario({ ...base, lossPct: 5 })).rejects.toThrow(ScenarioConfigError)
  await expect(
    runProcessScenario({ ...base, faults: [{ type: 'crash', atMs: 0, node: 0 }] }),
  ).rejects.toThrow(/never restarted/)
})

describe('command line', () => {
  test('--help prints the usage; a bad flag exits 2 with the reason', async () => {
    const out: string[] = []
    expect(await main(['--help'], { out: (l) => out.push(l) })).toBe(0)
    expect(out.join('\n')).toBe(USAGE)
    out.length = 0
    expect(await main(['--nodes', 'many'], { out: (l) => out.push(l) })).toBe(2)
    expect(out[0]).toContain('--nodes: expected a non-negative integer, got "many"')
    // A flag the scenario itself rejects is a bad command line too, caught before any node starts.
    out.length = 0
    expect(await main(['--nodes', '1'], { out: (l) => out.push(l) })).toBe(2)
    expect(out[0]).toContain('nodes: a scenario needs at least 2 honest nodes')
  })

  test('runs a seeded random scenario, shows progress and writes the JSON report and the SVG chart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'provsync-sim-cli-'))
    try {
      const out: string[] = []
      const progress: string[] = []
      const code = await main(
        [
          '--seed',
          'cli',
          '--nodes',
          '3',
          '--byzantine',
          '1',
          '--ops',
          '30',
          '--duration-ms',
          '800',
          '--report-dir',
          dir,
        ],
        { out: (l) => out.push(l), progress: (p) => progress.push(p) },
      )
      expect(progress.some((p) => p.includes('converging'))).toBe(true)
      const report = JSON.parse(await readFile(join(dir, 'sim-cli.json'), 'utf8'))
      expect(report.seed).toBe('cli')
      expect(report.nodes).toEqual({ honest: 3, byzantine: 1 })
      // The exit code is the checker's verdict, and the output carries the verdict line.
      expect(code).toBe(report.check.ok ? 0 : 1)
      expect(out.some((l) => l.includes('seed "cli"'))).toBe(true)
      expect(await readFile(join(dir, 'sim-cli.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 60_000)
})

test('the README example runs and its checker verdict holds', async () => {
  const lines: string[] = []
  const result = await example((l) => lines.push(l))
  expect(result.check.ok, formatCheck(result.check)).toBe(true)
  expect(result.report.refusals['bad-signature']).toBeGreaterThan(0)
  expect(lines.at(-1)).toMatch(/^all \d+ invariants hold/)
}, 60_000)
