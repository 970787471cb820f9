import { decodeSupersession, MAX_RECORD_BYTES, recordHash } from '@provsync/crdt'
import { CliError, ExitCode } from '../errors.js'
import { toHex } from '../hex.js'
import type { NodeContext } from './handlers.js'
import { bigintText, hexBytes, InvalidRequestError, type Params, text } from './params.js'
import { componentView, hlcText, keyView } from './views.js'

/** The node refused a record handed to it (a revoked agent, a bad signature, ...). */
export class RecordRefusedByNodeError extends CliError {
  readonly reason: string
  constructor(what: string, reason: string, detail: string) {
    super(`the node refused the ${what}: ${reason}${detail ? ` (${detail})` : ''}`, ExitCode.requestFailed)
    this.reason = reason
  }
}

/**
 * Records this node's own verification of `run` at a coordinate (local evidence), signs the
 * assertion peers pull, and announces the new roots at once.
 */
export async function recordEvidence(ctx: NodeContext, params: Params) {
  const { state, sync } = ctx.node
  const coordinate = {
    volume: text(params, 'volume', { maxBytes: 256 }),
    destination: text(params, 'destination', { maxBytes: 256 }),
    origin: text(params, 'origin', { maxBytes: 256 }),
  }
  const run = bigintText(params, 'run')
  const method = params.method === undefined ? undefined : text(params, 'method', { maxBytes: 256 })
  const evidence = params.evidence === undefined ? undefined : hexBytes(params, 'evidence', 32)
  const result = state.advanceVerified(coordinate, run, {
    ...(method === undefined ? {} : { method }),
    ...(evidence === undefined ? {} : { evidence }),
  })
  await sync.announce().catch(() => {})
  return {
    status: result.status,
    coordinate,
    local: { run: result.local.run.toString(), hlc: hlcText(result.local.hlc) },
    component: result.component === undefined ? null : componentView(result.component),
    record: toHex(result.key),
    evidence: evidence === undefined || result.status !== 'applied' ? null : toHex(evidence),
  }
}

/** Applies a supersession signed by an agent key (the CLI signs it; the key never reaches the node). */
export async function applySupersession(ctx: NodeContext, params: Params) {
  const { state, sync } = ctx.node
  const bytes = hexBytes(params, 'record')
  if (bytes.length > MAX_RECORD_BYTES)
    throw new InvalidRequestError(`record is larger than ${MAX_RECORD_BYTES} bytes`)
  let record: ReturnType<typeof decodeSupersession>
  try {
    record = decodeSupersession(bytes, state.networkId)
  } catch (err) {
    throw new InvalidRequestError(
      `not a supersession of network ${state.networkId}: ${(err as Error).message}`,
    )
  }
  const [outcome] = await state.apply('supersessions', [bytes], { from: state.publicKey })
  if (outcome === undefined || outcome.status === 'refused')
    throw new RecordRefusedByNodeError('supersession', outcome?.reason ?? 'unknown', outcome?.detail ?? '')
  await sync.announce().catch(() => {})
  const winner = state.supersessions.get(record.target)
  return {
    status: outcome.status,
    hash: toHex(recordHash(bytes)),
    target: toHex(record.target),
    kind: record.kind,
    agent: keyView(record.agent),
    hlc: hlcText(record.hlc),
    inForce: winner !== undefined && toHex(winner.hash) === toHex(recordHash(bytes)),
    evidence: record.evidence === undefined ? null : toHex(record.evidence),
  }
}
