import { statSync } from 'node:fs'
import { join } from 'node:path'
import { createReconciler, createResponder } from '@provsync/merkle'
import { coordinate, openTestState, TempDirs } from '@provsync/testing'
import { afterEach, describe, expect, it } from 'vitest'
import type { NodeState } from '../src/index.js'

// Session 15: LMDB reuses a freed page only once no read transaction older than the one that freed
// it is open. One read kept open for a node's life (push's change feed held a tree snapshot of each
// store that never changed) made every node's data.mdb of a 32-node simulation grow to ~270 MB for
// 10,000 records. Here: the reads a sync session and a push flush make of a state, interleaved
// with write transactions, leave the file the size its live data needs; a snapshot kept open does
// not, which shows the measure sees such a leak.

const temp = new TempDirs('provsync-file-growth-')
afterEach(() => temp.cleanup())

/** Twenty registers advanced again and again (the live data stays the same size), `reads` after each. */
function writeAndRead(s: NodeState, from: number, to: number, reads: () => void): void {
  for (let i = from; i < to; i++) {
    s.advanceVerified(coordinate(i % 20), BigInt(i + 1))
    reads()
  }
}

/** What a session and a push flush read: reconcile against another tree, leaves, records, logs. */
function syncReads(s: NodeState, other: NodeState): void {
  const reconciler = createReconciler(other.tree('assertions'))
  const responder = createResponder(s.tree('assertions'))
  try {
    for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
      reconciler.receive(responder.respond(request))
    }
    const { remoteOnly } = reconciler.result()
    s.getRecords('assertions', remoteOnly)
  } finally {
    reconciler.close()
    responder.close()
  }
  // Iterators left early, as a caller that found what it wanted does.
  for (const _ of s.tree('assertions').leaves()) break
  for (const _ of s.records('assertions')) break
  for (const _ of s.view.entries()) break
  s.history.since(Math.max(0, s.history.latestSeq() - 5))
  s.ledger.since(Math.max(0, s.ledger.latestSeq() - 5))
}

/** How far data.mdb grows over 250 write transactions after 50 first ones, with `reads` after each. */
async function growth(reads: (s: NodeState, other: NodeState) => void): Promise<number> {
  const dataDir = temp.dir()
  const s = await openTestState(temp, { dataDir, noSync: true })
  const other = await openTestState(temp, { noSync: true })
  other.advanceVerified(coordinate('elsewhere'), 1n)
  const file = () => statSync(join(dataDir, 'data.mdb')).size
  writeAndRead(s, 0, 50, () => reads(s, other))
  const settled = file()
  writeAndRead(s, 50, 300, () => reads(s, other))
  return file() - settled
}

describe('data file growth', () => {
  it('stays within 1 MiB over 250 write transactions interleaved with the reads sync makes', async () => {
    expect(await growth(syncReads)).toBeLessThan(1024 * 1024)
  }, 60_000)

  it('grows by megabytes while one tree snapshot stays open (the leak the bound catches)', async () => {
    let held: { release(): void } | undefined
    let first = true
    const grown = await growth((s, other) => {
      if (first) held = s.tree('supersessions').snapshot()
      first = false
      syncReads(s, other)
    })
    held?.release()
    // ~9 MB here: about nine pages freed per write transaction, none reused.
    expect(grown).toBeGreaterThan(4 * 1024 * 1024)
  }, 60_000)
})
