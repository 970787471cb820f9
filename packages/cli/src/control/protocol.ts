import { join, resolve } from 'node:path'
import { ControlProtocolError } from '../errors.js'

/**
 * The control channel: newline-delimited JSON over a Unix socket in the node's data directory.
 * A client writes one request per line; the node answers with any number of progress lines and
 * then exactly one result or error line carrying the same id.
 */
export const CONTROL_SOCKET = 'control.sock'

/** Longest line either side accepts; requests are small, replies list at most a page of entries. */
export const MAX_LINE_BYTES = 4 * 1024 * 1024

// sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
export const MAX_SOCKET_PATH_BYTES = 107

export interface ControlRequest {
  readonly id: number
  readonly method: string
  readonly params?: unknown
}

export interface ProgressEvent {
  readonly stage: string
  readonly done: number
  readonly total?: number
}

export type ControlReply =
  | { readonly id: number; readonly progress: ProgressEvent }
  | { readonly id: number; readonly result: unknown }
  | { readonly id: number | null; readonly error: { readonly name: string; readonly message: string } }

export function controlSocketPath(dataDir: string): string {
  const path = join(resolve(dataDir), CONTROL_SOCKET)
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new ControlProtocolError(
      `control socket path ${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes; use a shorter --data-dir`,
    )
  }
  return path
}

/**
 * Splits a byte stream into lines. A line longer than `maxBytes` is a protocol error (the peer is
 * broken or hostile), reported once through `onError`; nothing after it is delivered.
 */
export function lineReader(
  onLine: (line: string) => void,
  onError: (err: ControlProtocolError) => void,
  maxBytes: number = MAX_LINE_BYTES,
): (chunk: Uint8Array) => void {
  let pending: Buffer[] = []
  let pendingBytes = 0
  let failed = false
  return (chunk) => {
    if (failed) return
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    let newline = data.indexOf(0x0a)
    while (newline !== -1) {
      const head = data.subarray(0, newline)
      if (pendingBytes + head.byteLength > maxBytes) return fail()
      const line = Buffer.concat([...pending, head]).toString('utf8')
      pending = []
      pendingBytes = 0
      data = data.subarray(newline + 1)
      onLine(line)
      if (failed) return
      newline = data.indexOf(0x0a)
    }
    if (pendingBytes + data.byteLength > maxBytes) return fail()
    if (data.byteLength > 0) {
      pending.push(Buffer.from(data))
      pendingBytes += data.byteLength
    }
  }
  function fail(): void {
    failed = true
    pending = []
    onError(new ControlProtocolError(`control message longer than ${maxBytes} bytes`))
  }
}

export function encodeLine(message: ControlRequest | ControlReply): string {
  return `${JSON.stringify(message)}\n`
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function parseRequest(line: string): ControlRequest {
  const value = parseJson(line)
  if (!isObject(value)) throw new ControlProtocolError('a request must be a JSON object')
  if (!Number.isSafeInteger(value.id)) throw new ControlProtocolError('a request needs an integer id')
  if (typeof value.method !== 'string' || value.method.length === 0) {
    throw new ControlProtocolError('a request needs a method name')
  }
  return { id: value.id as number, method: value.method, params: value.params }
}

export function parseReply(line: string): ControlReply {
  const value = parseJson(line)
  if (!isObject(value)) throw new ControlProtocolError('a reply must be a JSON object')
  const id = value.id
  if (id !== null && !Number.isSafeInteger(id)) throw new ControlProtocolError('a reply needs an id')
  if (isObject(value.error)) {
    const { name, message } = value.error
    return {
      id: id as number | null,
      error: { name: String(name ?? 'Error'), message: String(message ?? '') },
    }
  }
  if (id === null) throw new ControlProtocolError('only an error reply may have a null id')
  if ('result' in value) return { id: id as number, result: value.result }
  if (isObject(value.progress)) {
    const { stage, done, total } = value.progress
    if (typeof stage !== 'string' || typeof done !== 'number') {
      throw new ControlProtocolError('a progress reply needs a stage and a count')
    }
    return { id: id as number, progress: { stage, done, ...(typeof total === 'number' ? { total } : {}) } }
  }
  throw new ControlProtocolError('a reply needs a result, an error or progress')
}

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line)
  } catch {
    throw new ControlProtocolError('control message is not JSON')
  }
}
