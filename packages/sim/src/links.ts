/**
 * Link faults for nodes in one process. Partitions go through each node's libp2p connection
 * gater (dials and inbound connections between unreachable nodes are denied, live connections
 * closed), which works on any transport. Loss and delay are the network's own transport's
 * ({@link MemoryNetwork.transport}: @libp2p/memory's addressing and life cycle, with connection
 * ends of sim's own that shape what they send: shaped-connection.ts). The memory transport is a reliable
 * byte stream, so loss is modelled the way a reliable transport shows it to its user: a lost
 * chunk is retransmitted after a timeout that doubles with each loss of that chunk, later chunks
 * wait behind it (the stream stays in order), and a chunk lost too often resets the connection,
 * as TCP gives up. Dropping bytes instead would corrupt the stream, not model a lossy link.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import {
  type Connection,
  type ConnectionGater,
  type PeerId,
  StreamResetError,
  type Transport,
} from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'
import { SimError } from './errors.js'
import type { LinkFault } from './faults.js'
import {
  type NetworkListener,
  type NetworkPipes,
  NetworkTransport,
  type NetworkTransportComponents,
} from './network-transport.js'
import type { Rng } from './prng.js'
import {
  INITIAL_RTO_MS,
  type LinkCounters,
  MAX_RETRANSMISSIONS,
  type PeerEnd,
  ShapedConnection,
} from './shaped-connection.js'

export type { LinkCounters, NetworkTransportComponents }
export { INITIAL_RTO_MS, MAX_RETRANSMISSIONS }

/**
 * How long after its first transmission a chunk that is never delivered resets its connection:
 * the RTO doubles after every loss, and the last retransmission gets its own timeout too
 * (200 + 400 + 800 + 1600 + 3200 ms = 6.2 s).
 */
export const GIVE_UP_MS = INITIAL_RTO_MS * (2 ** (MAX_RETRANSMISSIONS + 1) - 1)

/** @libp2p/memory's default: larger writes are cut into chunks of this many bytes. */
const MAX_MESSAGE_SIZE = 65_536

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

/** Answers who may talk to whom; keyed by peer id strings. */
export interface LinkTable {
  reachable(a: string, b: string): boolean
  fault(a: string, b: string): LinkFault
}

/**
 * What one end of a connection tells the other end in another thread, over the connection's own
 * `MessagePort`: a chunk (its buffer transferred), a graceful close, a reset, or a reset because
 * the sending side's link gave up on a chunk (the receiving side aborts its libp2p connection with
 * the same {@link LinkResetError}).
 */
export type PortMessage =
  | { readonly t: 'data'; readonly bytes: Uint8Array }
  | { readonly t: 'close' }
  | { readonly t: 'reset' }
  | { readonly t: 'give-up'; readonly from: string; readonly to: string; readonly lossPct: number }

/**
 * The other end of a connection, in another thread: what {@link ShapedConnection} hands it is
 * posted on the connection's port. Chunks are copied once into a buffer of their own and that
 * buffer is transferred: the muxer's and noise's chunks are views into buffers still in use (not
 * safe to transfer), and structured cloning a view would copy its whole underlying buffer.
 */
export class PortPeer implements PeerEnd {
  constructor(private readonly port: MessagePort) {}

  onData(data: Uint8Array | Parameters<PeerEnd['onData']>[0]): void {
    const bytes = new Uint8Array(data.byteLength)
    if (data instanceof Uint8Array) bytes.set(data)
    else {
      let at = 0
      for (const part of data) {
        bytes.set(part, at)
        at += part.byteLength
      }
    }
    this.port.postMessage({ t: 'data', bytes } satisfies PortMessage, [bytes.buffer])
  }

  onTransportClosed(): void {
    this.port.postMessage({ t: 'close' } satisfies PortMessage)
  }

  abort(): void {
    this.port.postMessage({ t: 'reset' } satisfies PortMessage)
  }

  giveUp(err: LinkResetError): void {
    this.port.postMessage({
      t: 'give-up',
      from: err.from,
      to: err.to,
      lossPct: err.lossPct,
    } satisfies PortMessage)
  }
}

/** Feeds what the other thread's end posts on `port` to `end`; the port closes a while after `end` does. */
function wirePort(port: MessagePort, end: ShapedConnection, giveUp: (err: LinkResetError) => void): void {
  end.peer = new PortPeer(port)
  port.on('message', (m: PortMessage) => {
    if (m.t === 'data') end.onData(m.bytes)
    else if (m.t === 'close') end.onTransportClosed()
    else if (m.t === 'reset') end.abort(new StreamResetError())
    else giveUp(new LinkResetError(m.from, m.to, m.lossPct))
  })
  // Late: a close or reset the other side posted just before must still be read.
  end.addEventListener('close', () => setTimeout(() => port.close(), 1_000).unref())
}

/**
 * How a network in one of several threads reaches nodes in the others: `dial` hands the far end
 * of a new connection's port to the harness thread, which passes it to the listener's thread
 * (that network's {@link MemoryNetwork.acceptRemote}).
 */
export interface RemoteLinks {
  /** Peer id of the node listening at a `/memory/<name>` address of another thread. */
  peerAt(address: string): string | undefined
  dial(from: string, address: string, port: MessagePort): void
}

export interface MemoryNetwork {
  /** Listen addresses must start with this for the network to shape their links. */
  readonly prefix: string
  /**
   * A libp2p transport factory for a node of this network (in `transports`, instead of
   * @libp2p/memory's `memory()`): listens on and dials `/memory/<name>` addresses of this network.
   */
  transport(): (components: NetworkTransportComponents) => Transport
  /** Bytes delivered to each peer id over shaped connections, all protocols included. */
  bytesReceived(peerId: string): number
  totalBytesReceived(): number
  /** Links that carried chunks, with what loss did to them. */
  linkCounters(): LinkCounters[]
  /**
   * The inbound end of a connection a node of another thread dialled (`remote` networks): handed
   * to the listener at `address`, or reset at once when no node listens there.
   */
  acceptRemote(address: string, from: string, port: MessagePort): void
  close(): void
}

let connectionIds = 0

export async function createMemoryNetwork(
  prefix: string,
  table: LinkTable,
  rng: Rng,
  remote?: RemoteLinks,
): Promise<MemoryNetwork> {
  const received = new Map<string, number>()
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
  /** Outbound connections as the upgrader returned them, by the raw end they run over. */
  const upgraded = new WeakMap<ShapedConnection, Connection>()
  /**
   * Aborts the libp2p connection built over `end` with `err`. libp2p's stream muxer closes its
   * streams cleanly when only the raw connection aborts, so a reader would see a bare EOF;
   * aborting the connection itself hands every stream the reset error. An outbound connection is
   * the one the upgrader returned; an inbound one (libp2p's upgrader keeps it) is found among the
   * node's connections by its `timeline`, the object a libp2p Connection shares with its raw
   * connection (both public fields).
   */
  const abortConnection = (peer: string, end: ShapedConnection | undefined, err: Error): void => {
    if (end === undefined) return
    try {
      const outbound = upgraded.get(end)
      if (outbound !== undefined) outbound.abort(err)
      else {
        const connections = nodes.get(peer)?.connectionManager?.getConnections() ?? []
        for (const c of connections) if (c.timeline === end.timeline) c.abort(err)
      }
    } catch {
      // a node that is stopping has no connection manager left; the raw abort below still lands
    }
    end.abort(err)
  }

  /** One end of a connection, shaping what `local` sends to `remote`. */
  const makeEnd = (
    local: NetworkTransportComponents,
    remote: string,
    direction: 'inbound' | 'outbound',
    remoteAddr: string,
    id: number,
  ): ShapedConnection => {
    const self = local.peerId.toString()
    return new ShapedConnection(
      {
        remoteAddr: multiaddr(remoteAddr),
        direction,
        log: local.logger.forComponent('provsync:sim:links').newScope(`connection:${id}`),
        maxMessageSize: MAX_MESSAGE_SIZE,
      },
      {
        local: self,
        remote,
        fault: () => table.fault(self, remote),
        counters: countersOf(self, remote),
        losses: rngOf(self, remote),
        delivered: (bytes) => received.set(remote, (received.get(remote) ?? 0) + bytes),
        giveUp: (end, lossPct) => {
          const err = new LinkResetError(self, remote, lossPct)
          abortConnection(self, end, err)
          const peer = end.peer
          if (peer instanceof ShapedConnection) abortConnection(remote, peer, err)
          else if (peer instanceof PortPeer) peer.giveUp(err)
        },
      },
    )
  }

  const pipes: NetworkPipes = {
    listeners: new Map<string, NetworkListener>(),
    pair: (dialer, listener, address) => {
      const from = dialer.peerId.toString()
      const to = listener.components.peerId.toString()
      const id = connectionIds++
      const outbound = makeEnd(dialer, to, 'outbound', `${address}/p2p/${to}`, id)
      const inbound = makeEnd(listener.components, from, 'inbound', `${address}-outgoing/p2p/${from}`, id)
      outbound.peer = inbound
      inbound.peer = outbound
      listener.track(outbound, inbound)
      return [outbound, inbound]
    },
    upgraded: (end, connection) => upgraded.set(end, connection),
    ...(remote === undefined
      ? {}
      : {
          dialRemote: (dialer, address) => {
            const to = remote.peerAt(address)
            if (to === undefined) return undefined
            const from = dialer.peerId.toString()
            const { port1, port2 } = new MessageChannel()
            const outbound = makeEnd(dialer, to, 'outbound', `${address}/p2p/${to}`, connectionIds++)
            wirePort(port1, outbound, (err) => abortConnection(from, outbound, err))
            remote.dial(from, address, port2)
            return outbound
          },
        }),
  }

  const acceptRemote = (address: string, from: string, port: MessagePort): void => {
    const listener = pipes.listeners.get(address)
    if (listener === undefined) {
      port.postMessage({ t: 'reset' } satisfies PortMessage)
      setTimeout(() => port.close(), 1_000).unref()
      return
    }
    const inbound = makeEnd(
      listener.components,
      from,
      'inbound',
      `${address}-outgoing/p2p/${from}`,
      connectionIds++,
    )
    const self = listener.components.peerId.toString()
    wirePort(port, inbound, (err) => abortConnection(self, inbound, err))
    listener.track(inbound)
    listener.accept(inbound)
  }

  return {
    prefix,
    transport: () => (components) => {
      nodes.set(components.peerId.toString(), components)
      return new NetworkTransport(components, pipes)
    },
    bytesReceived: (peerId) => received.get(peerId) ?? 0,
    totalBytesReceived: () => [...received.values()].reduce((a, b) => a + b, 0),
    linkCounters: () => [...links.values()].map((c) => ({ ...c })),
    acceptRemote,
    close: () => {
      nodes.clear()
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
