import type { Coordinate, StoredSupersession } from '@provsync/crdt'
import { parseTimestamp, type Timestamp } from '@provsync/hlc'
import { toHex } from '../hex.js'
import type { NodeContext } from './handlers.js'
import { hexBytes, InvalidRequestError, integer, type Params } from './params.js'
import { type ComponentView, componentView, hlcText, keyView } from './views.js'

/** The durability view, filtered by coordinate part and paged by offset. */
export function viewPage(ctx: NodeContext, params: Params) {
  const filter = {
    volume: optionalText(params, 'volume'),
    destination: optionalText(params, 'destination'),
    origin: optionalText(params, 'origin'),
  }
  const offset = integer(params, 'offset', 0, 0, Number.MAX_SAFE_INTEGER)
  const limit = integer(params, 'limit', 100, 1, 10_000)
  const state = ctx.node.state
  const entries: Array<{ coordinate: Coordinate } & ComponentView> = []
  let matched = 0
  let more = false
  for (const { coordinate, component } of state.view.entries()) {
    if (filter.volume !== undefined && coordinate.volume !== filter.volume) continue
    if (filter.destination !== undefined && coordinate.destination !== filter.destination) continue
    if (filter.origin !== undefined && coordinate.origin !== filter.origin) continue
    if (matched++ < offset) continue
    if (entries.length === limit) {
      more = true
      break
    }
    entries.push({ coordinate, ...componentView(component) })
  }
  return { total: state.view.count(), offset, entries, next: more ? offset + entries.length : null }
}

function optionalText(params: Params, name: string): string | undefined {
  const value = params[name]
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '')
    throw new InvalidRequestError(`${name} must be a non-empty string`)
  return value
}

export function supersessionView(s: StoredSupersession) {
  return {
    hash: toHex(s.hash),
    target: toHex(s.record.target),
    kind: s.record.kind,
    reason: s.record.reason,
    ...(s.record.replacement !== undefined ? { replacement: toHex(s.record.replacement) } : {}),
    agent: keyView(s.record.agent),
    hlc: hlcText(s.record.hlc),
    inForce: s.inForce,
  }
}

/** A target's supersessions (winner first) and, with `chain`, the replacement chain to its head. */
export function supersessionsOf(ctx: NodeContext, params: Params) {
  const queries = ctx.node.state.supersessions
  if (params.agent !== undefined) {
    const agent = hexBytes(params, 'agent', 32)
    const found = queries.byAgent(agent, {
      ...timeBound(params, 'from'),
      ...timeBound(params, 'to'),
      limit: integer(params, 'limit', 100, 1, 10_000),
    })
    return { agent: keyView(agent), supersessions: found.map(supersessionView) }
  }
  const target = hexBytes(params, 'target', 32)
  const all = queries.all(target)
  const winner = all.find((s) => s.inForce)
  const chain = params.chain === true ? queries.chain(target) : undefined
  return {
    target: toHex(target),
    superseded: winner !== undefined,
    winner: winner === undefined ? null : toHex(winner.hash),
    supersessions: all.map(supersessionView),
    ...(chain !== undefined
      ? { chain: { path: chain.path.map(toHex), head: toHex(chain.head), end: chain.end } }
      : {}),
  }
}

/** `from`/`to`: a wall time in ms (a decimal string; the whole millisecond) or an HLC in text form. */
function timeBound(
  params: Params,
  name: 'from' | 'to',
): { from?: Timestamp | number; to?: Timestamp | number } {
  const value = params[name]
  if (value === undefined) return {}
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return { [name]: Number(value) }
  if (typeof value === 'string') {
    try {
      return { [name]: parseTimestamp(value) }
    } catch {
      // reported below
    }
  }
  throw new InvalidRequestError(`${name} must be a wall time in ms or an HLC timestamp`)
}
