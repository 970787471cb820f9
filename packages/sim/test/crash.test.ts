import { runCrashTrial } from '@provsync/sim'
import { describe, expect, test } from 'vitest'

describe('SIGKILL of a node process', () => {
  // At the start and further into the batch; wherever the kill lands, the batch is all-or-nothing.
  test.each([
    0, 30,
  ])('killed %i ms into applying a batch, it reopens consistent and replays its ledger', async (killAfterMs) => {
    const result = await runCrashTrial({ seed: `crash-${killAfterMs}`, records: 1_500, killAfterMs })
    expect(result.batch.killed).toBe(true)
    expect([0, result.batch.size]).toContain(result.batch.found)
    expect(result.treeOk).toBe(true)
    expect(result.recordsMatchTree).toBe(true)
    expect(result.revocationReplayed).toBe(true)
    expect(result.pendingLedgerEntries).toBe(0)
  }, 60_000)
})
