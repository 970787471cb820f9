/**
 * Link faults for nodes in one process. Partitions go through each node's libp2p connection
 * gater (dials and inbound connections between unreachable nodes are denied, live connections
 * closed), which works on any transport. Loss and delay wrap the connections of the network's
 * own transport ({@link MemoryNetwork.transport}: @libp2p/memory's, with the upgrader it is given
 * wrapped so every raw connection passes through the network before libp2p upgrades it). The memory transport is a reliable
 * byte stream, so loss is modelled the way a reliable transport shows it to its user: a lost
 * chunk is retransmitted after a timeout that doubles with each loss of that chunk, later chunks
 * wait behind it (the stream stays in order), and a chunk lost too often resets the connection,
 * as TCP gives up. Dropping bytes instead would corrupt the stream, not model a lossy link.
 */
import {
  type ComponentLogger,
  type Connection,
  type ConnectionGater,
  type CreateListenerOptions,
  type DialTransportOptions,
  type Listener,
  type MultiaddrConnection,
  type PeerId,
  serviceCapabilities,
  type Transport,
  transportSymbol,
  type Upgrader,
  type UpgraderOptions,
  type UpgraderWithoutEncryptionOptions,
} from '@libp2p/interface'
import { type MemoryTransportInit, memory } from '@libp2p/memory'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'
import { SimError } from './errors.js'
import type { LinkFault } from './faults.js'
import type { Rng } from './prng.js'

/** The first retransmission timeout of a lost chunk: Linux's minimum RTO. */
export const INITIAL_RTO_MS = 200

/**
 * Retransmissions of one chunk before the connection is reset. Linux retries for minutes
 * (tcp_retries2 = 15); a simulation of seconds gives up after a few seconds instead, so a dead
 * link shows up as a reset within one run while 30 % loss still resets rarely (0.3^5 per chunk).
 */
export const MAX_RETRANSMISSIONS = 4

/**
 * How long after its first transmission a chunk that is never delivered resets its connection:
 * the RTO doubles after every loss, and the last retransmission gets its own timeout too
 * (200 + 400 + 800 + 1600 + 3200 ms = 6.2 s).
 */
export const GIVE_UP_MS = INITIAL_RTO_MS * (2 ** (MAX_RETRANSMISSIONS + 1) - 1)

/** A connection reset because one chunk was lost on every transmission. */
export class LinkResetError extends SimError {
  override name = 'LinkResetError'
  constructor(
    /** Peer ids of the sending and the receiving side. */
    readonly from: string,
    readonly to: string,
    readonly lossPct: number,
  ) {
    super(
      `link ${from} -> ${to}: a chunk was lost on its first transmission and ${MAX_RETRANSMISSIONS} retransmissions at ${lossPct}% loss; connection reset after ${GIVE_UP_MS} ms`,
    )
  }
}

/** What loss did to one link (both directions, every connection), for the run report. */
export interface LinkCounters {
  /** The two ends, peer ids in sorted order. */
  readonly peers: readonly [string, string]
  /** Chunks handed to the link. */
  chunks: number
  /** Transmissions lost, retransmissions included. */
  lost: number
  retransmitted: number
  /** Connections reset because a chunk was lost on every transmission. */
  resets: number
}

/** Answers who may talk to whom; keyed by peer id strings. */
export interface LinkTable {
  reachable(a: string, b: string): boolean
  fault(a: string, b: string): LinkFault
}

/**
 * A raw connection as @libp2p/memory builds it: libp2p's MultiaddrConnection, whose `sendData` and
 * `sendClose` (the public abstract methods of @libp2p/utils' AbstractMultiaddrConnection that a
 * transport implements) the network wraps to shape what it sends.
 */
type Sendable = MultiaddrConnection & {
  sendData(data: { byteLength: number }): { sentBytes: number; canSendMore: boolean }
  sendClose(options?: unknown): Promise<void>
}

/** The components libp2p gives a transport; the network reads the connection manager too. */
export interface NetworkTransportComponents {
  peerId: PeerId
  logger: ComponentLogger
  connectionManager?: { getConnections(): Connection[] }
}

/** The two raw ends of one memory connection. */
interface Ends {
  inbound?: Sendable
  outbound?: Sendable
}

type UpgradeOptions = UpgraderOptions | UpgraderWithoutEncryptionOptions

/** `upgrader` with some of its methods replaced (the others call it). */
function delegate(upgrader: Upgrader, replaced: Partial<Upgrader>): Upgrader {
  return {
    upgradeInbound: (maConn: MultiaddrConnection, opts: UpgradeOptions) =>
      upgrader.upgradeInbound(maConn, opts as UpgraderOptions),
    upgradeOutbound: (maConn: MultiaddrConnection, opts: UpgradeOptions) =>
      upgrader.upgradeOutbound(maConn, opts as UpgraderOptions),
    createInboundAbortSignal: (signal) => upgrader.createInboundAbortSignal(signal),
    getStreamMuxers: () => upgrader.getStreamMuxers(),
    getConnectionEncrypters: () => upgrader.getConnectionEncrypters(),
    ...replaced,
  }
}

/** The peer id a raw connection's remote address ends with. */
function remotePeerOf(addr: Multiaddr): string | undefined {
  return addr.getComponents().find((c) => c.name === 'p2p')?.value
}

export interface MemoryNetwork {
  /** Listen addresses must start with this for the network to shape their links. */
  readonly prefix: string
  /**
   * A libp2p transport factory for a node of this network (in `transports`, instead of
   * `memory()`): @libp2p/memory's transport, whose raw connections pass through the network.
   */
  transport(init?: MemoryTransportInit): (components: NetworkTransportComponents) => Transport
  /** Bytes delivered to each peer id over shaped connections, all protocols included. */
  bytesReceived(peerId: string): number
  totalBytesReceived(): number
  /** Links that carried chunks, with what loss did to them. */
  linkCounters(): LinkCounters[]
  close(): void
}

type Chunk = { readonly data: Parameters<Sendable['sendData']>[0]; arrived: boolean }

export async function createMemoryNetwork(
  prefix: string,
  table: LinkTable,
  rng: Rng,
): Promise<MemoryNetwork> {
  const received = new Map<string, number>()
  const count = (peer: string, bytes: number): void => {
    received.set(peer, (received.get(peer) ?? 0) + bytes)
  }
  const links = new Map<string, LinkCounters>()
  const countersOf = (a: string, b: string): LinkCounters => {
    const peers: [string, string] = a < b ? [a, b] : [b, a]
    const key = peers.join(' ')
    let counters = links.get(key)
    if (counters === undefined) {
      counters = { peers, chunks: 0, lost: 0, retransmitted: 0, resets: 0 }
      links.set(key, counters)
    }
    return counters
  }
  // Each direction of each connection draws its losses from its own stream, so one connection's
  // fate does not depend on how the others' chunks interleave with it.
  const connections = new Map<string, number>()
  const rngOf = (local: string, remote: string): Rng => {
    const label = `${local}>${remote}`
    const n = connections.get(label) ?? 0
    connections.set(label, n + 1)
    return rng.fork(`${label}#${n}`)
  }

  const nodes = new Map<string, NetworkTransportComponents>()
  /** Outbound connections as the upgrader returned them, by the raw connection they run over. */
  const upgraded = new WeakMap<MultiaddrConnection, Connection>()
  /**
   * Aborts the libp2p connection built over `maConn` with `err`. libp2p's stream muxer closes its
   * streams cleanly when only the raw connection aborts, so a reader would see a bare EOF;
   * aborting the connection itself hands every stream the reset error. An outbound connection is
   * the one the upgrader returned; an inbound one (libp2p's upgrader keeps it) is found among the
   * node's connections by its `timeline`, the object a libp2p Connection shares with its raw
   * connection (both public fields).
   */
  const abortConnection = (peer: string, maConn: Sendable | undefined, err: Error): void => {
    if (maConn === undefined) return
    try {
      const outbound = upgraded.get(maConn)
      if (outbound !== undefined) outbound.abort(err)
      else {
        const connections = nodes.get(peer)?.connectionManager?.getConnections() ?? []
        for (const c of connections) if (c.timeline === maConn.timeline) c.abort(err)
      }
    } catch {
      // a node that is stopping has no connection manager left; the raw abort below still lands
    }
    maConn.abort(err)
  }

  /** Shapes what `conn` sends from `local` to `remote`; `peer` is the remote end of the same connection. */
  function wrap(conn: Sendable, local: string, remote: string, peer: () => Sendable | undefined): void {
    const sendData = conn.sendData.bind(conn)
    const sendClose = conn.sendClose.bind(conn)
    const counters = countersOf(local, remote)
    const losses = rngOf(local, remote)
    const queue: Chunk[] = []
    const timers = new Set<ReturnType<typeof setTimeout>>()
    const idle: (() => void)[] = []
    let ended = false

    const end = (): void => {
      ended = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      queue.length = 0
      for (const resolve of idle.splice(0)) resolve()
    }
    conn.addEventListener('close', end)
    const after = (ms: number, run: () => void): void => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        if (!ended) run()
      }, ms)
      timers.add(timer)
    }
    // In order: a chunk that arrived waits for every chunk sent before it.
    const deliver = (): void => {
      while (queue[0]?.arrived === true) {
        const chunk = queue.shift()!
        count(remote, chunk.data.byteLength)
        sendData(chunk.data)
      }
      if (queue.length === 0) for (const resolve of idle.splice(0)) resolve()
    }
    const arrive = (chunk: Chunk): void => {
      chunk.arrived = true
      deliver()
    }
    // Each transmission meets the link as it is then, so a link that heals stops losing.
    const transmit = (chunk: Chunk, retransmissions: number): void => {
      const fault = table.fault(local, remote)
      if (fault.lossPct > 0 && losses.chance(fault.lossPct / 100)) {
        counters.lost++
        const rto = INITIAL_RTO_MS * 2 ** retransmissions
        if (retransmissions === MAX_RETRANSMISSIONS) {
          after(rto, () => {
            counters.resets++
            end()
            const err = new LinkResetError(local, remote, fault.lossPct)
            abortConnection(local, conn, err)
            abortConnection(remote, peer(), err)
          })
        } else {
          after(rto, () => {
            counters.retransmitted++
            transmit(chunk, retransmissions + 1)
          })
        }
      } else if (fault.delayMs > 0) after(fault.delayMs, () => arrive(chunk))
      else arrive(chunk)
    }

    conn.sendData = (data) => {
      counters.chunks++
      if (queue.length === 0) {
        const fault = table.fault(local, remote)
        if (fault.lossPct === 0 && fault.delayMs === 0) {
          count(remote, data.byteLength)
          return sendData(data)
        }
      }
      const chunk: Chunk = { data, arrived: false }
      queue.push(chunk)
      transmit(chunk, 0)
      return { sentBytes: data.byteLength, canSendMore: true }
    }
    // A graceful close goes out after everything sent before it, as a FIN would.
    conn.sendClose = async (options) => {
      if (queue.length > 0 && !ended) await new Promise<void>((resolve) => idle.push(resolve))
      if (conn.status === 'aborted' || conn.status === 'reset') return
      return sendClose(options)
    }
  }

  /**
   * The two ends of each connection: the inbound end reaches the listener's upgrader while the
   * dial is still running (@libp2p/memory hands it over just before the dial returns), so ends
   * wait here, by dialer and listener, for their outbound end.
   */
  const unpaired = new Map<string, Ends[]>()

  function inbound(owner: string, upgrader: Upgrader): Upgrader {
    return delegate(upgrader, {
      upgradeInbound: (maConn: MultiaddrConnection, opts: UpgradeOptions) => {
        shapeInbound(owner, maConn)
        return upgrader.upgradeInbound(maConn, opts as UpgraderOptions)
      },
    })
  }

  function shapeInbound(owner: string, maConn: MultiaddrConnection): void {
    const remote = remotePeerOf(maConn.remoteAddr)
    if (remote !== undefined) {
      const conn = maConn as Sendable
      const ends: Ends = { inbound: conn }
      const key = `${remote}>${owner}`
      const waiting = unpaired.get(key) ?? []
      waiting.push(ends)
      unpaired.set(key, waiting)
      // An end whose dial was abandoned never pairs; it leaves the queue when it closes.
      conn.addEventListener('close', () => {
        const at = waiting.indexOf(ends)
        if (at >= 0) waiting.splice(at, 1)
        if (waiting.length === 0 && unpaired.get(key) === waiting) unpaired.delete(key)
      })
      wrap(conn, owner, remote, () => ends.outbound)
    }
  }

  function outbound(owner: string, upgrader: Upgrader): Upgrader {
    return delegate(upgrader, {
      upgradeOutbound: async (maConn: MultiaddrConnection, opts: UpgradeOptions) => {
        shapeOutbound(owner, maConn)
        const connection = await upgrader.upgradeOutbound(maConn, opts as UpgraderOptions)
        upgraded.set(maConn, connection)
        return connection
      },
    })
  }

  function shapeOutbound(owner: string, maConn: MultiaddrConnection): void {
    const remote = remotePeerOf(maConn.remoteAddr)
    if (remote === undefined) return
    const key = `${owner}>${remote}`
    const waiting = unpaired.get(key)
    const ends: Ends = waiting?.shift() ?? {}
    if (waiting?.length === 0) unpaired.delete(key)
    ends.outbound = maConn as Sendable
    wrap(maConn as Sendable, owner, remote, () => ends.inbound)
  }

  function transport(init?: MemoryTransportInit) {
    const create = memory(init)
    return (components: NetworkTransportComponents): Transport => {
      const base = create(components)
      const owner = components.peerId.toString()
      nodes.set(owner, components)
      const shaped: Transport = {
        [transportSymbol]: true,
        [Symbol.toStringTag]: '@provsync/sim:memory-network',
        dial: (ma: Multiaddr, options: DialTransportOptions) =>
          base.dial(ma, { ...options, upgrader: outbound(owner, options.upgrader) }),
        createListener: (options: CreateListenerOptions): Listener =>
          base.createListener({ ...options, upgrader: inbound(owner, options.upgrader) }),
        listenFilter: (addrs) => base.listenFilter(addrs),
        dialFilter: (addrs) => base.dialFilter(addrs),
      }
      // What @libp2p/memory's transport declares, for services that look for a transport.
      return Object.assign(shaped, { [serviceCapabilities]: ['@libp2p/transport'] })
    }
  }

  return {
    prefix,
    transport,
    bytesReceived: (peerId) => received.get(peerId) ?? 0,
    totalBytesReceived: () => [...received.values()].reduce((a, b) => a + b, 0),
    linkCounters: () => [...links.values()].map((c) => ({ ...c })),
    close: () => {
      nodes.clear()
      unpaired.clear()
    },
  }
}

/**
 * A connection gater that refuses the peers the table says `self` cannot reach. Given to
 * createNode's (or libp2p's) options, it gates a node from its very first dial; the node's own
 * gater (blocked peers) is still asked first.
 */
export function linkGater(self: string, table: LinkTable): ConnectionGater {
  const unreachable = (peer: PeerId): boolean => !table.reachable(self, peer.toString())
  return {
    denyDialPeer: unreachable,
    denyOutboundConnection: unreachable,
    denyInboundEncryptedConnection: unreachable,
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
