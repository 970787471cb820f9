import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import { openBlobStore } from '@provsync/blobs'
import { stopAll } from '@provsync/testing'
import type { Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { randomBytes, tempStores } from './helpers.js'
import { blobNode } from './nodes.js'

const stores = tempStores()
const nodes: Libp2p[] = []
const children: ChildProcess[] = []
afterEach(async () => {
  // The server holds nothing to flush (its store is the test's temp directory, removed after).
  for (const child of children.splice(0)) child.kill('SIGKILL')
  await stopAll(nodes, stores)
})
const KiB = 1024

/** Starts a server process over the store at `dir` and resolves its multiaddr. */
function serveInChild(dir: string, bytesPerSecond: number): Promise<string> {
  const tsconfig = fileURLToPath(new URL('../../../tsconfig.source.json', import.meta.url))
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./serve-child.ts', import.meta.url)),
      dir,
      String(bytesPerSecond),
    ],
    {
      env: { ...process.env, ...(existsSync(tsconfig) ? { TSX_TSCONFIG_PATH: tsconfig } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  children.push(child)
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000)
  })
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()))
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)))
  })
}

/**
 * Keeps this thread busy for `ms` in a callback of its own (as another node's apply or a checker's
 * snapshot holds a simulation thread): the next loop turn then runs its expired timers before it
 * reads the sockets. A stall inside an I/O callback would let the poll phase read first.
 */
function stallThread(ms: number): Promise<void> {
  return new Promise((resolve) =>
    setImmediate(() => {
      const end = performance.now() + ms
      while (performance.now() < end) {}
      resolve()
    }),
  )
}

describe('a fetching process whose thread stalls past its idle deadline', () => {
  it('reads the answer that arrived during the stall and blames nobody', async () => {
    const bytes = randomBytes(8192 * KiB, 9)
    const dir = stores.dir()
    const serverStore = await openBlobStore({ path: dir, noSync: true })
    const { ref } = await serverStore.put(bytes, { chunkSize: 16 * KiB })
    await serverStore.close()
    // The server (another process) sends 2 MiB/s (gaps of ~125 ms between its batches of 16
    // chunks), so the reader waits for frames throughout.
    const address = await serveInChild(dir, 2048 * KiB)
    const reader = await blobNode(await stores.open(), { limits: { idleTimeoutMs: 1_000 } })
    nodes.push(reader)
    const server = await reader.dial(multiaddr(address))

    const pieces: Uint8Array[] = []
    for await (const piece of reader.services.blobs.read(ref.id, { from: [server.remotePeer] })) {
      // Mid-fetch, this thread stalls for four idle deadlines while the server keeps answering.
      if (pieces.length === 1) await stallThread(4_000)
      pieces.push(piece)
    }
    expect(Buffer.concat(pieces).equals(Buffer.from(bytes))).toBe(true)
    expect(reader.services.blobs.offences(server.remotePeer)).toEqual({})
  }, 30_000)
})
