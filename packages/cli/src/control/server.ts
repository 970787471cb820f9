import { chmod, lstat, mkdir, unlink } from 'node:fs/promises'
import { createConnection, createServer, type Socket } from 'node:net'
import { logger } from '@libp2p/logger'
import { ControlProtocolError, NodeRunningError } from '../errors.js'
import {
  type ControlReply,
  type ControlRequest,
  controlSocketPath,
  encodeLine,
  lineReader,
  type ProgressEvent,
  parseRequest,
} from './protocol.js'

/** `DEBUG=provsync:cli*`: each control request the node answers, with its time (operators' lines stay on the CLI's own log). */
const log = logger('provsync:cli:control')

/** Answers one request; progress goes out as it happens, the return value is the result. */
export type ControlHandler = (
  request: ControlRequest,
  context: { progress(event: ProgressEvent): void; signal: AbortSignal },
) => Promise<unknown>

export interface ControlServer {
  readonly path: string
  close(): Promise<void>
}

/**
 * Listens on `<dataDir>/control.sock`, readable and writable by the owner only. A socket file left
 * by a crashed node is replaced; one that still answers means a node owns the directory, and
 * starting a second one on the same LMDB environment is refused.
 */
export async function serveControl(dataDir: string, handler: ControlHandler): Promise<ControlServer> {
  const path = controlSocketPath(dataDir)
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  await removeStaleSocket(path, dataDir)
  const connections = new Set<Socket>()
  const server = createServer((socket) => {
    connections.add(socket)
    socket.on('close', () => connections.delete(socket))
    serveConnection(socket, handler)
  })
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen)
    server.listen(path, () => {
      server.off('error', rejectListen)
      resolveListen()
    })
  })
  await chmod(path, 0o600)
  // Accept failures (EMFILE, ...) concern one would-be client; the node keeps running.
  server.on('error', () => {})
  let closed = false
  return {
    path,
    async close() {
      if (closed) return
      closed = true
      const done = new Promise<void>((r) => server.close(() => r()))
      for (const socket of connections) socket.destroy()
      await done
      await unlink(path).catch(() => {})
    },
  }
}

async function removeStaleSocket(path: string, dataDir: string): Promise<void> {
  const stat = await lstat(path).catch(() => undefined)
  if (stat === undefined) return
  if (!stat.isSocket()) {
    throw new ControlProtocolError(`${path} exists and is not a socket; move it away before starting a node`)
  }
  if (await answers(path)) throw new NodeRunningError(dataDir)
  await unlink(path)
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const socket = createConnection(path)
    socket.once('connect', () => {
      socket.destroy()
      resolveProbe(true)
    })
    socket.once('error', () => resolveProbe(false))
  })
}

const MAX_PENDING = 64

function serveConnection(socket: Socket, handler: ControlHandler): void {
  const aborter = new AbortController()
  socket.on('close', () => aborter.abort(new Error('control connection closed')))
  // A client that vanished mid-reply must not take the node down with an EPIPE.
  socket.on('error', () => socket.destroy())
  const send = (reply: ControlReply): void => {
    if (!socket.destroyed && socket.writable) socket.write(encodeLine(reply))
  }
  // Requests on one connection are answered in order, one at a time; a client that pipelines
  // more than MAX_PENDING without reading the answers is cut off instead of queueing without end.
  let queue = Promise.resolve()
  let pending = 0
  let refused = false
  const refuse = (err: unknown): void => {
    log('closing a control connection - %s', describe(err).message)
    refused = true
    send({ id: null, error: describe(err) })
    socket.end()
  }
  const onLine = (line: string): void => {
    if (refused || line.trim() === '') return
    if (++pending > MAX_PENDING) {
      refuse(new ControlProtocolError(`more than ${MAX_PENDING} requests pending`))
      return
    }
    let request: ControlRequest
    try {
      request = parseRequest(line)
    } catch (err) {
      refuse(err)
      return
    }
    queue = queue.then(async () => {
      if (aborter.signal.aborted) return
      const startedMs = Date.now()
      try {
        const result = await handler(request, {
          progress: (event) => send({ id: request.id, progress: event }),
          signal: aborter.signal,
        })
        send({ id: request.id, result: result ?? null })
        log('%s answered in %d ms', request.method, Date.now() - startedMs)
      } catch (err) {
        send({ id: request.id, error: describe(err) })
        log('%s failed in %d ms - %s', request.method, Date.now() - startedMs, describe(err).message)
      } finally {
        pending--
      }
    })
  }
  socket.on('data', lineReader(onLine, refuse))
}

function describe(err: unknown): { name: string; message: string } {
  if (err instanceof Error) return { name: err.name, message: err.message }
  return { name: 'Error', message: String(err) }
}
