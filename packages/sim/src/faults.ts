/**
 * The fault plan: timed events that a scenario applies to the cluster, and the pure link model
 * they drive. Who can reach whom, with what loss and delay, is a function of the events applied
 * so far; the transport layer only asks it.
 */
import { ScenarioConfigError } from './errors.js'
import type { Rng } from './prng.js'

export interface LinkFault {
  /** Percent of transport chunks lost (0-100). */
  readonly lossPct: number
  /** One-way delay added to every chunk, in ms. */
  readonly delayMs: number
}

export type FaultEvent =
  /** Nodes talk only within a group; a node in two groups bridges them, a node in none is isolated. */
  | { readonly type: 'partition'; readonly atMs: number; readonly groups: readonly (readonly number[])[] }
  | { readonly type: 'heal'; readonly atMs: number }
  | {
      readonly type: 'link'
      readonly atMs: number
      readonly a: number
      readonly b: number
      readonly fault: LinkFault
    }
  | { readonly type: 'crash'; readonly atMs: number; readonly node: number }
  | { readonly type: 'restart'; readonly atMs: number; readonly node: number }
  /** Shifts a node's wall clock (applied at its next start). */
  | { readonly type: 'skew'; readonly atMs: number; readonly node: number; readonly offsetMs: number }

export type FaultPlan = readonly FaultEvent[]

export interface LinkState {
  /** Undefined when the network is whole. */
  readonly groups: readonly (readonly number[])[] | undefined
  /** Per-link faults keyed by {@link linkKey}. */
  readonly links: ReadonlyMap<string, LinkFault>
  readonly down: ReadonlySet<number>
}

export const HEALTHY: LinkState = { groups: undefined, links: new Map(), down: new Set() }
export const NO_FAULT: LinkFault = { lossPct: 0, delayMs: 0 }

export function linkKey(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`
}

/** Folds one event into the link state (crash/restart/skew only touch `down`). */
export function applyFault(state: LinkState, event: FaultEvent): LinkState {
  switch (event.type) {
    case 'partition':
      return { ...state, groups: event.groups.map((g) => [...g]) }
    case 'heal':
      return { ...state, groups: undefined }
    case 'link': {
      const links = new Map(state.links)
      if (event.fault.lossPct === 0 && event.fault.delayMs === 0) links.delete(linkKey(event.a, event.b))
      else links.set(linkKey(event.a, event.b), event.fault)
      return { ...state, links }
    }
    case 'crash':
      return { ...state, down: new Set([...state.down, event.node]) }
    case 'restart':
      return { ...state, down: new Set([...state.down].filter((n) => n !== event.node)) }
    case 'skew':
      return state
  }
}

/** Whether `a` and `b` may exchange bytes under `state` (symmetric). */
export function reachable(state: LinkState, a: number, b: number): boolean {
  if (a === b) return true
  if (state.down.has(a) || state.down.has(b)) return false
  if (state.groups === undefined) return true
  return state.groups.some((g) => g.includes(a) && g.includes(b))
}

export function linkFault(state: LinkState, a: number, b: number): LinkFault {
  return state.links.get(linkKey(a, b)) ?? NO_FAULT
}

export function stateAt(plan: FaultPlan, atMs: number): LinkState {
  return plan.filter((e) => e.atMs <= atMs).reduce(applyFault, HEALTHY)
}

function restores(event: FaultEvent): boolean {
  if (event.type === 'link') return event.fault.lossPct === 0 && event.fault.delayMs === 0
  return event.type === 'heal' || event.type === 'restart'
}

/** Time of the last event that restores connectivity (heal, restart, link cleared), or 0 for none. */
export function lastHealMs(plan: FaultPlan): number {
  return plan.reduce((last, e) => (restores(e) ? Math.max(last, e.atMs) : last), 0)
}

// ---- partition shapes

const indices = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

export function halves(nodes: number): number[][] {
  const half = Math.ceil(nodes / 2)
  return [indices(nodes).slice(0, half), indices(nodes).slice(half)]
}

/** Two halves that can only talk through `bridge`, which sits in both. */
export function bridged(nodes: number, bridge: number): number[][] {
  const others = indices(nodes).filter((i) => i !== bridge)
  const half = Math.ceil(others.length / 2)
  return [
    [...others.slice(0, half), bridge],
    [...others.slice(half), bridge],
  ]
}

/** Everyone together except `isolated`, each of which talks to nobody. */
export function isolating(nodes: number, isolated: readonly number[]): number[][] {
  return [indices(nodes).filter((i) => !isolated.includes(i))]
}

// ---- validation and random plans

/**
 * Checks node indices, timing, and that crashes and restarts alternate per node, so a plan
 * fails before any node starts rather than halfway through a run.
 */
export function validateFaultPlan(plan: FaultPlan, nodes: number): void {
  const up = new Set(indices(nodes))
  let previous = 0
  plan.forEach((event, i) => {
    const field = `faults[${i}]`
    if (!(event.atMs >= previous))
      throw new ScenarioConfigError(field, `events must be in time order (${event.atMs} < ${previous})`)
    previous = event.atMs
    const check = (node: number, what: string): void => {
      if (!Number.isInteger(node) || node < 0 || node >= nodes) {
        throw new ScenarioConfigError(field, `${what} ${node} is not a node (0..${nodes - 1})`)
      }
    }
    switch (event.type) {
      case 'partition':
        if (event.groups.length === 0)
          throw new ScenarioConfigError(field, 'a partition needs at least one group')
        for (const group of event.groups) for (const node of group) check(node, 'group member')
        break
      case 'link':
        check(event.a, 'link end')
        check(event.b, 'link end')
        if (event.a === event.b) throw new ScenarioConfigError(field, 'a link joins two different nodes')
        if (!(event.fault.lossPct >= 0 && event.fault.lossPct <= 100)) {
          throw new ScenarioConfigError(field, `lossPct must be in 0..100, got ${event.fault.lossPct}`)
        }
        if (!(event.fault.delayMs >= 0))
          throw new ScenarioConfigError(field, `delayMs must be >= 0, got ${event.fault.delayMs}`)
        break
      case 'crash':
        check(event.node, 'node')
        if (!up.delete(event.node)) throw new ScenarioConfigError(field, `node ${event.node} is already down`)
        break
      case 'restart':
        check(event.node, 'node')
        if (up.has(event.node)) throw new ScenarioConfigError(field, `node ${event.node} is not down`)
        up.add(event.node)
        break
      case 'skew':
        check(event.node, 'node')
        if (!Number.isFinite(event.offsetMs)) throw new ScenarioConfigError(field, 'offsetMs must be finite')
        break
      case 'heal':
        break
    }
  })
  if (up.size !== nodes) {
    throw new ScenarioConfigError(
      'faults',
      `nodes ${indices(nodes)
        .filter((n) => !up.has(n))
        .join(', ')} are never restarted`,
    )
  }
}

export interface RandomFaultOptions {
  readonly nodes: number
  readonly durationMs: number
  readonly partitions?: number
  readonly crashes?: number
  /** Links that get loss and delay during the run (healed with the last partition). */
  readonly lossyLinks?: number
  readonly maxLossPct?: number
  readonly maxDelayMs?: number
  /** Nodes whose clock is skewed by up to this many ms, either way. */
  readonly skewedNodes?: number
  readonly maxSkewMs?: number
}

/**
 * A seeded plan: partitions of random shapes in disjoint windows, crash/restart pairs, lossy
 * links and skewed clocks; partitions, links and crashes end before `durationMs` so the run can quiesce.
 */
export function randomFaultPlan(options: RandomFaultOptions, rng: Rng): FaultEvent[] {
  const { nodes, durationMs } = options
  if (nodes < 2) throw new ScenarioConfigError('faults.nodes', 'a fault plan needs at least 2 nodes')
  const events: FaultEvent[] = []
  for (let i = 0; i < (options.skewedNodes ?? 0); i++) {
    const max = options.maxSkewMs ?? 2_000
    events.push({ type: 'skew', atMs: 0, node: rng.int(nodes), offsetMs: rng.range(-max, max) })
  }
  for (let i = 0; i < (options.lossyLinks ?? 0); i++) {
    const a = rng.int(nodes)
    const b = (a + 1 + rng.int(nodes - 1)) % nodes
    events.push({
      type: 'link',
      atMs: 0,
      a,
      b,
      fault: {
        lossPct: rng.range(0, options.maxLossPct ?? 10),
        delayMs: rng.range(0, options.maxDelayMs ?? 20),
      },
    })
  }
  const partitions = options.partitions ?? 1
  const window = (durationMs * 0.8) / Math.max(partitions, 1)
  for (let i = 0; i < partitions; i++) {
    const start = Math.floor(i * window + rng.next() * window * 0.2)
    const end = Math.floor(start + window * (0.5 + rng.next() * 0.3))
    const shape = rng.int(3)
    const groups =
      shape === 0
        ? halves(nodes)
        : shape === 1
          ? bridged(nodes, rng.int(nodes))
          : isolating(nodes, [rng.int(nodes)])
    events.push({
      type: 'partition',
      atMs: start,
      groups: groups.map((g) => rng.shuffle(g).sort((x, y) => x - y)),
    })
    events.push({ type: 'heal', atMs: end })
  }
  const lossy = events.filter((e) => e.type === 'link')
  const cleared = Math.floor(durationMs * 0.85)
  for (const e of lossy) events.push({ type: 'link', atMs: cleared, a: e.a, b: e.b, fault: NO_FAULT })
  const crashed = rng.shuffle(indices(nodes)).slice(0, Math.min(options.crashes ?? 0, nodes))
  for (const node of crashed) {
    const at = Math.floor(rng.next() * durationMs * 0.6)
    events.push({ type: 'crash', atMs: at, node })
    events.push({
      type: 'restart',
      atMs: Math.floor(at + durationMs * 0.1 + rng.next() * durationMs * 0.2),
      node,
    })
  }
  return events.sort((x, y) => x.atMs - y.atMs)
}
