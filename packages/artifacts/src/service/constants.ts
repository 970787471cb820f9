/** The artifact replication protocol (scoped Merkle reconciliation of artifacts and operator records). */
export const ARTIFACT_SYNC_PROTOCOL = '/provsync/artifacts/1.0.0'
export const ARTIFACT_SYNC_VERSION = 1

/** Periodic anti-entropy: each connected peer not synced within this interval gets a session. */
export const DEFAULT_ANTI_ENTROPY_MS = 30_000
export const DEFAULT_ANTI_ENTROPY_JITTER = 0.2
/** A change (a publish, records applied from a peer) starts sessions with the other peers after this. */
export const DEFAULT_PROPAGATE_DEBOUNCE_MS = 20
/** A scope counts as fresh for this long after a successful session with a peer that holds it. */
export const DEFAULT_FRESHNESS_MS = 120_000
/** Time to get one frame written or to get the answer to one request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
/** Time to wait for the remote's next frame while it may be applying a batch. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000
/** Time one whole session may take. */
export const DEFAULT_SESSION_TIMEOUT_MS = 10 * 60_000
/** Concurrent inbound artifact sessions per peer; one more is refused (and an offence). */
export const DEFAULT_MAX_SESSIONS_PER_PEER = 4
/** Records handed to one `store.apply` (one transaction). */
export const DEFAULT_APPLY_BATCH = 1024
/** Keys one `want` frame may name (32 bytes each, well inside a 64 KiB frame). */
export const MAX_KEYS_PER_WANT = 1024
/** Scopes one `scopes` frame may list (a store holds at most 256 by default; 1,024 bounds a hostile list). */
export const MAX_SCOPES_PER_FRAME = 1024
/** Frame body size: one noise message with its prefix (as sync's framing). */
export const MAX_FRAME_BYTES = 64 * 1024 - 16
/** Room for our envelope around merkle's opaque payload (type, scope, lengths). */
export const ENVELOPE_BYTES = 640
/** The scope trust bundles are published in, when the caller names none. */
export const DEFAULT_TRUST_SCOPE = 'trust'
/** The name of the trust-bundle artifact, when the caller names none. */
export const DEFAULT_TRUST_NAME = 'root'
