import { MalformedFrameError } from '@provsync/sync/stream'
import { Frame } from './blob.generated.js'

/** Codes of a blob refusal: what the server says before it stops answering a request. */
export type BlobRefusalCode =
  | 'wrong-network'
  | 'unauthorized'
  | 'not-found'
  | 'blocked'
  | 'busy'
  | 'too-many-chunks'
  | 'malformed'
  | 'internal'
  | 'not-admitted'

export const BLOB_REFUSAL_CODES: readonly BlobRefusalCode[] = [
  'wrong-network',
  'unauthorized',
  'not-found',
  'blocked',
  'busy',
  'too-many-chunks',
  'malformed',
  'internal',
  'not-admitted',
]

export type BlobMessage =
  | { type: 'hello'; networkId: string; trustHash: Uint8Array; version: number }
  | { type: 'welcome'; version: number }
  | { type: 'refusal'; code: BlobRefusalCode | 'unknown'; message: string }
  | { type: 'manifest-request'; id: Uint8Array }
  | { type: 'manifest-part'; data: Uint8Array; total: number; last: boolean }
  | { type: 'chunk-request'; id: Uint8Array; indices: number[] }
  | { type: 'chunk-data'; index: number; offset: number; data: Uint8Array }
  | { type: 'done' }

const MAX_TEXT_CHARS = 1024
const ID_BYTES = 32

export function encodeBlobMessage(m: BlobMessage): Uint8Array {
  switch (m.type) {
    case 'hello':
      return Frame.encode({
        hello: { networkId: m.networkId, trustHash: wire(m.trustHash), version: m.version },
      })
    case 'welcome':
      return Frame.encode({ welcome: { version: m.version } })
    case 'refusal':
      return Frame.encode({ refusal: { code: m.code, message: m.message.slice(0, MAX_TEXT_CHARS) } })
    case 'manifest-request':
      return Frame.encode({ manifestRequest: { id: wire(m.id) } })
    case 'manifest-part':
      return Frame.encode({ manifestPart: { data: wire(m.data), total: BigInt(m.total), last: m.last } })
    case 'chunk-request':
      return Frame.encode({ chunkRequest: { id: wire(m.id), indices: m.indices } })
    case 'chunk-data':
      return Frame.encode({ chunkData: { index: m.index, offset: m.offset, data: wire(m.data) } })
    case 'done':
      return Frame.encode({ done: {} })
  }
}

/** Decodes and validates one frame; anything else is a MalformedFrameError, never a crash. */
export function decodeBlobMessage(bytes: Uint8Array): BlobMessage {
  let f: Frame
  try {
    f = Frame.decode(bytes)
  } catch (err) {
    const e = new MalformedFrameError(`blob frame does not decode: ${(err as Error).message}`)
    e.cause = err
    throw e
  }
  if (f.hello !== undefined) {
    if (f.hello.networkId.length > MAX_TEXT_CHARS) throw new MalformedFrameError('network id is too long')
    return { type: 'hello', ...f.hello }
  }
  if (f.welcome !== undefined) return { type: 'welcome', version: f.welcome.version }
  if (f.refusal !== undefined) {
    const known = (BLOB_REFUSAL_CODES as readonly string[]).includes(f.refusal.code)
    const code = known ? (f.refusal.code as BlobRefusalCode) : 'unknown'
    return { type: 'refusal', code, message: f.refusal.message.slice(0, MAX_TEXT_CHARS) }
  }
  if (f.manifestRequest !== undefined) return { type: 'manifest-request', id: checkId(f.manifestRequest.id) }
  if (f.manifestPart !== undefined) {
    const total = f.manifestPart.total
    if (total > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedFrameError('manifest length is too large')
    return {
      type: 'manifest-part',
      data: f.manifestPart.data,
      total: Number(total),
      last: f.manifestPart.last,
    }
  }
  if (f.chunkRequest !== undefined) {
    return { type: 'chunk-request', id: checkId(f.chunkRequest.id), indices: f.chunkRequest.indices }
  }
  if (f.chunkData !== undefined) return { type: 'chunk-data', ...f.chunkData }
  if (f.done !== undefined) return { type: 'done' }
  throw new MalformedFrameError('blob frame carries no message')
}

function checkId(id: Uint8Array): Uint8Array {
  if (id.byteLength !== ID_BYTES) throw new MalformedFrameError(`blob id of ${id.byteLength} bytes`)
  return id
}

/** protons types its bytes as backed by an ArrayBuffer; ours may be views of any buffer, which it copies. */
function wire(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>
}
