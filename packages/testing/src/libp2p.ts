import type { PrivateKey } from '@libp2p/interface'
import type { ProvsyncServiceInit } from '@provsync/sync'

export interface ProvsyncLibp2pOptions {
  /** The node's key; a new Ed25519 key when absent. */
  privateKey?: PrivateKey
  /**
   * Where it listens.
   * @default ['/ip4/127.0.0.1/tcp/0']
   */
  listen?: string[]
}

/**
 * The libp2p stack provsync runs on (TCP, noise, yamux, identify, gossipsub) with the service
 * `provsync(init)` added: for tests and benches that hand the service a state of their own
 * (recording, slow, discarding) instead of the one `createNode` opens. The libp2p modules load
 * on the first call.
 */
export async function createLibp2pWithProvsync(
  init: ProvsyncServiceInit,
  options: ProvsyncLibp2pOptions = {},
) {
  const [{ noise }, { yamux }, { gossipsub }, { identify }, { tcp }, { provsync }, { createLibp2p }] =
    await Promise.all([
      import('@chainsafe/libp2p-noise'),
      import('@chainsafe/libp2p-yamux'),
      import('@libp2p/gossipsub'),
      import('@libp2p/identify'),
      import('@libp2p/tcp'),
      import('@provsync/sync'),
      import('libp2p'),
    ])
  return createLibp2p({
    ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
    addresses: { listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub(), provsync: provsync(init) },
  })
}

/** A libp2p node carrying the provsync service, as {@link createLibp2pWithProvsync} returns it. */
export type ProvsyncLibp2p = Awaited<ReturnType<typeof createLibp2pWithProvsync>>
