/**
 * offload-gate: a backup agent that deletes its local copy of a run only when the gate allows it
 * under the policy "at least 2 asserters".
 *
 * The agent keeps run 5 of photos/offsite/laptop-7 on local disk until two independent storage
 * nodes have asserted that run 5 (or a later one) is durable at the destination. One asserter is
 * not enough: the copy stays. When the second arrives, the gate allows, names both asserters as
 * the evidence, and the agent deletes its copy and logs the decision for the audit trail.
 *
 * The same decision from a shell, against a running node:
 *   provsync gate photos offsite laptop-7 5 --min-asserters 2 && rm run-5.tar
 *
 * Run: npx tsx examples/offload-gate.ts
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { atLeastAsserters, type Coordinate, type GateDecision } from '@provsync/crdt'
import { createNode, type ProvsyncNode } from '@provsync/sync'
import { waitFor } from '@provsync/testing'

const coordinate: Coordinate = { volume: 'photos', destination: 'offsite', origin: 'laptop-7' }
const RUN = 5n
const policy = atLeastAsserters(2)

/** The agent's one rule: delete the local copy only on an allowing decision. */
async function offloadIfDurable(agent: ProvsyncNode, copy: string): Promise<GateDecision> {
  const decision = agent.state.gate(coordinate, RUN, policy)
  if (decision.allowed && existsSync(copy)) await unlink(copy)
  return decision
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'provsync-offload-'))
  const nodes: ProvsyncNode[] = []
  const start = async (name: string, bootstrap?: ProvsyncNode) => {
    const node = await createNode({
      dataDir: join(dir, name),
      networkId: 'offload-example',
      trust: [],
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: bootstrap === undefined ? [] : [bootstrap.multiaddrs()[0]!.toString()],
      sync: { announce: { debounceMs: 20 } },
    })
    nodes.push(node)
    return node
  }
  const waitForAsserters = (agent: ProvsyncNode, n: number) =>
    waitFor(
      () => agent.state.assertions.evidence(coordinate).filter((e) => e.run >= RUN).length >= n,
      `the agent to hear from ${n} asserters`,
      10_000,
    )
  try {
    const agent = await start('agent')
    const storageA = await start('storage-a', agent)
    const storageB = await start('storage-b', agent)
    const copy = join(dir, 'run-5.tar')
    await writeFile(copy, 'the bytes of run 5')

    storageA.state.advanceVerified(coordinate, RUN, { method: 'readback' })
    await waitForAsserters(agent, 1)
    const first = await offloadIfDurable(agent, copy)
    console.log(`one asserter:  ${first.allowed ? 'ALLOW' : 'REFUSE'} - ${first.reason}`)
    console.log(`               local copy kept: ${existsSync(copy)}`)
    if (first.allowed || !existsSync(copy)) throw new Error('deleted on the word of one asserter')

    storageB.state.advanceVerified(coordinate, RUN, { method: 'readback' })
    await waitForAsserters(agent, 2)
    const second = await offloadIfDurable(agent, copy)
    console.log(`two asserters: ${second.allowed ? 'ALLOW' : 'REFUSE'} - ${second.reason}`)
    console.log(`               local copy deleted: ${!existsSync(copy)}`)
    if (!second.allowed || existsSync(copy)) throw new Error('the copy was not offloaded')
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop()))
    await rm(dir, { recursive: true, force: true })
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`offload-gate FAILED: ${err.message}`)
    process.exit(1)
  },
)
