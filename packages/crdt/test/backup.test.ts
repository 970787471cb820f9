import { join } from 'node:path'
import { InvalidArgumentError, openNodeState } from '@provsync/crdt'
import { describe, expect, it } from 'vitest'
import { crdtSuite, NETWORK } from './helpers.js'

const { temp, operator, A, seeded } = crdtSuite()

describe('NodeState.backup', () => {
  it('copies the environment as of one instant: a state opened on the copy has the same trees, view and ledger', async () => {
    const state = await seeded()
    await state.revocations.revoke({ subject: A.publicKey, subjectKind: 'peer', reason: 'r' }, operator)
    const target = join(temp.dir(), 'copy')
    const { bytes } = await state.backup(target)
    expect(bytes).toBeGreaterThan(0)
    const copy = temp.adopt(
      await openNodeState({
        dataDir: target,
        networkId: NETWORK,
        trust: [operator.publicKey],
        verifyThreads: 0,
      }),
    )
    for (const store of ['revocations', 'supersessions', 'assertions', 'invalidations'] as const) {
      expect(copy.tree(store).root()).toEqual(state.tree(store).root())
    }
    expect([...copy.view.entries()]).toEqual([...state.view.entries()])
    expect(copy.ledger.latestSeq()).toBe(state.ledger.latestSeq())
    expect(copy.publicKey).toEqual(state.publicKey)
  })

  it('refuses a target that is not a path', async () => {
    const state = await seeded()
    await expect(state.backup('')).rejects.toBeInstanceOf(InvalidArgumentError)
  })
})
