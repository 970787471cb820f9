import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type ArtifactStore,
  type ArtifactSyncService,
  artifactSync,
  openArtifactStore,
  type Right,
  signArtifact,
  signGrant,
  signScopeEpoch,
} from '@provsync/artifacts'
import { type Signer, signerFromSeed } from '@provsync/crdt'
import { createNode, loadOrCreateIdentity, type ProvsyncNode } from '@provsync/sync'
import {
  type ArtifactRunSnapshot,
  type ArtifactViolation,
  type BlameSeen,
  checkArtifactRun,
  type ReceivedArtifact,
} from './artifact-checker.js'
import { createRng, type Rng } from './prng.js'

export interface ArtifactScenarioOptions {
  /** @default 'artifacts' */
  readonly seed?: string
  /** Exact scopes `cluster/s0`...; @default 3 */
  readonly scopes?: number
  /** Honest storage nodes, each holding two scopes; @default 2 */
  readonly storage?: number
  /** Consumers, each holding one scope; @default 2 */
  readonly consumers?: number
  /** Publish rounds after the epoch is raised; @default 3 */
  readonly rounds?: number
}

export interface ArtifactScenarioResult {
  readonly seed: string
  readonly snapshot: ArtifactRunSnapshot
  readonly violations: ArtifactViolation[]
}

const NET = 'sim-artifacts'
/** Every artifact's content names its scope, so a frame carrying it can be told apart. */
const MARK = 'art|'

interface SimNode {
  readonly id: string
  readonly honest: boolean
  readonly granted: string[]
  readonly node: ProvsyncNode
  readonly store: ArtifactStore
  readonly service: ArtifactSyncService
  readonly key: Uint8Array
}

interface World {
  readonly rng: Rng
  readonly operator: Signer
  readonly publisher: Signer
  readonly scopes: string[]
  readonly nodes: SimNode[]
  readonly received: ReceivedArtifact[]
  readonly offences: BlameSeen[]
  readonly stale: Map<string, Uint8Array>
  tick: number
  /** Batches the compromised node has served (which lie comes next). */
  lies: number
}

const signer = (n: number): Signer => signerFromSeed(new Uint8Array(32).fill(n))

/**
 * Scoped replication with a compromised storage node, over real libp2p on loopback: a control
 * plane node publishing for the publisher key, honest storage nodes holding some scopes,
 * consumers holding one, and a storage node granted every scope that alters the content it
 * serves, adds records of another scope and replays an artifact below the scope's epoch.
 */
export async function runArtifactScenario(
  options: ArtifactScenarioOptions = {},
): Promise<ArtifactScenarioResult> {
  const seed = options.seed ?? 'artifacts'
  const dir = mkdtempSync(join(tmpdir(), 'provsync-sim-art-'))
  const scopes = Array.from({ length: options.scopes ?? 3 }, (_, i) => `cluster/s${i}`)
  const w: World = {
    rng: createRng(seed),
    operator: signer(1),
    publisher: signer(2),
    scopes,
    nodes: [],
    received: [],
    offences: [],
    stale: new Map(),
    tick: Date.now(),
    lies: 0,
  }
  try {
    await startNodes(w, dir, options)
    await bootstrap(w)
    for (let r = 0; r < (options.rounds ?? 3); r++) await publishRound(w, 3n + BigInt(r))
    for (let pass = 0; pass < 2; pass++) await honestMesh(w)
    const snapshot = snapshotOf(w)
    return { seed, snapshot, violations: checkArtifactRun(snapshot) }
  } finally {
    await Promise.allSettled(
      w.nodes.map(async (n) => {
        await n.node.stop()
        await n.store.close()
      }),
    )
    rmSync(dir, { recursive: true, force: true })
  }
}

async function startNodes(w: World, dir: string, options: ArtifactScenarioOptions): Promise<void> {
  const { scopes } = w
  w.nodes.push(await startSimNode(w, dir, 'control', ['cluster'], true))
  for (let i = 0; i < (options.storage ?? 2); i++) {
    const held = [scopes[i % scopes.length]!, scopes[(i + 1) % scopes.length]!]
    w.nodes.push(await startSimNode(w, dir, `storage-${i}`, [...new Set(held)].sort(), true))
  }
  for (let i = 0; i < (options.consumers ?? 2); i++)
    w.nodes.push(await startSimNode(w, dir, `consumer-${i}`, [scopes[i % scopes.length]!], true))
  w.nodes.push(await startSimNode(w, dir, 'compromised', ['cluster'], false))
  for (const [i, a] of w.nodes.entries())
    for (const b of w.nodes.slice(i + 1)) await a.node.dial(b.node.multiaddrs()[0]!)
}

async function startSimNode(w: World, dir: string, id: string, granted: string[], honest: boolean) {
  const dataDir = join(dir, id)
  const key = (await loadOrCreateIdentity(dataDir)).publicKey.raw
  const store = await openArtifactStore({
    networkId: NET,
    nodeKey: key,
    trust: [w.operator.publicKey],
    dataDir: join(dataDir, 'artifacts'),
    noSync: true,
    verifyThreads: 0,
  })
  const faults = {
    frames: (side: 'sent' | 'received', peer: string, bytes: Uint8Array) => {
      if (side === 'received') noteReceived(w, id, peer, bytes)
    },
    ...(honest ? {} : { outgoing: (scope: string, records: Uint8Array[]) => lie(w, scope, records) }),
  }
  const node = await createNode({
    dataDir,
    networkId: NET,
    trust: [w.operator.publicKey],
    listen: ['/ip4/127.0.0.1/tcp/0'],
    sync: { antiEntropy: false, syncOnConnect: false, announce: false },
    store: { verifyThreads: 0 },
    services: () => ({
      artifacts: artifactSync({ store, antiEntropy: false, syncOnConnect: false, propagate: false, faults }),
    }),
  })
  const service = node.libp2p.services.artifacts as ArtifactSyncService
  service.addEventListener('artifacts:offence', (evt) =>
    w.offences.push({ at: id, peer: nameOf(w, evt.detail.peer), reason: evt.detail.reason }),
  )
  return { id, honest, granted, node, store, service, key }
}

/**
 * The compromised node's lies, one kind per batch it serves, in turn: altered content, a record
 * of another scope, an artifact signed below the scope's epoch (a replay from before it was raised).
 */
function lie(w: World, scope: string, records: Uint8Array[]): Uint8Array[] {
  const kind = w.lies++ % 3
  if (kind === 0)
    return records.map((r) => {
      const copy = new Uint8Array(r)
      // The last byte of the body: the inline content (then come the publisher key, HLC and signature).
      copy[copy.length - 113] = (copy[copy.length - 113]! + 1) & 0xff
      return copy
    })
  if (kind === 1) {
    const other = w.scopes.find((s) => s !== scope)
    return other === undefined ? records : [...records, publishBytes(w, other, 'main', 1000n, 2n)]
  }
  const stale = w.stale.get(scope)
  return stale === undefined ? records : [...records, stale]
}

function noteReceived(w: World, id: string, peer: string, bytes: Uint8Array): void {
  const text = Buffer.from(bytes).toString('latin1')
  for (let i = text.indexOf(MARK); i >= 0; i = text.indexOf(MARK, i + 1)) {
    const end = text.indexOf('|', i + MARK.length)
    if (end > 0) w.received.push({ node: id, from: nameOf(w, peer), scope: text.slice(i + MARK.length, end) })
  }
}

function nameOf(w: World, peer: string): string {
  return w.nodes.find((n) => n.node.peerId.toString() === peer)?.id ?? peer
}

function at(w: World) {
  w.tick += 1
  return { wallMs: w.tick, counter: 0 }
}

function publishBytes(w: World, scope: string, name: string, version: bigint, epoch: bigint): Uint8Array {
  const content = new TextEncoder().encode(`${MARK}${scope}|${name}|v${version}`)
  return signArtifact(
    { scope, family: 'cluster_snapshot', name, version, epoch, content },
    w.publisher,
    NET,
    at(w),
  ).bytes
}

function grantBytes(w: World, subject: Uint8Array, right: Right, scopes: string[]): Uint8Array {
  return signGrant({ subject, right, scopes, epoch: 1n }, w.operator, NET, at(w)).bytes
}

/** Grants, epoch-1 versions, stale replays signed before the epoch is raised to 2, epoch-2 versions. */
async function bootstrap(w: World): Promise<void> {
  const control = w.nodes[0]!
  const grants = [
    grantBytes(w, w.publisher.publicKey, 'publish', ['cluster']),
    ...w.nodes.map((n) => grantBytes(w, n.key, 'hold', n.granted)),
  ]
  const first = w.scopes.flatMap((s) => ['main', 'edge'].map((name) => publishBytes(w, s, name, 1n, 1n)))
  for (const s of w.scopes) w.stale.set(s, publishBytes(w, s, 'main', 99n, 1n))
  await control.service.publish([...grants, ...first])
  await control.service.publish([
    signScopeEpoch({ scope: 'cluster', minEpoch: 2n }, w.operator, NET, at(w)).bytes,
  ])
  await control.service.publish(w.scopes.map((s) => publishBytes(w, s, 'main', 2n, 2n)))
}

/**
 * One round: the control plane publishes a new version of one name, the compromised node gets
 * it first and serves everyone (lying), then the honest nodes sync among themselves.
 */
async function publishRound(w: World, version: bigint): Promise<void> {
  const [control, ...rest] = w.nodes as [SimNode, ...SimNode[]]
  const hostile = rest.find((n) => !n.honest)!
  await control.service.publish([
    publishBytes(w, w.rng.pick(w.scopes), w.rng.pick(['main', 'edge']), version, 2n),
  ])
  await hostile.service.syncWith(control.node.peerId).catch(() => {})
  for (const n of rest.filter((x) => x.honest)) await hostile.service.syncWith(n.node.peerId).catch(() => {})
  await honestMesh(w)
}

async function honestMesh(w: World): Promise<void> {
  const honest = w.nodes.filter((n) => n.honest)
  for (const a of honest) for (const b of honest) if (a !== b) await a.service.syncWith(b.node.peerId)
}

function snapshotOf(w: World): ArtifactRunSnapshot {
  const nodes = w.nodes.map((n) => {
    const scopes = n.store.scopes()
    const current: Record<string, Record<string, string>> = {}
    const roots: Record<string, string> = {}
    for (const scope of scopes) {
      roots[scope] = Buffer.from(n.store.scopeRoots([scope]).get(scope)!).toString('hex')
      current[scope] = {}
      for (const e of n.store.list(scope, { allowStale: true }))
        if (e.result.status === 'current')
          current[scope][`${e.family}/${e.name}`] = Buffer.from(e.result.version.hash).toString('hex')
    }
    return { id: n.id, honest: n.honest, granted: n.granted, scopes, current, roots }
  })
  return {
    nodes,
    received: w.received,
    offences: w.offences,
    expectedOffences: ['altered-content', 'out-of-scope', 'stale-epoch'],
  }
}
