/**
 * A probe for what a run spends its time on (`ScenarioOptions.tracePath`, the bench's `--trace=`):
 * one JSON object per line, appended to one file by the harness and by every node thread, each
 * stamped with the wall clock (`t`, ms since the epoch, shared by the threads). Lines:
 * `conn` (a node's connection to a peer opened or closed), `session` (a finished sync session:
 * peer, direction, reason, records pulled and applied, duration), `batch` (a batch a node applied
 * from a peer: how many records were new, the node's record count after it, and whether a session
 * with that peer was open then, else a push brought it), `links` (every 500 ms: a node's eager and lazy push neighbours, and
 * its push grafts and prunes so far), `fault` and `roots` (the harness: fault
 * events, and the distinct root sets each time quiescence counts them). Off by default; costs a
 * line per event when on.
 */
import { appendFileSync } from 'node:fs'
import { type NodeState, toHex } from '@provsync/crdt'
import type { ProvsyncNode } from '@provsync/sync'
import { STORES } from './checker.js'

export type TraceLine = Record<string, string | number | boolean | undefined>

export interface Tracer {
  (line: TraceLine): void
  flush(): void
}

/** A tracer appending to `path`, flushed every 500 ms and on `flush()`. */
export function fileTracer(path: string): Tracer {
  let lines: string[] = []
  const flush = (): void => {
    if (lines.length === 0) return
    appendFileSync(path, `${lines.join('\n')}\n`)
    lines = []
  }
  const timer = setInterval(flush, 500)
  timer.unref()
  return Object.assign((line: TraceLine) => void lines.push(JSON.stringify({ t: Date.now(), ...line })), {
    flush,
  })
}

const recordCount = (state: NodeState): number =>
  STORES.reduce((sum, store) => sum + state.tree(store).count(), 0)

/**
 * Traces one node: its connections, finished sessions and applied batches. `nameOf` turns a peer
 * id or a raw public key (hex) into the sim's node name.
 */
export function traceNode(
  trace: Tracer,
  name: string,
  node: ProvsyncNode,
  nameOf: (idOrKey: string) => string,
): void {
  const open = new Map<string, number>()
  const libp2pEvents = node.libp2p as unknown as EventTarget
  for (const type of ['connection:open', 'connection:close'] as const)
    libp2pEvents.addEventListener(type, (event) => {
      const connection = (event as CustomEvent<{ remotePeer: { toString(): string } }>).detail
      trace({
        ev: 'conn',
        node: name,
        peer: nameOf(connection.remotePeer.toString()),
        open: type.endsWith('open'),
      })
    })
  node.sync.addEventListener('sync:started', ({ detail }) => {
    const peer = nameOf(detail.peer.toString())
    open.set(peer, (open.get(peer) ?? 0) + 1)
  })
  node.sync.addEventListener('sync:finished', ({ detail }) => {
    const peer = nameOf(detail.peer.toString())
    open.set(peer, Math.max(0, (open.get(peer) ?? 1) - 1))
    trace({
      ev: 'session',
      node: name,
      peer,
      dir: detail.direction,
      reason: detail.reason,
      pulled: detail.pulled,
      applied: detail.applied,
      ms: Math.round(detail.durationMs),
      error: detail.error?.name,
    })
  })
  // Every 500 ms: the node's push links, eager (in the tree) and lazy, and its grafts and prunes so far.
  const links = setInterval(() => {
    const push = node.sync.pushLinks()
    const stats = node.sync.pushStats()
    if (push !== undefined)
      trace({
        ev: 'links',
        node: name,
        eager: push.eager.map(nameOf).join(' '),
        lazy: push.lazy.map(nameOf).join(' '),
        grafts: stats?.grafts,
        prunes: stats?.prunes,
      })
  }, 500)
  links.unref()
  node.libp2p.addEventListener('stop', () => clearInterval(links))
  node.state.observe({
    applied({ store, via, from, outcomes }) {
      const applied = outcomes.filter((o) => o.status === 'applied').length
      if (applied === 0) return
      // The first bytes of each applied record's tree key, so a record can be followed node to node.
      const keys = outcomes
        .flatMap((o) => (o.status === 'applied' && o.key !== undefined ? [toHex(o.key).slice(0, 8)] : []))
        .join(' ')
      if (via === 'put') {
        trace({ ev: 'write', node: name, store, keys })
        return
      }
      const peer = nameOf(toHex(from))
      trace({
        ev: 'batch',
        node: name,
        peer,
        store,
        applied,
        count: recordCount(node.state),
        inSession: (open.get(peer) ?? 0) > 0,
        keys,
      })
    },
  })
}

/** Traces the distinct root sets quiescence counted (a `roots` line) and returns the count. */
export function traced(tracer: Tracer | undefined, distinct: number): number {
  tracer?.({ ev: 'roots', distinct })
  return distinct
}

/** Traces the convergence instant (a `converged` line) and flushes the trace. */
export function traceConverged(
  tracer: Tracer | undefined,
  atMs: number,
  writeMs: number,
  nowMs: number,
): void {
  tracer?.({ ev: 'converged', atMs, writeMs, nowMs })
  tracer?.flush()
}
