import { decodeInvalidation, invalidationHash, MAX_RECORD_BYTES } from '@provsync/crdt'
import { CliError, ExitCode } from '../errors.js'
import { toHex } from '../hex.js'
import type { NodeContext } from './handlers.js'
import { hexBytes, InvalidRequestError, type Params } from './params.js'
import { ledgerEntryView } from './views.js'

/** The node refused an invalidation or lift record (untrusted operator, bad signature, ...). */
export class InvalidationRefusedError extends CliError {
  readonly reason: string
  constructor(action: string, reason: string, detail: string) {
    super(`the node refused the ${action}: ${reason}${detail ? ` (${detail})` : ''}`, ExitCode.requestFailed)
    this.reason = reason
  }
}

/**
 * Applies an operator-signed invalidation or lift record as if pulled (trust bundle, signature,
 * drift), then announces the new roots at once so the network pulls it without waiting.
 */
export async function applyInvalidation(ctx: NodeContext, params: Params) {
  const { state, sync } = ctx.node
  const bytes = hexBytes(params, 'record')
  if (bytes.length > MAX_RECORD_BYTES)
    throw new InvalidRequestError(`record is larger than ${MAX_RECORD_BYTES} bytes`)
  let record: ReturnType<typeof decodeInvalidation>
  try {
    record = decodeInvalidation(bytes, state.networkId)
  } catch (err) {
    throw new InvalidRequestError(
      `not an invalidation record of network ${state.networkId}: ${(err as Error).message}`,
    )
  }
  if (record.action === 'lift' && state.invalidations.get(record.target) === undefined) {
    throw new InvalidationRefusedError(
      'lift',
      'unknown-invalidation',
      `no invalidation ${toHex(record.target)} here`,
    )
  }
  const [outcome] = await state.apply('invalidations', [bytes], { from: state.publicKey })
  if (outcome === undefined || outcome.status === 'refused') {
    throw new InvalidationRefusedError(record.action, outcome?.reason ?? 'unknown', outcome?.detail ?? '')
  }
  await sync.announce().catch(() => {})
  const id = invalidationHash(bytes)
  const entry = state.ledger.since().find((e) => toHex(e.id) === toHex(id))
  const invalidationId = record.action === 'lift' ? record.target : id
  return {
    status: outcome.status,
    action: record.action,
    id: toHex(id),
    invalidation: toHex(invalidationId),
    /** Whether the invalidation is in force now (false once lifted). */
    inForce: state.invalidations.get(invalidationId)?.inForce ?? false,
    entry: entry === undefined ? null : ledgerEntryView(entry),
  }
}
