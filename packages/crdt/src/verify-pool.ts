import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { blake3 } from './bytes.js'
import { SODIUM_PATH, verifySignature } from './signing.js'

/** The BLAKE3 the workers load: the very hash-wasm copy `bytes.ts` uses. */
const HASH_WASM_PATH: string = createRequire(import.meta.url).resolve('hash-wasm')

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

/**
 * The buffer an inline job packs each prefixed message into before verifying it (verification is
 * synchronous, so the message need not outlive the call). A new array per record (prefix ‖ body,
 * over 64 bytes, so V8 allocated its backing store with malloc and freed it in a later GC) was
 * 3-4.7 µs of the applying thread per record of a small batch (`call-probe.ts --sizes=1,10`
 * profiles, session 18: `messageOf` self 3.0 µs per record at size 10, 4.7 µs per call at size 1).
 */
let packed = new Uint8Array(4096)

/** The whole signed message of an item: a view of {@link packed}, valid until the next call. */
function messageOf(item: VerifyItem): Uint8Array {
  const { prefix, message } = item
  if (prefix === undefined || prefix.length === 0) return message
  const length = prefix.length + message.length
  if (packed.length < length) packed = new Uint8Array(2 ** Math.ceil(Math.log2(length)))
  packed.set(prefix)
  packed.set(message, prefix.length)
  return packed.subarray(0, length)
}

/** Results of one batch, read in any order while the verification is still running. */
export interface VerifyJob {
  /**
   * Whether item `index` verified. Blocks until it is known; while it waits, the calling thread
   * verifies items no worker has claimed yet, so it never idles while there is work.
   */
  result(index: number): boolean
  /**
   * For a job started with `digests`: BLAKE3(message ‖ signature) of item `index` (the prefix
   * left out), computed by whichever thread verified it; call after {@link result}. For a record,
   * that is its content hash (`recordHash`), so the applying thread need not hash it again.
   * Undefined for a job started without `digests`.
   */
  digest?(index: number): Uint8Array | undefined
  /** Whether item `index`'s result is known (no waiting, no verifying). */
  ready?(index: number): boolean
  /**
   * Claims one item no thread has claimed yet and verifies it on the calling thread; false when
   * every item is claimed. {@link streamingJob} uses it to keep the caller verifying later chunks
   * while an item it waits for is still being verified by a worker.
   */
  claimOne?(): boolean
}

/** How a job is started. */
export interface StartOptions {
  /** Also compute each item's {@link VerifyJob.digest}; default false. */
  readonly digests?: boolean
}

/** Verifies Ed25519 signatures, spreading large batches over worker threads. */
export interface BatchVerifier {
  readonly threads: number
  /** Starts verifying `items` on the workers and returns at once. */
  start(items: readonly VerifyItem[], options?: StartOptions): VerifyJob
  verify(items: readonly VerifyItem[]): Promise<boolean[]>
  close(): Promise<void>
}

// Layout of a job's SharedArrayBuffer, all 32-bit words then bytes:
//   [0] next unclaimed index, [1] count, [2] flags (1: digests), [3 + i] result of item i
//   (0 pending, 1 valid, 2 invalid), then count + 1 byte offsets, then with digests 32 bytes per
//   item, then per item: public key (32) ‖ signature (64) ‖ u16 prefix length ‖ prefix ‖ message.
// A digest is written before its item's result is stored (Atomics.store), so a thread that has
// read the result reads the whole digest.
const PENDING = 0
const VALID = 1
const INVALID = 2
const HEADER_WORDS = 3
const WITH_DIGESTS = 1
const ITEM_HEAD = 98
const DIGEST_BYTES = 32

// The worker is plain CommonJS passed as text, so it runs the same from src (tsx, vitest) and
// from dist, and loads the very sodium-native copy the main thread resolved.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const sodium = require(workerData.sodiumPath)
let hasher
const ready = require(workerData.hashWasmPath).createBLAKE3().then((h) => { hasher = h })
parentPort.on('message', async ({ buffer }) => {
  const head = new Int32Array(buffer, 0, 3)
  const count = head[1]
  const digests = (head[2] & 1) === 1
  if (digests && hasher === undefined) await ready
  const words = new Int32Array(buffer, 0, 3 + count)
  const offsets = new Uint32Array(buffer, 4 * (3 + count), count + 1)
  const digestAt = 4 * (3 + count + count + 1)
  const bytes = new Uint8Array(buffer)
  for (let i = Atomics.add(words, 0, 1); i < count; i = Atomics.add(words, 0, 1)) {
    const item = Buffer.from(buffer, offsets[i], offsets[i + 1] - offsets[i])
    const signature = item.subarray(32, 96)
    const ok = sodium.crypto_sign_verify_detached(signature, item.subarray(98), item.subarray(0, 32))
    if (digests) {
      hasher.init()
      hasher.update(item.subarray(98 + ((item[96] << 8) | item[97])))
      hasher.update(signature)
      bytes.set(hasher.digest('binary'), digestAt + 32 * i)
    }
    Atomics.store(words, 3 + i, ok ? 1 : 2)
    Atomics.notify(words, 3 + i)
  }
})
`

/** Below this many signatures a batch is verified inline: waking a worker costs more. */
const MIN_PARALLEL_BATCH = 32
/** A worker that has not answered for this long is presumed gone; the caller verifies itself. */
const STALL_MS = 2000

function inlineJob(items: readonly VerifyItem[], options: StartOptions): VerifyJob {
  const results = items.map((item) => verifySignature(item.publicKey, messageOf(item), item.signature))
  return {
    result: (index) => results[index] === true,
    digest: (index) => {
      const item = items[index]
      return options.digests === true && item !== undefined ? blake3(item.message, item.signature) : undefined
    },
  }
}

/** Where a job's digests start in its buffer. */
const digestOffset = (count: number) => 4 * (HEADER_WORDS + count + count + 1)

function pack(items: readonly VerifyItem[], options: StartOptions): SharedArrayBuffer {
  const count = items.length
  const digests = options.digests === true
  const head = digestOffset(count) + (digests ? DIGEST_BYTES * count : 0)
  let size = head
  for (const item of items) size += ITEM_HEAD + (item.prefix?.length ?? 0) + item.message.length
  const buffer = new SharedArrayBuffer(size)
  const offsets = new Uint32Array(buffer, 4 * (HEADER_WORDS + count), count + 1)
  const bytes = new Uint8Array(buffer)
  const words = new Int32Array(buffer, 0, HEADER_WORDS)
  words[1] = count
  words[2] = digests ? WITH_DIGESTS : 0
  let offset = head
  items.forEach((item, i) => {
    offsets[i] = offset
    bytes.set(item.publicKey, offset)
    bytes.set(item.signature, offset + 32)
    const prefixLength = item.prefix?.length ?? 0
    if (prefixLength > 0xffff) throw new RangeError('a verify item prefix is at most 65,535 bytes')
    bytes[offset + 96] = prefixLength >>> 8
    bytes[offset + 97] = prefixLength & 0xff
    let at = offset + ITEM_HEAD
    if (item.prefix !== undefined) {
      bytes.set(item.prefix, at)
      at += prefixLength
    }
    bytes.set(item.message, at)
    offset = at + item.message.length
  })
  offsets[count] = offset
  return buffer
}

function sharedJob(buffer: SharedArrayBuffer): VerifyJob {
  const count = new Int32Array(buffer, 0, HEADER_WORDS)[1]!
  const digests = (new Int32Array(buffer, 0, HEADER_WORDS)[2]! & WITH_DIGESTS) === WITH_DIGESTS
  const words = new Int32Array(buffer, 0, HEADER_WORDS + count)
  const offsets = new Uint32Array(buffer, 4 * (HEADER_WORDS + count), count + 1)
  const bytes = new Uint8Array(buffer)
  const digestsAt = digestOffset(count)
  const verifyAt = (i: number): number => {
    const item = bytes.subarray(offsets[i]!, offsets[i + 1]!)
    const signature = item.subarray(32, 96)
    const ok = verifySignature(item.subarray(0, 32), item.subarray(ITEM_HEAD), signature)
    if (digests) {
      const body = item.subarray(ITEM_HEAD + ((item[96]! << 8) | item[97]!))
      bytes.set(blake3(body, signature), digestsAt + DIGEST_BYTES * i)
    }
    return ok ? VALID : INVALID
  }
  const claimOne = (): boolean => {
    const claimed = Atomics.add(words, 0, 1)
    if (claimed >= count) return false
    Atomics.store(words, HEADER_WORDS + claimed, verifyAt(claimed))
    return true
  }
  return {
    ready: (index) => Atomics.load(words, HEADER_WORDS + index) !== PENDING,
    claimOne,
    result(index) {
      const waitStart = performance.now()
      for (;;) {
        const state = Atomics.load(words, HEADER_WORDS + index)
        if (state !== PENDING) return state === VALID
        if (claimOne()) continue
        // Everything is claimed and `index` is being verified elsewhere: wait for it.
        Atomics.wait(words, HEADER_WORDS + index, PENDING, 50)
        if (
          Atomics.load(words, HEADER_WORDS + index) === PENDING &&
          performance.now() - waitStart > STALL_MS
        ) {
          Atomics.store(words, HEADER_WORDS + index, verifyAt(index))
        }
      }
    },
    digest(index) {
      if (!digests || Atomics.load(words, HEADER_WORDS + index) === PENDING) return undefined
      const at = digestsAt + DIGEST_BYTES * index
      return bytes.slice(at, at + DIGEST_BYTES)
    },
  }
}

/**
 * The verification workers a verifier gets when no thread count is given: one per core beyond
 * the first, at most 3 (the calling thread verifies too).
 */
export function defaultVerifyThreads(): number {
  return Math.min(3, availableParallelism() - 1)
}

/**
 * `threads` workers (default {@link defaultVerifyThreads}). The calling thread
 * works too: it claims unverified items whenever it would otherwise wait, so with 2 cores a batch
 * verifies at about twice the single-thread rate, and what the caller does between results
 * (applying the records already verified) overlaps with the workers' verification.
 */
export function createBatchVerifier(options: { threads?: number } = {}): BatchVerifier {
  const threads = Math.max(0, Math.floor(options.threads ?? defaultVerifyThreads()))
  const workers: (Worker | undefined)[] = []
  let closed = false

  function worker(index: number): Worker {
    let w = workers[index]
    if (w === undefined) {
      w = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { sodiumPath: SODIUM_PATH, hashWasmPath: HASH_WASM_PATH },
      })
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

  const start = (items: readonly VerifyItem[], options: StartOptions = {}): VerifyJob => {
    if (closed || threads === 0 || items.length < MIN_PARALLEL_BATCH) return inlineJob(items, options)
    const buffer = pack(items, options)
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
export function streamingJob(
  verifier: BatchVerifier,
  firstChunk = 64,
  options: StartOptions = {},
): StreamingJob {
  let pending: VerifyItem[] = []
  const jobs: { job: VerifyJob; first: number }[] = []
  let started = 0
  let chunk = firstChunk
  const flush = () => {
    if (pending.length === 0) return
    jobs.push({ job: verifier.start(pending, options), first: started })
    started += pending.length
    pending = []
    chunk *= 2
  }
  // The position of the chunk holding item `index` (no object per call: the applying thread asks
  // twice per record).
  const chunkAt = (index: number) => {
    if (!(index >= 0 && index < started)) throw new RangeError(`no verification started for item ${index}`)
    let k = jobs.length - 1
    while (jobs[k]!.first > index) k--
    return k
  }
  const chunkOf = (index: number) => jobs[chunkAt(index)]!
  /** Verifies one unclaimed item of a chunk after chunk `k`; false when none is left. */
  const helpLater = (k: number): boolean => {
    for (let later = k + 1; later < jobs.length; later++)
      if (jobs[later]!.job.claimOne?.() === true) return true
    return false
  }
  return {
    push(item) {
      pending.push(item)
      if (pending.length >= chunk) flush()
    },
    flush,
    result(index) {
      const k = chunkAt(index)
      const { job, first } = jobs[k]!
      // Item `index` may be claimed by a worker with nothing of its chunk left to claim: rather than
      // wait for it (`job.result` blocks then), verify items of later chunks meanwhile. Measured on
      // apply-loop.ts 20 (load 3): 41 such waits in 22 batches, 110 ms, about 5 µs per record of
      // the calling thread idle (README "Session 12").
      while (job.ready !== undefined && !job.ready(index - first)) {
        if (job.claimOne?.() !== true && !helpLater(k)) break
      }
      return job.result(index - first)
    },
    digest(index) {
      const { job, first } = chunkOf(index)
      return job.digest?.(index - first)
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
  const count = Math.max(0, Math.floor(threads ?? defaultVerifyThreads()))
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
    start: (items, options) => verifier.start(items, options),
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
