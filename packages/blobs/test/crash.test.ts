import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import { toHex } from '@provsync/blobs'
import { stopAll } from '@provsync/testing'
import type { Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { collect, randomBytes, tempStores } from './helpers.js'
import { blobNode } from './nodes.js'

const stores = tempStores()
const nodes: Libp2p[] = []
afterEach(() => stopAll(nodes, stores))
const KiB = 1024

/** Starts the fetching child and resolves once it has read at least `killAt` bytes, then SIGKILLs it. */
function fetchInChildAndKill(dir: string, address: string, id: string, killAt: number): Promise<number> {
  const tsconfig = fileURLToPath(new URL('../../../tsconfig.source.json', import.meta.url))
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./fetch-child.ts', import.meta.url)), dir, address, id],
    {
      env: { ...process.env, ...(existsSync(tsconfig) ? { TSX_TSCONFIG_PATH: tsconfig } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000)
  })
  return new Promise((resolve, reject) => {
    let seen = 0
    child.stdout.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (line === 'done') reject(new Error('the child finished before it was killed'))
        const n = Number(line)
        if (line !== '' && Number.isFinite(n)) seen = Math.max(seen, n)
      }
      if (seen >= killAt && child.exitCode === null) child.kill('SIGKILL')
    })
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(seen)
      else reject(new Error(`child exited ${code}: ${stderr}`))
    })
  })
}

describe('a fetch killed with SIGKILL', () => {
  it('resumes where it stopped and returns exactly the blob', async () => {
    const bytes = randomBytes(2048 * KiB, 42)
    const server = await stores.open()
    const { ref } = await server.put(bytes, { chunkSize: 16 * KiB })
    // A slow server (256 KiB/s to each peer) keeps the child mid-fetch when it is killed.
    const serverNode = await blobNode(server, { limits: { bytesPerPeerPerSecond: 256 * KiB } })
    nodes.push(serverNode)
    const dir = stores.dir()
    const address = serverNode.getMultiaddrs()[0]!.toString()
    const seen = await fetchInChildAndKill(dir, address, toHex(ref.id), 1024 * KiB)
    expect(seen).toBeLessThan(bytes.byteLength)

    const served = async (): Promise<number> => {
      const text = await serverNode.services.blobs.metrics.registry.metrics()
      return Number(
        text
          .split('\n')
          .find((l) => l.startsWith('provsync_blob_served_bytes_total'))!
          .split(' ')[1],
      )
    }
    const servedBeforeResume = await served()
    const store = await stores.open({ path: dir })
    const held = store.status(ref.id).held
    // Every chunk the child had read was verified; all but the batch arriving (gathered into one
    // write) and the batch being written were in place, recorded or adopted at open.
    expect(held * 16 * KiB).toBeGreaterThanOrEqual(seen - 2 * 16 * 16 * KiB)
    expect(held).toBeGreaterThan(0)
    const reader = await blobNode(store)
    nodes.push(reader)
    await reader.dial(multiaddr(address))
    const got = await collect(reader.services.blobs.read(ref.id))
    expect(got.equals(Buffer.from(bytes))).toBe(true)
    // Only what the child had not stored was fetched again.
    expect((await served()) - servedBeforeResume).toBe(bytes.byteLength - held * 16 * KiB)
  })
})
