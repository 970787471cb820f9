/**
 * A provsync node in its own process, driven over stdin/stdout with one JSON object per line.
 * The harness uses it for crash tests (SIGKILL mid-batch) and for nodes in separate network
 * namespaces. Started by {@link spawnNodeProcess}; not meant to be run by hand.
 */
import { createInterface } from 'node:readline'
import { peerIdFromString } from '@libp2p/peer-id'
import { encodeSupersession, fromHex, openNodeState, recordHash, signerFromSeed, toHex } from '@provsync/crdt'
import { createNode, type ProvsyncNode } from '@provsync/sync'
import { STORES, type StoreName } from './checker.js'
import { DEFAULT_SIM_SYNC } from './cluster.js'
import { NO_FAULT } from './faults.js'
import { enforcePartition, type LinkTable, linkGater } from './links.js'
import { rootTriple, snapshotNode } from './snapshot.js'

export interface ChildConfig {
  readonly dataDir: string
  readonly networkId: string
  readonly trust: readonly string[]
  /** Start a full node on these addresses; omit to open only the store (crash tests). */
  readonly listen?: readonly string[]
  readonly bootstrap?: readonly string[]
  readonly name: string
  /** Kill this process right after the next ledger entry is appended, before it is applied. */
  readonly killAfterLedgerAppend?: boolean
  /** How often a node whose writes failed probes them, and the free bytes it waits for (soak). */
  readonly writeProbe?: { readonly probeMs: number; readonly resumeFreeBytes: number }
}

export type ChildCommand =
  | {
      readonly id: number
      readonly cmd: 'verify'
      readonly coordinate: { volume: string; destination: string; origin: string }
      readonly run: string
    }
  | {
      readonly id: number
      readonly cmd: 'apply'
      readonly store: StoreName
      readonly records: readonly string[]
      readonly from: string
    }
  | { readonly id: number; readonly cmd: 'revoke'; readonly subject: string; readonly operatorSeed: string }
  | { readonly id: number; readonly cmd: 'supersede'; readonly target: string; readonly reason: string }
  /** Peers this node may not reach (a partition); the node's gater enforces it. */
  | { readonly id: number; readonly cmd: 'links'; readonly unreachable: readonly string[] }
  | { readonly id: number; readonly cmd: 'roots' }
  | { readonly id: number; readonly cmd: 'snapshot'; readonly knownKeys: readonly string[] }
  /** Write health, and the offences and block of `peer` if given (soak). */
  | { readonly id: number; readonly cmd: 'health'; readonly peer?: string }
  | { readonly id: number; readonly cmd: 'stop' }

const config = JSON.parse(process.env.PROVSYNC_SIM_CHILD ?? 'null') as ChildConfig | null
if (config === null)
  throw new Error('PROVSYNC_SIM_CHILD is not set: this process is started by the sim harness')

const send = (message: unknown): void => {
  process.stdout.write(`${JSON.stringify(message)}\n`)
}

const storeOptions = {
  verifyThreads: 0,
  ...(config.writeProbe === undefined
    ? {}
    : { writeProbeMs: config.writeProbe.probeMs, writeResumeFreeBytes: config.writeProbe.resumeFreeBytes }),
  ...(config.killAfterLedgerAppend === true
    ? { faults: { afterLedgerAppend: () => process.kill(process.pid, 'SIGKILL') } }
    : {}),
}
let node: ProvsyncNode | undefined
let unreachable = new Set<string>()
const table: LinkTable = { reachable: (_a, b) => !unreachable.has(b), fault: () => NO_FAULT }
const state =
  config.listen === undefined
    ? await openNodeState({
        dataDir: config.dataDir,
        networkId: config.networkId,
        trust: config.trust.map(fromHex),
        ...storeOptions,
      })
    : (node = await createNode({
        dataDir: config.dataDir,
        networkId: config.networkId,
        trust: config.trust.map(fromHex),
        listen: [...config.listen],
        bootstrap: [...(config.bootstrap ?? [])],
        bootstrapRetryMs: 300,
        sync: DEFAULT_SIM_SYNC,
        store: storeOptions,
        // The child's table answers for this node alone, so `self` is not consulted.
        libp2p: { connectionGater: linkGater(config.name, table) },
      })).state

if (node !== undefined) {
  // Tell the parent whenever a batch starts applying (a pull's, a push's), so a crash can land in
  // the middle of one. Its own `apply` command says so itself, below.
  state.observe({
    applying: ({ via, count }) => {
      if (via !== 'put') send({ type: 'applying', records: count })
    },
  })
}

send({
  type: 'ready',
  peerId: node?.peerId.toString(),
  addresses: node?.multiaddrs().map(String) ?? [],
  key: toHex(state.publicKey),
})

async function handle(command: ChildCommand): Promise<unknown> {
  switch (command.cmd) {
    case 'verify': {
      const run = BigInt(command.run)
      const result = state.advanceVerified(command.coordinate, run, { method: 'sim' })
      // Only a signed assertion can reach peers: a revoked node keeps its evidence to itself.
      const asserted = state.assertions.get(state.publicKey, command.coordinate)?.run === run
      return { status: result.status, key: toHex(result.key), asserted }
    }
    case 'apply': {
      send({ type: 'applying', id: command.id })
      const outcomes = await state.apply(command.store, command.records.map(fromHex), {
        from: fromHex(command.from),
      })
      return {
        applied: outcomes.filter((o) => o.status === 'applied').length,
        refused: outcomes.filter((o) => o.status === 'refused').length,
      }
    }
    case 'revoke': {
      const entry = await state.revocations.revoke(
        { subject: fromHex(command.subject), subjectKind: 'peer', reason: 'sim' },
        signerFromSeed(fromHex(command.operatorSeed)),
      )
      return { id: toHex(entry.id) }
    }
    case 'supersede': {
      const record = await state.supersessions.supersede({
        target: fromHex(command.target),
        kind: 'invalidate',
        reason: command.reason,
      })
      return { key: toHex(recordHash(encodeSupersession(record, state.networkId))) }
    }
    case 'links':
      unreachable = new Set(command.unreachable)
      if (node !== undefined) await enforcePartition(node.libp2p, node.peerId.toString(), table)
      return {}
    case 'roots':
      return {
        roots: rootTriple(state),
        counts: Object.fromEntries(STORES.map((s) => [s, state.tree(s).count()])),
      }
    case 'snapshot':
      return {
        snapshot: snapshotNode(state, {
          name: config!.name,
          peerId: node?.peerId.toString() ?? config!.name,
          atMs: Date.now(),
          knownKeys: command.knownKeys.map(fromHex),
        }),
      }
    case 'health': {
      const peer = command.peer === undefined ? undefined : peerIdFromString(command.peer)
      if (peer === undefined || node === undefined) return { writes: state.writeHealth() }
      return {
        writes: state.writeHealth(),
        offences: node.sync.offences(peer),
        blocked: node.sync.isBlocked(peer),
      }
    }
    case 'stop':
      if (node !== undefined) await node.stop()
      else await state.close()
      return {}
  }
}

const lines = createInterface({ input: process.stdin })
for await (const line of lines) {
  const command = JSON.parse(line) as ChildCommand
  try {
    send({ type: 'result', id: command.id, ...((await handle(command)) as object) })
  } catch (error) {
    send({ type: 'result', id: command.id, error: `${(error as Error).name}: ${(error as Error).message}` })
  }
  if (command.cmd === 'stop') break
}
process.exit(0)
