import type { PrivateKey } from '@libp2p/interface'
import type { MuxerInit } from '@provsync/mux'
import type { ProvsyncServiceInit } from '@provsync/sync'
import type { Libp2pOptions } from 'libp2p'

/** The transport half of a libp2p config. */
export type TransportConfig = Required<
  Pick<Libp2pOptions, 'addresses' | 'transports' | 'connectionEncrypters' | 'streamMuxers'>
>

export interface LoopbackTransportOptions {
  /**
   * Where the node listens.
   * @default ['/ip4/127.0.0.1/tcp/0']
   */
  listen?: string[]
  /**
   * Options of the yamux muxer (e.g. a larger `streamOptions.maxWriteBufferLength`).
   * @default {}
   */
  yamux?: MuxerInit
  /**
   * Which yamux: provsync's own (`@provsync/mux`) or `@chainsafe/libp2p-yamux` (a node of a
   * release before session 13), for interop tests.
   * @default 'provsync'
   */
  streamMuxer?: 'provsync' | 'chainsafe'
}

/**
 * The transport half of a libp2p config as provsync runs it: TCP on 127.0.0.1, noise, yamux
 * (`@provsync/mux`).
 * Spread it into `createLibp2p({ ...await loopbackTransport(), services })`. The libp2p modules
 * load on the first call, so suites without libp2p never load them.
 */
export async function loopbackTransport(options: LoopbackTransportOptions = {}): Promise<TransportConfig> {
  const [{ noise }, { tcp }] = await Promise.all([import('@chainsafe/libp2p-noise'), import('@libp2p/tcp')])
  const streamMuxer =
    options.streamMuxer === 'chainsafe'
      ? (await import('@chainsafe/libp2p-yamux')).yamux(options.yamux)
      : (await import('@provsync/mux')).muxer(options.yamux)
  return {
    addresses: { listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [streamMuxer],
  }
}

export interface ProvsyncLibp2pOptions extends LoopbackTransportOptions {
  /** The node's key; a new Ed25519 key when absent. */
  privateKey?: PrivateKey
}

/**
 * {@link loopbackTransport} with identify, gossipsub and the service `provsync(init)`: for tests
 * and benches that hand the service a state of their own (recording, slow, discarding) instead of
 * the one `createNode` opens.
 */
export async function createLibp2pWithProvsync(
  init: ProvsyncServiceInit,
  options: ProvsyncLibp2pOptions = {},
) {
  const [{ gossipsub }, { identify }, { provsync }, { createLibp2p }] = await Promise.all([
    import('@libp2p/gossipsub'),
    import('@libp2p/identify'),
    import('@provsync/sync'),
    import('libp2p'),
  ])
  return createLibp2p({
    ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
    ...(await loopbackTransport(options)),
    services: { identify: identify(), pubsub: gossipsub(), provsync: provsync(init) },
  })
}

/** A libp2p node carrying the provsync service, as {@link createLibp2pWithProvsync} returns it. */
export type ProvsyncLibp2p = Awaited<ReturnType<typeof createLibp2pWithProvsync>>
