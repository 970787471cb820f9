/**
 * A child process that serves the blob store at `dir` (args: store dir, bytes per peer per second)
 * and prints its multiaddr, so a test can stall its own thread while this process keeps answering.
 * The test ends it with SIGKILL.
 */
import { openBlobStore } from '@provsync/blobs'
import { blobNode } from './nodes.js'

const [dir, rate] = process.argv.slice(2) as [string, string]
const store = await openBlobStore({ path: dir, noSync: true })
const node = await blobNode(store, { limits: { bytesPerPeerPerSecond: Number(rate) } })
process.stdout.write(`${node.getMultiaddrs()[0]!.toString()}\n`)
