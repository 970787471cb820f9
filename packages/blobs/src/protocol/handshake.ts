import { NotAdmittedError } from '@provsync/sync'
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

/**
 * Checks the remote's Hello before reading anything else; another network gets a typed refusal.
 * In a closed network (`admitted` given) a peer that is not a member gets a `not-admitted` refusal
 * in place of the welcome and nothing else, and the caller a NotAdmittedError (no offence).
 */
export async function admit(
  conv: Conversation,
  us: NetworkIdentity,
  admitted?: () => Promise<boolean>,
): Promise<void> {
  const hello = await conv.receive('hello')
  if (hello.type !== 'hello') throw conv.unexpected(hello, 'hello')
  if (hello.networkId !== us.networkId || !Buffer.from(hello.trustHash).equals(us.trustHash)) {
    await conv
      .send({ type: 'refusal', code: 'wrong-network', message: `this node serves network ${us.networkId}` })
      .catch(() => {})
    throw new BlobProtocolError('wrong-network', conv.peer, `peer is on network "${hello.networkId}"`)
  }
  if (admitted !== undefined && !(await admitted())) {
    await conv
      .send({ type: 'refusal', code: 'not-admitted', message: 'no live member grant' })
      .catch(() => {})
    throw new NotAdmittedError(conv.peer)
  }
  await conv.send({ type: 'welcome', version: BLOB_PROTOCOL_VERSION })
}
