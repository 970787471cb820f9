/** Protocol ids, the announcement topic and every default of the service's init, in one place. */

export const RECONCILE_PROTOCOL = '/provsync/reconcile/1.0.0'
export const FETCH_PROTOCOL = '/provsync/fetch/1.0.0'

/** The gossipsub topic head announcements of a network travel on. */
export function headsTopic(networkId: string): string {
  return `/provsync/heads/1.0.0/${networkId}`
}

/** Quiet time after a local change before the roots are announced. */
export const DEFAULT_ANNOUNCE_DEBOUNCE_MS = 500
/** Longest wait for an announcement under a stream of changes, as a multiple of the debounce. */
export const DEFAULT_ANNOUNCE_MAX_WAIT_FACTOR = 4
/** Interval of the periodic exchange with a random peer. */
export const DEFAULT_ANTI_ENTROPY_INTERVAL_MS = 30_000
/** Fraction by which each anti-entropy interval varies at random. */
export const DEFAULT_ANTI_ENTROPY_JITTER = 0.2
/** Sessions that peers' announcements start at once. */
export const DEFAULT_ANNOUNCEMENT_PULLS = 2
/** One side of a new connection starts an exchange. */
export const DEFAULT_SYNC_ON_CONNECT = true
/** Inbound streams per connection and protocol, enforced by the registrar. */
export const DEFAULT_MAX_INBOUND_STREAMS = 32
/** Outbound streams per connection and protocol, enforced by the registrar. */
export const DEFAULT_MAX_OUTBOUND_STREAMS = 64
/** Bytes a stream may queue for a slow reader before it is reset (yamux's own default is unbounded). */
export const DEFAULT_MAX_WRITE_BUFFER_BYTES = 4 * 1024 * 1024
/** Bytes one peer can make this node hold in the buffers of the streams it opens. */
export const DEFAULT_MAX_BUFFERED_BYTES_PER_PEER = 16 * 1024 * 1024
/**
 * The most a peer may have in flight on one yamux stream (the receive window it is granted). yamux
 * doubles a busy stream's window up to 16 MiB by default, and data already granted still arrives,
 * is decrypted and copied after its stream was reset for an overfull buffer. Measured (read-flood
 * soak, 8 fetch streams × 300 unread requests): the target gained 37-59 MiB of RSS with the 16 MiB
 * window, 19-26 MiB with 1 MiB, 11-20 MiB with 256 KiB (yamux's initial window: no auto-tuning).
 */
export const DEFAULT_MAX_STREAM_WINDOW_BYTES = 256 * 1024
/** The smallest share of that bound one inbound stream gets (read and write buffer each). */
export const MIN_STREAM_BUFFER_BYTES = 256 * 1024
/** How long after a stream ended mid-session its connection may take to close, if the peer went away. */
export const PEER_GONE_GRACE_MS = 500

/** Refusal reasons from crdt's `apply` that an honest peer never relays, so they count as offences. */
export const DEFAULT_OFFENDING_REFUSALS: readonly string[] = [
  'malformed',
  'bad-signature',
  'oversized',
  'far-future',
  'untrusted-operator',
  'wrong-network',
  'unknown-kind',
  'invalid-run',
]

/** Peers with a `provsync_last_sync_age_seconds` series at once (the most recently synced). */
export const MAX_PEER_SERIES = 256
/** Peers whose last failure `peers()` keeps (the most recent ones). */
export const MAX_FAILURES_KEPT = 1024

/** Eager push of new records along a spanning tree (Plumtree); a node without it never sees the protocol. */
export const PUSH_PROTOCOL = '/provsync/push/1.0.0'
/**
 * Quiet time after a change before its records are pushed: changes within it share one frame per
 * store and neighbour (and one `apply` transaction at the receiver).
 */
export const DEFAULT_PUSH_DELAY_MS = 25
/** How recently a push must have brought new records for a push neighbour's announcements to start no pull. */
export const DEFAULT_PUSH_LAZY_WINDOW_MS = 2_000
