/**
 * The CI scenario (issue 7): 8 nodes (7 honest, 1 Byzantine) over the memory transport, one
 * partition and heal, one link with 30 % loss, one crash and restart on the same data directory,
 * a Byzantine peer equivocating to two halves of the cluster, one revocation of the Byzantine
 * key, and the checker's verdict. More seeds and larger runs: `npm run sim`.
 */
import { BYZANTINE_BEHAVIOURS, formatCheck, INVARIANTS, runScenario } from '@provsync/sim'
import { expect, test } from 'vitest'

const seed = process.env.PROVSYNC_SIM_SEED ?? 'ci-2026'

test(`8 nodes survive a partition, a crash, a Byzantine peer and a revocation (seed ${seed})`, async () => {
  const { report, check } = await runScenario({
    name: 'ci',
    seed,
    nodes: 7,
    workload: { operations: 240, durationMs: 4_000, mix: { verify: 0.7, supersede: 0.3 } },
    faults: [
      { type: 'link', atMs: 200, a: 3, b: 5, fault: { lossPct: 30, delayMs: 5 } },
      {
        type: 'partition',
        atMs: 600,
        groups: [
          [0, 1, 2],
          [3, 4, 5, 6],
        ],
      },
      { type: 'crash', atMs: 1_000, node: 4 },
      { type: 'restart', atMs: 2_000, node: 4 },
      { type: 'link', atMs: 2_400, a: 3, b: 5, fault: { lossPct: 0, delayMs: 0 } },
      { type: 'heal', atMs: 2_600 },
    ],
    // Frame attacks early: honest nodes block the peer after 20 offences, and its forged records
    // earn one per session, so a late attack can find every door shut.
    byzantine: { behaviours: BYZANTINE_BEHAVIOURS, attackAtMs: 200, revokeAtMs: 3_200 },
    convergeTimeoutMs: 30_000,
  })
  // The message names every violated invariant, its nodes and the seed that replays the run.
  expect(check.ok, formatCheck(check)).toBe(true)
  expect(check.checked).toEqual(expect.arrayContaining([...INVARIANTS]))
  expect(report.convergeMsAfterHeal).toBeGreaterThanOrEqual(0)
  expect(report.nodes).toEqual({ honest: 7, byzantine: 1 })
  // The partition really split the cluster: the halves held different roots when it healed.
  expect(report.events.find((e) => e.type === 'heal')!.distinctRoots).toBeGreaterThan(1)
  // Forged input was refused for the right reasons, and no honest peer was blamed for forgery.
  expect(report.refusals['bad-signature']).toBeGreaterThan(0)
  expect(report.refusals['untrusted-operator']).toBeGreaterThan(0)
  expect(report.offences['oversized-frame']).toBeGreaterThan(0)
  // The lossy link really lost chunks, which were retransmitted.
  const lossy = report.links.find((l) => l.link === 'n3-n5')
  expect(lossy?.lost).toBeGreaterThan(0)
  expect(lossy?.retransmitted).toBeGreaterThan(0)
  // Each half of the cluster was answered with its own version of the equivocated register, and
  // both versions reached honest stores; equivocation-resolved (in check.ok) proves they agree.
  const [equivocation] = report.equivocations
  expect(equivocation!.byzantine).toBe('byz0')
  expect(equivocation!.versions.every((v) => v.handedTo.length > 0 && v.receivedBy.length > 0)).toBe(true)
}, 120_000)
