import { type TextProblem, textProblem } from '@provsync/crdt'
import { MAX_CREDENTIAL_BYTES } from '../admission.js'
import { MalformedFrameError, REFUSAL_CODES, type RefusalCode, SyncError } from '../errors.js'
import { extendsCanonical, soleFieldBody } from './extensions.js'
import { Announcement, Frame, Hello, Welcome } from './sync.generated.js'

/** Frame's tags of its hello (field 1) and welcome (field 2) bodies, both length-delimited. */
const HELLO_TAG = 0x0a
const WELCOME_TAG = 0x12
/** The highest field number this release knows in each extensible message (sync.proto). */
const HELLO_FIELDS = 6
const WELCOME_FIELDS = 4
const ANNOUNCEMENT_FIELDS = 4

/** Why a frame is not canonical: a text field's problem (see crdt's `codec/text.ts`) or its bounds. */
export type WireTextProblem = TextProblem | 'empty' | 'too-long'

/**
 * A frame or announcement that decodes but is not the one canonical encoding of what it says: its
 * protobuf bytes differ from the re-encoding of the decoded fields (fields out of order or
 * repeated, defaults written out, unknown fields, non-minimal varints, two bodies, text that is
 * not UTF-8), or a text field breaks the text rules. Blamed like any malformed frame.
 */
export class NonCanonicalFrameError extends MalformedFrameError {
  static override name = 'NonCanonicalFrameError'
  override name = 'NonCanonicalFrameError'
  constructor(
    readonly field: string,
    readonly problem: WireTextProblem | 'encoding',
  ) {
    super(`${field} is not canonical: ${problem}`)
  }
}

/** A local caller asked to send text the wire does not carry; nothing was sent. */
export class WireTextError extends SyncError {
  static override name = 'WireTextError'
  override name = 'WireTextError'
  constructor(
    readonly field: string,
    readonly problem: WireTextProblem,
  ) {
    super(`cannot send ${field}: ${problem}`)
  }
}

/**
 * The sync protocol this node speaks, in its hello and welcome. 2: it also serves merkle's
 * reconciliation protocol 2 (salted fingerprints), so an initiator that reads 2 or more in the
 * welcome reconciles with it; a first-release node says 1 and gets protocol 1's frames. 3: a
 * session runs on its one stream (protocol/session-exchange.ts), spoken when both sides name 3 or
 * more; a node that names 2 gets protocol 2's session with its fetch streams.
 */
export const PROTOCOL_VERSION = 3

export type Message =
  | {
      type: 'hello'
      networkId: string
      trustHash: Uint8Array
      version: number
      stores?: string[]
      credential?: Uint8Array
      kinds?: string[]
    }
  | { type: 'welcome'; version: number; stores?: string[]; credential?: Uint8Array; kinds?: string[] }
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

/** Most record kinds a hello or welcome may name. */
export const MAX_KINDS = 16

/** Record kinds named once each; none is what a first-release node sends. */
function kindList(kinds: string[]): { kinds?: string[] } {
  if (kinds.length === 0) return {}
  const checked = kinds.map((kind) => checkName(kind, 'record kind'))
  if (new Set(checked).size !== checked.length) throw new NonCanonicalFrameError('kinds', 'encoding')
  return { kinds: checked }
}
const MAX_TEXT_CHARS = 1024

/** An empty credential is none (what every node without admission, and the first release, sends). */
function credentialOf(credential: Uint8Array): { credential?: Uint8Array } {
  if (credential.byteLength > MAX_CREDENTIAL_BYTES)
    throw malformed(`credential of ${credential.byteLength} bytes, at most ${MAX_CREDENTIAL_BYTES}`)
  return credential.byteLength === 0 ? {} : { credential }
}

function outgoingCredential(credential: Uint8Array | undefined): Uint8Array {
  if (credential !== undefined && credential.byteLength > MAX_CREDENTIAL_BYTES)
    throw new WireTextError('credential', 'too-long')
  return credential ?? new Uint8Array(0)
}

/** Encodes one frame; WireTextError if a text field is not canonical or out of bounds. */
export function encodeMessage(message: Message): Uint8Array {
  checkOutgoingText(message)
  switch (message.type) {
    case 'hello':
      return Frame.encode({
        hello: {
          networkId: message.networkId,
          trustHash: wireBytes(message.trustHash),
          version: message.version,
          stores: message.stores ?? [],
          credential: wireBytes(outgoingCredential(message.credential)),
          kinds: message.kinds ?? [],
        },
      })
    case 'welcome':
      return Frame.encode({
        welcome: {
          version: message.version,
          stores: message.stores ?? [],
          credential: wireBytes(outgoingCredential(message.credential)),
          kinds: message.kinds ?? [],
        },
      })
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

/**
 * Decodes and validates one frame: only the canonical encoding of a message is accepted (see
 * {@link NonCanonicalFrameError}); anything else is a MalformedFrameError, never a crash.
 */
export function decodeMessage(bytes: Uint8Array): Message {
  let frame: Frame
  try {
    frame = Frame.decode(bytes, {
      limits: {
        hello: { stores: MAX_STORES, kinds: MAX_KINDS },
        welcome: { stores: MAX_STORES, kinds: MAX_KINDS },
      },
    })
  } catch (err) {
    throw malformed(`frame does not decode: ${(err as Error).message}`, err)
  }
  if (!isCanonicalFrame(frame, bytes)) throw new NonCanonicalFrameError('frame', 'encoding')
  return messageOf(frame)
}

/** Hello and welcome may carry a later release's fields after their own (see extensions.ts). */
function isCanonicalFrame(frame: Frame, bytes: Uint8Array): boolean {
  if (frame.hello !== undefined || frame.welcome !== undefined) {
    const body = soleFieldBody(bytes, frame.hello !== undefined ? HELLO_TAG : WELCOME_TAG)
    if (body === undefined) return false
    return frame.hello !== undefined
      ? extendsCanonical(Hello.encode(frame.hello), body, HELLO_FIELDS)
      : extendsCanonical(Welcome.encode(frame.welcome!), body, WELCOME_FIELDS)
  }
  return sameBytes(Frame.encode(frame), bytes)
}

function messageOf(frame: Frame): Message {
  const { hello, welcome, refusal, reconcile, offer, pulled, fetchRequest, records, end } = frame
  if (hello !== undefined) {
    const networkId = checkName(hello.networkId, 'network id')
    return {
      type: 'hello',
      networkId,
      trustHash: hello.trustHash,
      version: hello.version,
      ...storeList(hello.stores),
      ...credentialOf(hello.credential),
      ...kindList(hello.kinds),
    }
  }
  if (welcome !== undefined)
    return {
      type: 'welcome',
      version: welcome.version,
      ...storeList(welcome.stores),
      ...credentialOf(welcome.credential),
      ...kindList(welcome.kinds),
    }
  if (refusal !== undefined) return refusalOf(refusal)
  if (reconcile !== undefined) {
    return { type: 'reconcile', store: checkName(reconcile.store, 'store'), payload: reconcile.payload }
  }
  if (offer !== undefined) {
    const store = checkName(offer.store, 'store')
    return { type: 'offer', store, keys: checkKeys(offer.keys), last: offer.last }
  }
  if (pulled !== undefined) {
    const store = checkName(pulled.store, 'store')
    return { type: 'pulled', store, applied: pulled.applied, refused: pulled.refused }
  }
  if (fetchRequest !== undefined) {
    const store = checkName(fetchRequest.store, 'store')
    return { type: 'fetch', store, keys: checkKeys(fetchRequest.keys) }
  }
  if (records !== undefined) {
    return { type: 'records', records: records.records, last: records.last, missing: records.missing }
  }
  if (end !== undefined) return { type: 'end' }
  throw malformed('frame carries no message')
}

/** A refusal code this release does not know reads as 'unknown' (a later release may add codes). */
function refusalOf(refusal: NonNullable<Frame['refusal']>): Message {
  const raw = checkText(refusal.code, 'refusal code', MAX_NAME_CHARS, true)
  const code = (REFUSAL_CODES as readonly string[]).includes(raw) ? (raw as RefusalCode) : 'unknown'
  const message = checkText(refusal.message, 'refusal message', MAX_TEXT_CHARS, false)
  return refusal.store === ''
    ? { type: 'refusal', code, message }
    : { type: 'refusal', code, message, store: checkName(refusal.store, 'store') }
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

/** Encodes a head announcement; WireTextError if the network id or a store name is not canonical. */
export function encodeAnnouncement(announcement: WireAnnouncement): Uint8Array {
  outgoingName('network id', announcement.networkId)
  for (const head of announcement.heads) outgoingName('store', head.store)
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
  if (!extendsCanonical(Announcement.encode(decoded), bytes, ANNOUNCEMENT_FIELDS))
    throw new NonCanonicalFrameError('announcement', 'encoding')
  // One place for each head, as encodeAnnouncement puts it: a first-release store's head in
  // `heads` (which first-release nodes read), any other in `extensionHeads` (which they skip).
  for (const h of decoded.heads)
    if (!FIRST_RELEASE_STORES.includes(h.store)) throw new NonCanonicalFrameError('heads', 'encoding')
  for (const h of decoded.extensionHeads)
    if (FIRST_RELEASE_STORES.includes(h.store)) throw new NonCanonicalFrameError('extensionHeads', 'encoding')
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

/** The problem of a text field, or undefined: canonical text (crdt's rules) within its bounds. */
function wireTextProblem(value: string, maxChars: number, nonEmpty: boolean): WireTextProblem | undefined {
  if (nonEmpty && value.length === 0) return 'empty'
  if (value.length > maxChars) return 'too-long'
  return textProblem(value)
}

function checkText(value: string, what: string, maxChars: number, nonEmpty: boolean): string {
  const problem = wireTextProblem(value, maxChars, nonEmpty)
  if (problem !== undefined) throw new NonCanonicalFrameError(what, problem)
  return value
}

function checkName(value: string, what: string): string {
  return checkText(value, what, MAX_NAME_CHARS, true)
}

/** The text fields of an outgoing message, checked by the rules its receiver applies. */
function checkOutgoingText(message: Message): void {
  const fields: Array<[string, string, number, boolean]> = []
  if (message.type === 'hello') fields.push(['network id', message.networkId, MAX_NAME_CHARS, true])
  if (message.type === 'hello' || message.type === 'welcome')
    for (const kind of message.kinds ?? []) fields.push(['record kind', kind, MAX_NAME_CHARS, true])
  if ('store' in message && message.store !== undefined)
    fields.push(['store', message.store, MAX_NAME_CHARS, true])
  if (message.type === 'refusal') {
    fields.push(['refusal code', message.code, MAX_NAME_CHARS, true])
    fields.push(['refusal message', message.message, MAX_TEXT_CHARS, false])
  }
  for (const [field, value, maxChars, nonEmpty] of fields) outgoingText(field, value, maxChars, nonEmpty)
}

function outgoingText(field: string, value: string, maxChars: number, nonEmpty: boolean): void {
  if (typeof value !== 'string') throw new WireTextError(field, 'invalid-utf8')
  const problem = wireTextProblem(value, maxChars, nonEmpty)
  if (problem !== undefined) throw new WireTextError(field, problem)
}

const outgoingName = (field: string, value: string) => outgoingText(field, value, MAX_NAME_CHARS, true)

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0
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
