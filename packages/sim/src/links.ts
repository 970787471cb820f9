/**
 * Link faults for nodes in one process. Partitions go through each node's libp2p connection
 * gater (dials and inbound connections between unreachable nodes are denied, live connections
 * closed), which works on any transport. Loss and delay wrap the memory transport's connections,
 * which live in a process-wide table inside @libp2p/memory: every connection a listener accepts
 * has its sends delayed by the link's delay, and a lost chunk is delivered after a retransmission
 * timeout, as TCP would (the transport is reliable, so dropping bytes would corrupt the stream
 * rather than model a lossy link).
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Connection, ConnectionGater, PeerId } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type { LinkFault } from './faults.js'
import type { Rng } from './prng.js'

/** The retransmission timeout a lost chunk waits before delivery (Linux's minimum RTO). */
export const RETRANSMIT_MS = 200

/** Answers who may talk to whom; keyed by peer id strings. */
export interface LinkTable {
  reachable(a: string, b: string): boolean
  fault(a: string, b: string): LinkFault
}

interface Sendable {
  status: string
  sendData(data: { byteLength: number }): { sentBytes: number; canSendMore: boolean }
  sendClose(options?: unknown): Promise<void>
  abort(err: Error): void
}

interface MemoryListener {
  init: { onConnection(maConn: Sendable): void }
  components: { peerId: PeerId }
  dial(peer: PeerId, log: unknown, signal: AbortSignal): Promise<Sendable>
}

type ListenerTable = Map<string, MemoryListener>

async function memoryConnections(): Promise<ListenerTable> {
  // @libp2p/memory exports only its transport; its listener table is one module deeper.
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, 'node_modules', '@libp2p', 'memory', 'dist', 'src', 'connections.js')
    if (existsSync(candidate)) {
      const mod = (await import(pathToFileURL(candidate).href)) as { connections: ListenerTable }
      return mod.connections
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error('cannot locate @libp2p/memory in any node_modules above the harness')
    dir = parent
  }
}

/** Networks by the address prefix their listeners use; one process may run several at once. */
const networks = new Map<string, (listener: MemoryListener) => void>()
let intercepted: Promise<void> | undefined

/**
 * Patches listeners the moment they register, before anyone can dial them, so no connection of
 * a simulated network escapes the link table.
 */
function intercept(): Promise<void> {
  intercepted ??= memoryConnections().then((table) => {
    const set = table.set.bind(table)
    table.set = (address, listener) => {
      for (const [prefix, patch] of networks) if (address.startsWith(prefix)) patch(listener)
      return set(address, listener)
    }
  })
  return intercepted
}

export interface MemoryNetwork {
  /** Listen addresses must start with this for the network to shape their links. */
  readonly prefix: string
  /** Bytes delivered to each peer id over shaped connections, all protocols included. */
  bytesReceived(peerId: string): number
  totalBytesReceived(): number
  close(): void
}

export async function createMemoryNetwork(
  prefix: string,
  table: LinkTable,
  rng: Rng,
): Promise<MemoryNetwork> {
  await intercept()
  const received = new Map<string, number>()
  const count = (peer: string, bytes: number): void => {
    received.set(peer, (received.get(peer) ?? 0) + bytes)
  }

  function wrap(conn: Sendable, local: string, remote: string): void {
    const sendData = conn.sendData.bind(conn)
    const sendClose = conn.sendClose.bind(conn)
    let lastDelivery = 0
    let inFlight = 0
    let drained: (() => void) | undefined
    conn.sendData = (data) => {
      const bytes = data.byteLength
      const fault = table.fault(local, remote)
      let delay = fault.delayMs
      if (fault.lossPct > 0 && rng.chance(fault.lossPct / 100)) delay += RETRANSMIT_MS
      if (delay === 0 && inFlight === 0) {
        count(remote, bytes)
        return sendData(data)
      }
      // Later chunks never overtake a delayed one: the stream stays in order.
      const now = performance.now()
      const at = Math.max(now + delay, lastDelivery)
      lastDelivery = at
      inFlight++
      setTimeout(() => {
        inFlight--
        if (conn.status === 'open') {
          count(remote, bytes)
          sendData(data)
        }
        if (inFlight === 0) drained?.()
      }, at - now)
      return { sentBytes: bytes, canSendMore: true }
    }
    conn.sendClose = async (options) => {
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve))
      return sendClose(options)
    }
  }

  function patch(listener: MemoryListener): void {
    const owner = listener.components.peerId.toString()
    const dial = listener.dial
    listener.dial = async (dialer, log, signal) => {
      const remote = dialer.toString()
      // The dial runs against a view of the listener whose onConnection wraps the inbound side.
      const view = Object.create(listener) as MemoryListener
      view.init = {
        ...listener.init,
        onConnection: (inbound) => {
          wrap(inbound, owner, remote)
          listener.init.onConnection(inbound)
        },
      }
      const outbound = await dial.call(view, dialer, log, signal)
      wrap(outbound, remote, owner)
      return outbound
    }
  }

  if (networks.has(prefix)) throw new Error(`a memory network with prefix ${prefix} already exists`)
  networks.set(prefix, patch)
  return {
    prefix,
    bytesReceived: (peerId) => received.get(peerId) ?? 0,
    totalBytesReceived: () => [...received.values()].reduce((a, b) => a + b, 0),
    close: () => networks.delete(prefix),
  }
}

type GaterMethod = 'denyDialPeer' | 'denyOutboundConnection' | 'denyInboundEncryptedConnection'

/**
 * Makes a node's gater refuse peers the table says it cannot reach. The gater object is the one
 * libp2p built from createNode's options; createNode takes no gater of its own, so the harness
 * wraps the methods in place (see the package README).
 */
export function gateNode(libp2p: Libp2p, self: string, table: LinkTable): void {
  const gater = (libp2p as unknown as { components: { connectionGater: ConnectionGater } }).components
    .connectionGater
  for (const method of [
    'denyDialPeer',
    'denyOutboundConnection',
    'denyInboundEncryptedConnection',
  ] as GaterMethod[]) {
    const original = gater[method] as
      | ((peer: PeerId, ...rest: unknown[]) => Promise<boolean> | boolean)
      | undefined
    const gated = async (peer: PeerId, ...rest: unknown[]): Promise<boolean> =>
      !table.reachable(self, peer.toString()) || ((await original?.call(gater, peer, ...rest)) ?? false)
    ;(gater as Record<GaterMethod, unknown>)[method] = gated
  }
}

/** Closes the node's live connections to peers it can no longer reach. */
export async function enforcePartition(libp2p: Libp2p, self: string, table: LinkTable): Promise<number> {
  const cut = libp2p
    .getConnections()
    .filter((c: Connection) => !table.reachable(self, c.remotePeer.toString()))
  await Promise.allSettled(cut.map((c) => c.abort(new Error('sim: link cut by partition'))))
  return cut.length
}
