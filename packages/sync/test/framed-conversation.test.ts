// sync's framed conversation, the shared half of the blob and artifact protocols' streams: typed
// messages, a deadline per write and per wait, and the remote's faults named as offences.
import type { AbortOptions } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import { FrameTooLargeError, UnexpectedEndError } from '../src/errors.js'
import { type ConversationCodec, FramedConversation } from '../src/framed-conversation.js'
import type { FramedStream } from '../src/framing.js'

type Message = { type: 'ping'; n: number } | { type: 'pong'; n: number }

class Offence extends Error {
  constructor(
    readonly code: string,
    readonly peer: string,
    detail: string,
  ) {
    super(detail)
  }
}

class BadBody extends Error {}

const codec: ConversationCodec<Message> = {
  encode: (m) => Uint8Array.of(m.type === 'ping' ? 1 : 2, m.n),
  decode(body) {
    if (body.length !== 2 || (body[0] !== 1 && body[0] !== 2))
      throw new BadBody(`bad body of ${body.length} bytes`)
    return { type: body[0] === 1 ? 'ping' : 'pong', n: body[1]! }
  },
  isMalformed: (err) => err instanceof BadBody,
  offence(code, peer, detail, cause) {
    const err = new Offence(code, peer, detail)
    if (cause !== undefined) err.cause = cause
    return err
  },
}

/** A FramedStream answering reads from a script: a frame, undefined (clean end), an error, or never. */
function scripted(reads: Array<Uint8Array | undefined | Error | 'never'>) {
  const written: Uint8Array[] = []
  const stream: FramedStream = {
    bytesRead: 0,
    bytesWritten: 0,
    async read(options?: AbortOptions) {
      const next = reads.shift()
      if (next === 'never') {
        return new Promise((_, reject) => {
          options?.signal?.addEventListener('abort', () => reject(options.signal!.reason), { once: true })
        })
      }
      if (next instanceof Error) throw next
      return next
    },
    async write(frame: Uint8Array) {
      written.push(frame)
    },
  }
  return { stream, written }
}

const LIMITS = { requestTimeoutMs: 1_000, idleTimeoutMs: 30 }

describe('FramedConversation', () => {
  it('encodes what it sends, decodes what it reads, and shows both to the tap', async () => {
    const { stream, written } = scripted([Uint8Array.of(2, 7), undefined])
    const seen: string[] = []
    const conv = new FramedConversation(stream, 'peer-a', LIMITS, codec, undefined, (side, body) =>
      seen.push(`${side}:${body.join(',')}`),
    )
    await conv.send({ type: 'ping', n: 7 })
    expect(written).toEqual([Uint8Array.of(1, 7)])
    expect(await conv.receiveOrEnd()).toEqual({ type: 'pong', n: 7 })
    expect(await conv.receiveOrEnd()).toBeUndefined()
    expect(seen).toEqual(['sent:1,7', 'received:2,7'])
  })

  it('names a silent remote a timeout offence of that peer', async () => {
    const conv = new FramedConversation(scripted(['never']).stream, 'peer-b', LIMITS, codec)
    const err = await conv.receiveOrEnd().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Offence)
    expect(err).toMatchObject({
      code: 'timeout',
      peer: 'peer-b',
      message: 'waiting for a frame took too long',
    })
  })

  it('names an undecodable body and an oversized frame malformed-frame offences, keeping the cause', async () => {
    const tooLarge = new FrameTooLargeError(99, 10)
    const conv = new FramedConversation(
      scripted([Uint8Array.of(9), tooLarge]).stream,
      'peer-c',
      LIMITS,
      codec,
    )
    const bad = await conv.receiveOrEnd().catch((e: unknown) => e)
    expect(bad).toMatchObject({ code: 'malformed-frame', message: 'decoding a frame: bad body of 1 bytes' })
    expect((bad as Error).cause).toBeInstanceOf(BadBody)
    const large = await conv.receiveOrEnd().catch((e: unknown) => e)
    expect(large).toMatchObject({ code: 'malformed-frame', peer: 'peer-c' })
    expect((large as Error).cause).toBe(tooLarge)
  })

  it('leaves a reset stream an UnexpectedEndError (no offence), and an abort its own reason', async () => {
    const end = new UnexpectedEndError()
    expect(
      await new FramedConversation(scripted([end]).stream, 'p', LIMITS, codec).receiveOrEnd().catch((e) => e),
    ).toBe(end)
    const controller = new AbortController()
    const reason = new Error('node stopping')
    const conv = new FramedConversation(
      scripted(['never']).stream,
      'p',
      { ...LIMITS, idleTimeoutMs: 10_000 },
      codec,
      controller.signal,
    )
    const pending = conv.receiveOrEnd().catch((e: unknown) => e)
    controller.abort(reason)
    expect(await pending).toBe(reason)
  })
})
