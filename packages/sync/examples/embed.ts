/**
 * The provsync service inside a libp2p node you compose yourself: add it next to identify and
 * gossipsub. Run with `npx tsx packages/sync/examples/embed.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { generateSigner, openNodeState } from '@provsync/crdt'
import { loadOrCreateIdentity, privateKeySeed, provsync } from '@provsync/sync'
import { createLibp2p } from 'libp2p'

async function embeddedNode(dataDir: string, trust: Uint8Array[]) {
  const privateKey = await loadOrCreateIdentity(dataDir) // the libp2p key is also the asserter key
  const state = await openNodeState({
    dataDir,
    networkId: 'example-net',
    trust,
    seed: privateKeySeed(privateKey),
  })
  const libp2p = await createLibp2p({
    privateKey,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub(),
      provsync: provsync({ state, trust, antiEntropy: { intervalMs: 5_000 } }),
    },
  })
  return { libp2p, state }
}

export async function main(): Promise<string> {
  const trust = [generateSigner().publicKey]
  const dirs = [await mkdtemp(join(tmpdir(), 'embed-a-')), await mkdtemp(join(tmpdir(), 'embed-b-'))]
  const a = await embeddedNode(dirs[0]!, trust)
  const b = await embeddedNode(dirs[1]!, trust)
  try {
    const coordinate = { volume: 'db', destination: 'standby', origin: 'primary' }
    a.state.advanceVerified(coordinate, 7n)
    await b.libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
    const report = await b.libp2p.services.provsync.syncWith(a.libp2p.peerId) // or wait for gossip
    return `b pulled ${report.pulled} record(s), applied ${report.applied}; run ${b.state.view.get(coordinate)?.run}`
  } finally {
    await Promise.all([a.libp2p.stop(), b.libp2p.stop()])
    await Promise.all([a.state.close(), b.state.close()])
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(await main())
