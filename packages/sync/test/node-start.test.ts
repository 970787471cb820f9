import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:net'
import { fileURLToPath } from 'node:url'
import { AddressInUseError } from '@provsync/sync'
import { afterEach, describe, expect, it } from 'vitest'
import { generateSigner, startNode, tempDirs } from './helpers.js'

const dirs = tempDirs()
const servers: Server[] = []
const trust = [generateSigner().publicKey]

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
  await dirs.cleanup()
})

/** A TCP port held by a plain server on 127.0.0.1 (closed after the test). */
async function takenPort(): Promise<number> {
  const server = createServer()
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as { port: number }).port
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

function canListen(port: number): Promise<boolean> {
  const server = createServer()
  return new Promise((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

describe('createNode start-up failures', () => {
  it('names the P2P address in use with a typed error', async () => {
    const port = await takenPort()
    const started = startNode({ dataDir: await dirs.make(), trust, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    const err = await started.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(AddressInUseError)
    expect((err as AddressInUseError).address).toBe(`/ip4/127.0.0.1/tcp/${port}`)
  })

  it('releases its listener when the metrics port is taken', async () => {
    const metricsPort = await takenPort()
    const p2pPort = await freePort()
    const started = startNode({
      dataDir: await dirs.make(),
      trust,
      listen: [`/ip4/127.0.0.1/tcp/${p2pPort}`],
      metricsPort,
    })
    const err = await started.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(AddressInUseError)
    expect((err as AddressInUseError).address).toBe(`127.0.0.1:${metricsPort}`)
    expect(await canListen(p2pPort)).toBe(true)
  })

  it('lets the process exit after a failed start: nothing it opened stays open', async () => {
    const metricsPort = await takenPort()
    const p2pPort = await freePort()
    const script = fileURLToPath(new URL('./fixtures/failed-start.ts', import.meta.url))
    const child = spawn(process.execPath, ['--import', 'tsx', script, String(metricsPort), String(p2pPort)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    // The child returns right after printing: it exits only if no listener or store is left open.
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.once('exit', (c, s) => resolve([c, s])),
    )
    clearTimeout(killer)
    expect(JSON.parse(out.trim())).toEqual({ name: 'AddressInUseError', address: `127.0.0.1:${metricsPort}` })
    expect(signal).toBeNull()
    expect(code).toBe(0)
  })
})
