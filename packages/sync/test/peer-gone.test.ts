import { setTimeout as sleep } from 'node:timers/promises'
import { identify } from '@libp2p/identify'
import { type OffenceReason, type ProvsyncNode, RECONCILE_PROTOCOL } from '@provsync/sync'
import { loopbackTransport } from '@provsync/testing'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSigner, startNode, tempDirs, waitFor } from './helpers.js'

const dirs = tempDirs()
const trust = [generateSigner().publicKey]
let honest: ProvsyncNode
const offences: { peer: string; reason: OffenceReason; detail: string }[] = []
const raws: Libp2p[] = []

beforeAll(async () => {
  honest = await startNode({ dataDir: await dirs.make(), trust })
  honest.sync.addEventListener('peer:offence', ({ detail }) => {
    offences.push({ peer: detail.peer.toString(), reason: detail.reason, detail: detail.detail })
  })
})

afterAll(async () => {
  await Promise.allSettled(raws.map((r) => r.stop()))
  await honest.stop()
  await dirs.cleanup()
})

/** A libp2p node without provsync that opens a reconcile stream and never says hello. */
async function openSilentStream() {
  const raw = await createLibp2p({ ...(await loopbackTransport()), services: { identify: identify() } })
  raws.push(raw)
  await raw.dial(honest.multiaddrs()[0]!)
  // The session waits for hello; what ends it is up to each test.
  const stream = await raw.dialProtocol(honest.peerId, RECONCILE_PROTOCOL)
  return { raw, stream }
}

describe('a session whose stream ends before the message due', () => {
  it('is an offence when the peer closes the stream and stays connected', async () => {
    const { raw, stream } = await openSilentStream()
    await stream.close()
    await waitFor(() => offences.some((o) => o.peer === raw.peerId.toString()), 'the offence', 5000)
    expect(offences.find((o) => o.peer === raw.peerId.toString())).toMatchObject({
      reason: 'unexpected-message',
      detail: 'expected hello, got end of stream',
    })
  })

  it('is no offence when the peer goes away with its connection', async () => {
    const { raw } = await openSilentStream()
    await raw.stop()
    await waitFor(() => honest.libp2p.getConnections(raw.peerId).length === 0, 'the connection gone', 5000)
    await sleep(1500)
    expect(offences.filter((o) => o.peer === raw.peerId.toString())).toEqual([])
  })
})
