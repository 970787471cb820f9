/**
 * quickstart: the provsync story in one process, four nodes on loopback TCP, each on its own LMDB
 * directory in a temporary folder. `npm start` runs it; it exits 0 only if every step below
 * happened within its deadline.
 *
 *  1. Three nodes start in a line: verifier <- east <- west. The verifier checks backup transfers
 *     itself; east and west only pull, so west hears of the verifier's work through east.
 *  2. The verifier verifies runs 1..3 of photos/offsite/laptop-7. Every node converges: run 3,
 *     "asserted by verifier" (on west, "via east").
 *  3. A fourth node, mallory, joins behind west and turns hostile: it asserts run 99, which never
 *     happened. Every view advances to run 99 and the gate would let east delete its copy of run 99.
 *  4. The operator revokes mallory at the verifier. The revocation travels the whole line; every
 *     view falls back to run 3 (the verifier's evidence, nothing is lost), the history records the
 *     revocation as a forward act, and the gate refuses run 99 while it still allows run 3. Every
 *     node that applied the revocation closes mallory's connections and refuses it from then on.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Coordinate, type GateDecision, generateSigner, STORE_NAMES } from '@provsync/crdt'
import { createNode, type ProvsyncNode } from '@provsync/sync'
import { waitFor as poll } from '@provsync/testing'

const NETWORK = 'quickstart'
const COORDINATE: Coordinate = { volume: 'photos', destination: 'offsite', origin: 'laptop-7' }
const STEP_DEADLINE_MS = 10_000
const started = performance.now()
const names = new Map<string, string>()

function say(text: string): void {
  console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(4)}s] ${text}`)
}

/** Polls `check` until it holds; the story fails if it does not within the deadline. */
const waitFor = (what: string, check: () => boolean): Promise<void> =>
  poll(check, what, { timeoutMs: STEP_DEADLINE_MS, intervalMs: 50 })

function nameOf(key: Uint8Array): string {
  return names.get(Buffer.from(key).toString('hex')) ?? Buffer.from(key).toString('hex').slice(0, 12)
}

/** The view of the coordinate on `node`, as a sentence: "run 3, asserted by verifier via east". */
function viewOf(node: ProvsyncNode): string {
  const component = node.state.view.get(COORDINATE)
  if (component === undefined) return 'nothing'
  const p = component.provenance
  const source =
    p.type === 'local'
      ? 'locally verified'
      : `asserted by ${nameOf(p.asserter)}${p.via ? ` via ${nameOf(p.via)}` : ''}`
  return `run ${component.run}, ${source}`
}

/** The evidence a gate decision names, with node names instead of keys. */
function evidenceOf(decision: GateDecision): string {
  const items = decision.evidence.map((e) =>
    e.source === 'local'
      ? `locally verified at run ${e.run}`
      : `asserted by ${nameOf(e.asserter)}${e.via ? ` via ${nameOf(e.via)}` : ''} at run ${e.run}`,
  )
  return items.length === 0 ? 'no evidence' : items.join('; ')
}

function converged(nodes: readonly ProvsyncNode[]): boolean {
  return STORE_NAMES.every((store) => {
    const roots = nodes.map((n) => Buffer.from(n.state.tree(store).root()).toString('hex'))
    return roots.every((root) => root === roots[0])
  })
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'provsync-quickstart-'))
  const operator = generateSigner()
  const nodes: ProvsyncNode[] = []
  const start = async (name: string, bootstrap?: ProvsyncNode): Promise<ProvsyncNode> => {
    const node = await createNode({
      dataDir: join(dir, name),
      networkId: NETWORK,
      trust: [operator.publicKey],
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: bootstrap === undefined ? [] : [bootstrap.multiaddrs()[0]!.toString()],
      sync: { announce: { debounceMs: 20 }, antiEntropy: { intervalMs: 500 } },
    })
    nodes.push(node)
    names.set(Buffer.from(node.publicKey).toString('hex'), name)
    say(`${name.padEnd(8)} started: ${node.peerId} on ${join(dir, name)}`)
    return node
  }
  try {
    say('1. three honest nodes start in a line: verifier <- east <- west')
    const verifier = await start('verifier')
    const east = await start('east', verifier)
    const west = await start('west', east)
    const honest = [verifier, east, west]

    say('2. the verifier checks runs 1..3 of photos/offsite/laptop-7 itself')
    for (const run of [1n, 2n, 3n])
      verifier.state.advanceVerified(COORDINATE, run, { method: 'sha256-readback' })
    await waitFor('views converge on run 3', () =>
      honest.every((n) => n.state.view.get(COORDINATE)?.run === 3n),
    )
    for (const node of honest) say(`   ${nameOf(node.publicKey).padEnd(8)} view: ${viewOf(node)}`)

    say('3. mallory joins behind west and asserts run 99, which never happened')
    const mallory = await start('mallory', west)
    mallory.state.advanceVerified(COORDINATE, 99n, { method: 'trust-me' })
    await waitFor('mallory’s claim spreads', () =>
      honest.every((n) => n.state.view.get(COORDINATE)?.run === 99n),
    )
    for (const node of honest) say(`   ${nameOf(node.publicKey).padEnd(8)} view: ${viewOf(node)}`)
    const fooled = east.state.gate(COORDINATE, 99n)
    if (!fooled.allowed) throw new Error(`expected the gate to be fooled, it said: ${fooled.reason}`)
    say(`   east gate for run 99: ALLOW, on the evidence: ${evidenceOf(fooled)}`)

    say('4. the operator revokes mallory at the verifier')
    const entry = await verifier.state.revocations.revoke(
      { subject: mallory.publicKey, subjectKind: 'peer', reason: 'asserted runs that never happened' },
      operator,
    )
    say(`   ledger #${entry.seq} on verifier: invalidated ${entry.result?.invalidated ?? 0} record(s)`)
    await waitFor('every view falls back to run 3', () =>
      honest.every(
        (n) => n.state.revocations.isRevoked(mallory.publicKey) && n.state.view.get(COORDINATE)?.run === 3n,
      ),
    )
    for (const node of honest) {
      const last = node.state.ledger.since(0).at(-1)
      const from = last?.source.type === 'peer' ? `pulled from ${nameOf(last.source.peer)}` : 'local operator'
      say(`   ${nameOf(node.publicKey).padEnd(8)} view: ${viewOf(node)}  (revocation ${from})`)
    }
    const history = west.state.history.since(0).filter((h) => h.coordinate.volume === COORDINATE.volume)
    say(`   west history: ${history.map((h) => `${h.kind} to run ${h.after?.run ?? '-'}`).join(', ')}`)
    if (history.at(-1)?.kind !== 'revoke') throw new Error('west history does not end with the revocation')
    const refused = east.state.gate(COORDINATE, 99n)
    const allowed = east.state.gate(COORDINATE, 3n)
    if (refused.allowed || !allowed.allowed) throw new Error('the gate did not change its answer')
    say(`   east gate for run 99: REFUSE, nothing covers it (best left: ${evidenceOf(refused)})`)
    say(`   east gate for run 3:  ALLOW, on the evidence: ${evidenceOf(allowed)}`)
    // A node that applied the revocation cuts mallory off, so only the honest three must agree.
    await waitFor('the three honest nodes hold the same records', () => converged(honest))
    await waitFor('west cut mallory off', () => west.libp2p.getConnections(mallory.peerId).length === 0)
    say(
      'the story played out: convergence, revocation, fall-back. The honest nodes converged; mallory is cut off.',
    )
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop()))
    await rm(dir, { recursive: true, force: true })
  }
}

const overall = setTimeout(() => {
  console.error('quickstart FAILED: took longer than 30 s')
  process.exit(1)
}, 30_000)
overall.unref()

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`quickstart FAILED: ${err.message}`)
    process.exit(1)
  },
)
