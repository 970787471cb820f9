import { NotAdmittedError, TrustBundleMismatchError } from '@provsync/sync/stream'
import { BLOB_PROTOCOL_VERSION } from '../constants.js'
import { BlobProtocolError, BlobRefusedError } from '../errors.js'
import { toHex } from '../ids.js'
import type { Conversation } from './conversation.js'

/** What a blob hello carries: read from the service at each stream, so a rotation moves it. */
export interface NetworkIdentity {
  networkId: string
  /** sync's `trustBundleHash` of the operator keys in force now. */
  trustHash: Uint8Array
}

/**
 * The remote's blob hello names our network but another trust bundle: a peer on the other side of
 * a rotation (it has not followed the chain yet, or we have not). Refused `wrong-network` as sync
 * refuses it, counted in `provsync_blob_refusals_total{reason="trust-mismatch"}`, and no offence
 * (sync's TrustBundleMismatchError: blocking it would cut the connection it catches up over).
 */
export class BlobTrustMismatchError extends TrustBundleMismatchError {
  static override name = 'BlobTrustMismatchError'
  override name = 'BlobTrustMismatchError'
  constructor(
    readonly peer: string,
    networkId: string,
    /** Hex hash of the trust bundle this node obeys. */
    readonly trustHash: string,
    /** Hex hash the peer's hello carried. */
    readonly remoteTrustHash: string,
  ) {
    super(networkId, networkId)
    this.message = `${peer} is on network "${networkId}" under another trust bundle (${remoteTrustHash.slice(0, 16)}, ours ${trustHash.slice(0, 16)})`
  }
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
 * Checks the remote's Hello before reading anything else. Another network gets a typed refusal
 * and a BlobProtocolError (an offence); our network under another trust bundle gets the same
 * refusal on the wire and a BlobTrustMismatchError (no offence). In a closed network (`admitted`
 * given) a peer that is not a member gets a `not-admitted` refusal in place of the welcome and
 * nothing else, and the caller a NotAdmittedError (no offence).
 */
export async function admit(
  conv: Conversation,
  us: NetworkIdentity,
  admitted?: () => Promise<boolean>,
): Promise<void> {
  const hello = await conv.receive('hello')
  if (hello.type !== 'hello') throw conv.unexpected(hello, 'hello')
  const sameNetwork = hello.networkId === us.networkId
  if (!sameNetwork || !Buffer.from(hello.trustHash).equals(us.trustHash)) {
    const message = sameNetwork
      ? `this node serves network ${us.networkId} under another trust bundle (a rotation one side has not followed)`
      : `this node serves network ${us.networkId}`
    await conv.send({ type: 'refusal', code: 'wrong-network', message }).catch(() => {})
    if (sameNetwork)
      throw new BlobTrustMismatchError(conv.peer, us.networkId, toHex(us.trustHash), toHex(hello.trustHash))
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
