import { networkTag } from '@provsync/crdt'
import type { Admission } from '@provsync/sync'
import { equalBytes } from '../bytes.js'
import { decodeRecord } from '../codec/signed.js'
import type { ArtifactStore } from '../store/store.js'

export interface MemberAdmissionOptions {
  /** The store whose operator records (and trust) judge grants. */
  store: ArtifactStore
  /**
   * This node's own `member` grant (record bytes, from provisioning), presented in every hello.
   *
   * @default undefined (present none: peers admit us only if they already hold our grant)
   */
  credential?: Uint8Array | (() => Uint8Array | undefined)
}

/**
 * Admission of a closed network by `member` grants: a peer is admitted when, after the grant it
 * presents is applied like any operator record (signature, trusted operator), it holds a live
 * `member` grant (not withdrawn, expired or revoked). A credential that is not a member grant of
 * the presenting key is ignored, not applied. The same object serves sync's hello and ours.
 */
export function memberAdmission(options: MemberAdmissionOptions): Admission {
  const { store } = options
  const tag = networkTag(store.networkId)
  const own = options.credential
  return {
    credential: () => (typeof own === 'function' ? own() : own),
    async admit(peerKey, credential) {
      if (credential !== undefined && isMemberGrantOf(credential, peerKey, store.networkId, tag)) {
        await store.apply([credential], { from: peerKey })
      }
      return store.liveGrant(peerKey, 'member') !== undefined
    },
  }
}

function isMemberGrantOf(bytes: Uint8Array, key: Uint8Array, networkId: string, tag: Uint8Array): boolean {
  try {
    const { record } = decodeRecord(bytes, networkId, tag)
    return record.kind === 'grant' && record.right === 'member' && equalBytes(record.subject, key)
  } catch {
    return false
  }
}
