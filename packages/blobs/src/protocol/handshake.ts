import { BLOB_PROTOCOL_VERSION } from '../constants.js'
import { BlobProtocolError, BlobRefusedError } from '../errors.js'
import type { Conversation } from './conversation.js'

export interface NetworkIdentity {
  networkId: string
  trustHash: Uint8Array
}

/** Opens a stream: our network id and trust bundle hash go first, before any request. */
export async function greet(conv: Conversation, us: NetworkIdentity): Promise<void> {
  await conv.send({
    type: 'hello',
    networkId: us.networkId,
    trustHash: us.trustHash,
    version: BLOB_PROTOCOL_VERSION,
  })
  const answer = await conv.receive('welcome')
  if (answer.type === 'welcome') return
  if (answer.type === 'refusal') throw new BlobRefusedError(answer.code, conv.peer, answer.message)
  throw conv.unexpected(answer, 'welcome')
}

/** Checks the remote's Hello before reading anything else; another network gets a typed refusal. */
export async function admit(conv: Conversation, us: NetworkIdentity): Promise<void> {
  const hello = await conv.receive('hello')
  if (hello.type !== 'hello') throw conv.unexpected(hello, 'hello')
  if (hello.networkId !== us.networkId || !Buffer.from(hello.trustHash).equals(us.trustHash)) {
    await conv
      .send({ type: 'refusal', code: 'wrong-network', message: `this node serves network ${us.networkId}` })
      .catch(() => {})
    throw new BlobProtocolError('wrong-network', conv.peer, `peer is on network "${hello.networkId}"`)
  }
  await conv.send({ type: 'welcome', version: BLOB_PROTOCOL_VERSION })
}
