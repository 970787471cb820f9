/**
 * Admission to a closed network: a node presents a credential (its operator-signed `member`
 * grant, given when it is provisioned) in its hello, and syncs only with peers it admits. The
 * check itself is the embedder's (e.g. @provsync/artifacts' `memberAdmission`), so this package
 * stays free of grant semantics; it carries the bytes and refuses before anything else is said.
 */
export interface Admission {
  /** This node's credential, presented in every hello and welcome; undefined when it has none yet. */
  credential(): Uint8Array | undefined
  /** May the peer with this raw Ed25519 key, presenting `credential` (undefined: none), sync with us? */
  admit(peerKey: Uint8Array, credential: Uint8Array | undefined): boolean | Promise<boolean>
}

/** Largest credential carried in a hello (an artifacts grant record is at most 4,096 bytes). */
export const MAX_CREDENTIAL_BYTES = 4096
