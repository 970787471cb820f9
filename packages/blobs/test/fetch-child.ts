/**
 * A child process that reads a blob from a peer and prints the bytes it has so far after each
 * piece, so the parent can SIGKILL it in the middle of the fetch. Args: store dir, server
 * multiaddr, blob id (hex).
 */
import { multiaddr } from '@multiformats/multiaddr'
import { openBlobStore, parseBlobId } from '@provsync/blobs'
import { blobNode } from './nodes.js'

const [dir, address, idHex] = process.argv.slice(2) as [string, string, string]
const store = await openBlobStore({ path: dir, noSync: true })
const node = await blobNode(store)
const server = await node.dial(multiaddr(address))
let bytes = 0
for await (const piece of node.services.blobs.read(parseBlobId(idHex), { from: [server.remotePeer] })) {
  bytes += piece.byteLength
  process.stdout.write(`${bytes}\n`)
}
process.stdout.write('done\n')
await node.stop()
await store.close()
