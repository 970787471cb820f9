import { spawn } from 'node:child_process'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CONTROL_SOCKET,
  type ControlServer,
  callNode,
  NodeRunningError,
  NoNodeError,
  RequestFailedError,
  serveControl,
} from '@provsync/cli'
import { sleep } from '@provsync/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

let dir: string
const servers: ControlServer[] = []

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'provsync-control-'))
})

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
  await rm(dir, { recursive: true, force: true })
})

/** A process that bound the socket and was killed with SIGKILL: the socket file stays behind. */
async function crashedListener(path: string): Promise<void> {
  const child = spawn(process.execPath, [
    '-e',
    `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`,
  ])
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
  child.kill('SIGKILL')
  await new Promise((resolve) => child.once('exit', resolve))
  expect((await stat(path)).isSocket()).toBe(true)
}

async function serve(handler: Parameters<typeof serveControl>[1]): Promise<ControlServer> {
  const server = await serveControl(dir, handler)
  servers.push(server)
  return server
}

/** Sends raw text on the socket and collects what comes back until the server ends the connection. */
function raw(path: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path)
    let out = ''
    socket.on('connect', () => socket.write(text))
    socket.on('data', (d) => {
      out += d.toString()
    })
    socket.on('end', () => resolve(out))
    socket.on('error', reject)
  })
}

describe('control channel', () => {
  it('answers a request with progress then the result', async () => {
    await serve(async (request, { progress }) => {
      progress({ stage: 'counting', done: 1, total: 2 })
      progress({ stage: 'counting', done: 2, total: 2 })
      return { method: request.method, params: request.params }
    })
    const events: unknown[] = []
    const result = await callNode(dir, 'echo', { a: 1 }, { onProgress: (e) => events.push(e) })
    expect(result).toEqual({ method: 'echo', params: { a: 1 } })
    expect(events).toEqual([
      { stage: 'counting', done: 1, total: 2 },
      { stage: 'counting', done: 2, total: 2 },
    ])
  })

  it('passes a handler error back as a RequestFailedError with the remote class name', async () => {
    class WidgetError extends Error {
      override name = 'WidgetError'
    }
    await serve(async () => {
      throw new WidgetError('no widgets here')
    })
    const err = await callNode(dir, 'x', {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RequestFailedError)
    expect(err).toMatchObject({ remoteName: 'WidgetError', message: 'no widgets here' })
  })

  it('gives up on a node that stays silent, and not on one that reports progress', async () => {
    await serve(async (request, { progress }) => {
      for (let i = 0; i < 8; i++) {
        await sleep(100)
        if (request.method === 'chatty') progress({ stage: 'working', done: i })
      }
      return 'done'
    })
    await expect(callNode(dir, 'silent', {}, { idleTimeoutMs: 500 })).rejects.toThrow(
      'did not answer within 0.5 s',
    )
    expect(await callNode(dir, 'chatty', {}, { idleTimeoutMs: 500 })).toBe('done')
  })

  it('keeps the socket private to its owner', async () => {
    const server = await serve(async () => null)
    expect((await stat(server.path)).mode & 0o777).toBe(0o600)
  })

  it('says no node runs when there is no socket, or only a stale one', async () => {
    await expect(callNode(join(dir, 'nowhere'), 'status', {})).rejects.toBeInstanceOf(NoNodeError)
    await crashedListener(join(dir, CONTROL_SOCKET))
    const err = await callNode(dir, 'status', {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NoNodeError)
    expect((err as Error).message).toContain(`no node running at ${dir}`)
  })

  it('replaces a stale socket but refuses to start next to a live one', async () => {
    await crashedListener(join(dir, CONTROL_SOCKET))
    const live = await serve(async () => 'first')
    expect(await callNode(dir, 'x', {})).toBe('first')
    await expect(serveControl(dir, async () => 'second')).rejects.toBeInstanceOf(NodeRunningError)
    expect(await callNode(dir, 'x', {})).toBe('first')
    await live.close()
    await expect(callNode(dir, 'x', {})).rejects.toBeInstanceOf(NoNodeError)
  })

  it('refuses to replace a file that is not a socket', async () => {
    await writeFile(join(dir, CONTROL_SOCKET), 'precious')
    await expect(serveControl(dir, async () => null)).rejects.toThrow('is not a socket')
  })

  it('answers a malformed line with an error and keeps serving others', async () => {
    const server = await serve(async () => 'ok')
    const reply = await raw(server.path, 'not json\n')
    expect(JSON.parse(reply)).toEqual({
      id: null,
      error: { name: 'ControlProtocolError', message: expect.any(String) },
    })
    expect(await callNode(dir, 'x', {})).toBe('ok')
  })

  it('cuts off a client that pipelines too many requests, and keeps serving others', async () => {
    let release = (): void => {}
    const gate = new Promise<void>((r) => {
      release = r
    })
    const server = await serve(async () => {
      await gate
      return 'ok'
    })
    const lines = Array.from({ length: 100 }, (_, i) => `{"id":${i + 1},"method":"x"}\n`).join('')
    const reply = await raw(server.path, lines)
    expect(reply).toContain(
      '"error":{"name":"ControlProtocolError","message":"more than 64 requests pending"}',
    )
    release()
    expect(await callNode(dir, 'x', {})).toBe('ok')
  })

  it('answers requests on one connection in order', async () => {
    const server = await serve(async (request) => {
      await sleep(request.id === 1 ? 30 : 0)
      return request.id
    })
    const text = await new Promise<string>((resolve, reject) => {
      const socket = createConnection(server.path)
      let out = ''
      socket.on('connect', () => socket.write('{"id":1,"method":"a"}\n{"id":2,"method":"b"}\n'))
      socket.on('data', (d) => {
        out += d.toString()
        if (out.split('\n').length > 2) {
          socket.end()
          resolve(out)
        }
      })
      socket.on('error', reject)
    })
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).result),
    ).toEqual([1, 2])
  })
})
