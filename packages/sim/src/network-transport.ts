/**
 * sim's memory transport: @libp2p/memory's addressing and connection life cycle (a listener per
 * `/memory/<name>` address, both ends of a connection made at the dial, the inbound end handed to
 * the listener's upgrader after one macrotask, just before the dial returns the outbound end), with
 * the ends built by the network so they shape what they send ({@link ShapedConnection}). The
 * listeners are the network's, not process-wide: a node of one network cannot dial another's.
 */
import { randomUUID } from 'node:crypto'
import {
  type ComponentLogger,
  type Connection,
  ConnectionFailedError,
  type CreateListenerOptions,
  type DialTransportOptions,
  ListenError,
  type Listener,
  type ListenerEvents,
  type PeerId,
  serviceCapabilities,
  type Transport,
  transportSymbol,
  type Upgrader,
} from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { multiaddr } from '@multiformats/multiaddr'
import { setMaxListeners, TypedEventEmitter } from 'main-event'
import type { ShapedConnection } from './shaped-connection.js'

/** The components libp2p gives a transport; the network reads the connection manager too. */
export interface NetworkTransportComponents {
  peerId: PeerId
  logger: ComponentLogger
  connectionManager?: { getConnections(): Connection[] }
}

/** What the transport needs from its network. */
export interface NetworkPipes {
  /** The listener at a `/memory/<name>` address. */
  readonly listeners: Map<string, NetworkListener>
  /**
   * Both ends of a new connection from `dialer` to the node listening at `address`: the dialer's
   * (outbound) end first.
   */
  pair(
    dialer: NetworkTransportComponents,
    listener: NetworkListener,
    address: string,
  ): [ShapedConnection, ShapedConnection]
  /** Notes the libp2p connection the dialer's upgrader built over its raw end. */
  upgraded(end: ShapedConnection, connection: Connection): void
  /**
   * The dialer's end of a connection to a node of another thread (networks split over threads),
   * or undefined when no node of the run has that address.
   */
  dialRemote?(dialer: NetworkTransportComponents, address: string): ShapedConnection | undefined
}

const isMemory = (ma: Multiaddr): boolean => {
  const [first, ...rest] = ma.getComponents()
  return first?.name === 'memory' && rest.length <= 1 && rest.every((c) => c.name === 'p2p')
}

export class NetworkListener extends TypedEventEmitter<ListenerEvents> implements Listener {
  readonly components: NetworkTransportComponents
  private readonly upgrader: Upgrader
  private readonly listeners: Map<string, NetworkListener>
  private readonly shutdown = new AbortController()
  private address: string | undefined
  /** Both ends of every connection made to this address, until they close. */
  private readonly ends = new Set<ShapedConnection>()

  constructor(
    components: NetworkTransportComponents,
    upgrader: Upgrader,
    listeners: Map<string, NetworkListener>,
  ) {
    super()
    this.components = components
    this.upgrader = upgrader
    this.listeners = listeners
    setMaxListeners(Infinity, this.shutdown.signal)
  }

  async listen(ma: Multiaddr): Promise<void> {
    const address = `/memory/${ma.getComponents()[0]?.value ?? randomUUID()}`
    if (this.listeners.has(address)) throw new ListenError(`Memory address ${address} already in use`)
    this.address = address
    this.listeners.set(address, this)
    queueMicrotask(() => this.safeDispatchEvent('listening'))
  }

  /** Keeps both ends of a connection to this address (closed with the listener). */
  track(...ends: ShapedConnection[]): void {
    for (const end of ends) {
      this.ends.add(end)
      end.addEventListener('close', () => this.ends.delete(end))
    }
  }

  /** The inbound end, upgraded by this node's libp2p. */
  accept(end: ShapedConnection): void {
    this.upgrader.upgradeInbound(end, { signal: this.shutdown.signal }).catch((err: Error) => end.abort(err))
  }

  getAddrs(): Multiaddr[] {
    return this.address === undefined ? [] : [multiaddr(this.address)]
  }

  updateAnnounceAddrs(): void {}

  async close(): Promise<void> {
    for (const end of [...this.ends]) end.abort(new ConnectionFailedError('Memory Connection closed'))
    if (this.address !== undefined && this.listeners.get(this.address) === this)
      this.listeners.delete(this.address)
    this.shutdown.abort()
    queueMicrotask(() => this.safeDispatchEvent('close'))
  }
}

/** A libp2p transport for one node of the network. */
export class NetworkTransport implements Transport {
  readonly [transportSymbol] = true
  readonly [Symbol.toStringTag] = '@provsync/sim:memory-network'
  /** What @libp2p/memory's transport declares, for services that look for a transport. */
  readonly [serviceCapabilities]: string[] = ['@libp2p/transport']
  private readonly components: NetworkTransportComponents
  private readonly pipes: NetworkPipes

  constructor(components: NetworkTransportComponents, pipes: NetworkPipes) {
    this.components = components
    this.pipes = pipes
  }

  async dial(ma: Multiaddr, options: DialTransportOptions): Promise<Connection> {
    options.signal.throwIfAborted()
    const hasPeer = ma.getComponents().some((c) => c.name === 'p2p')
    const address = (hasPeer ? ma.decapsulate('/p2p') : ma).toString()
    const listener = this.pipes.listeners.get(address)
    if (listener === undefined) {
      // The listener's thread sets up (or resets) the other end when the port reaches it.
      const outbound = this.pipes.dialRemote?.(this.components, address)
      if (outbound === undefined) throw new ConnectionFailedError(`No memory listener found at ${ma}`)
      return this.upgrade(outbound, options)
    }
    const [outbound, inbound] = this.pipes.pair(this.components, listener, address)
    try {
      // @libp2p/memory's dial waits its latency (0: one macrotask) before the listener sees the
      // connection; kept, so connection set-up interleaves with the nodes' timers as it did.
      await new Promise((resolve) => setTimeout(resolve, 0))
      options.signal.throwIfAborted()
    } catch (err) {
      outbound.abort(err as Error)
      inbound.abort(err as Error)
      throw err
    }
    listener.accept(inbound)
    return this.upgrade(outbound, options)
  }

  private async upgrade(outbound: ShapedConnection, options: DialTransportOptions): Promise<Connection> {
    try {
      options.signal.throwIfAborted()
      const connection = await options.upgrader.upgradeOutbound(outbound, options)
      this.pipes.upgraded(outbound, connection)
      return connection
    } catch (err) {
      outbound.abort(err as Error)
      throw err
    }
  }

  createListener(options: CreateListenerOptions): Listener {
    return new NetworkListener(this.components, options.upgrader, this.pipes.listeners)
  }

  listenFilter(addrs: Multiaddr[]): Multiaddr[] {
    return addrs.filter(isMemory)
  }

  dialFilter(addrs: Multiaddr[]): Multiaddr[] {
    return addrs.filter(isMemory)
  }
}
