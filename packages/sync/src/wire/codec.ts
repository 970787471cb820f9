import { MalformedFrameError, REFUSAL_CODES, type RefusalCode } from '../errors.js'
import { Announcement, Frame } from './sync.generated.js'

export const PROTOCOL_VERSION = 1

export type Message =
  | { type: 'hello'; networkId: string; trustHash: Uint8Array; version: number; stores?: string[] }
  | { type: 'welcome'; version: number; stores?: string[] }
  | { type: 'refusal'; code: RefusalCode | 'unknown'; message: string; store?: string }
  | { type: 'reconcile'; store: string; payload: Uint8Array }
  | { type: 'offer'; store: string; keys: Uint8Array[]; last: boolean }
  | { type: 'pulled'; store: string; applied: number; refused: number }
  | { type: 'fetch'; store: string; keys: Uint8Array[] }
  | { type: 'records'; records: Uint8Array[]; last: boolean; missing: number }
  | { type: 'end' }

export type MessageType = Message['type']

const MAX_NAME_CHARS = 128
/** Most store names a hello or welcome may list. */
export const MAX_STORES = 16
/** The stores of the first release: the only ones an announcement's `heads` may name. */
export const FIRST_RELEASE_STORES: readonly string[] = ['revocations', 'supersessions', 'assertions']

/** An empty list is what a first-release node sends: no `stores` at all. */
function storeList(stores: string[]): { stores?: string[] } {
  return stores.length === 0 ? {} : { stores: stores.map((store) => checkName(store, 'store')) }
}
const MAX_TEXT_CHARS = 1024

export function encodeMessage(message: Message): Uint8Array {
  switch (message.type) {
    case 'hello':
      return Frame.encode({
        hello: {
          networkId: message.networkId,
          trustHash: wireBytes(message.trustHash),
          version: message.version,
          stores: message.stores ?? [],
        },
      })
    case 'welcome':
      return Frame.encode({ welcome: { version: message.version, stores: message.stores ?? [] } })
    case 'refusal':
      return Frame.encode({
        refusal: { code: message.code, message: message.message, store: message.store ?? '' },
      })
    case 'reconcile':
      return Frame.encode({ reconcile: { store: message.store, payload: wireBytes(message.payload) } })
    case 'offer':
      return Frame.encode({
        offer: { store: message.store, keys: message.keys.map(wireBytes), last: message.last },
      })
    case 'pulled':
      return Frame.encode({
        pulled: { store: message.store, applied: message.applied, refused: message.refused },
      })
    case 'fetch':
      return Frame.encode({ fetchRequest: { store: message.store, keys: message.keys.map(wireBytes) } })
    case 'records':
      return Frame.encode({
        records: { records: message.records.map(wireBytes), last: message.last, missing: message.missing },
      })
    case 'end':
      return Frame.encode({ end: {} })
  }
}

/** Decodes and validates one frame; anything else is a MalformedFrameError, never a crash. */
export function decodeMessage(bytes: Uint8Array): Message {
  let frame: Frame
  try {
    frame = Frame.decode(bytes, {
      limits: { hello: { stores: MAX_STORES }, welcome: { stores: MAX_STORES } },
    })
  } catch (err) {
    throw malformed(`frame does not decode: ${(err as Error).message}`, err)
  }
  const { hello, welcome, refusal, reconcile, offer, pulled, fetchRequest, records, end } = frame
  if (hello !== undefined) {
    return {
      type: 'hello',
      networkId: checkName(hello.networkId, 'network id'),
      trustHash: hello.trustHash,
      version: hello.version,
      ...storeList(hello.stores),
    }
  }
  if (welcome !== undefined)
    return { type: 'welcome', version: welcome.version, ...storeList(welcome.stores) }
  if (refusal !== undefined) {
    const code = (REFUSAL_CODES as readonly string[]).includes(refusal.code)
      ? (refusal.code as RefusalCode)
      : 'unknown'
    const message = refusal.message.slice(0, MAX_TEXT_CHARS)
    return refusal.store === ''
      ? { type: 'refusal', code, message }
      : { type: 'refusal', code, message, store: checkName(refusal.store, 'store') }
  }
  if (reconcile !== undefined) {
    return { type: 'reconcile', store: checkName(reconcile.store, 'store'), payload: reconcile.payload }
  }
  if (offer !== undefined) {
    return {
      type: 'offer',
      store: checkName(offer.store, 'store'),
      keys: checkKeys(offer.keys),
      last: offer.last,
    }
  }
  if (pulled !== undefined) {
    return {
      type: 'pulled',
      store: checkName(pulled.store, 'store'),
      applied: pulled.applied,
      refused: pulled.refused,
    }
  }
  if (fetchRequest !== undefined) {
    return {
      type: 'fetch',
      store: checkName(fetchRequest.store, 'store'),
      keys: checkKeys(fetchRequest.keys),
    }
  }
  if (records !== undefined) {
    return { type: 'records', records: records.records, last: records.last, missing: records.missing }
  }
  if (end !== undefined) return { type: 'end' }
  throw malformed('frame carries no message')
}

export interface WireHead {
  store: string
  root: Uint8Array
  count: number
}

export interface WireAnnouncement {
  networkId: string
  trustHash: Uint8Array
  heads: WireHead[]
}

export function encodeAnnouncement(announcement: WireAnnouncement): Uint8Array {
  return Announcement.encode({
    networkId: announcement.networkId,
    trustHash: wireBytes(announcement.trustHash),
    heads: announcement.heads.filter((h) => FIRST_RELEASE_STORES.includes(h.store)).map(wireHead),
    extensionHeads: announcement.heads.filter((h) => !FIRST_RELEASE_STORES.includes(h.store)).map(wireHead),
  })
}

function wireHead(h: WireHead) {
  return { store: h.store, root: wireBytes(h.root), count: BigInt(h.count) }
}

/** Decodes a head announcement; MalformedFrameError for anything a well-behaved peer would not send. */
export function decodeAnnouncement(bytes: Uint8Array, maxHeads = 16): WireAnnouncement {
  let decoded: Announcement
  try {
    decoded = Announcement.decode(bytes, { limits: { heads: maxHeads, extensionHeads: maxHeads } })
  } catch (err) {
    throw malformed(`announcement does not decode: ${(err as Error).message}`, err)
  }
  const stores = new Set<string>()
  const heads = [...decoded.heads, ...decoded.extensionHeads].map((h) => {
    const store = checkName(h.store, 'store')
    if (stores.has(store)) throw malformed(`store ${store} announced twice`)
    stores.add(store)
    if (h.count > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed('head count out of range')
    return { store, root: h.root, count: Number(h.count) }
  })
  return { networkId: checkName(decoded.networkId, 'network id'), trustHash: decoded.trustHash, heads }
}

function checkName(value: string, what: string): string {
  if (value.length === 0 || value.length > MAX_NAME_CHARS) throw malformed(`${what} is empty or too long`)
  return value
}

function checkKeys(keys: Uint8Array[]): Uint8Array[] {
  for (const key of keys) if (key.byteLength === 0) throw malformed('empty key')
  return keys
}

function malformed(message: string, cause?: unknown): MalformedFrameError {
  const err = new MalformedFrameError(message)
  if (cause !== undefined) err.cause = cause
  return err
}

/** protons types fields as ArrayBuffer-backed; the encoder only reads the bytes. */
function wireBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>
}
