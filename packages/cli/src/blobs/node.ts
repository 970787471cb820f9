import { join } from 'node:path'
import type { ArtifactStore } from '@provsync/artifacts'
import {
  type BlobReferences,
  type BlobService,
  type BlobStore,
  blobs,
  openBlobReferences,
  openBlobStore,
  referencePolicy,
} from '@provsync/blobs'
import type { Admission, NodeServiceParts, ProvsyncNode } from '@provsync/sync'
import { asParams } from '../control/params.js'
import type { ControlHandler } from '../control/server.js'
import { BLOB_METHODS, type BlobMethod } from './methods.js'
import { artifactReferences, trackRecordReferences } from './references.js'

/** Where a node keeps its blobs: chunk files and their LMDB index, beside the node's environment. */
export const BLOBS_DIR = 'blobs'
/** Under BLOBS_DIR: the LMDB environment of the reference index (which records reference which blob, from whom). */
export const REFERENCES_DIR = 'references'
/** The blob service's name in libp2p's services (`node.libp2p.services.blobs`). */
export const BLOB_SERVICE = 'blobs'

export interface BlobNodeOptions {
  readonly dataDir: string
  readonly networkId: string
  readonly trust: readonly Uint8Array[]
  /** Bytes of fetched, unpinned chunks kept (`--blob-budget`). @default blobs' DEFAULT_BUDGET_BYTES (1 GiB) */
  readonly budgetBytes?: number
  /**
   * The node's artifact store: blob references of its artifacts authorize peers that may hold
   * their scope. @default none (only supersessions and assertions authorize)
   */
  readonly artifacts?: ArtifactStore
  /**
   * Closed network (`--closed`): the admission sync and artifacts use; the blob protocol then
   * refuses every peer that is not a member (`not-admitted`) and asks none for a blob.
   * @default none (open network)
   */
  readonly admission?: Pick<Admission, 'admit'>
}

/** What the blob, export and import control methods work with. */
export interface BlobContext {
  readonly node: ProvsyncNode
  readonly dataDir: string
  /** The node's operator keys: bundles signed by one of them are trusted on import. */
  readonly trust: readonly Uint8Array[]
  readonly store: BlobStore
  /** Which records here reference which blob: what `export --blobs referenced` carries. */
  readonly references: BlobReferences
  readonly service: BlobService
  /** Blobs a read here could not complete (hex ids): what `blob want` asks for by default. */
  readonly wanted: Set<string>
}

export interface BlobNode {
  readonly store: BlobStore
  /** Which records reference which blob (and where they came from): the default policy's input. */
  readonly references: BlobReferences
  /** For createNode's `services`: the blob service on the node's registry. */
  services(parts: NodeServiceParts): Record<string, (components: never) => unknown>
  /** The control handler with the blob, export and import methods in front of `inner`. */
  wrap(inner: ControlHandler, node: ProvsyncNode): ControlHandler
  /**
   * A trust rotation the node followed (artifacts' `trust:rotated`, beside sync's `setTrust`): the
   * blob hello names the new bundle from the next stream on, and imports trust its operators.
   */
  setTrust(operatorKeys: readonly Uint8Array[]): void
  close(): Promise<void>
}

/**
 * Opens the node's blob store (its own LMDB index under `<dataDir>/blobs`, so the node's
 * environment and its map size are not shared) and builds the service and control methods on it.
 */
export async function openBlobNode(options: BlobNodeOptions): Promise<BlobNode> {
  const store = await openBlobStore({
    path: join(options.dataDir, BLOBS_DIR),
    ...(options.budgetBytes !== undefined ? { budgetBytes: options.budgetBytes } : {}),
  })
  const wanted = new Set<string>()
  // Kept in LMDB, so the peers records came from are still asked first for their blobs after a restart.
  const references = await openBlobReferences({ path: join(options.dataDir, BLOBS_DIR, REFERENCES_DIR) })
  const artifacts =
    options.artifacts === undefined ? undefined : artifactReferences(references, options.artifacts)
  let untrack: Promise<() => void> | undefined
  let service: BlobService | undefined
  let trust = options.trust
  return {
    store,
    references,
    services: (parts) => {
      // Authorization follows the records: a peer may fetch a blob only if it may hold a record here
      // that references it (the scan runs while libp2p starts; onApplied is subscribed at once).
      untrack = trackRecordReferences(references, parts.state)
      artifacts?.catchUp()
      const factory = blobs({
        store,
        networkId: options.networkId,
        trust,
        registry: parts.registry,
        references,
        mayFetch: artifacts?.mayFetch ?? referencePolicy(references),
        ...(options.admission !== undefined ? { admission: options.admission } : {}),
      })
      // Kept, so a rotation reaches the service (libp2p builds it inside createNode; one followed
      // in between is put in force at once).
      const build = (components: Parameters<typeof factory>[0]) => {
        service = factory(components)
        service.setTrust(trust)
        return service
      }
      return { [BLOB_SERVICE]: build }
    },
    setTrust(operatorKeys) {
      trust = operatorKeys
      service?.setTrust(operatorKeys)
    },
    wrap(inner, node) {
      const ctx: BlobContext = {
        node,
        dataDir: options.dataDir,
        get trust() {
          return trust
        },
        store,
        references,
        service: node.libp2p.services[BLOB_SERVICE] as BlobService,
        wanted,
      }
      return async (request, call) => {
        const method = Object.hasOwn(BLOB_METHODS, request.method)
          ? BLOB_METHODS[request.method as BlobMethod]
          : undefined
        if (method === undefined) return inner(request, call)
        return method(ctx, asParams(request.params), {
          progress: (stage, done, total) => call.progress({ stage, done, total }),
          signal: call.signal,
        })
      }
    },
    async close() {
      const stop = await untrack?.catch(() => undefined)
      stop?.()
      await store.close()
      await references.close()
    },
  }
}
