/**
 * The harness thread's side of a threaded run: starts the node threads (node-thread.ts), routes
 * each cross-thread dial's port to the listener's thread, and turns requests into promises of
 * their replies. A thread that throws, exits or fails a request fails every request with a
 * {@link NodeThreadError} naming it, so a run never hangs on a dead thread.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type MessagePort, Worker } from 'node:worker_threads'
import { NodeThreadError } from './errors.js'
import type { PortMessage } from './links.js'
import {
  memoryAddress,
  type NodeThreadConfig,
  type ThreadNotice,
  type ThreadReply,
  type ThreadRequest,
  threadOf,
} from './thread-protocol.js'

/** A request without its id (the pool numbers them). */
type Ask = ThreadRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never

/** How long `close` waits for a thread to stop its nodes before terminating it. */
const STOP_TIMEOUT_MS = 20_000

/**
 * The parent's `--cpu-prof*` flags, so `node --cpu-prof` writes one profile per node thread too (an
 * explicit `execArgv` replaces the inherited one, and the node threads' profiles were missing).
 */
export function profilerFlags(execArgv: readonly string[] = process.execArgv): string[] {
  const flags: string[] = []
  execArgv.forEach((flag, i) => {
    if (!flag.startsWith('--cpu-prof')) return
    flags.push(flag)
    // `--cpu-prof-dir DIR` (and -name, -interval) in two words: the value goes with it.
    if (flag !== '--cpu-prof' && !flag.includes('=') && execArgv[i + 1] !== undefined)
      flags.push(execArgv[i + 1]!)
  })
  return flags
}

/** The worker's entry: built JS next to this module, or its TypeScript source through tsx (tests, `tsx` runs). */
function entry(): { url: URL; options: ConstructorParameters<typeof Worker>[1] } {
  if (import.meta.url.endsWith('.ts')) {
    const tsconfig = fileURLToPath(new URL('../../../tsconfig.source.json', import.meta.url))
    return {
      url: new URL('./node-thread.ts', import.meta.url),
      options: {
        execArgv: ['--import', 'tsx', ...profilerFlags()],
        env: { ...process.env, ...(existsSync(tsconfig) ? { TSX_TSCONFIG_PATH: tsconfig } : {}) },
      },
    }
  }
  // Built JS needs no loader: a parent run through tsx would otherwise hand its hooks to every thread.
  return { url: new URL('./node-thread.js', import.meta.url), options: { execArgv: profilerFlags() } }
}

export class NodeThreads {
  private readonly workers: Worker[] = []
  private readonly pending = new Map<number, { resolve(r: ThreadReply): void; reject(e: Error): void }>()
  private readonly ready: Promise<void>[] = []
  private readonly addresses = new Map<string, number>()
  /** Resolves `close`'s wait for a thread's nodes to stop. */
  private readonly stopped = new Map<number, () => void>()
  private rejectFailure: (err: Error) => void = () => {}
  /** Rejects with the first failure of any thread. */
  private readonly failure$ = new Promise<never>((_, reject) => {
    this.rejectFailure = reject
  })
  private nextId = 0
  private failure: NodeThreadError | undefined
  private closing = false
  /** Threads that exited (or failed), which `close` does not ask to stop. */
  private readonly dead = new Set<number>()

  constructor(configs: readonly NodeThreadConfig[]) {
    this.failure$.catch(() => {}) // awaited by `started`; later failures reach the requests
    const { url, options } = entry()
    for (let i = 0; i < configs[0]!.nodes; i++) this.addresses.set(memoryAddress(configs[0]!.runId, i), i)
    for (const config of configs) {
      const worker = new Worker(url, { ...options, workerData: config })
      this.workers.push(worker)
      this.ready.push(
        new Promise<void>((resolve, reject) => {
          worker.on('message', (m: ThreadReply | ThreadNotice) => {
            if (m.type === 'ready') resolve()
            else this.onMessage(config.thread, m)
          })
          worker.on('error', (err) => {
            this.dead.add(config.thread)
            this.fail(config.thread, `${err.name}: ${err.message}`)
            reject(this.failure)
          })
          worker.on('exit', (code) => {
            this.dead.add(config.thread)
            if (!this.closing) this.fail(config.thread, `exited with code ${code}`)
            reject(this.failure ?? new NodeThreadError(config.thread, `exited with code ${code}`))
          })
        }),
      )
    }
  }

  get count(): number {
    return this.workers.length
  }

  /** Resolves once every thread has started its nodes; rejects when any thread fails first. */
  async started(): Promise<void> {
    await Promise.race([Promise.all(this.ready), this.failure$])
  }

  private onMessage(thread: number, m: ThreadReply | ThreadNotice): void {
    if (m.type === 'dial') this.route(m.from, m.address, m.port)
    else if (m.type === 'fatal') {
      this.dead.add(thread)
      this.fail(thread, m.error)
    } else if (m.type === 'failed') this.fail(thread, m.error)
    else if (m.type === 'stopped') this.stopped.get(thread)?.()
    else if (m.type !== 'ready') {
      const waiter = this.pending.get(m.id)
      this.pending.delete(m.id)
      waiter?.resolve(m)
    }
  }

  /** Hands the far end of a dial to the listener's thread; a dial to no node is reset. */
  private route(from: string, address: string, port: MessagePort): void {
    const index = this.addresses.get(address)
    const worker = index === undefined ? undefined : this.workers[threadOf(index, this.workers.length)]
    if (worker === undefined) {
      port.postMessage({ t: 'reset' } satisfies PortMessage)
      return
    }
    worker.postMessage({ type: 'accept', address, from, port } satisfies ThreadRequest, [port])
  }

  private fail(thread: number, reason: string): void {
    this.failure ??= new NodeThreadError(thread, reason)
    this.rejectFailure(this.failure)
    for (const waiter of this.pending.values()) waiter.reject(this.failure)
    this.pending.clear()
  }

  /** Sends `ask` to `thread` and resolves with its reply. */
  request<T extends ThreadReply['type']>(
    thread: number,
    ask: Ask,
  ): Promise<Extract<ThreadReply, { type: T }>> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: ThreadReply) => void, reject })
      this.workers[thread]!.postMessage({ ...ask, id } as ThreadRequest)
    })
  }

  /** The same request to every thread, replies in thread order. */
  all<T extends ThreadReply['type']>(ask: Ask): Promise<Extract<ThreadReply, { type: T }>[]> {
    return Promise.all(this.workers.map((_, thread) => this.request<T>(thread, ask)))
  }

  /** The first failure of any thread, if one failed. */
  get failed(): NodeThreadError | undefined {
    return this.failure
  }

  /**
   * Stops the nodes of every thread still alive (LMDB closed), also after another thread failed,
   * then terminates the threads.
   */
  async close(): Promise<void> {
    const stops = this.workers.map((worker, thread) => {
      if (this.dead.has(thread)) return undefined
      return new Promise<void>((resolve) => {
        this.stopped.set(thread, resolve)
        worker.postMessage({ type: 'stop', id: -1 } satisfies ThreadRequest)
      })
    })
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS).unref())
    await Promise.race([Promise.all(stops), timeout])
    await this.terminate()
  }

  /** Terminates every thread now, its nodes not stopped (a thread inside a native call may abort the process). */
  async terminate(): Promise<void> {
    this.closing = true
    await Promise.allSettled(this.workers.map((w) => w.terminate()))
  }
}
