/**
 * Nodes as separate processes on TCP loopback: a real SIGKILL while a node applies a batch it
 * pulled, a restart on the same data directory, a partition and heal, and the checker's verdict.
 */
import { formatCheck, runProcessScenario } from '@provsync/sim'
import { expect, test } from 'vitest'

test('a node SIGKILLed mid-batch restarts on its data directory and the cluster converges', async () => {
  const result = await runProcessScenario({
    seed: 'processes-1',
    nodes: 4,
    operations: 120,
    durationMs: 3_000,
    faults: [
      {
        type: 'partition',
        atMs: 300,
        groups: [
          [0, 1],
          [2, 3],
        ],
      },
      { type: 'heal', atMs: 1_000 },
      { type: 'crash', atMs: 1_050, node: 2 },
      { type: 'restart', atMs: 1_800, node: 2 },
    ],
    convergeTimeoutMs: 30_000,
  })
  expect(result.check.ok, formatCheck(result.check)).toBe(true)
  expect(result.convergeMs).toBeGreaterThanOrEqual(0)
  expect(result.kills).toHaveLength(1)
  expect(result.acknowledged).toBeGreaterThan(60)
}, 90_000)
