/**
 * Two ready-made nodes on loopback: one records local evidence, the other pulls it and can say
 * who asserted it. Run with `npx tsx packages/sync/examples/quickstart.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { generateSigner } from '@provsync/crdt'
import { createNode } from '@provsync/sync'
import { waitFor } from '@provsync/testing'

export async function main(): Promise<{ allowed: boolean; reason: string; alice: string }> {
  const operator = generateSigner() // in production: the operators' keys from your trust bundle
  const dirs = [
    await mkdtemp(join(tmpdir(), 'quickstart-a-')),
    await mkdtemp(join(tmpdir(), 'quickstart-b-')),
  ]
  const common = { networkId: 'example-net', trust: [operator.publicKey], listen: ['/ip4/127.0.0.1/tcp/0'] }
  const alice = await createNode({ ...common, dataDir: dirs[0]! })
  const bob = await createNode({ ...common, dataDir: dirs[1]!, bootstrap: alice.multiaddrs() })
  try {
    const backup = { volume: 'photos', destination: 'offsite-1', origin: 'laptop' }
    alice.state.advanceVerified(backup, 42n) // alice verified run 42 herself

    // bob pulls it after alice's head announcement (or the next anti-entropy round)
    await waitFor(() => bob.state.view.get(backup)?.run === 42n, 'bob to converge', 10_000)
    const decision = bob.state.gate(backup, 42n)
    return {
      allowed: decision.allowed,
      reason: decision.reason,
      alice: Buffer.from(alice.publicKey).toString('hex'),
    }
  } finally {
    await bob.stop()
    await alice.stop()
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { allowed, reason } = await main()
  console.log(`bob may act on run 42: ${allowed} (${reason})`)
}
