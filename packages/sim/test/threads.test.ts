import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  formatCheck,
  NodeThreadError,
  runScenario,
  ScenarioConfigError,
  type ScenarioOptions,
} from '@provsync/sim'
import { describe, expect, test } from 'vitest'
import { profilerFlags } from '../src/node-threads.js'
import { scratchDir, validateScenario } from '../src/scenario.js'

/** 6 nodes: thread 0 hosts n0, n2, n4 and thread 1 hosts n1, n3, n5. */
const SPLIT: ScenarioOptions = {
  seed: 'threads-1',
  nodes: 6,
  workload: { operations: 240, durationMs: 1_600, mix: { verify: 0.7, supersede: 0.3 } },
  faults: [
    // Along the threads: every cross-thread connection is cut, the threads' own stay.
    {
      type: 'partition',
      atMs: 200,
      groups: [
        [0, 2, 4],
        [1, 3, 5],
      ],
    },
    { type: 'heal', atMs: 600 },
    // Across them: n4 is cut from n0 and n2 in its own thread, n1 kept from n3 and n5 in the other.
    {
      type: 'partition',
      atMs: 800,
      groups: [
        [0, 1, 2],
        [3, 4, 5],
      ],
    },
    { type: 'heal', atMs: 1_300 },
  ],
  sync: { push: {} },
  convergeTimeoutMs: 30_000,
}

const push = (r: Awaited<ReturnType<typeof runScenario>>['report']) => r.push

describe('node threads under a profiler', () => {
  test("inherit the parent's --cpu-prof flags and no other (an explicit execArgv drops them all)", () => {
    const parent = [
      '--import',
      'tsx',
      '--cpu-prof',
      '--cpu-prof-dir=/tmp/p',
      '--expose-gc',
      '--cpu-prof-interval=500',
    ]
    expect(profilerFlags(parent)).toEqual(['--cpu-prof', '--cpu-prof-dir=/tmp/p', '--cpu-prof-interval=500'])
    expect(profilerFlags(['--cpu-prof', '--cpu-prof-dir', '/tmp/q', '--import', 'tsx'])).toEqual([
      '--cpu-prof',
      '--cpu-prof-dir',
      '/tmp/q',
    ])
    expect(profilerFlags(['--import', 'tsx'])).toEqual([])
  })
})

describe('runScenario with threads', () => {
  test('nodes in two threads converge through partitions along and across the threads, with every record acknowledged and the counters of both threads summed', async () => {
    const single = await runScenario({ ...SPLIT, threads: 1 })
    const threaded = await runScenario({ ...SPLIT, threads: 2 })
    expect(threaded.check.ok, formatCheck(threaded.check)).toBe(true)
    expect(single.check.ok, formatCheck(single.check)).toBe(true)
    // The same ops, every one acknowledged in both runs.
    expect(threaded.report.workload.acknowledged).toBe(240)
    expect(single.report.workload.acknowledged).toBe(240)
    expect(threaded.report.convergedAtMs).toBeGreaterThan(0)
    const { bytes } = threaded.report
    // Every node of both threads received bytes, and their sum is the total.
    for (const n of ['n0', 'n1', 'n2', 'n3', 'n4', 'n5']) expect(bytes.perNode[n]!.bytesIn).toBeGreaterThan(0)
    expect(Object.values(bytes.perNode).reduce((s, t) => s + t.bytesIn, 0)).toBe(bytes.totalIn)
    // Of the single-thread run's order of magnitude: the same records cross the same links.
    expect(bytes.perRecordPerNode).toBeGreaterThan(single.report.bytes.perRecordPerNode / 3)
    expect(bytes.perRecordPerNode).toBeLessThan(single.report.bytes.perRecordPerNode * 3)
    expect(bytes.byProtocol['/provsync/push/1.0.0']).toBeGreaterThan(0)
    const [t, s] = [push(threaded.report), push(single.report)]
    expect(t.framesSent).toBeGreaterThan(0)
    // Summed over both threads' nodes: what was received was sent (frames cut by a partition are lost).
    expect(t.recordsReceived).toBeGreaterThan(0)
    expect(t.recordsReceived).toBeLessThanOrEqual(t.recordsSent)
    expect(t.recordsReceived).toBeGreaterThan(s.recordsReceived / 3)
    expect(t.recordsReceived).toBeLessThan(s.recordsReceived * 3)
    expect(threaded.report.sessions.ok).toBeGreaterThan(0)
    expect(threaded.report.eventLoopDelayMs.max).toBeGreaterThan(0)
  }, 120_000)

  test('a partition holds across threads: a group spanning both threads never gets the other group’s writes', async () => {
    const { check, report } = await runScenario({
      seed: 'threads-never-heals',
      nodes: 4,
      threads: 2,
      workload: { operations: 40, durationMs: 600 },
      // n0, n1 (threads 0 and 1) against n2, n3 (threads 0 and 1).
      faults: [
        {
          type: 'partition',
          atMs: 0,
          groups: [
            [0, 1],
            [2, 3],
          ],
        },
      ],
      convergeTimeoutMs: 1_500,
    })
    expect(check.ok).toBe(false)
    expect(report.convergeMsAfterHeal).toBe(-1)
    const roots = check.violations.find((v) => v.invariant === 'same-roots')!
    // Each group agrees within itself (across its two threads) and not with the other.
    expect(roots.detail).toMatch(/\{n0,n1\}=\S+ \{n2,n3\}=/)
    expect(check.violations.some((v) => v.invariant === 'acknowledged-everywhere')).toBe(true)
  }, 60_000)

  test('refuses what threaded runs do not support, by the option that asks for it', async () => {
    const base: ScenarioOptions = {
      seed: 1,
      nodes: 4,
      threads: 2,
      workload: { operations: 1, durationMs: 10 },
    }
    const field = (options: ScenarioOptions): string => {
      try {
        validateScenario(options)
      } catch (error) {
        expect(error).toBeInstanceOf(ScenarioConfigError)
        return (error as ScenarioConfigError).field
      }
      return 'accepted'
    }
    expect(
      field({
        ...base,
        faults: [
          { type: 'crash', atMs: 5, node: 1 },
          { type: 'restart', atMs: 8, node: 1 },
        ],
      }),
    ).toBe('faults')
    expect(field({ ...base, faults: [{ type: 'skew', atMs: 0, node: 1, offsetMs: 500 }] })).toBe('faults')
    expect(field({ ...base, byzantine: { count: 1 } })).toBe('byzantine')
    expect(field({ ...base, transport: 'tcp' })).toBe('transport')
    for (const threads of [0, 1.5, 5]) expect(field({ ...base, threads })).toBe('threads')
    const lossy = [{ type: 'link' as const, atMs: 0, a: 0, b: 1, fault: { lossPct: 5, delayMs: 3 } }]
    expect(field({ ...base, faults: lossy })).toBe('accepted')
    expect(field({ ...base, threads: 1, byzantine: { count: 1 } })).toBe('accepted')
    await expect(
      runScenario({ ...base, faults: [{ type: 'skew', atMs: 0, node: 1, offsetMs: 1 }] }),
    ).rejects.toThrow('faults: skew faults are not supported with threads > 1')
  })

  test('a thread that fails fails the run with a NodeThreadError naming it, and the run still cleans up', async () => {
    const dir = await mkdtemp(join(scratchDir(), 'provsync-threads-'))
    // n1 (thread 1) cannot get a data directory: a file holds its place.
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'n1'), 'not a directory')
    const run = runScenario({
      seed: 'threads-fail',
      nodes: 4,
      threads: 2,
      dir,
      workload: { operations: 20, durationMs: 200 },
    })
    const error = await run.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NodeThreadError)
    expect((error as NodeThreadError).thread).toBe(1)
    expect((error as NodeThreadError).reason).toMatch(/EEXIST|ENOTDIR/)
    expect(existsSync(dir)).toBe(false)
    await rm(dir, { recursive: true, force: true })
  }, 60_000)
})
