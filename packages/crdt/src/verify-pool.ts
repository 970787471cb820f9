import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { SODIUM_PATH, verifySignature } from './signing.js'

export interface VerifyItem {
  readonly publicKey: Uint8Array
  readonly message: Uint8Array
  readonly signature: Uint8Array
  /**
   * Bytes the signed message starts with, before `message` (a domain prefix shared by a batch),
   * so a caller need not copy both into one array: the pool packs them side by side anyway.
   */
  readonly prefix?: Uint8Array
}

/** The whole signed message of an item. */
function messageOf(item: VerifyItem): Uint8Array {
  if (item.prefix === undefined || item.prefix.length === 0) return item.message
  const out = new Uint8Array(item.prefix.length + item.message.length)
  out.set(item.prefix)
  out.set(item.message, item.prefix.length)
  return out
}

/** Results of one batch, read in any order while the verification is still running. */
export interface VerifyJob {
  /**
   * Whether item `index` verified. Blocks until it is known; while it waits, the calling thread
   * verifies items no worker has claimed yet, so it never idles while there is work.
   */
  result(index: number): boolean
}

/** Verifies Ed25519 signatures, spreading large batches over worker threads. */
export interface BatchVerifier {
  readonly threads: number
  /** Starts verifying `items` on the workers and returns at once. */
  start(items: readonly VerifyItem[]): VerifyJob
  verify(items: readonly VerifyItem[]): Promise<boolean[]>
  close(): Promise<void>
}

// Layout of a job's SharedArrayBuffer, all 32-bit words then bytes:
//   [0] next unclaimed index, [1] count, [2 + i] result of item i (0 pending, 1 valid, 2 invalid),
//   then count + 1 byte offsets, then per item: public key (32) ‖ signature (64) ‖ message.
const PENDING = 0
const VALID = 1
const INVALID = 2

// The worker is plain CommonJS passed as text, so it runs the same from src (tsx, vitest) and
// from dist, and loads the very sodium-native copy the main thread resolved.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const sodium = require(workerData.sodiumPath)
parentPort.on('message', ({ buffer }) => {
  const count = new Int32Array(buffer, 0, 2)[1]
  const words = new Int32Array(buffer, 0, 2 + count)
  const offsets = new Uint32Array(buffer, 4 * (2 + count), count + 1)
  for (let i = Atomics.add(words, 0, 1); i < count; i = Atomics.add(words, 0, 1)) {
    const item = Buffer.from(buffer, offsets[i], offsets[i + 1] - offsets[i])
    const ok = sodium.crypto_sign_verify_detached(item.subarray(32, 96), item.subarray(96), item.subarray(0, 32))
    Atomics.store(words, 2 + i, ok ? 1 : 2)
    Atomics.notify(words, 2 + i)
  }
})
`

/** Below this many signatures a batch is verified inline: waking a worker costs more. */
const MIN_PARALLEL_BATCH = 32
/** A worker that has not answered for this long is presumed gone; the caller verifies itself. */
const STALL_MS = 2000

function inlineJob(items: readonly VerifyItem[]): VerifyJob {
  const results = items.map((item) => verifySignature(item.publicKey, messageOf(item), item.signature))
  return { result: (index) => results[index] === true }
}

function pack(items: readonly VerifyItem[]): SharedArrayBuffer {
  const count = items.length
  const head = 4 * (2 + count + count + 1)
  let size = head
  for (const item of items) size += 96 + (item.prefix?.length ?? 0) + item.message.length
  const buffer = new SharedArrayBuffer(size)
  const offsets = new Uint32Array(buffer, 4 * (2 + count), count + 1)
  const bytes = new Uint8Array(buffer)
  new Int32Array(buffer, 0, 2)[1] = count
  let offset = head
  items.forEach((item, i) => {
    offsets[i] = offset
    bytes.set(item.publicKey, offset)
    bytes.set(item.signature, offset + 32)
    let at = offset + 96
    if (item.prefix !== undefined) {
      bytes.set(item.prefix, at)
      at += item.prefix.length
    }
    bytes.set(item.message, at)
    offset = at + item.message.length
  })
  offsets[count] = offset
  return buffer
}

function sharedJob(buffer: SharedArrayBuffer): VerifyJob {
  const count = new Int32Array(buffer, 0, 2)[1]!
  const words = new Int32Array(buffer, 0, 2 + count)
  const offsets = new Uint32Array(buffer, 4 * (2 + count), count + 1)
  const bytes = new Uint8Array(buffer)
  const verifyAt = (i: number): number => {
    const item = bytes.subarray(offsets[i]!, offsets[i + 1]!)
    return verifySignature(item.subarray(0, 32), item.subarray(96), item.subarray(32, 96)) ? VALID : INVALID
  }
  return {
    result(index) {
      const waitStart = performance.now()
      for (;;) {
        const state = Atomics.load(words, 2 + index)
        if (state !== PENDING) return state === VALID
        const claimed = Atomics.add(words, 0, 1)
        if (claimed < count) {
          Atomics.store(words, 2 + claimed, verifyAt(claimed))
          continue
        }
        // Everything is claimed and `index` is being verified elsewhere: wait for it.
        Atomics.wait(words, 2 + index, PENDING, 50)
        if (Atomics.load(words, 2 + index) === PENDING && performance.now() - waitStart > STALL_MS) {
          Atomics.store(words, 2 + index, verifyAt(index))
        }
      }
    },
  }
}

/**
 * `threads` workers (default: one per core beyond the first, at most 3). The calling thread
 * works too: it claims unverified items whenever it would otherwise wait, so with 2 cores a batch
 * verifies at about twice the single-thread rate, and what the caller does between results
 * (applying the records already verified) overlaps with the workers' verification.
 */
export function createBatchVerifier(options: { threads?: number } = {}): BatchVerifier {
  const threads = Math.max(0, Math.floor(options.threads ?? Math.min(3, availableParallelism() - 1)))
  const workers: (Worker | undefined)[] = []
  let closed = false

  function worker(index: number): Worker {
    let w = workers[index]
    if (w === undefined) {
      w = new Worker(WORKER_SOURCE, { eval: true, workerData: { sodiumPath: SODIUM_PATH } })
      w.unref()
      // A failed worker is replaced on the next batch; its claimed items are re-verified by the
      // caller after STALL_MS.
      w.on('error', () => {
        workers[index] = undefined
      })
      workers[index] = w
    }
    return w
  }
  // Started up front: a worker takes tens of milliseconds to load.
  for (let i = 0; i < threads; i++) worker(i)

  const start = (items: readonly VerifyItem[]): VerifyJob => {
    if (closed || threads === 0 || items.length < MIN_PARALLEL_BATCH) return inlineJob(items)
    const buffer = pack(items)
    for (let i = 0; i < threads; i++) worker(i).postMessage({ buffer })
    return sharedJob(buffer)
  }

  return {
    threads,
    start,
    async verify(items) {
      const job = start(items)
      return items.map((_, i) => job.result(i))
    },
    async close() {
      closed = true
      await Promise.all(workers.map((w) => w?.terminate()))
      workers.length = 0
    },
  }
}

/** Items fed to a verifier while the caller is still preparing later ones. */
export interface StreamingJob extends VerifyJob {
  push(item: VerifyItem): void
  /** Starts whatever was pushed and not yet started; call once all items are pushed. */
  flush(): void
}

/**
 * Starts verification in chunks that double in size (the first of `firstChunk` items), so the
 * workers verify the first signatures while the caller still decodes and checks the rest of a
 * batch. Result indices count pushed items across every chunk.
 */
export function streamingJob(verifier: BatchVerifier, firstChunk = 64): StreamingJob {
  let pending: VerifyItem[] = []
  const jobs: { job: VerifyJob; first: number }[] = []
  let started = 0
  let chunk = firstChunk
  const flush = () => {
    if (pending.length === 0) return
    jobs.push({ job: verifier.start(pending), first: started })
    started += pending.length
    pending = []
    chunk *= 2
  }
  return {
    push(item) {
      pending.push(item)
      if (pending.length >= chunk) flush()
    },
    flush,
    result(index) {
      if (!(index >= 0 && index < started)) throw new RangeError(`no verification started for item ${index}`)
      let k = jobs.length - 1
      while (jobs[k]!.first > index) k--
      return jobs[k]!.job.result(index - jobs[k]!.first)
    },
  }
}

const shared = new Map<number, { verifier: BatchVerifier; users: number }>()

/**
 * A verifier shared by every node state of the process that asks for the same thread count, so
 * a simulation with tens of nodes in one process runs one set of workers, not tens. `close` on
 * the handle releases it; the workers stop when the last user releases.
 */
export function acquireSharedVerifier(threads?: number): BatchVerifier {
  const count = Math.max(0, Math.floor(threads ?? Math.min(3, availableParallelism() - 1)))
  let slot = shared.get(count)
  if (slot === undefined) {
    slot = { verifier: createBatchVerifier({ threads: count }), users: 0 }
    shared.set(count, slot)
  }
  slot.users++
  const { verifier } = slot
  let released = false
  return {
    threads: verifier.threads,
    start: (items) => verifier.start(items),
    verify: (items) => verifier.verify(items),
    async close() {
      if (released) return
      released = true
      const current = shared.get(count)
      if (current === undefined || --current.users > 0) return
      shared.delete(count)
      await current.verifier.close()
    },
  }
}
