import { existsSync } from 'node:fs'
import { createConnection } from 'node:net'
import { ControlProtocolError, NoNodeError, RequestFailedError } from '../errors.js'
import {
  type ControlReply,
  controlSocketPath,
  encodeLine,
  lineReader,
  type ProgressEvent,
  parseReply,
} from './protocol.js'

export interface CallOptions {
  onProgress?: (event: ProgressEvent) => void
  signal?: AbortSignal
  /** Longest silence from the node (no progress, no answer) before giving up; default 30 s. */
  idleTimeoutMs?: number
}

export const DEFAULT_IDLE_TIMEOUT_MS = 30_000

const NO_LISTENER = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'ENOTDIR'])

/**
 * Sends one request to the node that owns `dataDir` and resolves with its result. A missing or
 * stale socket is a {@link NoNodeError}; an error the node answered is a {@link RequestFailedError}.
 */
export function callNode(
  dataDir: string,
  method: string,
  params: unknown,
  options: CallOptions = {},
): Promise<unknown> {
  const path = controlSocketPath(dataDir)
  if (!existsSync(path)) return Promise.reject(new NoNodeError(dataDir))
  return new Promise((resolveCall, rejectCall) => {
    const socket = createConnection(path)
    let settled = false
    const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
    socket.setTimeout(idleMs, () =>
      settle(new ControlProtocolError(`the node at ${dataDir} did not answer within ${idleMs / 1000} s`)),
    )
    const settle = (err: Error | undefined, result?: unknown): void => {
      if (settled) return
      settled = true
      options.signal?.removeEventListener('abort', onAbort)
      socket.destroy()
      if (err !== undefined) rejectCall(err)
      else resolveCall(result)
    }
    const onAbort = (): void => settle(options.signal?.reason ?? new Error('aborted'))
    if (options.signal?.aborted) return onAbort()
    options.signal?.addEventListener('abort', onAbort, { once: true })

    socket.once('connect', () => socket.write(encodeLine({ id: 1, method, params })))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      settle(NO_LISTENER.has(err.code ?? '') ? new NoNodeError(dataDir) : err)
    })
    socket.on('close', () =>
      settle(
        new ControlProtocolError(`the node at ${dataDir} closed the control connection without answering`),
      ),
    )
    socket.on(
      'data',
      lineReader(
        (line) => {
          let reply: ControlReply
          try {
            reply = parseReply(line)
          } catch (err) {
            return settle(err as Error)
          }
          if ('error' in reply) return settle(new RequestFailedError(reply.error.name, reply.error.message))
          if (reply.id !== 1) return
          if ('progress' in reply) options.onProgress?.(reply.progress)
          else settle(undefined, reply.result)
        },
        (err) => settle(err),
      ),
    )
  })
}
