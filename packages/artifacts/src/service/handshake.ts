import type { Admission } from '@provsync/sync'
import { ARTIFACT_SYNC_VERSION } from './constants.js'
import type { Conversation } from './conversation.js'
import { ArtifactProtocolError, PeerNotAdmittedError } from './errors.js'

export interface Identity {
  readonly networkId: string
  /** Version of the trust bundle in force (informational: a peer behind follows the chain). */
  readonly bundleVersion: bigint
  readonly admission?: Admission | undefined
}

/**
 * Opens a session: our hello (network, bundle version, credential) goes first; in a closed
 * network the responder's welcome must carry a credential we admit, or we end here.
 */
export async function greet(conv: Conversation, us: Identity, remoteKey: Uint8Array): Promise<void> {
  const credential = us.admission?.credential()
  await conv.send({
    type: 'hello',
    version: ARTIFACT_SYNC_VERSION,
    networkId: us.networkId,
    bundleVersion: us.bundleVersion,
    ...(credential === undefined ? {} : { credential }),
  })
  const welcome = await conv.expect('welcome')
  if (us.admission !== undefined && !(await us.admission.admit(remoteKey, welcome.credential))) {
    throw new PeerNotAdmittedError('not-admitted', conv.peer)
  }
}

/**
 * Checks the remote's hello before anything else is said: another network gets `wrong-network`
 * (an offence), a peer we do not admit gets `not-admitted` and learns nothing more.
 */
export async function admit(conv: Conversation, us: Identity, remoteKey: Uint8Array): Promise<void> {
  const hello = await conv.expect('hello')
  const refuse = async (code: string, message: string) =>
    conv.send({ type: 'refusal', code, message }).catch(() => {})
  if (hello.networkId !== us.networkId) {
    await refuse('wrong-network', `this node serves network ${us.networkId}`)
    throw new ArtifactProtocolError('wrong-network', conv.peer, `peer is on network "${hello.networkId}"`)
  }
  if (us.admission !== undefined && !(await us.admission.admit(remoteKey, hello.credential))) {
    await refuse('not-admitted', 'no live member grant')
    throw new PeerNotAdmittedError('not-admitted', conv.peer)
  }
  const credential = us.admission?.credential()
  await conv.send({
    type: 'welcome',
    version: ARTIFACT_SYNC_VERSION,
    ...(credential === undefined ? {} : { credential }),
  })
}
