import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'

export const PLAIN_PROTOCOL = '/provsync-bench/plain/1.0.0'

/** TCP + noise + yamux on loopback, as the tests and a provsync node use them. */
export function benchNodeOptions() {
  return {
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ streamOptions: { maxWriteBufferLength: 4 * 1024 * 1024 } })],
  }
}
