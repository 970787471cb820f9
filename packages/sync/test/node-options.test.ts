import type { PeerId } from '@libp2p/interface'
import { sleep, TestNodes } from '@provsync/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { generateSigner, NETWORK, startNode, tempDirs, waitFor } from './helpers.js'

const trust = [generateSigner().publicKey]
const nodes = new TestNodes({ networkId: NETWORK, trust }, tempDirs())
afterEach(() => nodes.cleanup())

const node = (libp2p?: Parameters<typeof startNode>[0]['libp2p']) =>
  nodes.start(libp2p === undefined ? {} : { libp2p })

describe('createNode libp2p options', () => {
  it("asks the caller's connection gater after its own", async () => {
    const refused: string[] = []
    let deny: PeerId | undefined
    const gated = await node({
      connectionGater: {
        denyInboundEncryptedConnection: (peer) => {
          const denied = deny?.equals(peer) === true
          if (denied) refused.push(peer.toString())
          return denied
        },
      },
    })
    const outsider = await node()
    const friend = await node()
    deny = outsider.peerId
    // The dialer may finish its side of the handshake before the listener's gater runs, so the
    // refusal shows as the listener dropping the connection.
    await outsider.dial(gated.multiaddrs()[0]!).catch(() => {})
    await friend.dial(gated.multiaddrs()[0]!)
    await waitFor(() => refused.length > 0, 'the gater refusing the outsider', 5000)
    await waitFor(
      () => outsider.libp2p.getConnections(gated.peerId).length === 0,
      'the refused connection closing',
      5000,
    )
    await waitFor(() => gated.libp2p.getConnections(friend.peerId).length > 0, 'the friend admitted', 5000)
    expect(refused).toEqual([outsider.peerId.toString()])
    expect(gated.libp2p.getConnections(outsider.peerId)).toHaveLength(0)
  })

  it('still refuses a peer its service blocked when the caller allows everyone', async () => {
    let asked = 0
    const gated = await node({
      connectionGater: {
        denyInboundEncryptedConnection: () => {
          asked++
          return false
        },
      },
    })
    const peer = await node()
    await peer.dial(gated.multiaddrs()[0]!)
    await waitFor(() => asked === 1, 'the caller gater being asked', 5000)
    await gated.libp2p.hangUp(peer.peerId)
    // Offences past the threshold block the peer; the node's gater then refuses it first.
    const service = (
      gated.sync as unknown as {
        offenceAccounting: { offend(peer: PeerId, reason: string, detail: string): void }
      }
    ).offenceAccounting
    for (let i = 0; i < 100 && !gated.sync.isBlocked(peer.peerId); i++)
      service.offend(peer.peerId, 'malformed-frame', 'test')
    expect(gated.sync.isBlocked(peer.peerId)).toBe(true)
    await peer.dial(gated.multiaddrs()[0]!).catch(() => {})
    await waitFor(
      () => peer.libp2p.getConnections(gated.peerId).length === 0,
      'the blocked peer cut off',
      5000,
    )
    // Refused by the node's own gater: the caller's was not asked again.
    expect(asked).toBe(1)
    expect(gated.libp2p.getConnections(peer.peerId)).toHaveLength(0)
  })

  it('takes connection manager settings', async () => {
    const limited = await node({ connectionManager: { maxConnections: 1 } })
    const first = await node()
    const second = await node()
    await first.dial(limited.multiaddrs()[0]!)
    await second.dial(limited.multiaddrs()[0]!).catch(() => {})
    await sleep(200)
    expect(limited.libp2p.getConnections().length).toBeLessThanOrEqual(1)
  })
})

describe('createNode extra services', () => {
  it('starts and stops an extra service with the node, built from its state and registry', async () => {
    const events: string[] = []
    let seen: { publicKey: Uint8Array; registry: unknown } | undefined
    const started = await startNode({
      dataDir: await nodes.dirs.make(),
      trust,
      services: ({ state, registry }) => {
        seen = { publicKey: state.publicKey, registry }
        return {
          probe: () => ({
            start: () => void events.push('start'),
            stop: () => void events.push('stop'),
          }),
        }
      },
    })
    expect(seen?.publicKey).toEqual(started.publicKey)
    expect(started.libp2p.services.probe).toBeDefined()
    expect(events).toEqual(['start'])
    await started.stop()
    expect(events).toEqual(['start', 'stop'])
  })

  it('refuses an extra service that takes a reserved name, and releases what it opened', async () => {
    const dataDir = await nodes.dirs.make()
    await expect(startNode({ dataDir, trust, services: () => ({ provsync: () => ({}) }) })).rejects.toThrow(
      'createNode: service name "provsync" is reserved',
    )
    // the stores were closed: a second start on the same directory succeeds
    await nodes.start({ dataDir })
  })
})
