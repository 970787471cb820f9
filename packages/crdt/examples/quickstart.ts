/**
 * A backup agent embeds @provsync/crdt: it records what it verified itself, pulls evidence from
 * peers, asks the gate before deleting its own copy, and obeys an operator's revocation.
 *
 *   npx tsx packages/crdt/examples/quickstart.ts
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { atLeastAsserters, generateSigner, locallyVerifiedOnly, openNodeState, toHex } from '@provsync/crdt'

export async function quickstart(log: (line: string) => void = console.log) {
  const dir = mkdtempSync(join(tmpdir(), 'provsync-quickstart-'))
  const operator = generateSigner() // holds the operator key of the network's trust bundle
  const options = { networkId: 'example-net', trust: [operator.publicKey] }
  const here = await openNodeState({ ...options, dataDir: join(dir, 'here') })
  const peer = await openNodeState({ ...options, dataDir: join(dir, 'peer') })
  try {
    const coordinate = { volume: 'photos', destination: 's3-eu', origin: 'laptop-7' }

    // 1. Record evidence. This node verified run 41 itself; the peer verified run 42.
    here.advanceVerified(coordinate, 41n, { method: 'sha256-readback' })
    peer.advanceVerified(coordinate, 42n, { method: 'sha256-readback' })

    // 2. Pull: the sync layer ships the peer's records; here we hand them over directly.
    const keys = [...peer.tree('assertions').leaves()].map((leaf) => leaf.key)
    const records = peer.getRecords('assertions', keys).filter((r): r is Uint8Array => r !== undefined)
    const outcomes = await here.apply('assertions', records, { from: peer.publicKey })
    log(`pulled: ${outcomes.map((o) => o.status).join(', ')}`)
    const component = here.view.get(coordinate)!
    log(
      `view: run ${component.run}, ${component.provenance.type === 'local' ? 'locally verified' : `asserted by ${toHex(component.provenance.asserter).slice(0, 8)}…`}`,
    )

    // 3. Ask the gate before acting on "run 42 is durable".
    const anyEvidence = here.gate(coordinate, 42n)
    log(`gate(any, 42): ${anyEvidence.allowed} (${anyEvidence.reason.split(': ')[1]?.slice(0, 40)}…)`)
    const onlyLocal = here.gate(coordinate, 42n, locallyVerifiedOnly)
    log(`gate(local-only, 42): ${onlyLocal.allowed}`)
    const twoAsserters = here.gate(coordinate, 41n, atLeastAsserters(2))
    log(`gate(2 asserters, 41): ${twoAsserters.allowed}`)

    // 4. The peer turns out compromised: the operator revokes it. The view falls back to this
    //    node's own evidence; nothing is deleted, and the ledger records the act.
    const entry = await here.revocations.revoke(
      { subject: peer.publicKey, subjectKind: 'peer', reason: 'host compromised' },
      operator,
    )
    log(`revoked: ledger #${entry.seq}, ${entry.result?.invalidated} record(s) invalidated`)
    const after = here.view.get(coordinate)!
    log(`view: run ${after.run}, ${after.provenance.type === 'local' ? 'locally verified' : 'asserted'}`)
    log(`gate(any, 42): ${here.gate(coordinate, 42n).allowed}`)
    // The revoked peer's assertion stays stored for audit but leaves the replicated set, so this
    // node's tree matches the tree of a node that never had it.
    const stored = [...here.records('assertions')]
    const outOfTree = stored.filter((r) => !r.replicated).length
    log(`assertions: ${stored.length} stored, ${here.tree('assertions').count()} in the tree`)
    log(`view: ${here.view.count()} coordinate(s)`)
    const history = here.history.byCoordinate(coordinate)
    log(`history: ${history.map((h) => h.kind).join(' → ')}`)
    return { before: component, after, entry, gates: [anyEvidence, onlyLocal, twoAsserters], outOfTree }
  } finally {
    await here.close()
    await peer.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await quickstart()
