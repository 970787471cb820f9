/**
 * Runs a small simulation: 5 honest nodes and one Byzantine peer, a partition that heals, a
 * crash and restart, and prints the checker's verdict. `npx tsx packages/sim/examples/basic.ts`
 */
import { pathToFileURL } from 'node:url'
import { formatCheck, runScenario, type ScenarioResult } from '@provsync/sim'

export async function main(log: (line: string) => void = console.log): Promise<ScenarioResult> {
  const result = await runScenario({
    name: 'example',
    seed: 'example-1',
    nodes: 5,
    workload: { operations: 100, durationMs: 2_000 },
    faults: [
      {
        type: 'partition',
        atMs: 300,
        groups: [
          [0, 1],
          [2, 3, 4],
        ],
      },
      { type: 'crash', atMs: 600, node: 3 },
      { type: 'restart', atMs: 1_200, node: 3 },
      { type: 'heal', atMs: 1_500 },
    ],
    byzantine: { behaviours: ['forged-signature', 'phantom-runs', 'oversized-frame'], revokeAtMs: 1_800 },
  })
  const { report } = result
  log(`converged ${report.convergeMsAfterHeal.toFixed(0)} ms after the last heal`)
  log(`refused: ${JSON.stringify(report.refusals)}`)
  log(formatCheck(result.check))
  return result
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main()
