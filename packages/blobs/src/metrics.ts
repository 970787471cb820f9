import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { BlobStore } from './store.js'

/** The blob layer's Prometheus metrics, in a registry of their own unless one is given. */
export interface BlobMetrics {
  readonly registry: Registry
  storedBytes: Counter
  fetchedBytes: Counter
  servedBytes: Counter
  evictedBytes: Counter
  corruptBytes: Counter
  fetchSeconds: Histogram
  verificationFailures: Counter<'peer' | 'reason'>
  offences: Counter<'reason'>
  refusals: Counter<'reason'>
  heldBytes: Gauge<'kind'>
}

export function createBlobMetrics(registry: Registry = new Registry(), store?: BlobStore): BlobMetrics {
  const registers = [registry]
  const counter = (name: string, help: string): Counter => new Counter({ name, help, registers })
  return {
    registry,
    storedBytes: counter('provsync_blob_put_bytes_total', 'Bytes of blobs put on this node'),
    fetchedBytes: counter('provsync_blob_fetched_bytes_total', 'Verified chunk bytes fetched from peers'),
    servedBytes: counter('provsync_blob_served_bytes_total', 'Chunk bytes served to peers'),
    evictedBytes: counter(
      'provsync_blob_evicted_bytes_total',
      'Fetched chunk bytes evicted under the budget',
    ),
    corruptBytes: counter(
      'provsync_blob_corrupt_bytes_total',
      'Chunk files found corrupt on disk and dropped',
    ),
    fetchSeconds: new Histogram({
      name: 'provsync_blob_fetch_seconds',
      help: 'Time to fetch the missing chunks of one range from peers',
      buckets: [0.005, 0.02, 0.1, 0.5, 2, 10, 60],
      registers,
    }),
    verificationFailures: new Counter({
      name: 'provsync_blob_verification_failures_total',
      help: 'Manifests and chunks from peers that failed verification, by peer',
      labelNames: ['peer', 'reason'],
      registers,
    }),
    offences: new Counter({
      name: 'provsync_blob_offences_total',
      help: 'Blob protocol offences by reason',
      labelNames: ['reason'],
      registers,
    }),
    refusals: new Counter({
      name: 'provsync_blob_refusals_total',
      help: 'Requests this node refused, by reason',
      labelNames: ['reason'],
      registers,
    }),
    heldBytes: new Gauge({
      name: 'provsync_blob_held_bytes',
      help: 'Chunk bytes held, pinned (produced or pinned here) or fetched (evictable)',
      labelNames: ['kind'],
      registers,
      collect() {
        if (store === undefined) return
        const stats = store.stats()
        this.set({ kind: 'pinned' }, stats.pinnedBytes)
        this.set({ kind: 'fetched' }, stats.unpinnedBytes)
      },
    }),
  }
}
