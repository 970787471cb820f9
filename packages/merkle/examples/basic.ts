/**
 * Two replicas keep records and their Merkle tree in LMDB, commit both in one transaction, then
 * reconcile: the initiator learns which keys only it has, which only the peer has, and which
 * differ. Run it with `npx tsx packages/merkle/examples/basic.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { blake3 } from '@noble/hashes/blake3.js'
import { open, type RootDatabase } from 'lmdb'
import {
  createReconciler,
  createResponder,
  type MerkleTree,
  openMerkleTree,
  type ReconcileResult,
} from '../src/index.js'

const text = (s: string) => new TextEncoder().encode(s)
const show = (key: Uint8Array) => new TextDecoder().decode(key)

interface Replica {
  env: RootDatabase
  tree: MerkleTree
  put(id: string, record: string): void
}

function openReplica(path: string): Replica {
  // noReadAhead: tree reads are random (see the README); lmdb's typings omit it, its open() reads it.
  const options = { path, mapSize: 2 ** 30, noReadAhead: true }
  const env = open(options)
  const records = env.openDB<string, string>({ name: 'records' })
  const tree = openMerkleTree(env, { name: 'records' })
  return {
    env,
    tree,
    put(id, record) {
      // Record and tree change in one write transaction: a crash keeps both or neither.
      env.transactionSync(() => {
        records.putSync(id, record)
        tree.update([{ key: text(id), valueHash: blake3(text(record)) }])
      })
    },
  }
}

export async function main(log: (line: string) => void = console.log): Promise<ReconcileResult> {
  const dir = mkdtempSync(join(tmpdir(), 'merkle-example-'))
  try {
    const alice = openReplica(join(dir, 'alice'))
    const bob = openReplica(join(dir, 'bob'))
    for (const id of ['apple', 'banana', 'cherry']) {
      alice.put(id, `${id} v1`)
      bob.put(id, `${id} v1`)
    }
    alice.put('damson', 'damson v1')
    bob.put('elder', 'elder v1')
    bob.put('cherry', 'cherry v2')
    log(
      `alice: ${alice.tree.count()} records, root ${Buffer.from(alice.tree.root()).toString('hex').slice(0, 16)}…`,
    )
    log(
      `bob:   ${bob.tree.count()} records, root ${Buffer.from(bob.tree.root()).toString('hex').slice(0, 16)}…`,
    )

    // In a real node the two ends talk over a libp2p stream; here the bytes go straight across.
    const reconciler = createReconciler(alice.tree)
    const responder = createResponder(bob.tree)
    for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
      reconciler.receive(responder.respond(request))
    }
    const result = reconciler.result()
    const { rounds, bytesSent, bytesReceived } = reconciler.stats
    log(`${rounds} round trip(s), ${bytesSent + bytesReceived} bytes`)
    log(`only alice has: ${result.localOnly.map(show).join(', ')}`)
    log(`only bob has:   ${result.remoteOnly.map(show).join(', ')}`)
    log(`they differ on: ${result.differing.map(show).join(', ')}`)
    await alice.env.close()
    await bob.env.close()
    return result
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
