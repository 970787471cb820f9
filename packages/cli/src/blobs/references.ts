import type { PeerId } from '@libp2p/interface'
import { type ArtifactStore, covers } from '@provsync/artifacts'
import { type BlobReferences, type MayHoldScope, referencePolicy } from '@provsync/blobs'
import {
  type AppliedBatch,
  decodeAssertion,
  decodeSupersession,
  EVIDENCE_RECORD_VERSION,
  type NodeState,
} from '@provsync/crdt'
import { toHex } from '../hex.js'
import { peerIdOfKey } from '../identity.js'

/** Records listed per `records()` page of the start-up scan. */
const SCAN_PAGE = 4096

/** The evidence blob id a stored supersession or assertion carries (version 2 only), if any. */
export function evidenceOf(store: 'supersessions' | 'assertions', bytes: Uint8Array, networkId: string) {
  if (bytes[1] !== EVIDENCE_RECORD_VERSION) return undefined
  try {
    return store === 'supersessions'
      ? decodeSupersession(bytes, networkId).evidence
      : decodeAssertion(bytes, networkId).evidence
  } catch {
    return undefined // stored records were verified on arrival; a damaged one references nothing
  }
}

function indexBatch(refs: BlobReferences, state: NodeState, batch: AppliedBatch): void {
  if (batch.store !== 'supersessions' && batch.store !== 'assertions') return
  const own = toHex(batch.from) === toHex(state.publicKey)
  const from = own ? undefined : peerIdOfKey(batch.from)
  const kind = batch.store === 'supersessions' ? 'supersession' : 'assertion'
  for (const { key, bytes } of batch.records) {
    const id = evidenceOf(batch.store, bytes, state.networkId)
    if (id !== undefined) refs.add(id, { kind, record: key, from })
  }
}

/**
 * Fills `refs` from the supersessions and assertions the node holds (a scan, in pages), then from
 * every commit (crdt's `onApplied`, with the peer each batch came from). Returns the unsubscribe.
 */
export async function trackRecordReferences(refs: BlobReferences, state: NodeState): Promise<() => void> {
  const stop = state.onApplied((batch) => indexBatch(refs, state, batch))
  for (const store of ['supersessions', 'assertions'] as const) {
    let start: Uint8Array | undefined
    for (;;) {
      const page = [...state.records(store, { ...(start ? { start } : {}), limit: SCAN_PAGE + 1 })]
      for (const { key, record } of page.slice(0, SCAN_PAGE)) {
        const id = evidenceOf(store, record, state.networkId)
        if (id !== undefined)
          refs.add(id, { kind: store === 'supersessions' ? 'supersession' : 'assertion', record: key })
      }
      if (page.length <= SCAN_PAGE) break
      start = page[SCAN_PAGE]!.key
      await new Promise((resolve) => setImmediate(resolve)) // a long scan leaves the event loop to the node
    }
  }
  return stop
}

/**
 * The artifacts' side of the default policy: blob references of current artifacts (read from the
 * store's view-change log, caught up before each decision) and the scopes a peer may hold (its
 * live `hold` grant).
 */
export function artifactReferences(refs: BlobReferences, store: ArtifactStore) {
  let seq = 0
  const catchUp = (): void => {
    for (;;) {
      const changes = store.viewChanges(seq, 1024)
      for (const change of changes) {
        seq = Math.max(seq, change.seq)
        if (change.after === null) continue
        const result = store.current(change.scope, change.family, change.name, { allowStale: true })
        if (!('version' in result)) continue
        const blob = result.version.artifact.blob
        if (blob !== undefined)
          refs.add(blob.id, { kind: 'artifact', record: result.version.hash, scope: change.scope })
      }
      if (changes.length < 1024) return
    }
  }
  const mayHoldScope: MayHoldScope = (peer: PeerId, scope: string) => {
    const key = peer.type === 'Ed25519' ? peer.publicKey.raw : undefined
    if (key === undefined) return false
    return store.liveGrant(key, 'hold')?.scopes.some((prefix) => covers(prefix, scope)) === true
  }
  const policy = referencePolicy(refs, mayHoldScope)
  return {
    catchUp,
    mayHoldScope,
    /** The default policy, after catching up with artifacts published since the last decision. */
    mayFetch(peer: PeerId, id: Uint8Array): boolean {
      if (policy(peer, id)) return true
      catchUp()
      return policy(peer, id)
    },
  }
}
