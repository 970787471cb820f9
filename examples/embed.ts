/**
 * embed: adding the provsync service to a libp2p node your program already runs.
 *
 * A service that already has a libp2p node (here: TCP + noise + yamux, identify and gossipsub,
 * which provsync needs for head announcements) opens its provsync stores with the node's own key,
 * so the peer id and the asserter key are one identity, and adds `provsync(...)` to `services`.
 * Two such nodes then converge on their own: one records that it verified a transfer, the other
 * sees the assertion arrive, with its provenance.
 *
 * Run: npx tsx examples/embed.ts
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { openNodeState } from '@provsync/crdt'
import { privateKeySeed, provsync } from '@provsync/sync'
import { waitFor } from '@provsync/testing'
import { createLibp2p } from 'libp2p'

const NETWORK = 'embed-example'
const coordinate = { volume: 'db', destination: 'replica-2', origin: 'primary' }

async function startEmbedded(dataDir: string) {
  // Your node's key, however your program keeps it; provsync signs with the same key.
  const privateKey = await generateKeyPair('Ed25519')
  const state = await openNodeState({
    dataDir,
    networkId: NETWORK,
    trust: [],
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
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }),
      // The one line that embeds provsync: it syncs `state` with every peer of the same network.
      provsync: provsync({ state, trust: [], announce: { debounceMs: 20 } }),
    },
  })
  return { libp2p, state }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'provsync-embed-'))
  const a = await startEmbedded(join(dir, 'a'))
  const b = await startEmbedded(join(dir, 'b'))
  try {
    await b.libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
    a.state.advanceVerified(coordinate, 7n, { method: 'checksum' })
    console.log(`a (${a.libp2p.peerId}) verified run 7 of db/replica-2/primary`)
    await waitFor(() => b.state.view.get(coordinate)?.run === 7n, 'b to see run 7', 10_000)

    const component = b.state.view.get(coordinate)!
    const from =
      component.provenance.type === 'asserted' ? Buffer.from(component.provenance.asserter) : undefined
    const aKey = Buffer.from(a.state.publicKey)
    console.log(
      `b (${b.libp2p.peerId}) sees run ${component.run}, asserted by a: ${from?.equals(aKey) === true}`,
    )
    console.log(`b's gate for run 7: ${b.state.gate(coordinate, 7n).reason}`)
  } finally {
    // Stop libp2p first (it stops the provsync service), then close the stores.
    for (const node of [a, b]) {
      await node.libp2p.stop()
      await node.state.close()
    }
    await rm(dir, { recursive: true, force: true })
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`embed FAILED: ${err.message}`)
    process.exit(1)
  },
)
