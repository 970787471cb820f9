import { loopbackTransport, type TransportConfig } from '@provsync/testing'

export const PLAIN_PROTOCOL = '/provsync-bench/plain/1.0.0'

/** TCP + noise + yamux on loopback, as the tests and a provsync node use them. */
export function benchNodeOptions(): Promise<TransportConfig> {
  return loopbackTransport({ yamux: { streamOptions: { maxWriteBufferLength: 4 * 1024 * 1024 } } })
}
