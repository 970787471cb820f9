/**
 * The messages between the harness thread and the node threads of a threaded run
 * (`ScenarioOptions.threads`). Everything here is plain data (structured-cloneable); a
 * connection's bytes do not pass through the harness, only the port that carries them
 * (links.ts, `PortMessage`).
 */
import type { MessagePort } from 'node:worker_threads'
import type { ProvsyncNodeOptions } from '@provsync/sync'
import type { Acknowledgement, HistorySnapshot, NodeSnapshot } from './checker.js'
import type { FaultEvent } from './faults.js'
import type { LinkCounters } from './links.js'
import type { SimReport } from './report.js'
import type { ReportNode, StoredRecords } from './summary.js'
import type { WorkloadOp } from './workload.js'

/** A node thread's `workerData`. */
export interface NodeThreadConfig {
  /** This thread's number: it hosts the nodes whose index is this modulo `threads`. */
  readonly thread: number
  readonly threads: number
  readonly seed: string
  readonly runId: string
  readonly baseDir: string
  readonly networkId: string
  /** Honest nodes of the whole run. */
  readonly nodes: number
  readonly operators: number
  readonly sync: ProvsyncNodeOptions['sync']
  /** crdt's shared verifier in this thread: its worker count. */
  readonly verifyThreads: number
  /** The probe's trace file (`ScenarioOptions.tracePath`), appended to by this thread too. */
  readonly tracePath?: string
}

/** The harness's requests; every one but `accept` is answered with a {@link ThreadReply} of its `id`. */
export type ThreadRequest =
  | { readonly type: 'op'; readonly id: number; readonly op: WorkloadOp }
  | {
      readonly type: 'fault'
      readonly id: number
      readonly fault: FaultEvent
      readonly atMs: number
      /** Whether to take the history snapshots of the thread's nodes after the fault. */
      readonly history: boolean
    }
  | { readonly type: 'roots'; readonly id: number }
  | {
      readonly type: 'snapshot'
      readonly id: number
      readonly atMs: number
      readonly knownKeys: Uint8Array[]
      /** By node name: the history entries the final snapshot digests (`historyPrefixes`). */
      readonly historyPrefixes: Map<string, number>
    }
  | { readonly type: 'collect'; readonly id: number }
  | { readonly type: 'stop'; readonly id: number }
  /** The far end of a connection a node of another thread dialled to `address`. */
  | { readonly type: 'accept'; readonly address: string; readonly from: string; readonly port: MessagePort }

/** What a thread measured, for the report (taken at quiescence). */
export interface ThreadCollect {
  readonly nodes: (ReportNode & { readonly index: number })[]
  /** Bytes this thread's connection ends delivered, by receiving peer id. */
  readonly received: Record<string, number>
  readonly links: LinkCounters[]
  /** Of the thread's first node. */
  readonly stored: StoredRecords
  readonly refusals: import('./checker.js').Refusal[]
  readonly loopDelay: SimReport['eventLoopDelayMs']
}

export type ThreadReply =
  | { readonly type: 'ack'; readonly id: number; readonly ack: Acknowledgement | undefined }
  | { readonly type: 'done'; readonly id: number; readonly earlier: HistorySnapshot[] }
  | {
      readonly type: 'roots'
      readonly id: number
      readonly roots: string[]
      readonly bytesIn: number
      /** When one of the thread's nodes last changed its records (epoch ms: performance.timeOrigin + now). */
      readonly lastChangeAt: number
    }
  | {
      readonly type: 'snapshot'
      readonly id: number
      readonly snapshots: (NodeSnapshot & { index: number })[]
    }
  | { readonly type: 'collect'; readonly id: number; readonly collect: ThreadCollect }
  | { readonly type: 'stopped'; readonly id: number }
  | { readonly type: 'failed'; readonly id: number; readonly error: string }

/** What a thread says unasked. */
export type ThreadNotice =
  | { readonly type: 'ready' }
  /** A node of this thread dials `address`, in another thread: pass `port` on. */
  | { readonly type: 'dial'; readonly from: string; readonly address: string; readonly port: MessagePort }
  | { readonly type: 'fatal'; readonly error: string }

/** The node thread that hosts node `index`. */
export const threadOf = (index: number, threads: number): number => index % threads

/** The `/memory/` address node `index` of run `runId` listens on. */
export const memoryAddress = (runId: string, index: number): string => `/memory/${runId}-n${index}`
