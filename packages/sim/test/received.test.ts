import { encodeSupersession, recordHash, toHex } from '@provsync/crdt'
import { coordinate, hash32, signerN, TempDirs, waitFor } from '@provsync/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { type Cluster, createCluster, type Received } from '../src/cluster.js'
import { NO_FAULT } from '../src/faults.js'
import { createRng } from '../src/prng.js'

const temp = new TempDirs('provsync.sim-received.')
let cluster: Cluster | undefined
afterEach(async () => {
  await cluster?.stopAll()
  cluster = undefined
  await temp.cleanup()
})

/** Two honest nodes on loopback TCP, every record either store is handed logged. */
async function twoNodes(push: boolean): Promise<{ cluster: Cluster; received: Received[] }> {
  const received: Received[] = []
  cluster = await createCluster({
    runId: 'received',
    baseDir: await temp.make(),
    networkId: 'sim-received',
    nodes: 2,
    transport: 'tcp',
    operators: [signerN(100)],
    table: { reachable: () => true, fault: () => NO_FAULT },
    memory: undefined,
    rng: createRng('received'),
    ...(push ? { sync: { push: { delayMs: 10 } } } : {}),
    onRefusal: () => {},
    onReceived: (r) => received.push(r),
  })
  await cluster.startAll()
  return { cluster, received }
}

/** n0 writes an assertion (advanceVerified) and a supersession; their hex tree keys and hashes. */
async function writeOnFirst(c: Cluster): Promise<{ keys: string[]; hashes: string[] }> {
  const state = c.nodes[0]!.node!.state
  const asserted = state.advanceVerified(coordinate(1), 3n, { method: 'sim' })
  const record = await state.supersessions.supersede({ target: hash32(9), kind: 'invalidate', reason: 'r' })
  const bytes = encodeSupersession(record, state.networkId)
  const assertion = state.getRecords('assertions', [asserted.key])[0]!
  return {
    keys: [toHex(asserted.key), toHex(recordHash(bytes))],
    hashes: [toHex(recordHash(assertion)), toHex(recordHash(bytes))],
  }
}

describe("the cluster's received-records log (crdt's observe hook)", () => {
  it.each([
    ['pulled by a session', false],
    ['pushed or pulled', true],
  ])(
    'logs each record a peer %s once as applied, with its sender, and none of a node own writes',
    async (_, push) => {
      const { cluster: c, received } = await twoNodes(push)
      const { keys, hashes } = await writeOnFirst(c)
      const target = c.nodes[1]!.node!.state
      await waitFor(
        () =>
          keys.every(
            (k, i) =>
              target.getRecords(i === 0 ? 'assertions' : 'supersessions', [Buffer.from(k, 'hex')])[0] !==
              undefined,
          ),
        'n1 holds both records',
      )
      const sender = toHex(c.nodes[0]!.publicKey)
      const applied = received.filter((r) => r.status === 'applied')
      expect(applied.map((r) => [r.node, r.from, r.store, r.key, r.hash]).sort()).toEqual(
        [
          ['n1', sender, 'assertions', keys[0], hashes[0]],
          ['n1', sender, 'supersessions', keys[1], hashes[1]],
        ].sort(),
      )
      // n0's own writes went through its `put` paths: not in the log.
      expect(received.filter((r) => r.node === 'n0')).toEqual([])
    },
    60_000,
  )
})
